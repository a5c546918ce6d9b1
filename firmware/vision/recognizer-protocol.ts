import type { PresenceOptions, PresenceReport } from './presence-gate';
import type { FrameAnalysis, RecognizerOptions } from './recognizer';

/**
 * What the recognizer worker is started with (its workerData): plain data, so it survives postMessage.
 * With `presence`, the worker gates the frames sent with `gate` (presence-gate.ts).
 */
export type WorkerData = RecognizerOptions & { presence?: PresenceOptions | undefined };

/**
 * One camera frame to analyse, still encoded: the worker decodes it, because decoding a 640x480 JPEG
 * takes 20-30 ms here (more on a Pi), which on the daemon's thread would delay exit-button edges past
 * their debounce. The bytes are transferred, never copied through the structured clone.
 */
export interface AnalyseRequest {
  bytes: Uint8Array;
  contentType: 'image/jpeg' | 'image/png';
  /** Clockwise quarter turns for a camera mounted sideways. */
  turns: 0 | 1 | 2 | 3;
  /**
   * Present: the worker may skip the full analysis when its presence gate sees an empty scene; `wake`
   * names why every frame must be analysed now (an enrolment). Absent: always analysed.
   */
  gate?: { wake?: string };
}

/** A frame's verdict: null analysis when the presence gate judged the scene empty; the gate's mode when it has one. */
export interface JudgedFrame {
  analysis: FrameAnalysis | null;
  presence: PresenceReport | null;
}

export type WorkerReply =
  | { type: 'ready'; backend: string; dimensions: number }
  | { type: 'load-failed'; name: string; message: string }
  | ({ type: 'analysis' } & JudgedFrame)
  | { type: 'analyse-failed'; message: string };

/**
 * A view whose ArrayBuffer can be moved to the other thread: the view itself when it owns its whole
 * buffer, else one copy of it. Moving a buffer that other views share (a pooled Buffer slice) would pull
 * it from under them; the copy leaves the original with the caller, who zeroes it as before.
 */
export function ownedWhole(view: Uint8Array): Uint8Array;
export function ownedWhole(view: Float32Array): Float32Array;
export function ownedWhole(view: Uint8Array | Float32Array): Uint8Array | Float32Array {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) return view;
  // The constructors, not .slice(): Buffer.prototype.slice returns a view on the same memory.
  return view instanceof Float32Array ? new Float32Array(view) : new Uint8Array(view);
}
