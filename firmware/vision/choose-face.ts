import type { FaceDetection } from './geometry';

/**
 * The face to judge when several are in view: the largest, with faces off-centre counting for less, so
 * the person at the gate wins over a bigger face passing at the edge only when it is much bigger.
 */
export function chooseFace(faces: readonly FaceDetection[], frameWidth: number, frameHeight: number): FaceDetection | undefined {
  let best: FaceDetection | undefined;
  let bestScore = -1;
  const halfDiagonal = Math.hypot(frameWidth, frameHeight) / 2;
  for (const f of faces) {
    const cx = f.box.x + f.box.width / 2;
    const cy = f.box.y + f.box.height / 2;
    const offCentre = Math.hypot(cx - frameWidth / 2, cy - frameHeight / 2) / halfDiagonal;
    const score = f.box.width * f.box.height * (1 - 0.5 * Math.min(1, offCentre));
    if (score > bestScore) {
      best = f;
      bestScore = score;
    }
  }
  return best;
}
