import { spawn, type ChildProcess } from 'node:child_process';
import { JpegFrameSplitter } from './jpeg-splitter';
import type { CameraFrame, CameraSource, CameraStatus } from './source';

export interface RpicamOptions {
  width: number;
  height: number;
  framerate: number;
  backoff: { initialMs: number; maxMs: number };
  /** Tried in order; the next one is used when a binary is missing. Raspberry Pi OS bookworm has rpicam-vid, bullseye libcamera-vid. */
  commands?: readonly string[];
}

const DEFAULT_COMMANDS = ['rpicam-vid', 'libcamera-vid'];

/**
 * The Pi camera as a continuous MJPEG stream from `rpicam-vid -o -` (node-libcamera buffers a whole
 * run's output, so it cannot stream). The process is restarted with doubling backoff whenever it dies;
 * the backoff resets once frames flow again.
 */
export class RpicamSource implements CameraSource {
  readonly continuous = true;
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private delayMs: number;
  private commandIndex = 0;
  private readonly commands: readonly string[];

  constructor(private readonly options: RpicamOptions) {
    this.commands = options.commands ?? DEFAULT_COMMANDS;
    this.delayMs = options.backoff.initialMs;
  }

  get description(): string {
    return `${this.commands[this.commandIndex]} ${this.options.width}x${this.options.height} @${this.options.framerate} fps (MJPEG on stdout)`;
  }

  args(): string[] {
    const o = this.options;
    return ['-n', '-t', '0', '--codec', 'mjpeg', '--width', String(o.width), '--height', String(o.height), '--framerate', String(o.framerate), '-o', '-'];
  }

  start(onFrame: (frame: CameraFrame) => void, onStatus: (status: CameraStatus) => void): void {
    this.stopped = false;
    this.spawnOnce(onFrame, onStatus);
  }

  private spawnOnce(onFrame: (frame: CameraFrame) => void, onStatus: (status: CameraStatus) => void): void {
    const command = this.commands[this.commandIndex]!;
    const splitter = new JpegFrameSplitter();
    let stderrTail = '';
    let sawFrame = false;
    let ended = false;
    const child = spawn(command, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const bytes of splitter.push(chunk)) {
        if (!sawFrame) {
          sawFrame = true;
          this.delayMs = this.options.backoff.initialMs;
          onStatus({ state: 'running' });
        }
        onFrame({ bytes, contentType: 'image/jpeg', receivedAt: performance.now() });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-400);
    });
    const end = (reason: string, missing: boolean) => {
      if (ended) return;
      ended = true;
      splitter.reset();
      if (this.child === child) this.child = undefined;
      if (this.stopped) return;
      if (missing && this.commandIndex + 1 < this.commands.length) {
        this.commandIndex++;
        this.spawnOnce(onFrame, onStatus);
        return;
      }
      if (missing) this.commandIndex = 0;
      onStatus({ state: 'failed', reason: `${reason}; restarting in ${this.delayMs} ms` });
      this.timer = setTimeout(() => this.spawnOnce(onFrame, onStatus), this.delayMs);
      this.delayMs = Math.min(this.options.backoff.maxMs, this.delayMs * 2);
    };
    child.on('error', (err: NodeJS.ErrnoException) => end(err.code === 'ENOENT' ? `${command} not found` : `${command}: ${err.message}`, err.code === 'ENOENT'));
    child.on('exit', (code, signal) => {
      const last = stderrTail.trim().split('\n').pop() ?? '';
      end(`${command} exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`, false);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
