import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** Frame `t` of a scene (t counts camera frames from the start of the feed, so the light drift runs on across scene changes). */
export type Scene = (t: number) => Buffer;

/**
 * A stand-in for rpicam-vid that the bench drives: a named pipe, and an executable `rpicam-vid` that
 * only `cat`s it, for the daemon to find first on its PATH. The daemon spawns and reads it exactly as it
 * does the real camera (RpicamSource, the MJPEG splitter), while the bench decides frame by frame what
 * the camera sees and knows when each scene's first frame went out. A camera restart by the daemon
 * shows as a broken pipe here and is counted.
 */
export class FifoCamera {
  readonly binDir: string;
  readonly fifo: string;
  restarts = 0;
  framesWritten = 0;
  private scene: Scene;
  private switched: ((at: number) => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    dir: string,
    private readonly framerate: number,
    initial: Scene,
  ) {
    this.scene = initial;
    this.binDir = path.join(dir, 'bin');
    this.fifo = path.join(dir, 'camera.mjpeg');
    fs.mkdirSync(this.binDir, { recursive: true });
    execFileSync('mkfifo', [this.fifo]);
    const script = path.join(this.binDir, 'rpicam-vid');
    fs.writeFileSync(script, `#!/bin/sh\n# The bench's camera: the daemon's rpicam-vid arguments are ignored.\nexec cat ${JSON.stringify(this.fifo)}\n`, { mode: 0o755 });
  }

  /** Starts writing frames once the daemon opens the camera. */
  start(): void {
    this.loop ??= this.run();
  }

  /** From the next frame on the camera sees `scene`; resolves with Date.now() when that first frame was written. */
  show(scene: Scene): Promise<number> {
    this.scene = scene;
    return new Promise((resolve) => (this.switched = resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /**
   * The write end, once the daemon's `cat` has opened the read end. Opened non-blocking and polled: a
   * blocking open would hold one of libuv's pool threads, which a process exit then waits for forever.
   */
  private async connect(): Promise<net.Socket | undefined> {
    while (!this.stopped) {
      try {
        const fd = fs.openSync(this.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        // A broken pipe fails the write in flight, which the loop handles; the error event needs a listener all the same.
        return new net.Socket({ fd, readable: false, writable: true }).on('error', () => undefined);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return undefined;
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.framerate;
    let pipe: net.Socket | undefined;
    let next = performance.now();
    let opened = 0;
    while (!this.stopped) {
      if (!pipe) {
        pipe = await this.connect();
        if (!pipe) break;
        if (opened++ > 0) this.restarts++;
        next = performance.now();
      }
      const frame = this.scene(this.framesWritten);
      const at = Date.now();
      const written = await new Promise<boolean>((resolve) => pipe!.write(frame, (err) => resolve(!err)));
      if (!written) {
        // The daemon's camera process went away (a restart, or the daemon stopping).
        pipe.destroy();
        pipe = undefined;
        continue;
      }
      this.framesWritten++;
      const switched = this.switched;
      this.switched = undefined;
      switched?.(at);
      next += interval;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    pipe?.destroy();
  }
}
