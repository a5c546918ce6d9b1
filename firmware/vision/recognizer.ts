import * as tf from '@tensorflow/tfjs';
import { loadVerifiedGraphModel, loadVerifiedOnnxModel, manifestEntry, type ModelEntry } from '../../models/loader';
import type { OnnxModel } from '../../models/onnx-model';
import { BlazeFaceDetector } from './blazeface';
import { chooseFace } from './choose-face';
import { EMBED_CROP, FaceEmbedder } from './embedder';
import { FaceMeshLandmarker, type MeshLandmarks } from './facemesh';
import type { FaceDetection, Point } from './geometry';
import type { RgbImage } from './image';
import { LivenessScorer } from './liveness';
import { judgeQuality, laplacianVariance, measurePose, type FaceMeasures, type QualityLimits, type QualityRejection } from './quality';
import { initTfBackend } from './tf-backend';

export interface RecognizerOptions {
  minDetectionScore: number;
  quality: QualityLimits;
  /** Liveness probability below which a face is treated as a photo or screen. */
  minLiveness: number;
}

export type StageName = 'detect' | 'landmarks' | 'quality' | 'liveness' | 'embed';
export type StageTimings = Partial<Record<StageName, number>>;

export type FrameAnalysis =
  | { kind: 'no-face'; timings: StageTimings }
  | { kind: 'rejected'; reason: QualityRejection | 'spoof-suspected'; detail: string; timings: StageTimings }
  | { kind: 'face'; embedding: Float32Array; detection: FaceDetection; measures: FaceMeasures; liveness: number; timings: StageTimings };

/**
 * The models a recognizer loads (models/manifest.json names). The detectors are a cascade: BlazeFace
 * front (128x128 input) finds faces of about 100 px and more in a 640x480 frame (someone at the gate),
 * 4x faster than BlazeFace back (256x256), which runs only when the front one found nothing or FaceMesh
 * rejects its find, and also finds faces down to ~60 px (docs/BENCHMARKS.md).
 */
export const VISION_MODELS = { nearDetector: 'blazeface-front', farDetector: 'blazeface-back', landmarks: 'facemesh', liveness: 'fr-liveness', embedder: 'fr-feature' } as const;

export interface LoadedRecognizer {
  recognizer: FaceRecognizer;
  backend: string;
  loadMs: number;
}

/**
 * One frame in, one verdict out: detect, choose the face, landmarks, quality gate, liveness, align,
 * embed. Holds the models and nothing of the frames it saw: crops are zeroed after use.
 */
export class FaceRecognizer {
  private readonly crop = new Float32Array(EMBED_CROP.size * EMBED_CROP.size * 3);

  constructor(
    private readonly nearDetector: BlazeFaceDetector,
    private readonly farDetector: BlazeFaceDetector,
    private readonly mesh: FaceMeshLandmarker,
    private readonly liveness: LivenessScorer,
    private readonly embedder: FaceEmbedder,
    private readonly options: RecognizerOptions,
    private readonly models: (tf.GraphModel | OnnxModel)[] = [],
  ) {}

  get dimensions(): number {
    return this.embedder.dimensions;
  }

  /** Verifies (sha256) and loads the models named in models/manifest.json, then warms them up once. */
  static async load(options: RecognizerOptions, entries: (name: string) => ModelEntry = manifestEntry): Promise<LoadedRecognizer> {
    const started = performance.now();
    const backend = await initTfBackend();
    const [near, far, mesh] = await Promise.all([VISION_MODELS.nearDetector, VISION_MODELS.farDetector, VISION_MODELS.landmarks].map((n) => loadVerifiedGraphModel(entries(n))));
    const live = loadVerifiedOnnxModel(entries(VISION_MODELS.liveness));
    const embedderEntry = entries(VISION_MODELS.embedder);
    const embed = loadVerifiedOnnxModel(embedderEntry);
    const recognizer = new FaceRecognizer(
      new BlazeFaceDetector(near!, { minScore: options.minDetectionScore, iouThreshold: 0.3 }),
      new BlazeFaceDetector(far!, { minScore: options.minDetectionScore, iouThreshold: 0.3 }),
      new FaceMeshLandmarker(mesh!),
      new LivenessScorer(live),
      new FaceEmbedder(embed, embedderEntry.outputSize[0]!),
      options,
      [near!, far!, mesh!, live, embed],
    );
    recognizer.warmUp();
    return { recognizer, backend, loadMs: performance.now() - started };
  }

  analyse(img: RgbImage): FrameAnalysis {
    const timings: StageTimings = {};
    const timed = <T>(stage: StageName, f: () => T): T => {
      const t0 = performance.now();
      try {
        return f();
      } finally {
        timings[stage] = (timings[stage] ?? 0) + performance.now() - t0;
      }
    };
    const located = this.locate(img, timed);
    if (!located) return { kind: 'no-face', timings };
    const { face, mesh } = located;
    const five = mesh.fivePoints;
    try {
      const measures = timed('quality', () => this.measure(img, five, mesh.faceScore));
      const verdict = judgeQuality(measures, this.options.quality);
      if (!verdict.ok) {
        return verdict.reason === 'not-a-face' ? { kind: 'no-face', timings } : { kind: 'rejected', reason: verdict.reason, detail: verdict.detail, timings };
      }
      const liveness = timed('liveness', () => this.liveness.score(img, face));
      if (liveness < this.options.minLiveness) {
        return { kind: 'rejected', reason: 'spoof-suspected', detail: `liveness ${liveness.toFixed(3)} < ${this.options.minLiveness}`, timings };
      }
      const embedding = timed('embed', () => this.embedder.embed(this.crop));
      return { kind: 'face', embedding, detection: face, measures, liveness, timings };
    } finally {
      this.crop.fill(0);
    }
  }

  /**
   * The face to judge and its landmarks: from the fast near-range detector, else from the far-range
   * one, whenever the first found nothing or something FaceMesh says is not a face (a false positive of
   * the small model on a frame whose face is too small for it).
   */
  private locate(img: RgbImage, timed: <T>(stage: StageName, f: () => T) => T): { face: FaceDetection; mesh: MeshLandmarks } | null {
    for (const detector of [this.nearDetector, this.farDetector]) {
      const face = timed('detect', () => chooseFace(detector.detect(img), img.width, img.height));
      if (!face) continue;
      const mesh = timed('landmarks', () => this.mesh.landmarks(img, face));
      if (mesh.faceScore >= this.options.quality.minMeshScore) return { face, mesh };
    }
    return null;
  }

  dispose(): void {
    for (const m of this.models) m.dispose();
    this.crop.fill(0);
  }

  private measure(img: RgbImage, five: Point[], meshScore: number): FaceMeasures {
    FaceEmbedder.alignedCrop(img, five, this.crop);
    return { ...measurePose(five), sharpness: laplacianVariance(this.crop, EMBED_CROP.size), meshScore };
  }

  /** The first inference on wasm compiles kernels; doing it at start keeps it out of the first visitor's wait. */
  private warmUp(): void {
    for (const model of this.models) {
      const shape = (model.inputs[0]?.shape ?? []).map((d) => (d > 0 ? d : 1));
      tf.tidy(() => {
        const out = model.execute(tf.zeros(shape));
        for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
      });
    }
  }
}
