import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import type { EventBus } from '../events/bus';
import { HttpError, readJson, sendError, sendJson } from '../http/json';
import type { Logger } from '../log';
import type { StateRegistry } from '../state';
import { BENCH_PAGE } from './page';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface BenchDeps {
  port: number;
  bus: EventBus;
  state: StateRegistry;
  simGpio: SimGpioBackend | null;
  log: Logger;
}

const SIM_INPUTS = ['exit', 'contact', 'tamper'] as const;

/**
 * The simulated-hardware bench (DESIGN §3). Bound to 127.0.0.1 only: it can open the door. Features add
 * their own routes (`/api/sim/nfc`, `/api/sim/camera`) and mount the admin API under `/api/admin/`.
 */
export class BenchServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly mounts: { prefix: string; handler: RouteHandler }[] = [];
  private readonly streams = new Set<ServerResponse>();
  private server: Server | undefined;
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
      const body = await readJson(req);
      const { name, value } = body;
      if (typeof name !== 'string' || !(SIM_INPUTS as readonly string[]).includes(name)) {
        throw new HttpError(400, `name=${JSON.stringify(name)} must be one of ${SIM_INPUTS.join(', ')}`);
      }
      if (typeof value !== 'boolean') throw new HttpError(400, `value=${JSON.stringify(value)} must be true or false`);
      sim.setInput(name, value);
      sendJson(res, 200, { ok: true, name, value });
    });
  }

  route(method: string, path: string, handler: RouteHandler): void {
    const key = `${method} ${path}`;
    if (this.routes.has(key)) throw new Error(`bench route ${key} is already taken`);
    this.routes.set(key, handler);
  }

  /** Every request whose path starts with `prefix` goes to `handler` (the admin API). */
  mount(prefix: string, handler: RouteHandler): void {
    this.mounts.push({ prefix, handler });
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
    this.unsubscribe.push(
      this.deps.bus.subscribe((event) => {
        this.broadcast('gate-event', event);
        this.stateChanged();
      }),
    );
    if (this.deps.simGpio) this.unsubscribe.push(this.deps.simGpio.onChange(() => this.stateChanged()));
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
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
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const handler =
        this.routes.get(`${req.method} ${url.pathname}`) ?? this.mounts.find((m) => url.pathname.startsWith(m.prefix))?.handler;
      if (!handler) {
        const allowed = [...this.routes.keys()].filter((k) => k.endsWith(` ${url.pathname}`)).map((k) => k.split(' ')[0]);
        if (allowed.length) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname} (use ${allowed.join(', ')})`);
        throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      }
      await handler(req, res, url);
    } catch (err) {
      if (!(err instanceof HttpError)) this.deps.log.error({ err }, 'bench request failed');
      if (!res.headersSent) sendError(res, err);
      else res.end();
    }
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
