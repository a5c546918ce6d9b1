import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageKind } from '../../firmware/vision/image';
import { JpegFrameSplitter } from './jpeg-splitter';
import type { CameraFrame, CameraSource, CameraStatus } from './source';

type Emit = (frame: CameraFrame) => void;

function frameOf(bytes: Buffer): CameraFrame {
  const kind = imageKind(bytes);
  if (!kind) throw new Error('camera frame is not a JPEG or PNG');
  return { bytes: Buffer.from(bytes), contentType: kind === 'jpeg' ? 'image/jpeg' : 'image/png', receivedAt: performance.now() };
}

/**
 * The bench camera: `POST /api/sim/camera` puts an image in front of it, and it keeps seeing that image
 * at the configured frame rate for `holdMs` (a person standing at the gate), then an empty scene.
 * Without a push it delivers nothing, which is not a camera fault: a simulated camera is never "lost".
 */
export class BenchCamera implements CameraSource {
  readonly description = 'bench camera (POST /api/sim/camera)';
  readonly continuous = false;
  private emit: Emit | undefined;
  private scene: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private until = 0;

  constructor(private readonly framerate: number) {}

  start(onFrame: Emit, onStatus: (status: CameraStatus) => void): void {
    this.emit = onFrame;
    onStatus({ state: 'running' });
  }

  /** Shows an image (JPEG or PNG bytes) for holdMs; throws with the reason when it is neither. */
  push(bytes: Buffer, contentType: string, holdMs = 2000): void {
    const kind = imageKind(bytes);
    if (!kind) throw new Error(`body is not a JPEG or PNG image (${bytes.length} bytes)`);
    const declared = contentType.split(';')[0]?.trim().toLowerCase();
    if (declared !== `image/${kind}`) throw new Error(`content-type is ${contentType || 'missing'} but the body is ${kind}; send image/jpeg or image/png`);
    this.scene?.fill(0);
    this.scene = Buffer.from(bytes);
    this.until = performance.now() + holdMs;
    if (!this.timer) this.tick();
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.scene || !this.emit) return;
    if (performance.now() > this.until) {
      this.scene.fill(0);
      this.scene = undefined;
      return;
    }
    this.emit(frameOf(this.scene));
    this.timer = setTimeout(() => this.tick(), 1000 / this.framerate);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.scene?.fill(0);
    this.scene = undefined;
    this.emit = undefined;
  }
}

/** Frames from a folder of JPEG/PNG files or from an .mjpeg file, looped at the frame rate. */
export class DirectoryCamera implements CameraSource {
  readonly continuous = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: string,
    private readonly framerate: number,
  ) {}

  get description(): string {
    return `frames from ${this.source} at ${this.framerate} fps`;
  }

  /** The frames of the source, read once at start; an empty or unreadable source is an error naming it. */
  readFrames(): Buffer[] {
    const stat = fs.statSync(this.source);
    let frames: Buffer[];
    if (stat.isDirectory()) {
      frames = fs
        .readdirSync(this.source)
        .filter((f) => /\.(jpe?g|png)$/i.test(f))
        .sort()
        .map((f) => fs.readFileSync(path.join(this.source, f)));
    } else {
      frames = new JpegFrameSplitter().push(fs.readFileSync(this.source));
    }
    if (frames.length === 0) throw new Error(`camera source ${this.source} holds no JPEG or PNG frames`);
    return frames;
  }

  start(onFrame: Emit, onStatus: (status: CameraStatus) => void): void {
    let frames: Buffer[];
    try {
      frames = this.readFrames();
    } catch (err) {
      onStatus({ state: 'failed', reason: (err as Error).message });
      return;
    }
    onStatus({ state: 'running' });
    let i = 0;
    const tick = () => {
      onFrame(frameOf(frames[i % frames.length]!));
      i++;
      this.timer = setTimeout(tick, 1000 / this.framerate);
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
