import type { FrameAnalysis, RecognizerOptions } from './recognizer';

/** What the recognizer worker is started with (its workerData): plain data, so it survives postMessage. */
export type WorkerData = RecognizerOptions;

/** One frame to analyse; its pixel buffer is transferred, never copied through the structured clone. */
export interface AnalyseRequest {
  width: number;
  height: number;
  data: Uint8Array;
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
