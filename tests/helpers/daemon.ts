import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { GateEvent } from '../../firmware/events/bus';
import { PATIENCE_MS } from './patience';

/** Events as the bench serves them: the daemon's GateEvent, through JSON. */
export type GateEventJson = GateEvent;

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const DAEMON_ENTRY = join(REPO_ROOT, 'dist', 'firmware', 'main.js');

type SimLevel = { level: 0 | 1; active: boolean };
export type SimLevels = { relay: SimLevel } & Record<string, SimLevel>;

export interface StartedDaemon {
  dir: string;
  dataDir: string;
  configPath: string;
  child: ChildProcess;
  benchUrl: string;
  /** Every JSON log line the daemon printed so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  get(path: string): Promise<{ status: number; body: any }>;
  post(path: string, body: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  state(): Promise<any>;
  events(since?: number): Promise<GateEventJson[]>;
  waitForEvent(predicate: (e: GateEventJson) => boolean, timeoutMs?: number): Promise<GateEventJson>;
  /** Waits until the state reports an access method (`card`, `face`) with this status: a reader or the models can take a while to come up. */
  waitForMethod(method: string, status: string, timeoutMs?: number): Promise<void>;
  /** Holds a simulated input active long enough to pass the debounce, then releases it. */
  press(name: 'exit' | 'contact' | 'tamper', holdMs?: number): Promise<void>;
  setInput(name: 'exit' | 'contact' | 'tamper', value: boolean): Promise<void>;
  /** The output levels the simulated GPIO last had (they survive the process, as real lines do). */
  simLevels(): SimLevels;
  signal(sig: NodeJS.Signals): Promise<number | null>;
  /** SIGTERM and wait; removes the temp dir unless `keep`. */
  stop(keep?: boolean): Promise<void>;
}

export interface StartOptions {
  config?: Record<string, unknown>;
  /** Reuse a directory (restart tests). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags, e.g. ['--require', fixture]. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the real built daemon (dist/, so `npm run build` must have run: `npm test` does) in sim mode. */
export async function startDaemon(options: StartOptions = {}): Promise<StartedDaemon> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'postern-e2e-'));
  const configPath = join(dir, 'config.json');
  const config = { hardware: 'sim', dataDir: 'data', ...options.config, bench: { port: 0, ...(options.config?.bench as object) } };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), DAEMON_ENTRY, '--config', configPath], {
    cwd: dir,
    env: { ...process.env, POSTERN_LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderrText = '';
  child.stderr!.on('data', (d: Buffer) => (stderrText += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  const ready = new Promise<number>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not ready in time; stderr:\n${stderrText}`)), options.readyTimeoutMs ?? PATIENCE_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'gate ready') {
        clearTimeout(timer);
        resolveReady(entry.benchPort as number);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before it was ready; stderr:\n${stderrText}`));
    });
  });
  const port = await ready;
  // The banner goes to stderr, the ready line to stdout: separate pipes, so wait for both.
  for (const deadline = Date.now() + PATIENCE_MS; !stderrText.includes('bench:') && Date.now() < deadline; ) await sleep(10);
  const benchUrl = `http://127.0.0.1:${port}`;
  const dataDir = join(dir, 'data');

  const running = () => child.exitCode === null && child.signalCode === null;
  /**
   * One request. A GET to a daemon that is still running is tried once more when its connection drops: a
   * kept-alive connection the server closes just as it is reused (more likely when a busy machine runs
   * the client's idle timer late) is not the daemon's failure. A failure says whether the daemon is alive.
   */
  const send = async (method: string, path: string, init: RequestInit, retried = false): Promise<Response> => {
    try {
      return await fetch(benchUrl + path, init);
    } catch (err) {
      if (method === 'GET' && !retried && running()) return send(method, path, init, true);
      await Promise.race([exited, sleep(1000)]);
      const cause = (err as { cause?: Error }).cause?.message;
      const daemonState = running() ? 'the daemon is running' : `the daemon has exited (${child.exitCode ?? child.signalCode}); stderr:\n${stderrText.slice(-4000)}`;
      throw new Error(`${method} ${path}: ${(err as Error).message}${cause ? ` (${cause})` : ''}; ${daemonState}`);
    }
  };

  const request = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.headers = { 'content-type': contentType };
      init.body = contentType === 'application/json' ? JSON.stringify(body) : (body as BodyInit);
    }
    const res = await send(method, path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON (the page) */
    }
    return { status: res.status, body: parsed as any };
  };

  const daemon: StartedDaemon = {
    dir,
    dataDir,
    configPath,
    child,
    benchUrl,
    logs,
    stderr: () => stderrText,
    get: (path) => request('GET', path),
    post: (path, body, contentType) => request('POST', path, body, contentType),
    state: async () => (await request('GET', '/api/state')).body,
    events: async (since = 0) => (await request('GET', `/api/events?since=${since}`)).body as GateEventJson[],
    async waitForEvent(predicate, timeoutMs = PATIENCE_MS) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = (await daemon.events()).find(predicate);
        if (found) return found;
        await sleep(25);
      }
      throw new Error(`no matching event within ${timeoutMs} ms; events: ${JSON.stringify((await daemon.events()).map((e) => `${e.type}/${e.reason}`))}`);
    },
    async waitForMethod(method, status, timeoutMs = PATIENCE_MS) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await daemon.state()).methods?.[method] === status) return;
        await sleep(50);
      }
      throw new Error(`${method} not ${status} within ${timeoutMs} ms; methods: ${JSON.stringify((await daemon.state()).methods)}`);
    },
    async setInput(name, value) {
      const res = await request('POST', '/api/sim/input', { name, value });
      if (res.status !== 200) throw new Error(`sim input failed: ${JSON.stringify(res.body)}`);
    },
    // Held well past the 30 ms debounce even when a busy machine runs the press and the release close together.
    async press(name, holdMs = 300) {
      await daemon.setInput(name, true);
      await sleep(holdMs);
      await daemon.setInput(name, false);
    },
    simLevels: () => JSON.parse(readFileSync(join(dataDir, 'sim-gpio.json'), 'utf8')),
    async signal(sig) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
    async stop(keep = false) {
      await daemon.signal('SIGTERM');
      if (!keep && !options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}
