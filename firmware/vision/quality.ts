import type { Point } from './geometry';

/** Geometry and sharpness of one candidate face, measured before anything is embedded. */
export interface FaceMeasures {
  /** Distance between the eye centres in frame pixels. */
  eyeDistancePx: number;
  /** Nose offset along the eye line, in eye distances: 0 when facing the camera, about ±0.5 at 45°. */
  yaw: number;
  /** Nose depth below the eyes as a share of the mouth's: about 0.49 on the frontal template. */
  pitch: number;
  /** Variance of the Laplacian of the aligned crop's luminance: low means blurred. */
  sharpness: number;
  /** FaceMesh's own face probability for the crop. */
  meshScore: number;
}

export interface QualityLimits {
  minEyeDistancePx: number;
  maxAbsYaw: number;
  pitchRange: readonly [number, number];
  minSharpness: number;
  minMeshScore: number;
}

export type QualityRejection = 'not-a-face' | 'too-small' | 'turned-away' | 'blurry';

export type QualityVerdict = { ok: true } | { ok: false; reason: QualityRejection; detail: string };

/** Yaw and pitch proxies from the five alignment points (eyes, nose, mouth corners). */
export function measurePose(five: readonly Point[]): Pick<FaceMeasures, 'eyeDistancePx' | 'yaw' | 'pitch'> {
  const [le, re, nose, ml, mr] = five as [Point, Point, Point, Point, Point];
  const ex = re.x - le.x;
  const ey = re.y - le.y;
  const d = Math.hypot(ex, ey);
  if (d === 0) return { eyeDistancePx: 0, yaw: Number.POSITIVE_INFINITY, pitch: 0 };
  const ux = ex / d;
  const uy = ey / d;
  const mid = { x: (le.x + re.x) / 2, y: (le.y + re.y) / 2 };
  const mouth = { x: (ml.x + mr.x) / 2, y: (ml.y + mr.y) / 2 };
  const along = (p: Point) => (p.x - mid.x) * ux + (p.y - mid.y) * uy;
  const across = (p: Point) => -(p.x - mid.x) * uy + (p.y - mid.y) * ux;
  const mouthDepth = across(mouth);
  return { eyeDistancePx: d, yaw: along(nose) / d, pitch: mouthDepth > 0 ? across(nose) / mouthDepth : 0 };
}

/** Variance of the 4-neighbour Laplacian over the luminance of an RGB float crop (size x size). */
export function laplacianVariance(rgb: Float32Array, size: number): number {
  const lum = new Float32Array(size * size);
  for (let i = 0, j = 0; i < lum.length; i++, j += 3) lum[i] = 0.299 * rgb[j]! + 0.587 * rgb[j + 1]! + 0.114 * rgb[j + 2]!;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const i = y * size + x;
      const l = lum[i - 1]! + lum[i + 1]! + lum[i - size]! + lum[i + size]! - 4 * lum[i]!;
      sum += l;
      sumSq += l * l;
      n++;
    }
  }
  lum.fill(0);
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

/** Whether a face is good enough to judge; the first failed check names the reason. */
export function judgeQuality(m: FaceMeasures, limits: QualityLimits): QualityVerdict {
  if (m.meshScore < limits.minMeshScore) return { ok: false, reason: 'not-a-face', detail: `mesh score ${m.meshScore.toFixed(2)} < ${limits.minMeshScore}` };
  if (m.eyeDistancePx < limits.minEyeDistancePx) return { ok: false, reason: 'too-small', detail: `eye distance ${m.eyeDistancePx.toFixed(0)} px < ${limits.minEyeDistancePx}` };
  if (Math.abs(m.yaw) > limits.maxAbsYaw || m.pitch < limits.pitchRange[0] || m.pitch > limits.pitchRange[1]) {
    return { ok: false, reason: 'turned-away', detail: `yaw ${m.yaw.toFixed(2)}, pitch ${m.pitch.toFixed(2)}` };
  }
  if (m.sharpness < limits.minSharpness) return { ok: false, reason: 'blurry', detail: `sharpness ${m.sharpness.toFixed(0)} < ${limits.minSharpness}` };
  return { ok: true };
}
