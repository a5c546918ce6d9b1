import * as path from 'node:path';
import { rotateQuarter } from '../../firmware/vision/image';
import { parseArgs } from './args';
import { facesRoot, listImages, requireDataset } from './datasets';
import { PosternPipeline, readImage } from './pipelines';
import { round } from './stats';

/**
 * `liveness [--samples DIR] [--rotate 90] [--nonface DIR] [--live DIR] [--every N]`: the spoof samples
 * (folders named spoof_* must be rejected, live* accepted; stored sideways, hence --rotate), the
 * non-face set (must never yield a face), and the share of genuine LFW photos liveness rejects.
 */
export async function runLiveness(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['samples', 'rotate', 'nonface', 'live', 'every']);
  const samples = requireDataset(path.resolve(args.get('samples') ?? path.join(facesRoot(), 'liveness-samples')), '--samples');
  const nonface = requireDataset(path.resolve(args.get('nonface') ?? path.join(facesRoot(), 'non-face')), '--nonface');
  const live = requireDataset(path.resolve(args.get('live') ?? path.join(facesRoot(), 'lfw-dev', 'images')), '--live');
  const rotate = Number(args.get('rotate') ?? 90);
  if (![0, 90, 180, 270].includes(rotate)) throw new Error(`--rotate must be 0, 90, 180 or 270, got ${args.get('rotate')}`);
  const every = Number(args.get('every') ?? 10);
  const pipeline = new PosternPipeline();
  await pipeline.load();

  log('| sample | expected | outcome | liveness |');
  log('|---|---|---|---|');
  const sampleRows = [];
  for (const file of listImages(samples)) {
    const kind = path.basename(path.dirname(file));
    const expected = kind.startsWith('spoof') ? 'rejected' : 'accepted';
    const { analysis } = pipeline.analyse(rotateQuarter(readImage(file), (rotate / 90) as 0 | 1 | 2 | 3));
    const outcome = analysis.kind === 'face' ? 'accepted' : analysis.kind === 'no-face' ? 'no-face' : analysis.reason;
    const score = analysis.kind === 'face' ? analysis.liveness : analysis.kind === 'rejected' ? Number(/liveness ([\d.]+)/.exec(analysis.detail)?.[1] ?? NaN) : NaN;
    const correct = expected === 'rejected' ? analysis.kind !== 'face' : analysis.kind === 'face';
    sampleRows.push({ sample: path.relative(samples, file), expected, outcome, liveness: round(score, 3), correct });
    log(`| ${path.relative(samples, file)} | ${expected} | ${outcome} | ${round(score, 3)} |`);
  }

  const nonFaceFiles = listImages(nonface);
  const nonFaceFaces = nonFaceFiles.filter((f) => pipeline.analyse(readImage(f)).analysis.kind === 'face').length;
  log(`non-face images: ${nonFaceFiles.length}, yielding a face: ${nonFaceFaces}`);

  const liveFiles = listImages(live).filter((_, i) => i % every === 0);
  const reasons: Record<string, number> = {};
  for (const f of liveFiles) {
    const { analysis } = pipeline.analyse(readImage(f));
    const key = analysis.kind === 'face' ? 'accepted' : analysis.kind === 'no-face' ? 'no-face' : analysis.reason;
    reasons[key] = (reasons[key] ?? 0) + 1;
  }
  const liveRejectRate = (reasons['spoof-suspected'] ?? 0) / liveFiles.length;
  log(`genuine photos (every ${every}th under ${live}): ${liveFiles.length}, outcomes ${JSON.stringify(reasons)}, liveness false-reject rate ${(liveRejectRate * 100).toFixed(1)}%`);
  return {
    bench: 'liveness',
    samples: sampleRows,
    spoofRejected: sampleRows.filter((r) => r.expected === 'rejected' && r.correct).length,
    spoofTotal: sampleRows.filter((r) => r.expected === 'rejected').length,
    liveAccepted: sampleRows.filter((r) => r.expected === 'accepted' && r.correct).length,
    nonFaceImages: nonFaceFiles.length,
    nonFaceYieldingFace: nonFaceFaces,
    genuinePhotos: liveFiles.length,
    genuineOutcomes: reasons,
    livenessFalseRejectRate: round(liveRejectRate),
  };
}
