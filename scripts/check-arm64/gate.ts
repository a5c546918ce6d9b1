import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { GateEvent } from '../../firmware/events/bus';
import type { Arm64Node } from './emulation';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The installed daemon (`<appDir>/dist/firmware/main.js`) started by the arm64 Node in sim mode, driven
 * through its bench the way a person at the bench would: JSON POSTs without an Origin, the camera route
 * with image bytes.
 */
export class EmulatedGate {
  banner = '';
  private readonly logLines: Record<string, unknown>[] = [];
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private url = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
  ) {
    this.exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.stderr!.on('data', (d: Buffer) => (this.banner += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logLines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* only the JSON log lines matter */
      }
    });
  }

  static async start(node: Arm64Node, appDir: string, dir: string, config: Record<string, unknown>, readyMs: number): Promise<EmulatedGate> {
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ hardware: 'sim', dataDir: 'data', ...config, bench: { port: 0 } }, null, 2));
    const [cmd, args] = node.command([join(appDir, 'dist', 'firmware', 'main.js'), '--config', configPath]);
    const child = spawn(cmd, args, { cwd: dir, env: { ...process.env, POSTERN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const gate = new EmulatedGate(child, join(dir, 'data'));
    const ready = await gate.log((l) => l.msg === 'gate ready', readyMs, 'the gate ready line').catch(async (err: unknown) => {
      await gate.stop();
      throw err;
    });
    gate.url = `http://127.0.0.1:${String(ready.benchPort)}`;
    // The banner (stderr) and the ready line (stdout) travel through separate pipes.
    for (let i = 0; i < 100 && !gate.banner.includes('bench:'); i++) await pause(50);
    return gate;
  }

  /** The first log line (already printed or still to come) that matches. */
  async log(match: (l: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logLines.find(match);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`the daemon exited while waiting for ${what}:\n${this.banner.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`);
      await pause(100);
    }
  }

  private async request<T>(method: string, route: string, body?: Buffer | object, type = 'application/json'): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) init.headers = { 'content-type': type };
    if (body instanceof Buffer) init.body = new Uint8Array(body);
    else if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(this.url + route, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  get = <T>(route: string): Promise<T> => this.request<T>('GET', route);
  post = <T>(route: string, body: object): Promise<T> => this.request<T>('POST', route, body);
  show = (photo: Buffer, holdMs: number): Promise<unknown> => this.request('POST', `/api/sim/camera?holdMs=${holdMs}`, photo, 'image/jpeg');

  relay = async (): Promise<string> => (await this.get<{ door: { relay: string } }>('/api/state')).door.relay;

  /** Seq of the newest event, so that a later wait only sees what happens after now. */
  async lastSeq(): Promise<number> {
    const events = await this.get<GateEvent[]>('/api/events?since=0');
    return events.at(-1)?.seq ?? 0;
  }

  async event(since: number, match: (e: GateEvent) => boolean, timeoutMs: number, what: string): Promise<GateEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await this.get<GateEvent[]>(`/api/events?since=${since}`)).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`);
      await pause(200);
    }
  }

  /** The relay level the simulated GPIO last wrote (it stays in the file after the process ends, as on a real line). */
  relayActive(): boolean {
    const levels = JSON.parse(readFileSync(join(this.dataDir, 'sim-gpio.json'), 'utf8')) as { relay: { active: boolean } };
    return levels.relay.active;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exit;
  }
}
