/** One encoded frame as the camera delivered it. Held in memory only, and zeroed once judged (red line 4). */
export interface CameraFrame {
  bytes: Buffer;
  contentType: 'image/jpeg' | 'image/png';
  /** performance.now() when it arrived, for dropping stale frames. */
  receivedAt: number;
}

export type CameraStatus = { state: 'running' } | { state: 'failed'; reason: string };

/** A camera backend: the real rpicam-vid process, or a simulator speaking the same frames. */
export interface CameraSource {
  readonly description: string;
  /** A real camera delivers frames all the time, so silence means it is lost; the bench camera only on demand. */
  readonly continuous: boolean;
  start(onFrame: (frame: CameraFrame) => void, onStatus: (status: CameraStatus) => void): void;
  stop(): Promise<void>;
}
