import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { decodeImage, type RgbImage } from '../../firmware/vision/image';
import { l2Normalise, TemplateIndex } from '../../firmware/vision/matcher';
import { intArg, parseArgs } from './args';
import { facesRoot, listImages, requireDataset } from './datasets';
import { HumanPipeline, PosternPipeline, readImage } from './pipelines';
import { peakRssMB, percentile, round } from './stats';

/** A camera-sized frame (grey background) with the photo scaled 2x in the middle, as JPEG: what rpicam-vid delivers. */
export function cameraFrame(photo: RgbImage, width = 640, height = 480): Buffer {
  const data = Buffer.alloc(width * height * 4, 110);
  const scale = 2;
  const ox = Math.floor((width - photo.width * scale) / 2);
  const oy = Math.floor((height - photo.height * scale) / 2);
  for (let y = 0; y < photo.height * scale; y++) {
    for (let x = 0; x < photo.width * scale; x++) {
      const s = (Math.floor(y / scale) * photo.width + Math.floor(x / scale)) * 3;
      const d = ((oy + y) * width + ox + x) * 4;
      if (oy + y < 0 || oy + y >= height || ox + x < 0 || ox + x >= width) continue;
      data[d] = photo.data[s]!;
      data[d + 1] = photo.data[s + 1]!;
      data[d + 2] = photo.data[s + 2]!;
    }
  }
  return Buffer.from(jpeg.encode({ width, height, data }, 85).data);
}

/**
 * `latency [--images N] [--dir DIR] [--templates 10000] [--peer human|none]`: per-stage time of one
 * 640x480 JPEG frame through the gate's pipeline (decode, detect, landmarks, quality, liveness, embed,
 * 1:N match over `templates`), model load time and peak RSS; then the Human pipeline on the same frames.
 */
export async function runLatency(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['images', 'dir', 'templates', 'peer']);
  const count = intArg(args, 'images', 200);
  const dir = requireDataset(path.resolve(args.get('dir') ?? path.join(facesRoot(), 'lfw-dev', 'images')), '--dir');
  const templates = intArg(args, 'templates', 10_000);
  const peer = args.get('peer') ?? 'human';
  const files = listImages(dir);
  const step = Math.max(1, Math.floor(files.length / count));
  const frames = files.filter((_, i) => i % step === 0).slice(0, count).map((f) => cameraFrame(readImage(f)));

  const postern = new PosternPipeline();
  const loadMs = await postern.load();
  const index = new TemplateIndex(postern.recognizer!.dimensions);
  for (let i = 0; i < templates; i++) index.upsert(`r${i}`, l2Normalise(Float32Array.from({ length: index.dimensions }, () => Math.random() - 0.5)));

  const stages: Record<string, number[]> = { decode: [], detect: [], landmarks: [], quality: [], liveness: [], embed: [], match: [], decision: [], frame: [] };
  for (const frame of frames) {
    const t0 = performance.now();
    const img = decodeImage(frame, 'image/jpeg');
    const t1 = performance.now();
    const { analysis } = postern.analyse(img);
    let matchMs = 0;
    if (analysis.kind === 'face') {
      const m0 = performance.now();
      index.search(analysis.embedding);
      matchMs = performance.now() - m0;
      stages.match!.push(matchMs);
    }
    const t2 = performance.now();
    stages.decode!.push(t1 - t0);
    for (const [k, v] of Object.entries(analysis.timings)) stages[k]!.push(v);
    stages.decision!.push(t2 - t1);
    stages.frame!.push(t2 - t0);
  }
  const rssMB = peakRssMB();
  log(`${postern.name}: ${frames.length} frames 640x480 JPEG from ${dir}; ${templates} templates; models loaded in ${Math.round(loadMs)} ms; peak RSS ${rssMB} MB`);
  log('| stage | p50 ms | p95 ms | frames |');
  log('|---|---|---|---|');
  const summary: Record<string, { p50: number; p95: number }> = {};
  for (const [k, v] of Object.entries(stages)) {
    summary[k] = { p50: round(percentile(v, 50), 1), p95: round(percentile(v, 95), 1) };
    log(`| ${k} | ${summary[k].p50} | ${summary[k].p95} | ${v.length} |`);
  }

  const result: Record<string, unknown> = { bench: 'latency', pipeline: postern.name, frames: frames.length, templates, loadMs: Math.round(loadMs), rssMB, stages: summary, decisionP50: summary.decision!.p50, decisionP95: summary.decision!.p95 };
  if (peer === 'human') {
    const human = new HumanPipeline();
    const humanLoadMs = await human.load();
    const ms: number[] = [];
    for (const frame of frames) ms.push((await human.embed(decodeImage(frame))).ms);
    const p50 = round(percentile(ms, 50), 1);
    const p95 = round(percentile(ms, 95), 1);
    log(`| human (same frames, after decode) | ${p50} | ${p95} | ${ms.length} | load ${Math.round(humanLoadMs)} ms |`);
    result.human = { p50, p95, loadMs: Math.round(humanLoadMs) };
    result.speedupP50 = round(p50 / summary.decision!.p50, 2);
  }
  return result;
}
