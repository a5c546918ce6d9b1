import * as tf from '@tensorflow/tfjs';
import type { OnnxModel } from '../../models/onnx-model';
import { warpCrop } from './align';
import type { FaceDetection } from './geometry';
import type { RgbImage } from './image';

/** The context the model judges: the detector box grown 2.7 times (screen edges, hands, paper borders), as published. */
const CONTEXT_SCALE = 2.7;
/** Output classes: live, then two attack classes (print, replay); the score is the softmax of the live class. */
const LIVE_CLASS = 0;

/**
 * Silent anti-spoofing (faceplugin's fr_liveness, a MiniFASNet-style network) on one frame: a printed
 * photo or a screen held to the camera scores low. The crop is square around the face, grown by
 * CONTEXT_SCALE but kept inside the frame, resized by plain bilinear sampling (no anti-aliasing: the
 * moiré and print texture it looks for are fine detail), raw 0..255 values in BGR order.
 */
export class LivenessScorer {
  private readonly size: number;
  private readonly crop: Float32Array;

  constructor(private readonly model: OnnxModel) {
    this.size = model.inputs[0]!.shape[1]!;
    this.crop = new Float32Array(this.size * this.size * 3);
  }

  score(img: RgbImage, detection: FaceDetection): number {
    const { box } = detection;
    const side = Math.min(Math.max(box.width, box.height) * CONTEXT_SCALE, img.width - 1, img.height - 1);
    const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
    const x0 = clamp(box.x + box.width / 2 - side / 2, img.width - 1 - side);
    const y0 = clamp(box.y + box.height / 2 - side / 2, img.height - 1 - side);
    warpCrop(img, { a: side / this.size, b: 0, tx: x0, ty: y0 }, this.size, 0, 1, this.crop, false);
    const probabilities = tf.tidy(() => {
      const bgr = tf.reverse(tf.tensor4d(this.crop, [1, this.size, this.size, 3]), 3);
      return tf.softmax(this.model.execute(bgr) as tf.Tensor2D).dataSync() as Float32Array;
    });
    this.crop.fill(0);
    const live = probabilities[LIVE_CLASS];
    if (live === undefined || !Number.isFinite(live)) throw new Error('liveness: model returned no score');
    return live;
  }
}
