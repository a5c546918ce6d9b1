import type { Logger } from '../log';
import { planWatchdog } from './interval';
import { systemdNotifyCommand, type Notifier } from './notifier';

export interface WatchdogOptions {
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Defaults to running `systemd-notify`; tests pass their own to watch the pings. */
  notify?: Notifier;
  pid?: number;
  now?: () => number;
}

export interface Watchdog {
  /** READY=1: every module has started. */
  ready(): void;
  /** STOPPING=1: shutdown has begun; pings stop. */
  stopping(): void;
  /** Stops the ping timer without telling systemd anything (for tests and for failed starts). */
  stop(): void;
  readonly pingMs: number | null;
}

/**
 * Keeps systemd's watchdog fed while the event loop is healthy. The ping rides on a timer in the same
 * loop, so a blocked loop stops the pings by itself. A loop that only comes back late is not healthy
 * either: when the timer fires more than half a ping interval late the ping is withheld, and systemd
 * restarts the daemon (which drives the relay locked first thing at boot) once WATCHDOG_USEC passes.
 */
export function startWatchdog(opts: WatchdogOptions): Watchdog {
  const { log } = opts;
  const now = opts.now ?? Date.now;
  const plan = planWatchdog(opts.env, opts.pid ?? process.pid);
  if (!plan.notify) {
    log.debug({ reason: plan.reason }, 'systemd notification off');
    return { ready() {}, stopping() {}, stop() {}, pingMs: null };
  }
  const notifier = opts.notify ?? systemdNotifyCommand(opts.env, log);
  const pingMs = plan.pingMs;
  let timer: NodeJS.Timeout | undefined;

  if (pingMs === null) {
    log.info({ reason: plan.reason }, 'systemd watchdog off');
  } else {
    const maxLagMs = pingMs / 2;
    let due = now() + pingMs;
    const tick = (): void => {
      const lagMs = now() - due;
      due = now() + pingMs;
      if (lagMs > maxLagMs) {
        log.warn({ lagMs, maxLagMs }, 'event loop stalled; withholding the watchdog ping');
      } else {
        notifier.send(['WATCHDOG=1']);
      }
      schedule();
    };
    // Unreferenced: a daemon with nothing left to do but ping should exit, not look alive to systemd.
    const schedule = (): void => {
      timer = setTimeout(tick, pingMs).unref();
    };
    notifier.send(['WATCHDOG=1']);
    schedule();
    log.info({ pingMs }, 'systemd watchdog on');
  }

  const stop = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return {
    ready: () => notifier.send(['READY=1', 'STATUS=gate running']),
    stopping: () => {
      stop();
      notifier.send(['STOPPING=1', 'STATUS=shutting down']);
    },
    stop,
    pingMs,
  };
}
