import type { FrameAnalysis, RecognizerOptions } from './recognizer';

/** What the recognizer worker is started with (its workerData): plain data, so it survives postMessage. */
export type WorkerData = RecognizerOptions;

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
}

export type WorkerReply =
  | { type: 'ready'; backend: string; dimensions: number }
  | { type: 'load-failed'; name: string; message: string }
  | { type: 'analysis'; analysis: FrameAnalysis }
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
