import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import type { EventBus } from '../events/bus';
import { HttpError, JSON_TYPE, readJson, requireContentType, sendError, sendJson } from '../http/json';
import type { Logger } from '../log';
import type { StateRegistry } from '../state';
import { BENCH_PAGE } from './page';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const SIM_INPUTS = ['exit', 'contact', 'tamper'] as const;
type SimInput = (typeof SIM_INPUTS)[number];

export interface BenchDeps {
  port: number;
  bus: EventBus;
  state: StateRegistry;
  simGpio: SimGpioBackend | null;
  /** Each simulated input's debounce, so that a default pulse is held long enough to register. */
  debounceMs: Readonly<Record<SimInput, number>>;
  log: Logger;
}

export interface RouteOptions {
  /** Body types a state-changing request may declare; JSON unless the route says otherwise. */
  accepts?: readonly string[];
}

interface Handler {
  handle: RouteHandler;
  accepts: readonly string[];
}

/** Well above the 30 ms default debounce, and short enough to feel like a press. */
const MIN_PULSE_MS = 200;
const MAX_HOLD_MS = 10_000;
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];
const SAFE_METHODS = ['GET', 'HEAD'];

/**
 * Which bench surfaces a gate serves. The admin API goes on the bench only in sim mode: on a Pi the
 * 0660 Unix socket is the one admin path, even when `bench.enabled` turns the bench on.
 */
export function benchSurfaces(enabled: boolean | undefined, mode: 'sim' | 'pi'): { serve: boolean; admin: boolean } {
  const serve = enabled ?? mode === 'sim';
  return { serve, admin: serve && mode === 'sim' };
}

/**
 * Refuses (403) a request that a web page on another origin made or relayed. Binding to 127.0.0.1 does
 * not keep browsers out: any site the operator visits can send simple requests here, and a DNS name
 * rebound to 127.0.0.1 reaches it with its own `Host`. A request with no `Origin` (curl, the CLI) passes.
 */
export function checkCaller(headers: IncomingHttpHeaders, method: string, port: number): void {
  const hosts = benchHosts(port);
  if (!hosts.includes((headers.host ?? '').toLowerCase())) {
    throw new HttpError(403, `Host ${JSON.stringify(headers.host ?? '')} is not this bench: use http://127.0.0.1:${port}/ or http://localhost:${port}/`);
  }
  const origin = headers.origin;
  if (origin !== undefined && !hosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
    throw new HttpError(403, `requests from ${origin} are refused: the bench accepts only its own page`);
  }
  // Only for state changes: following a link to the bench from another site is harmless, and must still open the page.
  const site = headers['sec-fetch-site'];
  if (!SAFE_METHODS.includes(method) && site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(403, `a ${site} request is refused: the bench accepts only its own page`);
  }
}

/** `host[:port]` as a browser or curl writes it for the bench (no port for 80). */
function benchHosts(port: number): string[] {
  return LOOPBACK_HOSTS.flatMap((h) => (port === 80 ? [h, `${h}:80`] : [`${h}:${port}`]));
}

/**
 * The simulated-hardware bench (DESIGN §3). Bound to 127.0.0.1 only: it can open the door. Features add
 * their own routes (`/api/sim/nfc`, `/api/sim/camera`) and mount the admin API under `/api/admin/`.
 */
export class BenchServer {
  private readonly routes = new Map<string, Handler>();
  private readonly mounts: { prefix: string; handler: Handler }[] = [];
  private readonly streams = new Set<ServerResponse>();
  private readonly holds = new Map<SimInput, { timer: NodeJS.Timeout; done: (released: boolean) => void }>();
  private server: Server | undefined;
  private port = 0;
  private unsubscribe: (() => void)[] = [];
  private statePending = false;

