import * as tf from '@tensorflow/tfjs';
import { applySimilarity, warpCrop, type Similarity } from './align';
import { distance, type FaceDetection, type Point } from './geometry';
import type { RgbImage } from './image';
import { squareInputSide } from './model-input';

/** MediaPipe FaceMesh indices: eye contours (image-left eye first), nose tip, mouth corners. */
const LEFT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173];
const RIGHT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398];
const NOSE_TIP = 1;
const MOUTH_LEFT = 61;
const MOUTH_RIGHT = 291;
const MESH_POINTS = 468;
/** The detector box is widened by this much before the mesh sees it, as the mesh model was trained. */
const BOX_ENLARGE = 1.5;

export interface MeshLandmarks {
  /** The mesh model's own belief that the crop holds a face, 0..1: a second opinion on the detector. */
  faceScore: number;
  /** Eyes, nose tip, mouth corners in frame pixels, in CANONICAL_112 order. */
  fivePoints: Point[];
}

/**
 * Refines BlazeFace's coarse keypoints with FaceMesh: the crop is rotated upright using the eye line,
 * and the five alignment points come from the mesh (eye centres from whole eye contours), which is what
 * makes the similarity alignment precise enough for the embedder.
 */
export class FaceMeshLandmarker {
  private readonly size: number;
  private readonly crop: Float32Array;

  constructor(private readonly model: tf.GraphModel) {
    this.size = squareInputSide(model, 192);
    this.crop = new Float32Array(this.size * this.size * 3);
  }

  landmarks(img: RgbImage, detection: FaceDetection): MeshLandmarks {
    const toFrame = uprightCrop(detection, this.size);
    warpCrop(img, toFrame, this.size, 0, 1 / 255, this.crop);
    const [mesh, flag] = tf.tidy(() => {
      const outs = this.model.execute(tf.tensor4d(this.crop, [1, this.size, this.size, 3])) as tf.Tensor[];
      const meshT = outs.find((t) => t.shape[t.shape.length - 1] === MESH_POINTS * 3);
      const flagT = outs.find((t) => t.shape[t.shape.length - 1] === 1);
      if (!meshT || !flagT) throw new Error('facemesh: model outputs lack the mesh or the face flag');
      return [meshT.dataSync() as Float32Array, flagT.dataSync() as Float32Array];
    });
    this.crop.fill(0);
    const at = (i: number): Point => applySimilarity(toFrame, { x: mesh[3 * i]!, y: mesh[3 * i + 1]! });
    const centre = (idx: number[]): Point => {
      const ps = idx.map(at);
      return { x: ps.reduce((s, p) => s + p.x, 0) / ps.length, y: ps.reduce((s, p) => s + p.y, 0) / ps.length };
    };
    return {
      faceScore: flag[0]!,
      fivePoints: [centre(LEFT_EYE), centre(RIGHT_EYE), at(NOSE_TIP), at(MOUTH_LEFT), at(MOUTH_RIGHT)],
    };
  }
}

/** Crop pixels to frame pixels: a square around the detection, rotated so the eyes are level. */
export function uprightCrop(d: FaceDetection, size: number): Similarity {
  const { leftEye, rightEye } = d.landmarks;
  const angle = Math.atan2(rightEye.y - leftEye.y, rightEye.x - leftEye.x);
  const side = Math.max(d.box.width, d.box.height, 2 * distance(leftEye, rightEye)) * BOX_ENLARGE;
  const k = side / size;
  const a = k * Math.cos(angle);
  const b = k * Math.sin(angle);
  const cx = d.box.x + d.box.width / 2;
  const cy = d.box.y + d.box.height / 2;
  const half = size / 2;
  return { a, b, tx: cx - (a * half - b * half), ty: cy - (b * half + a * half) };
}
