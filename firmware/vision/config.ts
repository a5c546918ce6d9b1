import { z } from 'zod';
import type { PresenceOptions } from './presence-gate';
import type { RecognizerOptions } from './recognizer';

const num = (min: number, max: number, dflt: number, what: string) =>
  z.number(`must be a number (${what})`).min(min, `must be at least ${min} (${what})`).max(max, `must be at most ${max} (${what})`).default(dflt);
const int = (min: number, max: number, dflt: number, unit: string) =>
  z.number().int(`must be a whole number of ${unit}`).min(min, `must be at least ${min} ${unit}`).max(max, `must be at most ${max} ${unit}`).default(dflt);

/**
 * The `face` section. Face recognition runs only when `access.methods` includes "face" (which the access
 * schema refuses without a non-face method); this section tunes the camera and the pipeline. The
 * defaults were measured on ../shared/faces (docs/BENCHMARKS.md says how each was chosen).
 */
/**
 * The similarity above which a face matches a template: where 1 in 1,000 impostor pairs of the LFW
 * dev-train protocol (1,100 pairs) scores above; the identification sets, which played no part in
 * choosing it, check it.
 */
export const MATCH_THRESHOLD = 0.29;

export const faceSchema = z
  .strictObject({
    camera: z
      .strictObject({
        /** "auto": rpicam-vid (or libcamera-vid) on a Pi, the bench simulator in sim mode. "directory": images or an .mjpeg file from `path`, looped. */
        source: z.enum(['auto', 'rpicam', 'bench', 'directory'], 'must be one of auto, rpicam, bench, directory').default('auto'),
        path: z.string().min(1).optional(),
        width: int(160, 4056, 640, 'pixels'),
        height: int(120, 3040, 480, 'pixels'),
        framerate: int(1, 60, 10, 'frames per second'),
        /** Clockwise quarter turns for a camera mounted sideways. */
        rotate: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)], 'must be 0, 90, 180 or 270').default(0),
        /** A frame older than this when the pipeline gets to it is dropped, not judged. */
        staleMs: int(50, 10_000, 500, 'ms'),
        /** No frame for this long marks the face method degraded. */
        lossTimeoutMs: int(500, 60_000, 5000, 'ms'),
        /** rpicam-vid restarts after a crash wait initialMs, doubling up to maxMs. */
        restartBackoff: z
          .strictObject({ initialMs: int(10, 60_000, 500, 'ms'), maxMs: int(10, 600_000, 30_000, 'ms') })
          .refine((b) => b.maxMs >= b.initialMs, { message: 'maxMs must be at least initialMs' })
          .prefault({}),
      })
      .refine((c) => c.source !== 'directory' || c.path !== undefined, { message: 'source "directory" needs a path (a folder of JPEG/PNG files or an .mjpeg file)', path: ['path'] })
      .prefault({}),
    detection: z.strictObject({ minScore: num(0.1, 0.99, 0.6, 'BlazeFace score') }).prefault({}),
    quality: z
      .strictObject({
        minEyeDistancePx: num(8, 1000, 18, 'pixels between the eye centres'),
        maxAbsYaw: num(0.05, 1, 0.45, 'nose offset along the eye line, in eye distances'),
        pitchMin: num(0, 1, 0.25, 'nose depth as a share of mouth depth'),
        pitchMax: num(0, 2, 0.85, 'nose depth as a share of mouth depth'),
        minSharpness: num(0, 10_000, 20, 'variance of the Laplacian of the aligned crop'),
        minMeshScore: num(0, 1, 0.5, 'FaceMesh face probability'),
      })
      .refine((q) => q.pitchMax > q.pitchMin, { message: 'pitchMax must be greater than pitchMin' })
      .prefault({}),
    liveness: z.strictObject({ minScore: num(0, 1, 0.5, 'liveness probability') }).prefault({}),
    match: z
      .strictObject({
        /** Default MATCH_THRESHOLD: the similarity at FAR 1e-3 on the LFW dev-train pairs. */
        threshold: z.number('must be a number (cosine similarity)').min(-1, 'must be at least -1 (cosine similarity)').max(1, 'must be at most 1 (cosine similarity)').default(MATCH_THRESHOLD),
        /** Chosen on ORL (the impostors' lead over the second-best was at most 0.158 there, the genuine 5th percentile 0.431); Yale and the others are held out. */
        margin: num(0, 2, 0.2, 'cosine similarity lead over the second-best resident'),
        /** k of the last n judged frames must name the same resident. */
        confirmK: int(1, 20, 2, 'frames'),
        confirmN: int(1, 20, 3, 'frames'),
        /** Votes older than this are forgotten: a new visitor starts a new window. */
        windowMs: int(100, 60_000, 3000, 'ms'),
        /** After a decision the same face is not judged again for this long. */
        cooldownMs: int(0, 60_000, 3000, 'ms'),
      })
      .refine((m) => m.confirmK <= m.confirmN, { message: 'confirmK must not exceed confirmN' })
      .prefault({}),
    enrol: z
      .strictObject({
        /** Good frames averaged into one template. */
        frames: int(1, 20, 5, 'frames'),
        timeoutMs: int(1000, 120_000, 15_000, 'ms'),
        /** Frames of one enrolment must agree this well with their mean, or it was more than one person. */
        minConsistency: num(-1, 1, 0.5, 'cosine similarity to the mean'),
      })
      .prefault({}),
    /**
     * Presence gating (docs/BENCHMARKS.md, "Idle gate"): while nobody is in view each frame gets only a
     * cheap look for motion, and the full analysis runs on frames that moved, on one frame per heartbeat,
     * and on every frame from the first that moved or showed a face until `quietMs` of stillness.
     */
    presence: z
      .strictObject({
        /** Off: every frame is analysed, as before gating. */
        enabled: z.boolean('must be true or false').default(true),
        /**
         * A full analysis of an empty frame costs 100-170 ms of CPU here: at one per 10 s the empty scene
         * measured 8-10% of a core, too close to its 10% budget; motion, not the heartbeat, is what wakes the gate.
         */
        heartbeatMs: int(100, 600_000, 30_000, 'ms'),
        quietMs: int(100, 600_000, 5000, 'ms'),
        /** Chosen on the bench scenes: sensor noise and light drift change no block, a person entering tens of per cent of them. */
        motionThreshold: num(0.001, 1, 0.01, 'share of the 8x8 blocks that changed'),
      })
      .prefault({}),
  })
  .prefault({});

