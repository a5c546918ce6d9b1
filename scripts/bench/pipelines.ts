import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeImage, type RgbImage } from '../../firmware/vision/image';
import { FaceRecognizer, type FrameAnalysis } from '../../firmware/vision/recognizer';
import { defaultRecognizerOptions } from '../../firmware/vision/config';
import { initTfBackend } from '../../firmware/vision/tf-backend';
import { projectRoot } from '../../models/fetch';

/** What a pipeline made of one image: an embedding, or why not. */
export type Embedded = { embedding: Float32Array; ms: number } | { embedding: null; ms: number; why: string };

export interface BenchPipeline {
  readonly name: string;
  load(): Promise<number>;
  embed(img: RgbImage): Promise<Embedded>;
}

export function readImage(file: string): RgbImage {
  return decodeImage(fs.readFileSync(file));
}

function l2(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  const n = Math.hypot(...out);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / n;
  return out;
}

/** Which of the gate's checks a bench run applies; the models run either way, so their time counts. */
export interface Gates {
  /** Liveness below its threshold rejects the face (off for photo sets: they are not attack data). */
  liveness: boolean;
  /** Size, pose and sharpness reject the face (off to score every pair, as the LFW protocol does). */
  quality: boolean;
}

/**
 * The gate's recognizer with its default config, with the liveness and quality gates on or off. The
 * liveness bench measures that gate on its own; with the quality gate off, only faces the mesh says
 * are not faces are rejected, so every photo of a person gets an embedding, as LFW scoring expects.
 */
export class PosternPipeline implements BenchPipeline {
  readonly name: string;
  recognizer: FaceRecognizer | undefined;

  constructor(private readonly gates: Gates = { liveness: true, quality: true }) {
    this.name = gates.quality ? 'postern (quality-gated)' : 'postern';
  }

  async load(): Promise<number> {
    const defaults = defaultRecognizerOptions();
    const quality = this.gates.quality ? defaults.quality : { ...defaults.quality, minEyeDistancePx: 0, maxAbsYaw: Infinity, pitchRange: [-Infinity, Infinity] as const, minSharpness: 0 };
    const loaded = await FaceRecognizer.load({ ...defaults, quality, minLiveness: this.gates.liveness ? defaults.minLiveness : 0 });
    this.recognizer = loaded.recognizer;
    return loaded.loadMs;
  }

  analyse(img: RgbImage): { analysis: FrameAnalysis; ms: number } {
    if (!this.recognizer) throw new Error('postern pipeline not loaded');
    const t0 = performance.now();
    const analysis = this.recognizer.analyse(img);
    return { analysis, ms: performance.now() - t0 };
  }

  async embed(img: RgbImage): Promise<Embedded> {
    const { analysis, ms } = this.analyse(img);
    if (analysis.kind === 'face') return { embedding: analysis.embedding, ms };
    return { embedding: null, ms, why: analysis.kind === 'no-face' ? 'no-face' : analysis.reason };
  }
}

/**
 * The package folder of an installed dependency, found from its main entry: Human's and face-api's
 * package.json `exports` lack "./" keys, so neither `pkg/package.json` nor `pkg/dist/x.js` resolves.
 */
function packageDir(name: string): string {
  return projectRoot(path.dirname(require.resolve(name)));
}

/**
 * Human fetches its models by URL, and plain tfjs cannot fetch file:// URLs; this bench-only shim
 * answers file:// fetches from disk so the peer runs unmodified without a local HTTP server.
 */
function allowFileFetch(): void {
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('file://')) return new Response(fs.readFileSync(new URL(url)));
    return original(input, init);
  }) as typeof fetch;
}

/** @vladmandic/human's face pipeline: blazeface + facemesh + faceres descriptor + antispoof + liveness. */
export class HumanPipeline implements BenchPipeline {
  readonly name = 'human';
  private human: { detect(input: tf.Tensor): Promise<{ face: { embedding?: number[] }[] }>; load(): Promise<void>; warmup(): Promise<unknown> } | undefined;

