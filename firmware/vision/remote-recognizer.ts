import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { backoffMs } from '../cards/backoff';
import type { PresenceOptions } from './presence-gate';
import type { FrameAnalysis, RecognizerOptions } from './recognizer';
import { ownedWhole, type AnalyseRequest, type JudgedFrame, type WorkerData, type WorkerReply } from './recognizer-protocol';

export type RecognizerStatus = { state: 'running' } | { state: 'failed'; reason: string };

export interface RemoteOptions {
  /** Starts a worker thread running recognizer-worker.js; tests pass one that keeps a handle on it. */
  spawn?: (data: WorkerData) => Worker;
  /** A dead worker is restarted after initialMs, doubled per consecutive failure up to maxMs. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Presence gating for the frames sent with `judge` (null or absent: every frame is analysed). */
  presence?: PresenceOptions | null;
}

export interface LoadedRemoteRecognizer {
  recognizer: RemoteRecognizer;
  backend: string;
  /** From starting the worker to its models loaded and warmed up. */
  loadMs: number;
}

/** Reloading the models costs seconds of CPU on a Pi: a worker that keeps dying is not restarted in a tight loop. */
const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 60_000 };

/**
 * The worker's entry file. The daemon runs from dist/, where it is this file's compiled sibling. Under
 * jest this module is TypeScript compiled in memory, but a worker thread loads its entry from disk
 * through Node's own loader, which runs no TypeScript (Node 20 has no type stripping and no TS loader
 * is installed); so it runs the compiled twin under dist/, which `npm test` builds first (pretest).
 */
export function workerEntry(): string {
  if (path.extname(__filename) !== '.ts') return path.join(__dirname, 'recognizer-worker.js');
  const root = path.resolve(__dirname, '..', '..');
  const twin = path.join(root, 'dist', path.relative(root, __dirname), 'recognizer-worker.js');
  if (!fs.existsSync(twin)) throw new Error(`${twin} is missing: run \`npm run build\` (npm test does), the recognizer worker runs the compiled JavaScript`);
  return twin;
}

const spawnWorker = (data: WorkerData) => new Worker(workerEntry(), { workerData: data });

/** One worker's life: its model load, then one frame at a time, until it dies or is terminated. */
class RecognizerThread {
  readonly ready: Promise<{ backend: string; dimensions: number }>;
  private resolveReady!: (r: { backend: string; dimensions: number }) => void;
  private rejectReady!: (err: Error) => void;
  private pending: { resolve(judged: JudgedFrame): void; reject(err: Error): void } | undefined;
  private state: 'loading' | 'up' | 'ended' = 'loading';

  constructor(
    private readonly worker: Worker,
    private readonly onDeath: (reason: string) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (err) => this.end(`failed: ${err.message}`));
    worker.on('exit', (code) => this.end(`exited with code ${code}`));
  }

  judge(frame: AnalyseRequest): Promise<JudgedFrame> {
    if (this.state !== 'up') return Promise.reject(new Error(`the face recognizer worker is ${this.state === 'loading' ? 'still loading its models' : 'gone'}`));
    if (this.pending) return Promise.reject(new Error('the face recognizer takes one frame at a time: the previous one is still being analysed'));
    const bytes = ownedWhole(frame.bytes);
    return new Promise((resolve, reject) => {
      this.worker.postMessage({ ...frame, bytes } satisfies AnalyseRequest, [bytes.buffer as ArrayBuffer]);
      this.pending = { resolve, reject };
    });
  }

  async terminate(): Promise<void> {
    if (this.state !== 'ended') this.fail(new Error('the face recognizer was stopped'));
    await this.worker.terminate();
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type === 'ready') {
      this.state = 'up';
      this.resolveReady(reply);
    } else if (reply.type === 'load-failed') {
      this.fail(Object.assign(new Error(reply.message), { name: reply.name }));
      void this.worker.terminate();
    } else {
      const pending = this.pending;
      this.pending = undefined;
      if (reply.type === 'analysis') pending?.resolve({ analysis: reply.analysis, presence: reply.presence });
      else pending?.reject(new Error(`face analysis failed: ${reply.message}`));
    }
  }

  private end(reason: string): void {
    if (this.state === 'ended') return;
    const wasUp = this.state === 'up';
    const why = `the face recognizer worker ${reason}`;
    this.fail(new Error(wasUp ? `${why} while analysing a frame` : `${why} before its models loaded`));
    if (wasUp) this.onDeath(why);
  }

  /** Ends this worker's life for its waiters: its load, or the frame in flight. */
  private fail(err: Error): void {
    this.state = 'ended';
    this.rejectReady(err);
    this.pending?.reject(err);
    this.pending = undefined;
  }
}

