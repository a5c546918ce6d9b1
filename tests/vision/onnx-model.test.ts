import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { OnnxModel, OnnxModelError } from '../../models/onnx-model';
import { initTfBackend } from '../../firmware/vision/tf-backend';

/**
 * The ONNX runner against a plain NCHW reference written from the ONNX operator definitions. The
 * graphs are small but use every operator and layout path the gate's models use: grouped, depthwise
 * and plain convolutions with strides and asymmetric pads, per-channel constants, a squeeze-and-excite
 * block, and a flatten by Shape/Gather/Unsqueeze/Concat/Reshape into MatMul.
 */

type Nchw = { c: number; h: number; w: number; v: Float32Array };

let seed = 7;
function random(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 30 - 1;
  });
}

function conv(x: Nchw, w: Float32Array, b: Float32Array, o: number, k: number, stride: number, pads: [number, number, number, number], group: number): Nchw {
  const [top, left, bottom, right] = pads;
  const h = Math.floor((x.h + top + bottom - k) / stride) + 1;
  const wd = Math.floor((x.w + left + right - k) / stride) + 1;
  const inPer = x.c / group;
  const outPer = o / group;
  const v = new Float32Array(o * h * wd);
  for (let oc = 0; oc < o; oc++) {
    const g = Math.floor(oc / outPer);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < wd; xx++) {
        let s = b[oc]!;
        for (let i = 0; i < inPer; i++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = y * stride + ky - top;
              const ix = xx * stride + kx - left;
              if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
              s += x.v[((g * inPer + i) * x.h + iy) * x.w + ix]! * w[((oc * inPer + i) * k + ky) * k + kx]!;
            }
        v[(oc * h + y) * wd + xx] = s;
      }
  }
  return { c: o, h, w: wd, v };
}

const perChannel = (x: Nchw, f: (v: number, c: number) => number): Nchw => ({ ...x, v: x.v.map((v, i) => f(v, Math.floor(i / (x.h * x.w)))) });

function tensor(name: string, dims: number[], values: Float32Array | number[], type: 'float' | 'int64' = 'float'): onnx.ITensorProto {
  return type === 'float'
    ? { name, dims, dataType: 1, rawData: new Uint8Array(Float32Array.from(values).buffer) }
    : { name, dims, dataType: 7, int64Data: Array.from(values, Number) };
}

function node(opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, input, output: [output], name: output, attribute };
}

const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: 7, ints: v });
const int = (name: string, v: number): onnx.IAttributeProto => ({ name, type: 2, i: v });

function model(nodes: onnx.INodeProto[], initializer: onnx.ITensorProto[], input: [number, number, number], output: string): Uint8Array {
  const dim = (d: number) => ({ dimValue: d });
  return onnx.ModelProto.encode({
    irVersion: 6,
    opsetImport: [{ domain: '', version: 9 }],
    graph: {
      name: 'test',
      node: nodes,
      initializer,
      input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim: [1, ...input].map(dim) } } } }],
      output: [{ name: output, type: { tensorType: { elemType: 1 } } }],
    },
  }).finish();
}

function run(bytes: Uint8Array, x: Nchw): Float32Array {
  const m = OnnxModel.fromBytes(bytes);
  const nhwc = new Float32Array(x.v.length);
  for (let c = 0; c < x.c; c++) for (let i = 0; i < x.h * x.w; i++) nhwc[i * x.c + c] = x.v[c * x.h * x.w + i]!;
  try {
    const out = m.execute(tf.tensor4d(nhwc, [1, x.h, x.w, x.c])) as tf.Tensor;
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  } finally {
    m.dispose();
  }
}

function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const worst = Math.max(...Array.from(got, (g, i) => Math.abs(g - want[i]!)));
  expect(worst).toBeLessThan(1e-4);
}

beforeAll(async () => {
  await initTfBackend();
});

