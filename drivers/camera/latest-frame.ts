import type { CameraFrame } from './source';

/**
 * Newest frame wins: the pipeline is slower than the camera, so a frame that arrives while another
 * waits replaces it (the replaced one is zeroed), and a frame older than `staleMs` when taken is dropped.
 */
export class LatestFrameSlot {
  private frame: CameraFrame | undefined;
  dropped = 0;

  constructor(private readonly staleMs: number) {}

  put(frame: CameraFrame): void {
    if (this.frame) {
      this.frame.bytes.fill(0);
      this.dropped++;
    }
    this.frame = frame;
  }

  take(now: number = performance.now()): CameraFrame | undefined {
    const frame = this.frame;
    this.frame = undefined;
    if (frame && now - frame.receivedAt > this.staleMs) {
      frame.bytes.fill(0);
      this.dropped++;
      return undefined;
    }
    return frame;
  }

  clear(): void {
    this.frame?.bytes.fill(0);
    this.frame = undefined;
  }
}
