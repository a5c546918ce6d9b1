import { fork, type ChildProcess } from 'node:child_process';
import { PATIENCE_MS } from '../../helpers/patience';

/**
 * What systemd does for a unit with Type=notify, WatchdogSec and Restart=always, reduced to the part
 * the tests need: start the child, take its notify messages (over IPC, since Node cannot read the
 * datagram socket), kill it with SIGABRT when WATCHDOG=1 has not come within the watchdog interval,
 * and start it again.
 */
export interface NotifyMessage {
  run: number;
  pid: number;
  at: number;
  fields: string[];
}

export class Supervisor {
  readonly messages: NotifyMessage[] = [];
  readonly kills: { run: number; pid: number; at: number }[] = [];
  private child: ChildProcess | undefined;
  private run = 0;
  private lastPing = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly script: string,
    private readonly watchdogUsec: number,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  start(): void {
    this.run += 1;
    const run = this.run;
    const child = fork(this.script, [], {
      env: { ...process.env, ...this.env, NOTIFY_SOCKET: '@postern-test', WATCHDOG_USEC: String(this.watchdogUsec) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child = child;
    this.lastPing = Date.now();
    child.on('message', (m: unknown) => {
      const fields = (m as { notify?: string[] }).notify;
      if (!fields) return;
      this.messages.push({ run, pid: child.pid ?? -1, at: Date.now(), fields });
      if (fields.includes('WATCHDOG=1')) this.lastPing = Date.now();
    });
    child.on('exit', () => {
      if (this.stopped || this.child !== child) return;
      this.start();
    });
    this.scheduleCheck();
  }

  send(message: unknown): void {
    this.child?.send(message as object);
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  runs(): number {
    return this.run;
  }

  private scheduleCheck(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (Date.now() - this.lastPing <= this.watchdogUsec / 1000) return;
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      this.kills.push({ run: this.run, pid: child.pid ?? -1, at: Date.now() });
      child.kill('SIGABRT');
      this.lastPing = Date.now();
    }, 20);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  }
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = PATIENCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
