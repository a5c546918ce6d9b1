import * as tf from '@tensorflow/tfjs';
import { cropToFrame, warpCrop, type CropSpec } from './align';
import type { Point } from './geometry';
import type { RgbImage } from './image';

/** The aligned crop MobileFaceNet reads: the tight 112x112 ArcFace crop, raw 0..255 RGB (the graph normalises). */
export const EMBED_CROP: CropSpec = { size: 112, padding: 0 };
/** Human's faceres reads 224x224, 0..255, and was trained on a looser crop than ArcFace's. */
export const FACERES_CROP: CropSpec = { size: 224, padding: 0.2 };
const FACERES_DIMENSIONS = 1024;

export type EmbedderName = 'mobileface' | 'mobileface+faceres';

/**
 * InsightFace MobileFaceNet on the aligned crop, optionally fused with Human's faceres descriptor.
 * MobileFaceNet sees the crop and its mirror image in one batch, their embeddings summed (a test-time
 * flip that raised the LFW true-accept rate). Fused, each part is L2-normalised and scaled by 1/sqrt(2)
 * before concatenation, so the cosine of two fused embeddings is the mean of the two models' cosines.
 */
export class FaceEmbedder {
  readonly dimensions: number;
  private readonly wideCrop: Float32Array | undefined;

  /** MobileFaceNet's graph does not declare its output size, so the manifest's outputSize gives it (tests check they agree). */
  constructor(
    private readonly mobileface: tf.GraphModel,
    private readonly mobilefaceDimensions: number,
    private readonly faceres: tf.GraphModel | null = null,
  ) {
    this.dimensions = mobilefaceDimensions + (faceres ? FACERES_DIMENSIONS : 0);
    this.wideCrop = faceres ? new Float32Array(FACERES_CROP.size * FACERES_CROP.size * 3) : undefined;
  }

  /** The aligned crop MobileFaceNet reads, written into `out` (length 112*112*3). */
  static alignedCrop(img: RgbImage, fivePoints: readonly Point[], out: Float32Array): Float32Array {
    return warpCrop(img, cropToFrame(fivePoints, EMBED_CROP), EMBED_CROP.size, 0, 1, out);
  }

  embed(img: RgbImage, fivePoints: readonly Point[], alignedCrop: Float32Array): Float32Array {
    const size = EMBED_CROP.size;
    const summed = tf.tidy(() => {
      const x = tf.tensor4d(alignedCrop, [1, size, size, 3]);
      const out = this.mobileface.execute(tf.concat([x, tf.reverse(x, 2)], 0)) as tf.Tensor2D;
      return out.sum(0);
    });
    const fast = l2Normalise(Float32Array.from(summed.dataSync() as Float32Array));
    summed.dispose();
    if (!this.faceres || !this.wideCrop) return fast;

    const wide = FACERES_CROP.size;
    warpCrop(img, cropToFrame(fivePoints, FACERES_CROP), wide, 0, 1, this.wideCrop);
    const descriptor = tf.tidy(() => {
      const outs = this.faceres!.execute(tf.tensor4d(this.wideCrop!, [1, wide, wide, 3])) as tf.Tensor[];
      const d = outs.find((t) => t.shape[t.shape.length - 1] === FACERES_DIMENSIONS);
      if (!d) throw new Error('faceres: no 1024-value descriptor among the outputs');
      return Float32Array.from(d.dataSync() as Float32Array);
    });
    this.wideCrop.fill(0);
    const slow = l2Normalise(descriptor);
    const fused = new Float32Array(this.dimensions);
    for (let i = 0; i < fast.length; i++) fused[i] = fast[i]! * Math.SQRT1_2;
    for (let i = 0; i < slow.length; i++) fused[this.mobilefaceDimensions + i] = slow[i]! * Math.SQRT1_2;
    fast.fill(0);
    slow.fill(0);
    return fused;
  }
}

export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) throw new Error('embedding has zero or non-finite norm');
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}