/**
 * FaceRecognizer behind a worker thread, for the daemon's thread: `judge` and `analyse` post the encoded
 * frame (its bytes moved, not copied; the worker decodes it) and resolve with the worker's verdict, one
 * frame at a time. A restarted worker starts its presence gate afresh (active). A worker that dies
 * fails the frame in flight, reports the recognizer failed (the gate marks face degraded; cards are
 * untouched) and is restarted with backoff; the status goes back to running once its models are loaded.
 */
export class RemoteRecognizer {
  private thread: RecognizerThread | undefined;
  private dims = 0;
  private failures = 0;
  private downReason: string | null = null;
  private restartTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly listeners = new Set<(status: RecognizerStatus) => void>();

  private constructor(
    private readonly spawn: () => Worker,
    private readonly backoff: { initialMs: number; maxMs: number },
  ) {}

  /** Starts the worker and resolves once its models are verified, loaded and warmed up; a load failure leaves nothing running. */
  static async load(options: RecognizerOptions, o: RemoteOptions = {}): Promise<LoadedRemoteRecognizer> {
    const started = performance.now();
    const spawn = o.spawn ?? spawnWorker;
    const data: WorkerData = o.presence ? { ...options, presence: o.presence } : options;
    const remote = new RemoteRecognizer(() => spawn(data), o.restartBackoff ?? DEFAULT_BACKOFF);
    const { backend } = await remote.boot();
    return { recognizer: remote, backend, loadMs: performance.now() - started };
  }

  get dimensions(): number {
    return this.dims;
  }

  /**
   * One frame, through the presence gate when the recognizer was loaded with one: its analysis is null
   * when the gate judged the scene empty. The bytes move to the worker when `frame.bytes` owns its whole
   * buffer (the caller's view is then empty), else they are copied once.
   */
  judge(frame: AnalyseRequest): Promise<JudgedFrame> {
    if (!this.thread) return Promise.reject(new Error(`the face recognizer is down: ${this.downReason ?? 'disposed'}`));
    return this.thread.judge(frame).then((judged) => {
      this.failures = 0;
      return judged;
    });
  }

  /** One frame analysed in full, whatever the presence gate would say. */
  async analyse(frame: AnalyseRequest): Promise<FrameAnalysis> {
    const { gate: _ignored, ...always } = frame;
    return (await this.judge(always)).analysis!;
  }

  /** Reports the worker dying and coming back; returns the unsubscribe. */
  onStatus(listener: (status: RecognizerStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.restartTimer);
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
  }

  private async boot(): Promise<{ backend: string }> {
    const thread = new RecognizerThread(this.spawn(), (reason) => this.down(reason));
    this.thread = thread;
    const ready = await thread.ready;
    this.dims = ready.dimensions;
    return ready;
  }

  private down(reason: string): void {
    this.thread = undefined;
    if (this.disposed) return;
    this.failures++;
    const delayMs = backoffMs(this.failures, this.backoff.initialMs, this.backoff.maxMs);
    this.downReason = `${reason}; restarting in ${delayMs} ms`;
    this.emit({ state: 'failed', reason: this.downReason });
    this.restartTimer = setTimeout(() => this.restart(), delayMs);
  }

  private restart(): void {
    this.boot().then(
      () => {
        this.downReason = null;
        if (!this.disposed) this.emit({ state: 'running' });
      },
      (err: Error) => this.down(`restart failed: ${err.message}`),
    );
  }

  private emit(status: RecognizerStatus): void {
    for (const l of this.listeners) l(status);
  }
}
