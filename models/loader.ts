import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { fetchedSourceDir } from './fetch';
import { sha256Hex } from './hash';
import manifestJson from './manifest.json';
import { OnnxModel } from './onnx-model';

export { sha256Hex };

const modelFileSchema = z.object({ file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const modelEntrySchema = z
  .object({
    name: z.string().min(1),
    source: z.string().regex(/^(@[^@/]+\/)?[^@/]+@\d+\.\d+\.\d+$/, 'expected package@x.y.z'),
    /** A TensorFlow.js graph model (model.json + weight shards) or one ONNX file with its weights inside. */
    format: z.enum(['tfjs-graph', 'onnx']).default('tfjs-graph'),
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    weights: z.array(modelFileSchema).default([]),
    inputSize: z.array(z.number().int().positive()),
    outputSize: z.array(z.number().int().positive()),
    purpose: z.string(),
  })
  .refine((m) => m.format === 'onnx' || m.weights.length > 0, { message: 'a tfjs-graph model needs its weight files pinned', path: ['weights'] });
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

/** The package.json of an installed npm package, or undefined when it is not installed. */
export function installedPackageJson(pkg: string): string | undefined {
  try {
    return require.resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
}

/** "name@x.y.z" (name may be scoped) split into its two parts. */
export function splitSource(source: string): { pkg: string; version: string } {
  const at = source.lastIndexOf('@');
  return { pkg: source.slice(0, at), version: source.slice(at + 1) };
}

/**
 * The folder of the npm package a model comes from: the installed dependency, refusing a version other
 * than the pinned one, or, for a package that is not a dependency, the files `npm run models` fetched.
 */
export function resolveSourceDir(source: string): string {
  const { pkg, version } = splitSource(source);
  const pkgJsonPath = installedPackageJson(pkg);
  if (!pkgJsonPath) {
    const fetched = fetchedSourceDir(source);
    if (fs.existsSync(fetched)) return fetched;
    throw new ModelIntegrityError(`model source ${source}: not installed and not fetched (${fetched} is missing); run npm run models`);
  }
  const installed = (JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8')) as { version?: string }).version;
  if (installed !== version) {
    throw new ModelIntegrityError(`model source ${source}: installed ${pkg} is ${installed ?? 'unversioned'}, manifest pins ${version}`);
  }
  return path.dirname(pkgJsonPath);
}

/** Every file of a model as the manifest pins it. */
export function pinnedFiles(entry: ModelEntry): { file: string; sha256: string }[] {
  return [{ file: entry.file, sha256: entry.sha256 }, ...entry.weights];
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
  if (entry.format !== 'tfjs-graph') throw new Error(`model ${entry.name} is ${entry.format}, not a tfjs graph model`);
  const artifacts = readVerifiedArtifacts(entry, sourceDir);
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}

/** Reads an ONNX model, checks it against its sha256, and compiles it into tfjs ops (models/onnx-model.ts). */
export function loadVerifiedOnnxModel(entry: ModelEntry, sourceDir: string = resolveSourceDir(entry.source)): OnnxModel {
  if (entry.format !== 'onnx') throw new Error(`model ${entry.name} is ${entry.format}, not ONNX`);
  return OnnxModel.fromBytes(readVerified(entry.name, sourceDir, entry.file, entry.sha256));
}

/** Any model of the manifest, verified and loaded the way its format needs: what the self-test checks. */
export async function loadVerifiedModel(entry: ModelEntry): Promise<{ dispose(): void }> {
  return entry.format === 'onnx' ? loadVerifiedOnnxModel(entry) : loadVerifiedGraphModel(entry);
}
