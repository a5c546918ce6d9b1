import type { LumaBlocks } from './jpeg-dc';

export interface MotionOptions {
  /** A block has changed when it differs from the background by more than this many grey levels, once the global light change is taken out. */
  blockDelta: number;
  /** Time constant of the background: a scene change older than a few of these is part of it (a parked car, a person standing still). */
  backgroundMs: number;
  /** A gap between frames longer than this (a camera that only delivers on demand) starts a new background. */
  maxGapMs: number;
}

export const MOTION_DEFAULTS: MotionOptions = { blockDelta: 10, backgroundMs: 1000, maxGapMs: 2000 };

/** Ratios and offsets below this block brightness are mostly noise: they do not vote on the global light level. */
const MIN_LEVEL_FOR_GAIN = 20;

/**
 * Median of values in [lo, hi) to within one bin of a histogram: O(n), and the outliers (a person in
 * a third of the frame) cannot move it far, which is what a global light estimate needs.
 */
function histogramMedian(values: Float32Array, count: number, lo: number, hi: number, bins: number): number {
  const hist = new Uint32Array(bins);
  const width = (hi - lo) / bins;
  for (let i = 0; i < count; i++) hist[Math.min(bins - 1, Math.max(0, Math.floor((values[i]! - lo) / width)))]!++;
  let seen = 0;
  for (let b = 0; b < bins; b++) {
    seen += hist[b]!;
    if (seen * 2 >= count) return lo + (b + 0.5) * width;
  }
  return lo + (bins - 0.5) * width;
}

/**
 * Share of blocks that changed between the background and the current frame, after removing a global
 * gain (exposure and daylight drift scale gamma-encoded values) and then a global offset, each the
 * median over the blocks so that a person covering part of the frame does not count as a light change.
 * Pure: the background is not touched.
 */
export function changedShare(background: Float32Array, current: Uint8Array, blockDelta: number): number {
  const n = current.length;
  if (background.length !== n) throw new Error(`motion: background has ${background.length} blocks, frame ${n}`);
  const scratch = new Float32Array(n);
  let lit = 0;
  for (let i = 0; i < n; i++) if (background[i]! >= MIN_LEVEL_FOR_GAIN) scratch[lit++] = current[i]! / background[i]!;
  // In a dark scene (night) the ratios are noise: there the offset alone carries the light change.
  const gain = lit * 10 >= n ? histogramMedian(scratch, lit, 0.25, 4, 750) : 1;
  for (let i = 0; i < n; i++) scratch[i] = current[i]! - gain * background[i]!;
  const offset = histogramMedian(scratch, n, -255, 255, 510);
  let changed = 0;
  for (let i = 0; i < n; i++) if (Math.abs(scratch[i]! - offset) > blockDelta) changed++;
  return changed / n;
}

/**
 * Motion against a slowly adapting background of block brightnesses. The background is a running mean
 * with a time constant, so sensor noise averages out and slow light drift is followed, while a person
 * stepping in differs from it at once. It holds an 80x60 grey thumbnail of the scene: memory only,
 * zeroed on reset.
 */
export class MotionDetector {
  private background: Float32Array | undefined;
  private width = 0;
  private height = 0;
  private lastAt = -Infinity;

  constructor(private readonly options: MotionOptions = MOTION_DEFAULTS) {}

  /**
   * The share of changed blocks (0-1), or null when there is nothing to compare with: the first frame,
   * a new frame size, or the first frame after a gap. The frame then becomes part of the background.
   */
  observe(blocks: LumaBlocks, now: number): number | null {
    const gap = now - this.lastAt;
    this.lastAt = now;
    if (!this.background || blocks.width !== this.width || blocks.height !== this.height || gap > this.options.maxGapMs) {
      this.reset();
      this.background = Float32Array.from(blocks.data);
      this.width = blocks.width;
      this.height = blocks.height;
      return null;
    }
    const share = changedShare(this.background, blocks.data, this.options.blockDelta);
    const alpha = 1 - Math.exp(-Math.max(0, gap) / this.options.backgroundMs);
    const bg = this.background;
    for (let i = 0; i < bg.length; i++) bg[i]! += alpha * (blocks.data[i]! - bg[i]!);
    return share;
  }

  reset(): void {
    this.background?.fill(0);
    this.background = undefined;
  }
}
