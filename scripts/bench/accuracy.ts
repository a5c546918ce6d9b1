import * as path from 'node:path';
import { parseArgs, intArg } from './args';
import { facesRoot, readLfwPairs, requireDataset, type LfwPair } from './datasets';
import { createPipelines, readImage, type BenchPipeline } from './pipelines';
import { crossValidatedAccuracy, peakRssMB, percentile, round, tarAtFar, type ScoredPair } from './stats';

export interface AccuracyRow {
  pipeline: string;
  pairs: number;
  accuracy: number;
  tarAtFar1e3: number;
  tarAtFar1e4: number;
  thresholdAtFar1e3: number;
  facesMissed: number;
  notEmbedded: Record<string, number>;
  msP50: number;
  msP95: number;
  loadMs: number;
  rssMB: number;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Every image of the pairs through one pipeline; a pair with an image that gave no embedding scores -1 (a reject). */
export async function scorePairs(pipeline: BenchPipeline, pairs: readonly LfwPair[], log: (line: string) => void): Promise<AccuracyRow> {
  const loadMs = await pipeline.load();
  const embeddings = new Map<string, Float32Array | null>();
  const notEmbedded: Record<string, number> = {};
  const ms: number[] = [];
  const files = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  for (const [i, file] of files.entries()) {
    const result = await pipeline.embed(readImage(file));
    ms.push(result.ms);
    embeddings.set(file, result.embedding);
    if (!result.embedding) notEmbedded[result.why] = (notEmbedded[result.why] ?? 0) + 1;
    if ((i + 1) % 500 === 0) log(`  ${pipeline.name}: ${i + 1}/${files.length} images`);
  }
  const scored: ScoredPair[] = pairs.map((p) => {
    const a = embeddings.get(p.a);
    const b = embeddings.get(p.b);
    return { same: p.same, score: a && b ? cosine(a, b) : -1 };
  });
  const at1e3 = tarAtFar(scored, 1e-3);
  return {
    pipeline: pipeline.name,
    pairs: pairs.length,
    accuracy: round(crossValidatedAccuracy(scored)),
    tarAtFar1e3: round(at1e3.tar),
    tarAtFar1e4: round(tarAtFar(scored, 1e-4).tar),
    thresholdAtFar1e3: round(at1e3.threshold),
    facesMissed: notEmbedded['no-face'] ?? 0,
    notEmbedded,
    msP50: round(percentile(ms, 50), 1),
    msP95: round(percentile(ms, 95), 1),
    loadMs: Math.round(loadMs),
    rssMB: peakRssMB(),
  };
}

export function formatAccuracyTable(rows: readonly AccuracyRow[]): string {
  const head = '| pipeline | pairs | accuracy (10-fold) | TAR@FAR1e-3 | TAR@FAR1e-4 | faces missed | other rejects | ms p50 | ms p95 | load ms | peak RSS MB |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => {
    const other = Object.entries(r.notEmbedded).filter(([k]) => k !== 'no-face').map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    return `| ${r.pipeline} | ${r.pairs} | ${(r.accuracy * 100).toFixed(2)}% | ${(r.tarAtFar1e3 * 100).toFixed(2)}% | ${(r.tarAtFar1e4 * 100).toFixed(2)}% | ${r.facesMissed} | ${other} | ${r.msP50} | ${r.msP95} | ${r.loadMs} | ${r.rssMB} |`;
  });
  return [head, sep, ...lines].join('\n');
}

/**
 * `accuracy --faces DIR --pairs FILE [--pipelines postern,postern-gated,human,face-api] [--every N]`:
 * LFW-protocol verification for Postern (the first pipeline: the JSON line's figures are its), then the
 * others on the same images in the same process. Peak RSS is the process peak when
 * each row finished, so Postern's (first) is its own; the peers' include Postern's models.
 */
export async function runAccuracy(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['faces', 'pairs', 'pipelines', 'every']);
  const faces = requireDataset(path.resolve(args.get('faces') ?? path.join(facesRoot(), 'lfw-dev')), '--faces');
  const pairsFile = requireDataset(path.resolve(args.get('pairs') ?? path.join(faces, 'protocol', 'pairsDevTrain.txt')), '--pairs');
  const every = intArg(args, 'every', 1);
  const names = (args.get('pipelines') ?? 'postern,postern-gated,human,face-api').split(',').filter(Boolean);
  const pairs = readLfwPairs(faces, pairsFile).filter((_, i) => i % every === 0);
  log(`accuracy: ${pairs.length} pairs from ${pairsFile}, pipelines ${names.join(', ')}`);
  const rows: AccuracyRow[] = [];
  for (const pipeline of createPipelines(names)) rows.push(await scorePairs(pipeline, pairs, log));
  log(formatAccuracyTable(rows));
  const own = rows[0]!;
  return {
    bench: 'accuracy',
    pairs: own.pairs,
    accuracy: own.accuracy,
    tarAtFar1e3: own.tarAtFar1e3,
    tarAtFar1e4: own.tarAtFar1e4,
    facesMissed: own.facesMissed,
    msP50: own.msP50,
    msP95: own.msP95,
    rssMB: own.rssMB,
    thresholdAtFar1e3: own.thresholdAtFar1e3,
    notEmbedded: own.notEmbedded,
    pipeline: own.pipeline,
    others: Object.fromEntries(rows.slice(1).map((r) => [r.pipeline, r])),
  };
}
