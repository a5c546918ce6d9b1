import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { GateEvent } from '../../firmware/events/bus';

/** A gate event as the daemon logged it, with when the bench read the line. */
export interface LoggedEvent {
  event: GateEvent;
  readAt: number;
}

/**
 * The real daemon (dist/firmware/main.js) in its own process, as a bench subject: its log lines are
 * read for events, and its bench HTTP API reaches the admin routes.
 */
export class DaemonProcess {
  readonly events: LoggedEvent[] = [];
  private readonly logs: Record<string, unknown>[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = '';
  private benchUrl = '';

  private constructor(readonly child: ChildProcess) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(dir: string, config: Record<string, unknown>, env: NodeJS.ProcessEnv, readyTimeoutMs = 60_000): Promise<DaemonProcess> {
    const configPath = path.join(dir, 'config.json');
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    const entry = path.join(__dirname, '..', '..', 'firmware', 'main.js');
    const child = spawn(process.execPath, [entry, '--config', configPath], { cwd: dir, env: { ...process.env, POSTERN_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const daemon = new DaemonProcess(child);
    child.stderr!.on('data', (d: Buffer) => (daemon.stderr = (daemon.stderr + d.toString()).slice(-4000)));
    createInterface({ input: child.stdout! }).on('line', (line) => daemon.onLine(line));
    child.once('exit', () => daemon.wake());
    const ready = await daemon.waitForLog((l) => l.msg === 'gate ready', readyTimeoutMs, 'the gate to start');
    daemon.benchUrl = `http://127.0.0.1:${ready.benchPort as number}`;
    return daemon;
  }

  /** The first logged line (past or future) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    return this.waitUntil(() => this.logs.find(match), timeoutMs, what);
  }

  /** The first event (past or future) that matches. */
  waitForEvent(match: (e: LoggedEvent) => boolean, timeoutMs: number, what: string): Promise<LoggedEvent> {
    return this.waitUntil(() => this.events.find(match), timeoutMs, what);
  }

  async post(route: string, body: unknown): Promise<unknown> {
    const res = await fetch(this.benchUrl + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  private onLine(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    this.logs.push(entry);
    if (entry.event && typeof entry.event === 'object') this.events.push({ event: entry.event as GateEvent, readAt: Date.now() });
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private waitUntil<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) return done(() => resolve(found));
        if (this.child.exitCode !== null || this.child.signalCode !== null) done(() => reject(new Error(`the daemon exited while the bench waited for ${what}; stderr:\n${this.stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`waited ${timeoutMs} ms for ${what}; daemon stderr:\n${this.stderr}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }
}