  async load(): Promise<number> {
    const t0 = performance.now();
    await initTfBackend();
    allowFileFetch();
    const dir = packageDir('@vladmandic/human');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, 'dist', 'human.node-wasm.js')) as { Human: new (config: object) => NonNullable<HumanPipeline['human']> };
    this.human = new mod.Human({
      backend: 'wasm',
      wasmPath: `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
      modelBasePath: `file://${path.join(dir, 'models')}/`,
      debug: false,
      async: false,
      cacheSensitivity: 0,
      skipAllowed: false,
      face: {
        enabled: true,
        detector: { rotation: true, maxDetected: 1, minConfidence: 0.2 },
        mesh: { enabled: true },
        iris: { enabled: false },
        description: { enabled: true },
        emotion: { enabled: false },
        antispoof: { enabled: true },
        liveness: { enabled: true },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      filter: { enabled: false },
    });
    await this.human.load();
    await this.human.warmup();
    return performance.now() - t0;
  }

  async embed(img: RgbImage): Promise<Embedded> {
    if (!this.human) throw new Error('human pipeline not loaded');
    const input = tf.tensor4d(img.data, [1, img.height, img.width, 3], 'int32');
    const t0 = performance.now();
    try {
      const result = await this.human.detect(input);
      const ms = performance.now() - t0;
      const e = result.face[0]?.embedding;
      return e && e.length > 0 ? { embedding: l2(e), ms } : { embedding: null, ms, why: 'no-face' };
    } finally {
      input.dispose();
    }
  }
}

interface FaceApi {
  nets: Record<'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet', { loadFromDisk(dir: string): Promise<void> }>;
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => object;
  detectSingleFace(input: tf.Tensor3D, options: object): { withFaceLandmarks(): { withFaceDescriptor(): Promise<{ descriptor: Float32Array } | undefined> } };
}

/** @vladmandic/face-api: SSD-MobileNetV1 detector, 68 landmarks, ResNet-128 descriptor. */
export class FaceApiPipeline implements BenchPipeline {
  readonly name = 'face-api';
  private api: FaceApi | undefined;
  private options: object | undefined;

  async load(): Promise<number> {
    const t0 = performance.now();
    await initTfBackend();
    const dir = packageDir('@vladmandic/face-api');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.api = require(path.join(dir, 'dist', 'face-api.node-wasm.js')) as FaceApi;
    const models = path.join(dir, 'model');
    await this.api.nets.ssdMobilenetv1.loadFromDisk(models);
    await this.api.nets.faceLandmark68Net.loadFromDisk(models);
    await this.api.nets.faceRecognitionNet.loadFromDisk(models);
    this.options = new this.api.SsdMobilenetv1Options({ minConfidence: 0.3 });
    await this.embed({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) });
    return performance.now() - t0;
  }

  async embed(img: RgbImage): Promise<Embedded> {
    if (!this.api || !this.options) throw new Error('face-api pipeline not loaded');
    const input = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const t0 = performance.now();
    try {
      const result = await this.api.detectSingleFace(input, this.options).withFaceLandmarks().withFaceDescriptor();
      const ms = performance.now() - t0;
      return result ? { embedding: l2(result.descriptor), ms } : { embedding: null, ms, why: 'no-face' };
    } finally {
      input.dispose();
    }
  }
}

export function createPipelines(names: readonly string[]): BenchPipeline[] {
  return names.map((n) => {
    if (n === 'postern') return new PosternPipeline({ liveness: false, quality: false });
    if (n === 'postern-gated') return new PosternPipeline({ liveness: false, quality: true });
    if (n === 'human') return new HumanPipeline();
    if (n === 'face-api') return new FaceApiPipeline();
    throw new Error(`unknown pipeline "${n}" (postern, postern-gated, human, face-api)`);
  });
}
