import { spawn } from 'node:child_process';
import type { Logger } from '../log';

/**
 * Sends sd_notify(3) state lines such as `READY=1` or `WATCHDOG=1` to the service manager. Tests
 * substitute their own to observe what the daemon reports.
 */
export interface Notifier {
  send(fields: readonly string[]): void;
}

/** Deliveries still under way: each systemd-notify this process started that has not exited yet. */
const undelivered = new Set<Promise<void>>();

/**
 * Resolves once every notification already handed to systemd-notify has been delivered or has failed.
 * The daemon waits for it before exiting: when the main process exits, systemd stops what is left of
 * the unit's control group, and a systemd-notify still carrying STOPPING=1 would die with it.
 */
export function notificationsSettled(): Promise<void> {
  return Promise.all(undelivered).then(() => undefined);
}

/**
 * Node has no Unix datagram sockets, so it cannot write to $NOTIFY_SOCKET itself; it runs
 * `systemd-notify` instead (the unit sets NotifyAccess=all so that a child may speak for the daemon).
 * systemd-notify waits by default until the manager has processed the message (the barrier added in
 * systemd 246), so the message is not dropped for coming from a process that has already exited.
 */
export function systemdNotifyCommand(env: NodeJS.ProcessEnv, log: Logger, command = 'systemd-notify'): Notifier {
  let reportedFailure = false;
  const fail = (reason: string): void => {
    // Once is enough: the same failure every few seconds would drown the journal.
    if (reportedFailure) return;
    reportedFailure = true;
    log.error({ command, reason }, 'cannot notify systemd; the watchdog will restart the service');
  };
  return {
    send(fields) {
      const child = spawn(command, [...fields], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const settled = new Promise<void>((resolve) => {
        child.on('error', (err: NodeJS.ErrnoException) => {
          fail(err.code ?? err.message);
          resolve();
        });
        child.on('exit', (code) => {
          if (code !== 0 && code !== null) fail(`exit ${code}: ${stderr.trim()}`);
          resolve();
        });
      });
      undelivered.add(settled);
      void settled.then(() => undelivered.delete(settled));
    },
  };
}
