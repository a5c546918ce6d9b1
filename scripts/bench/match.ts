import { l2Normalise, TemplateIndex } from '../../firmware/vision/matcher';
import { VISION_MODELS } from '../../firmware/vision/recognizer';
import { manifestEntry } from '../../models/loader';
import { intArg, parseArgs } from './args';
import { percentile, round } from './stats';

function randomUnit(d: number): Float32Array {
  const v = new Float32Array(d);
  for (let i = 0; i < d; i++) v[i] = Math.random() - 0.5;
  return l2Normalise(v);
}

/** `match [--dims N] [--queries 200]` (dims default: the embedder's output size): one 1:N search (best + second best) over 1k, 10k and 100k templates. */
export async function runMatch(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['dims', 'queries']);
  const dims = intArg(args, 'dims', manifestEntry(VISION_MODELS.embedder).outputSize[0]!);
  const queries = intArg(args, 'queries', 200);
  const result: Record<string, unknown> = { bench: 'match', dims, queries };
  log('| templates | p50 ms | p95 ms | index MB |');
  log('|---|---|---|---|');
  for (const n of [1_000, 10_000, 100_000]) {
    const index = new TemplateIndex(dims, 100_000, n);
    for (let i = 0; i < n; i++) index.upsert(`r${i}`, randomUnit(dims));
    const ms: number[] = [];
    for (let q = 0; q < queries; q++) {
      const query = randomUnit(dims);
      const t0 = performance.now();
      index.search(query);
      ms.push(performance.now() - t0);
    }
    const p50 = round(percentile(ms, 50), 3);
    const p95 = round(percentile(ms, 95), 3);
    log(`| ${n} | ${p50} | ${p95} | ${round(index.memoryBytes / 1e6, 1)} |`);
    result[`ms${n / 1000}kP50`] = p50;
    result[`ms${n / 1000}kP95`] = p95;
    index.clear();
  }
  return result;
}
