import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type TfBackendName = 'tensorflow' | 'wasm';

let ready: Promise<TfBackendName> | undefined;

/**
 * The inference backend, chosen once per process: tfjs-node when it is installed (an optional
 * dependency whose install needs network access to libtensorflow), else the wasm backend with the
 * .wasm files read from the package's own dist folder. The plain JS cpu backend is never used: it is
 * ten times slower and would miss the latency target.
 */
export function initTfBackend(): Promise<TfBackendName> {
  ready ??= selectBackend();
  return ready;
}

async function selectBackend(): Promise<TfBackendName> {
  if (tryRequire('@tensorflow/tfjs-node') && (await tf.setBackend('tensorflow'))) {
    await tf.ready();
    return 'tensorflow';
  }
  const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(wasmDist + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  return 'wasm';
}

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}
