import * as tf from '@tensorflow/tfjs';
import type { OnnxModel } from '../../models/onnx-model';
import { cropToFrame, warpCrop, type CropSpec } from './align';
import type { Point } from './geometry';
import type { RgbImage } from './image';
import { l2Normalise } from './matcher';

/** The aligned crop the embedder reads: the tight 112x112 ArcFace crop, raw 0..255 RGB (the quality gate measures sharpness on it too). */
export const EMBED_CROP: CropSpec = { size: 112, padding: 0 };

/**
 * A MobileFaceNet-class network trained with an ArcFace-style margin loss (faceplugin's fr_feature,
 * 512 values), chosen by measurement on the LFW dev-train pairs over InsightFace's MobileFaceNet, Human's
 * faceres and face-api's ResNet (docs/BENCHMARKS.md). One pass per face: a mirrored second pass made
 * LFW accuracy slightly worse and would double the cost.
 */
export class FaceEmbedder {
  readonly dimensions: number;

  constructor(private readonly model: OnnxModel, dimensions: number) {
    this.dimensions = dimensions;
  }

  /** The aligned crop the embedder reads, written into `out` (length 112*112*3). */
  static alignedCrop(img: RgbImage, fivePoints: readonly Point[], out: Float32Array): Float32Array {
    return warpCrop(img, cropToFrame(fivePoints, EMBED_CROP), EMBED_CROP.size, 0, 1, out);
  }

  /** The unit-length embedding of a crop made by `alignedCrop`. */
  embed(alignedCrop: Float32Array): Float32Array {
    const size = EMBED_CROP.size;
    // (v - 127) / 128: the normalisation the model was published with.
    const values = tf.tidy(() => {
      const x = tf.tensor4d(alignedCrop, [1, size, size, 3]).sub(127).div(128);
      return (this.model.execute(x) as tf.Tensor).dataSync() as Float32Array;
    });
    if (values.length !== this.dimensions) throw new Error(`embedder returned ${values.length} values, the manifest says ${this.dimensions}`);
    return l2Normalise(Float32Array.from(values));
  }
}
