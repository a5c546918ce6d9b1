import * as tf from '@tensorflow/tfjs';
import { warpCrop } from './align';
import { iou, type FaceDetection } from './geometry';
import type { RgbImage } from './image';
import { squareInputSide } from './model-input';

/** Per anchor: [score logit, cx, cy, w, h, then 6 keypoints (x, y)], offsets in input pixels. */
const VALUES_PER_ANCHOR = 17;

/** SSD anchor centres of BlazeFace: 2 per cell on the stride-16 grid, then 6 per cell on the stride-32 grid. */
export function blazeFaceAnchors(inputSize: number): Float32Array {
  const layers = [
    { stride: inputSize / 16, perCell: 2 },
    { stride: inputSize / 8, perCell: 6 },
  ];
  const out: number[] = [];
  for (const { stride, perCell } of layers) {
    const cells = Math.ceil(inputSize / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let n = 0; n < perCell; n++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

export interface DecodeOptions {
  minScore: number;
  iouThreshold: number;
  /** Input pixels to frame pixels (the frame is letterboxed into the square input from its top-left). */
  scale: number;
}

/** Turns raw BlazeFace outputs into frame-space detections, best first, overlapping ones suppressed. */
export function decodeBlazeFace(raw: Float32Array, anchors: Float32Array, opts: DecodeOptions): FaceDetection[] {
  const count = anchors.length / 2;
  if (raw.length !== count * VALUES_PER_ANCHOR) throw new Error(`blazeface: ${raw.length} outputs, expected ${count * VALUES_PER_ANCHOR}`);
  const candidates: FaceDetection[] = [];
  const s = opts.scale;
  for (let i = 0; i < count; i++) {
    const o = i * VALUES_PER_ANCHOR;
    const score = 1 / (1 + Math.exp(-raw[o]!));
    if (score < opts.minScore) continue;
    const ax = anchors[2 * i]!;
    const ay = anchors[2 * i + 1]!;
    const cx = raw[o + 1]! + ax;
    const cy = raw[o + 2]! + ay;
    const w = raw[o + 3]!;
    const h = raw[o + 4]!;
    const kp = (k: number) => ({ x: (raw[o + 5 + 2 * k]! + ax) * s, y: (raw[o + 6 + 2 * k]! + ay) * s });
    candidates.push({
      box: { x: (cx - w / 2) * s, y: (cy - h / 2) * s, width: w * s, height: h * s },
      score,
      landmarks: { leftEye: kp(0), rightEye: kp(1), nose: kp(2), mouth: kp(3) },
    });
  }
  candidates.sort((a, b) => b.score - a.score);
  const kept: FaceDetection[] = [];
  for (const c of candidates) {
    if (kept.every((k) => iou(k.box, c.box) < opts.iouThreshold)) kept.push(c);
  }
  return kept;
}

export interface BlazeFaceOptions {
  minScore: number;
  iouThreshold: number;
}

export class BlazeFaceDetector {
  private readonly inputSize: number;
  private readonly anchors: Float32Array;
  private readonly input: Float32Array;

  constructor(
    private readonly model: tf.GraphModel,
    private readonly options: BlazeFaceOptions = { minScore: 0.6, iouThreshold: 0.3 },
  ) {
    this.inputSize = squareInputSide(model, 256);
    this.anchors = blazeFaceAnchors(this.inputSize);
    this.input = new Float32Array(this.inputSize * this.inputSize * 3);
  }

  detect(img: RgbImage): FaceDetection[] {
    const side = Math.max(img.width, img.height);
    const size = this.inputSize;
    // Letterboxed and scaled in one bilinear pass in JS: cheaper on wasm than pad + resize of the whole
    // frame as tensors. Beyond the frame the input is 0, mid-grey in the model's -1..1 range.
    warpCrop(img, { a: side / size, b: 0, tx: 0, ty: 0 }, size, 127.5, 1 / 127.5, this.input);
    const raw = tf.tidy(() => {
      const input = tf.tensor4d(this.input, [1, size, size, 3]);
      // The converted model has four heads: scores and regressors for the 512 fine and 384 coarse anchors.
      const heads = (this.model.execute(input) as tf.Tensor[]).slice().sort((a, b) => a.size - b.size);
      const [coarseScores, fineScores, coarseBoxes, fineBoxes] = heads as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const fine = tf.concat([fineScores, fineBoxes], 2);
      const coarse = tf.concat([coarseScores, coarseBoxes], 2);
      return tf.concat([fine, coarse], 1);
    });
    this.input.fill(0);
    const values = raw.dataSync() as Float32Array;
    raw.dispose();
    return decodeBlazeFace(values, this.anchors, { ...this.options, scale: side / size });
  }
}
