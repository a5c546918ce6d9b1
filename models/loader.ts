import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import manifestJson from './manifest.json';

const modelFileSchema = z.object({ file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const modelEntrySchema = z.object({
  name: z.string().min(1),
  source: z.string().regex(/^(@[^@/]+\/)?[^@/]+@\d+\.\d+\.\d+$/, 'expected package@x.y.z'),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  weights: z.array(modelFileSchema).min(1),
  inputSize: z.array(z.number().int().positive()),
  outputSize: z.array(z.number().int().positive()),
  purpose: z.string(),
});
const manifestSchema = z.object({ models: z.array(modelEntrySchema).min(1) });

export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type ModelManifest = z.infer<typeof manifestSchema>;

/** A model file whose bytes are not the ones the manifest pins: it is never handed to tfjs. */
export class ModelIntegrityError extends Error {
  override readonly name = 'ModelIntegrityError';
}

export function parseManifest(raw: unknown): ModelManifest {
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`models/manifest.json: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

export const manifest: ModelManifest = parseManifest(manifestJson);

export function manifestEntry(name: string, from: ModelManifest = manifest): ModelEntry {
  const entry = from.models.find((m) => m.name === name);
  if (!entry) throw new Error(`models/manifest.json has no model "${name}" (has: ${from.models.map((m) => m.name).join(', ')})`);
  return entry;
}

/** The installed folder of the npm package a model comes from, refusing a version other than the pinned one. */
export function resolveSourceDir(source: string): string {
  const at = source.lastIndexOf('@');
  const pkg = source.slice(0, at);
  const version = source.slice(at + 1);
  const pkgJsonPath = require.resolve(`${pkg}/package.json`);
  const installed = (JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8')) as { version?: string }).version;
  if (installed !== version) {
    throw new ModelIntegrityError(`model source ${source}: installed ${pkg} is ${installed ?? 'unversioned'}, manifest pins ${version}`);
  }
  return path.dirname(pkgJsonPath);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readVerified(modelName: string, dir: string, file: string, expected: string): Buffer {
  const full = path.join(dir, file);
  const bytes = fs.readFileSync(full);
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new ModelIntegrityError(
      `model ${modelName}: ${full} has sha256 ${actual}, manifest expects ${expected}; refusing to load it`,
    );
  }
  return bytes;
}

interface GraphModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
}

/**
 * Reads a model's model.json and weight shards from disk, checks each against its sha256 in the
 * manifest, and returns them as tfjs model artifacts. Every byte that reaches tfjs has been verified:
 * weight shards named in model.json but absent from the manifest are refused too.
 */
export function readVerifiedArtifacts(entry: ModelEntry, sourceDir: string = resolveSourceDir(entry.source)): tf.io.ModelArtifacts {
  const json = JSON.parse(readVerified(entry.name, sourceDir, entry.file, entry.sha256).toString('utf8')) as GraphModelJson;
  const jsonDir = path.dirname(entry.file);
  const shards: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const rel = path.join(jsonDir, p);
      const pinned = entry.weights.find((w) => path.normalize(w.file) === rel);
      if (!pinned) throw new ModelIntegrityError(`model ${entry.name}: weight file ${rel} is not pinned in models/manifest.json`);
      shards.push(readVerified(entry.name, sourceDir, pinned.file, pinned.sha256));
    }
  }
  const weightData = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? null,
    signature: json.signature as object | undefined,
    userDefinedMetadata: json.userDefinedMetadata as object | undefined,
  } as tf.io.ModelArtifacts;
}

/** Loads a verified graph model through an in-memory IOHandler: plain tfjs has no file:// loader. */
export async function loadVerifiedGraphModel(entry: ModelEntry, sourceDir?: string): Promise<tf.GraphModel> {
  const artifacts = readVerifiedArtifacts(entry, sourceDir);
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}
