import * as tf from '@tensorflow/tfjs';
import { warpCrop } from './align';
import type { FaceDetection } from './geometry';
import type { RgbImage } from './image';
import { squareInputSide } from './model-input';

/**
 * Human's liveness model on the detector's box (no margin), 0..1 RGB: the first output is the
 * probability the face is live. A printed photo or a screen held to the camera scores lower.
 */
export class LivenessScorer {
  private readonly size: number;
  private readonly crop: Float32Array;

  constructor(private readonly model: tf.GraphModel) {
    this.size = squareInputSide(model, 32);
    this.crop = new Float32Array(this.size * this.size * 3);
  }

  score(img: RgbImage, detection: FaceDetection): number {
    const { box } = detection;
    const side = Math.max(box.width, box.height);
    const k = side / this.size;
    const toFrame = { a: k, b: 0, tx: box.x + box.width / 2 - side / 2, ty: box.y + box.height / 2 - side / 2 };
    warpCrop(img, toFrame, this.size, 0, 1 / 255, this.crop);
    const live = tf.tidy(() => (this.model.execute(tf.tensor4d(this.crop, [1, this.size, this.size, 3])) as tf.Tensor).dataSync()[0]);
    this.crop.fill(0);
    if (live === undefined) throw new Error('liveness: model returned no score');
    return live;
  }
}
