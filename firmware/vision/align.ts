import type { Point } from './geometry';
import type { RgbImage } from './image';

/** x' = a*x - b*y + tx, y' = b*x + a*y + ty: rotation, uniform scale and shift, nothing else. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * Canonical positions on a 112x112 crop: the ArcFace/InsightFace 5-point template (eyes, nose tip,
 * mouth corners; "left" as seen in the image). Embedders trained on aligned faces expect these.
 */
export const CANONICAL_112: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/** Least-squares similarity mapping `from` points onto `to` points (closed form, Umeyama without reflection). */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  if (from.length !== to.length || from.length < 2) throw new Error('fitSimilarity: need two or more matching points');
  const n = from.length;
  const mean = (ps: readonly Point[]) => ({ x: ps.reduce((s, p) => s + p.x, 0) / n, y: ps.reduce((s, p) => s + p.y, 0) / n });
  const mf = mean(from);
  const mt = mean(to);
  let norm = 0;
  let dot = 0;
  let cross = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i]!.x - mf.x;
    const fy = from[i]!.y - mf.y;
    const tx = to[i]!.x - mt.x;
    const ty = to[i]!.y - mt.y;
    norm += fx * fx + fy * fy;
    dot += fx * tx + fy * ty;
    cross += fx * ty - fy * tx;
  }
  if (norm === 0) throw new Error('fitSimilarity: source points coincide');
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: mt.x - (a * mf.x - b * mf.y), ty: mt.y - (b * mf.x + a * mf.y) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

export interface CropSpec {
  /** Output side in pixels. */
  size: number;
  /** Extra border around the 112 template, as a fraction of the side (0 = the tight ArcFace crop). */
  padding: number;
}

/** Where the canonical landmarks sit on a crop of the given spec. */
export function canonicalFor(spec: CropSpec): Point[] {
  const scale = spec.size / (112 * (1 + 2 * spec.padding));
  const offset = spec.padding * 112 * scale;
  return CANONICAL_112.map((p) => ({ x: p.x * scale + offset, y: p.y * scale + offset }));
}

/** The transform from crop pixels back to frame pixels for the five landmarks (in CANONICAL_112 order). */
export function cropToFrame(fivePoints: readonly Point[], spec: CropSpec): Similarity {
  return fitSimilarity(canonicalFor(spec), fivePoints);
}

/**
 * Warps a region of the frame into a square crop, writing RGB values mapped through (v - mean) * scale
 * into `out` (length size*size*3). Pixels outside the frame become `mean` (zero). When the crop shrinks
 * the frame by more than 1.5x and `antiAlias` is on, each output pixel averages an n x n grid of
 * bilinear samples (n up to 4): plain bilinear sampling of a high-resolution photo aliases, which
 * measurably hurt the embeddings. Models trained on plainly resized crops get them with it off.
 */
export function warpCrop(img: RgbImage, toFrame: Similarity, size: number, mean: number, scale: number, out: Float32Array, antiAlias = true): Float32Array {
  if (out.length !== size * size * 3) throw new Error(`warpCrop: output buffer has ${out.length} values, needs ${size * size * 3}`);
  const shrink = Math.hypot(toFrame.a, toFrame.b);
  const n = antiAlias && shrink > 1.5 ? Math.min(4, Math.ceil(shrink)) : 1;
  const px = [0, 0, 0];
  let o = 0;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      px[0] = 0;
      px[1] = 0;
      px[2] = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const cu = u + (sx + 0.5) / n - 0.5;
          const cv = v + (sy + 0.5) / n - 0.5;
          sampleBilinear(img, toFrame.a * cu - toFrame.b * cv + toFrame.tx, toFrame.b * cu + toFrame.a * cv + toFrame.ty, mean, px);
        }
      }
      const k = scale / (n * n);
      out[o++] = (px[0]! - mean * n * n) * k;
      out[o++] = (px[1]! - mean * n * n) * k;
      out[o++] = (px[2]! - mean * n * n) * k;
    }
  }
  return out;
}

/** Adds the bilinear RGB sample at (x, y) to acc; outside the frame it adds `fill`. */
function sampleBilinear(img: RgbImage, x: number, y: number, fill: number, acc: number[]): void {
  const { width: w, height: h, data } = img;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) {
    acc[0]! += fill;
    acc[1]! += fill;
    acc[2]! += fill;
    return;
  }
  const fx = x - x0;
  const fy = y - y0;
  const i00 = (y0 * w + x0) * 3;
  const i10 = i00 + 3;
  const i01 = i00 + w * 3;
  const i11 = i01 + 3;
  for (let c = 0; c < 3; c++) {
    const top = data[i00 + c]! + (data[i10 + c]! - data[i00 + c]!) * fx;
    const bottom = data[i01 + c]! + (data[i11 + c]! - data[i01 + c]!) * fx;
    acc[c]! += top + (bottom - top) * fy;
  }
}