describe('ONNX runner on tfjs', () => {
  const x: Nchw = { c: 4, h: 9, w: 7, v: random(4 * 9 * 7) };
  const w1 = random(8 * 4 * 3 * 3);
  const b1 = random(8);
  const slope = random(8);
  const wDw = random(8 * 1 * 3 * 3);
  const bDw = random(8);
  const wG = random(6 * 4 * 1 * 1);
  const bG = random(6);
  const [scale, bias, mean, variance] = [random(6), random(6), random(6), random(6).map((v) => Math.abs(v) + 0.1)];
  const shift = random(6);
  const fc = random(6 * 3);

  test('conv (stride 2, asymmetric pads) → PRelu → depthwise → grouped conv → BN → Add → SE → GAP → flatten → MatMul matches the NCHW reference', () => {
    const bytes = model(
      [
        node('Conv', ['input', 'w1', 'b1'], 'c1', [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 0, 0, 1]), int('group', 1)]),
        node('PRelu', ['c1', 'slope'], 'p1'),
        node('Conv', ['p1', 'wDw', 'bDw'], 'dw', [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), int('group', 8)]),
        node('Conv', ['dw', 'wG', 'bG'], 'g', [ints('kernel_shape', [1, 1]), int('group', 2)]),
        node('BatchNormalization', ['g', 'scale', 'bias', 'mean', 'var'], 'bn', [{ name: 'epsilon', type: 1, f: 1e-5 }]),
        node('Add', ['bn', 'shift'], 'add'),
        node('Relu', ['add'], 'relu'),
        node('GlobalAveragePool', ['relu'], 'gap'),
        node('Sigmoid', ['gap'], 'gate'),
        node('Mul', ['relu', 'gate'], 'se'),
        node('GlobalAveragePool', ['se'], 'pooled'),
        node('Shape', ['pooled'], 'shape'),
        node('Gather', ['shape', 'zero'], 'batch', [int('axis', 0)]),
        node('Unsqueeze', ['batch'], 'batch1', [ints('axes', [0])]),
        node('Concat', ['batch1', 'minusOne'], 'flatShape', [int('axis', 0)]),
        node('Reshape', ['pooled', 'flatShape'], 'flat'),
        node('MatMul', ['flat', 'fc'], 'out'),
      ],
      [
        tensor('w1', [8, 4, 3, 3], w1),
        tensor('b1', [8], b1),
        tensor('slope', [8, 1, 1], slope),
        tensor('wDw', [8, 1, 3, 3], wDw),
        tensor('bDw', [8], bDw),
        tensor('wG', [6, 4, 1, 1], wG),
        tensor('bG', [6], bG),
        tensor('scale', [6], scale),
        tensor('bias', [6], bias),
        tensor('mean', [6], mean),
        tensor('var', [6], variance),
        tensor('shift', [1, 6, 1, 1], shift),
        tensor('zero', [], [0], 'int64'),
        tensor('minusOne', [1], [-1], 'int64'),
        tensor('fc', [6, 3], fc),
      ],
      [4, 9, 7],
      'out',
    );

    let y = conv(x, w1, b1, 8, 3, 2, [1, 0, 0, 1], 1);
    y = perChannel(y, (v, c) => (v >= 0 ? v : v * slope[c]!));
    y = conv(y, wDw, bDw, 8, 3, 1, [1, 1, 1, 1], 8);
    y = conv(y, wG, bG, 6, 1, 1, [0, 0, 0, 0], 2);
    y = perChannel(y, (v, c) => ((v - mean[c]!) / Math.sqrt(variance[c]! + 1e-5)) * scale[c]! + bias[c]! + shift[c]!);
    y = perChannel(y, (v) => Math.max(0, v));
    const avg = (t: Nchw) => Array.from({ length: t.c }, (_, c) => t.v.slice(c * t.h * t.w, (c + 1) * t.h * t.w).reduce((s, v) => s + v, 0) / (t.h * t.w));
    const gate = avg(y).map((v) => 1 / (1 + Math.exp(-v)));
    const pooled = avg(perChannel(y, (v, c) => v * gate[c]!));
    const want = Float32Array.from({ length: 3 }, (_, j) => pooled.reduce((s, p, i) => s + p * fc[i * 3 + j]!, 0));

    expectClose(run(bytes, x), want);
  });

  test('a Reshape of an image tensor flattens in NCHW order, as ONNX defines it', () => {
    const bytes = model([node('Reshape', ['input', 'flat'], 'out')], [tensor('flat', [2], [1, -1], 'int64')], [4, 9, 7], 'out');
    expectClose(run(bytes, x), x.v);
  });

  test('an operator outside the supported set is refused at load, by name', () => {
    const bytes = model([node('LSTM', ['input'], 'out')], [], [4, 9, 7], 'out');
    expect(() => OnnxModel.fromBytes(bytes)).toThrow(new OnnxModelError('operator LSTM (LSTM node out) is not supported by Postern\'s ONNX runner'));
  });

  test('bytes that are not an ONNX model are refused with a clear error', () => {
    expect(() => OnnxModel.fromBytes(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]))).toThrow(/^not an ONNX model|ONNX model has no graph/);
  });

  test('weights stay loaded between runs and are released by dispose', () => {
    const bytes = model([node('Conv', ['input', 'w1', 'b1'], 'c', [ints('kernel_shape', [3, 3])]), node('GlobalAveragePool', ['c'], 'g'), node('Reshape', ['g', 'flat'], 'out')], [tensor('w1', [8, 4, 3, 3], w1), tensor('b1', [8], b1), tensor('flat', [2], [1, -1], 'int64')], [4, 9, 7], 'out');
    const before = tf.memory().numTensors;
    const m = OnnxModel.fromBytes(bytes);
    const input = tf.zeros([1, 9, 7, 4]);
    for (let i = 0; i < 3; i++) (m.execute(input) as tf.Tensor).dispose();
    input.dispose();
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
