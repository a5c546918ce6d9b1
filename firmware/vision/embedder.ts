import * as tf from '@tensorflow/tfjs';
import { cropToFrame, warpCrop } from './align';
import type { Point } from './geometry';
import type { RgbImage } from './image';

/** The aligned crop the embedder reads: the tight 112x112 ArcFace crop, raw 0..255 RGB (the graph normalises). */
export const EMBED_CROP = { size: 112, padding: 0 } as const;

/**
 * InsightFace MobileFaceNet on an aligned crop. The crop and its mirror image go through in one batch and
 * their embeddings are summed: a test-time flip that measurably raises the true-accept rate on LFW for
 * about 2 ms. The result is L2-normalised, so cosine similarity is a dot product.
 */
export class FaceEmbedder {
  /** The graph does not declare its output shape, so the manifest's outputSize says it (tests check the two agree). */
  constructor(
    private readonly model: tf.GraphModel,
    readonly dimensions: number,
  ) {}

  /** The aligned crop this embedder reads, written into `out` (length 112*112*3). */
  static alignedCrop(img: RgbImage, fivePoints: readonly Point[], out: Float32Array): Float32Array {
    return warpCrop(img, cropToFrame(fivePoints, EMBED_CROP), EMBED_CROP.size, 0, 1, out);
  }

  embed(alignedCrop: Float32Array): Float32Array {
    const size = EMBED_CROP.size;
    const summed = tf.tidy(() => {
      const x = tf.tensor4d(alignedCrop, [1, size, size, 3]);
      const batch = tf.concat([x, tf.reverse(x, 2)], 0);
      const out = this.model.execute(batch) as tf.Tensor2D;
      return out.sum(0);
    });
    const v = summed.dataSync() as Float32Array;
    summed.dispose();
    return l2Normalise(Float32Array.from(v));
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
