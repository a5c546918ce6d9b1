/** Percentile by nearest rank over a copy of the values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface ScoredPair {
  score: number;
  same: boolean;
}

/**
 * True-accept rate at a false-accept rate: the threshold is the smallest score that lets through at
 * most `far` of the impostor pairs (with 1,100 impostors, FAR 1e-3 and 1e-4 both mean "none").
 */
export function tarAtFar(pairs: readonly ScoredPair[], far: number): { tar: number; threshold: number } {
  const impostors = pairs.filter((p) => !p.same).map((p) => p.score).sort((a, b) => b - a);
  const genuine = pairs.filter((p) => p.same).map((p) => p.score);
  const allowed = Math.floor(far * impostors.length);
  const threshold = impostors.length > allowed ? impostors[allowed]! : -Infinity;
  const accepted = genuine.filter((s) => s > threshold).length;
  return { tar: genuine.length ? accepted / genuine.length : Number.NaN, threshold };
}

/** Best single-threshold accuracy over the given pairs, with that threshold. */
export function bestThreshold(pairs: readonly ScoredPair[]): { threshold: number; accuracy: number } {
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  let correct = pairs.filter((p) => p.same).length; // threshold at -inf: every pair is called "same"
  let best = { threshold: -Infinity, accuracy: correct / pairs.length };
  for (let i = 0; i < sorted.length; i++) {
    // Raising the threshold just above sorted[i] turns it into "different".
    correct += sorted[i]!.same ? -1 : 1;
    if (i + 1 < sorted.length && sorted[i + 1]!.score === sorted[i]!.score) continue;
    const threshold = i + 1 < sorted.length ? (sorted[i]!.score + sorted[i + 1]!.score) / 2 : sorted[i]!.score + 1e-6;
    if (correct / pairs.length > best.accuracy) best = { threshold, accuracy: correct / pairs.length };
  }
  return best;
}

/**
 * LFW-style verification accuracy: 10 folds, each scored with the threshold that is best on the other
 * nine, so no pair is judged with a threshold tuned on itself.
 */
export function crossValidatedAccuracy(pairs: readonly ScoredPair[], folds = 10): number {
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const test = pairs.filter((_, i) => i % folds === f);
    const train = pairs.filter((_, i) => i % folds !== f);
    const { threshold } = bestThreshold(train);
    correct += test.filter((p) => (p.score >= threshold) === p.same).length;
  }
  return correct / pairs.length;
}

export function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function round(n: number, digits = 4): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}