export type FaceConfig = z.output<typeof faceSchema>;

/** The match rule in force. */
export function matchRule(c: FaceConfig): { threshold: number; margin: number } {
  return { threshold: c.match.threshold, margin: c.match.margin };
}

export function recognizerOptionsFrom(c: FaceConfig): RecognizerOptions {
  return {
    minDetectionScore: c.detection.minScore,
    quality: {
      minEyeDistancePx: c.quality.minEyeDistancePx,
      maxAbsYaw: c.quality.maxAbsYaw,
      pitchRange: [c.quality.pitchMin, c.quality.pitchMax],
      minSharpness: c.quality.minSharpness,
      minMeshScore: c.quality.minMeshScore,
    },
    minLiveness: c.liveness.minScore,
  };
}

/** The worker's presence gate, or null when gating is off. */
export function presenceOptionsFrom(c: FaceConfig): PresenceOptions | null {
  const { enabled, heartbeatMs, quietMs, motionThreshold } = c.presence;
  return enabled ? { heartbeatMs, quietMs, motionThreshold } : null;
}

export function defaultFaceConfig(): FaceConfig {
  return faceSchema.parse(undefined);
}

export function defaultRecognizerOptions(): RecognizerOptions {
  return recognizerOptionsFrom(defaultFaceConfig());
}