  constructor(private readonly deps: BenchDeps) {
    this.route('GET', '/', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(BENCH_PAGE);
    });
    this.route('GET', '/api/state', (_req, res) => sendJson(res, 200, deps.state.snapshot()));
    this.route('GET', '/api/events', (_req, res, url) => {
      const raw = url.searchParams.get('since') ?? '0';
      const since = Number(raw);
      if (!Number.isInteger(since) || since < 0) throw new HttpError(400, `since=${JSON.stringify(raw)} must be a non-negative integer seq`);
      sendJson(res, 200, deps.bus.since(since));
    });
    this.route('GET', '/api/stream', (req, res) => this.openStream(req, res));
    this.route('POST', '/api/sim/input', async (req, res) => {
      const sim = this.requireSim();
      const input = parseSimInput(await readJson(req));
      if ('value' in input) {
        this.endHold(input.name, false);
        sim.setInput(input.name, input.value);
        sendJson(res, 200, { ok: true, name: input.name, value: input.value });
        return;
      }
      const holdMs = input.holdMs ?? Math.max(MIN_PULSE_MS, 2 * deps.debounceMs[input.name]);
      const released = await this.hold(sim, input.name, holdMs);
      sendJson(res, 200, { ok: true, name: input.name, pulse: true, holdMs, released });
    });
  }

  route(method: string, path: string, handler: RouteHandler, options: RouteOptions = {}): void {
    const key = `${method} ${path}`;
    if (this.routes.has(key)) throw new Error(`bench route ${key} is already taken`);
    this.routes.set(key, { handle: handler, accepts: options.accepts ?? [JSON_TYPE] });
  }

  /** Every request whose path starts with `prefix` goes to `handler` (the admin API), with JSON bodies. */
  mount(prefix: string, handler: RouteHandler): void {
    this.mounts.push({ prefix, handler: { handle: handler, accepts: [JSON_TYPE] } });
  }

  requireSim(): SimGpioBackend {
    if (!this.deps.simGpio) throw new HttpError(409, 'this gate runs on real hardware: simulated inputs are not available');
    return this.deps.simGpio;
  }

  async start(): Promise<number> {
    const server = createServer((req, res) => void this.dispatch(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.deps.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.unsubscribe.push(
      this.deps.bus.subscribe((event) => {
        this.broadcast('gate-event', event);
        this.stateChanged();
      }),
    );
    if (this.deps.simGpio) this.unsubscribe.push(this.deps.simGpio.onChange(() => this.stateChanged()));
    return this.port;
  }

  async stop(): Promise<void> {
    for (const name of [...this.holds.keys()]) this.endHold(name, false);
    for (const u of this.unsubscribe.splice(0)) u();
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const method = req.method ?? 'GET';
      checkCaller(req.headers, method, this.port);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const handler =
        this.routes.get(`${method} ${url.pathname}`) ?? this.mounts.find((m) => url.pathname.startsWith(m.prefix))?.handler;
      if (!handler) {
        const allowed = [...this.routes.keys()].filter((k) => k.endsWith(` ${url.pathname}`)).map((k) => k.split(' ')[0]);
        if (allowed.length) throw new HttpError(405, `${method} is not allowed on ${url.pathname} (use ${allowed.join(', ')})`);
        throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      }
      // A cross-site page can send text/plain or a form without asking; a JSON or image body needs a CORS preflight, which the bench never grants.
      if (!SAFE_METHODS.includes(method)) requireContentType(req, handler.accepts);
      await handler.handle(req, res, url);
    } catch (err) {
      if (!(err instanceof HttpError)) this.deps.log.error({ err }, 'bench request failed');
      if (!res.headersSent) sendError(res, err);
      else res.end();
    }
  }

  /**
   * Presses `name`, releases it `ms` later, and resolves true then; false when a later request for the
   * same input took over first (its level stands) or the bench stopped.
   */
  private hold(sim: SimGpioBackend, name: SimInput, ms: number): Promise<boolean> {
    this.endHold(name, false);
    sim.setInput(name, true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.holds.delete(name);
        sim.setInput(name, false);
        resolve(true);
      }, ms);
      this.holds.set(name, { timer, done: resolve });
    });
  }

  private endHold(name: SimInput, released: boolean): void {
    const held = this.holds.get(name);
    if (!held) return;
    clearTimeout(held.timer);
    this.holds.delete(name);
    held.done(released);
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.streams.add(res);
    req.on('close', () => this.streams.delete(res));
    this.write(res, 'state', this.deps.state.snapshot());
    for (const e of this.deps.bus.since(0).slice(-20)) this.write(res, 'gate-event', e);
  }

  /** Coalesces bursts of changes into one state message per tick. */
  private stateChanged(): void {
    if (this.statePending || this.streams.size === 0) return;
    this.statePending = true;
    setImmediate(() => {
      this.statePending = false;
      this.broadcast('state', this.deps.state.snapshot());
    });
  }

  private broadcast(kind: string, value: unknown): void {
    for (const s of this.streams) this.write(s, kind, value);
  }

  private write(res: ServerResponse, kind: string, value: unknown): void {
    res.write(`event: ${kind}\ndata: ${JSON.stringify(value)}\n\n`);
  }
}

type SimInputRequest = { name: SimInput; value: boolean } | { name: SimInput; holdMs?: number };

/** `{name, value}` sets a level; `{name, pulse: true}` and/or `{name, holdMs}` press and release. */
function parseSimInput(body: Record<string, unknown>): SimInputRequest {
  const { name, value, pulse, holdMs } = body;
  if (typeof name !== 'string' || !(SIM_INPUTS as readonly string[]).includes(name)) {
    throw new HttpError(400, `name=${JSON.stringify(name)} must be one of ${SIM_INPUTS.join(', ')}`);
  }
  const input = name as SimInput;
  if (pulse === undefined && holdMs === undefined) {
    if (typeof value !== 'boolean') throw new HttpError(400, `value=${JSON.stringify(value)} must be true or false (or send "pulse": true to press and release)`);
    return { name: input, value };
  }
  if (value !== undefined) throw new HttpError(400, 'give either value, or pulse/holdMs, not both');
  if (pulse !== undefined && pulse !== true) throw new HttpError(400, `pulse=${JSON.stringify(pulse)} must be true (or left out)`);
  if (holdMs === undefined) return { name: input };
  if (typeof holdMs !== 'number' || !Number.isInteger(holdMs) || holdMs < 1 || holdMs > MAX_HOLD_MS) {
    throw new HttpError(400, `holdMs=${JSON.stringify(holdMs)} must be a whole number of ms from 1 to ${MAX_HOLD_MS}`);
  }
  return { name: input, holdMs };
}
