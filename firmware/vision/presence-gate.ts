import { jpegLumaBlocks } from './jpeg-dc';
import { MOTION_DEFAULTS, MotionDetector } from './motion';
import { initialPresence, presenceOnAnalysis, presenceOnFrame, type PresenceMode, type PresenceReason, type PresenceState, type PresenceTimings } from './presence';

export interface PresenceOptions extends PresenceTimings {
  /** Share of the frame's 8x8 blocks that must change for a frame to count as motion. */
  motionThreshold: number;
}

export interface PresenceReport {
  mode: PresenceMode;
  reason: PresenceReason;
}

/**
 * The cheap look and the presence state machine, where the frames are judged (the recognizer worker):
 * every frame's luma blocks are read from its DC coefficients and compared with the background, and
 * `look` says whether the frame deserves the full analysis. A frame that cannot be read that way (PNG,
 * progressive JPEG, corrupt) is analysed in full: gating never hides a frame it cannot judge.
 */
export class PresenceGate {
  private state: PresenceState;
  private readonly motion = new MotionDetector(MOTION_DEFAULTS);
  /** The last motion share, for logs and the bench; null when the frame could not be compared. */
  lastShare: number | null = null;

  constructor(
    private readonly options: PresenceOptions,
    now: number,
  ) {
    this.state = initialPresence(now);
  }

  get report(): PresenceReport {
    return { mode: this.state.mode, reason: this.state.reason };
  }

  /** True when this frame must be analysed in full. */
  look(bytes: Uint8Array, contentType: string, now: number, wake?: string): boolean {
    let moved: boolean | null;
    try {
      if (contentType !== 'image/jpeg') throw new Error('not a JPEG');
      const blocks = jpegLumaBlocks(bytes);
      this.lastShare = this.motion.observe(blocks, now);
      // A thumbnail of the frame: zeroed like the frame (the background keeps only its running mean).
      blocks.data.fill(0);
      // No background to compare with (first frame, new size, after a gap): a new scene counts as motion.
      moved = this.lastShare === null || this.lastShare >= this.options.motionThreshold;
    } catch {
      this.lastShare = null;
      moved = null;
    }
    const verdict = presenceOnFrame(this.state, { now, moved, ...(wake !== undefined ? { wake } : {}) }, this.options);
    this.state = verdict.state;
    return verdict.analyse;
  }

  analysed(faceSeen: boolean, now: number): void {
    this.state = presenceOnAnalysis(this.state, faceSeen, now);
  }

  dispose(): void {
    this.motion.reset();
  }
}
