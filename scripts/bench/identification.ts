import * as path from 'node:path';
import { defaultFaceConfig, matchRule } from '../../firmware/vision/config';
import { judgeMatch, l2Normalise, TemplateIndex, type MatchRule } from '../../firmware/vision/matcher';
import { parseArgs } from './args';
import { facesRoot, identities, requireDataset } from './datasets';
import { PosternPipeline, readImage } from './pipelines';
import { percentile, round } from './stats';

const DEFAULT_SETS = ['orl-att/images', 'yalefaces/images', 'face-api-js-bbt/identities', 'face_recognition-examples/knn_train'];

export interface IdentificationRow {
  set: string;
  enrolled: number;
  notEnrolled: number;
  probes: number;
  impostorProbes: number;
  /** Closed set: the best template is the right person (no threshold). */
  top1: number;
  /** With the gate's threshold and margin, on a single frame: accepted as the right person. */
  acceptedCorrectly: number;
  /** Accepted as someone else (enrolled probes) — must be 0. */
  misidentified: number;
  /** Probes of people never enrolled that matched someone — must be 0. */
  falseAccepts: number;
  notEmbedded: number;
  /** Over the impostor probes above the threshold: the largest lead of the best over the second-best (what the margin must exceed). */
  impostorMaxLead: number | null;
  /** Over the genuine probes whose best is right: the 5th percentile of that lead (what the margin must stay under). */
  genuineLeadP5: number | null;
}

/**
 * Every 4th identity is left out of enrolment; the others are enrolled from their first three images
 * (mean embedding, as the gate enrols), and all remaining images are probes against the gate's match rule.
 */
export async function identifySet(pipeline: PosternPipeline, dir: string, name: string, rule: MatchRule): Promise<IdentificationRow> {
  const groups = [...identities(dir)].filter(([, files]) => files.length >= 2);
  let notEmbedded = 0;
  const embed = async (file: string) => {
    const r = await pipeline.embed(readImage(file));
    if (!r.embedding) notEmbedded++;
    return r.embedding;
  };
  let index: TemplateIndex | undefined;
  const probes: { id: string; enrolled: boolean; embedding: Float32Array }[] = [];
  let enrolled = 0;
  for (const [g, [id, files]] of groups.entries()) {
    const enrol = g % 4 !== 3;
    const enrolCount = enrol ? Math.min(3, files.length - 1) : 0;
    const sum: Float32Array[] = [];
    for (const [i, file] of files.entries()) {
      const e = await embed(file);
      if (!e) continue;
      if (i < enrolCount) sum.push(e);
      else probes.push({ id, enrolled: enrol, embedding: e });
    }
    if (enrol && sum.length > 0) {
      index ??= new TemplateIndex(sum[0]!.length);
      const mean = new Float32Array(sum[0]!.length);
      for (const e of sum) for (let i = 0; i < mean.length; i++) mean[i]! += e[i]!;
      index.upsert(id, l2Normalise(mean));
      enrolled++;
    }
  }
  if (!index) throw new Error(`${dir}: no identity could be enrolled`);
  let top1 = 0;
  let accepted = 0;
  let misidentified = 0;
  let falseAccepts = 0;
  const impostorLeads: number[] = [];
  const genuineLeads: number[] = [];
  const genuine = probes.filter((p) => p.enrolled && index.has(p.id));
  for (const p of probes) {
    const result = index.search(p.embedding);
    const verdict = judgeMatch(result, rule);
    const lead = result.best && result.secondScore !== null ? result.best.score - result.secondScore : null;
    if (p.enrolled && index.has(p.id)) {
      if (result.best?.id === p.id) top1++;
      if (result.best?.id === p.id && lead !== null) genuineLeads.push(lead);
      if (verdict.matched && verdict.residentId === p.id) accepted++;
      else if (verdict.matched) misidentified++;
    } else if (!p.enrolled) {
      if (verdict.matched) falseAccepts++;
      if (lead !== null && result.best!.score >= rule.threshold) impostorLeads.push(lead);
    }
  }
  return {
    set: name,
    enrolled,
    notEnrolled: groups.length - enrolled,
    probes: genuine.length,
    impostorProbes: probes.filter((p) => !p.enrolled).length,
    top1: round(top1 / Math.max(1, genuine.length)),
    acceptedCorrectly: round(accepted / Math.max(1, genuine.length)),
    misidentified,
    falseAccepts,
    notEmbedded,
    impostorMaxLead: impostorLeads.length > 0 ? round(Math.max(...impostorLeads), 3) : null,
    genuineLeadP5: genuineLeads.length > 0 ? round(percentile(genuineLeads, 5), 3) : null,
  };
}

/** `identification [--sets a,b,...] [--faces DIR]`: 1:N identification on identity-folder sets. */
export async function runIdentification(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['faces', 'sets']);
  const faces = requireDataset(path.resolve(args.get('faces') ?? facesRoot()), '--faces');
  const sets = (args.get('sets') ?? DEFAULT_SETS.join(',')).split(',').filter(Boolean);
  for (const set of sets) requireDataset(path.join(faces, set), '--faces');
  // Photo sets are not presentation-attack data: the liveness gate is measured by the liveness bench.
  const pipeline = new PosternPipeline({ liveness: false, quality: true });
  await pipeline.load();
  const rows: IdentificationRow[] = [];
  const config = defaultFaceConfig();
  const rule = matchRule(config);
  for (const set of sets) rows.push(await identifySet(pipeline, path.join(faces, set), set, rule));
  log(`${pipeline.name}, threshold ${rule.threshold}, margin ${rule.margin}`);
  log('| set | enrolled | not enrolled | probes | top-1 | accepted (1 frame, threshold+margin) | misidentified | impostor probes | false accepts | not embedded | impostor max lead | genuine lead p5 |');
  log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    log(`| ${r.set} | ${r.enrolled} | ${r.notEnrolled} | ${r.probes} | ${(r.top1 * 100).toFixed(1)}% | ${(r.acceptedCorrectly * 100).toFixed(1)}% | ${r.misidentified} | ${r.impostorProbes} | ${r.falseAccepts} | ${r.notEmbedded} | ${r.impostorMaxLead ?? '-'} | ${r.genuineLeadP5 ?? '-'} |`);
  }
  return { bench: 'identification', pipeline: pipeline.name, threshold: rule.threshold, margin: rule.margin, sets: rows };
}
