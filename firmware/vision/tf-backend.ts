import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * "wasm-simd" and "wasm" are the two builds the wasm backend picks between by probing the Node it runs
 * on; the plain one (no SIMD) is much slower, so the name the daemon logs says which one a gate got.
 */
export type TfBackendName = 'tensorflow' | 'wasm-simd' | 'wasm';

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
  return (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'wasm-simd' : 'wasm';
}

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}
