import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';

/**
 * Runs an ONNX image model on TensorFlow.js. The embedding and anti-spoofing models Postern picked by
 * measurement are published on npm only as ONNX, and the gate runs TensorFlow.js (wasm, or tfjs-node)
 * for everything, so this compiles an ONNX graph into tfjs ops once at load. Only the operators those
 * convolutional networks use are supported; any other is refused at load, naming the operator.
 *
 * Layout: ONNX image tensors are NCHW, tfjs convolutions want NHWC. Activations stay NHWC throughout
 * (weights are transposed once at load), and only where the graph looks at the layout — Shape, and
 * Reshape of an image tensor — is the NCHW view reproduced, so results equal the ONNX semantics.
 */
export class OnnxModel {
  /** NHWC, like a tfjs graph model's signature, so callers treat both kinds of model alike. */
  readonly inputs: { name: string; shape: number[] }[];
  private readonly steps: Step[];
  private readonly weights: tf.Tensor[];

  private constructor(
    private readonly inputName: string,
    inputShape: number[],
    private readonly outputNames: string[],
    compiled: Compiled,
  ) {
    this.inputs = [{ name: inputName, shape: inputShape }];
    this.steps = compiled.steps;
    this.weights = compiled.weights;
  }

  static fromBytes(bytes: Uint8Array): OnnxModel {
    let model: onnx.ModelProto;
    try {
      model = onnx.ModelProto.decode(bytes);
    } catch (err) {
      throw new OnnxModelError(`not an ONNX model: ${(err as Error).message}`);
    }
    const graph = model.graph;
    if (!graph) throw new OnnxModelError('ONNX model has no graph');
    const constants = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', decodeTensor(t)]));
    const inputs = (graph.input ?? []).filter((i) => !constants.has(i.name ?? ''));
    const input = inputs[0];
    if (inputs.length !== 1 || !input) throw new OnnxModelError(`expected one image input, the graph has ${inputs.length}`);
    const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0));
    if (dims.length !== 4) throw new OnnxModelError(`input ${input.name} must be NCHW, has ${dims.length} dimensions`);
    const [n, c, h, w] = dims as [number, number, number, number];
    const compiled = compile(graph.node ?? [], constants);
    return new OnnxModel(input.name ?? '', [n || 1, h, w, c], (graph.output ?? []).map((o) => o.name ?? ''), compiled);
  }

  /** The graph on an NHWC batch; one output tensor, or all of them in graph order when it has several. */
  execute(x: tf.Tensor): tf.Tensor | tf.Tensor[] {
    if (x.rank !== 4) throw new OnnxModelError(`input must be an NHWC batch, got rank ${x.rank}`);
    return tf.tidy(() => {
      const env = new Map<string, Value>([[this.inputName, { kind: 'image', t: x as tf.Tensor4D }]]);
      for (const step of this.steps) step(env);
      const outs = this.outputNames.map((name) => asPlain(need(env, name), name));
      return outs.length === 1 ? outs[0]! : outs;
    });
  }

  dispose(): void {
    for (const w of this.weights) w.dispose();
  }
}

export class OnnxModelError extends Error {
  override readonly name = 'OnnxModelError';
}

/** A constant from the graph: float weights or the small integer vectors shapes are made of. */
interface Constant {
  dims: number[];
  floats?: Float32Array;
  ints?: number[];
}

/** A runtime value: an image activation kept NHWC, any other tensor, or a shape-like integer vector. */
type Value = { kind: 'image'; t: tf.Tensor4D } | { kind: 'plain'; t: tf.Tensor } | { kind: 'ints'; v: number[]; scalar: boolean };
type Step = (env: Map<string, Value>) => void;
interface Compiled {
  steps: Step[];
  weights: tf.Tensor[];
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

function decodeTensor(t: onnx.ITensorProto): Constant {
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? Uint8Array.from(t.rawData) : null;
  if (t.dataType === FLOAT) {
    const floats = raw ? new Float32Array(raw.buffer, 0, raw.length / 4) : Float32Array.from(t.floatData ?? []);
    if (floats.length !== count) throw new OnnxModelError(`tensor ${t.name}: ${floats.length} values for dims [${dims}]`);
    return { dims, floats };
  }
  if (t.dataType === INT64 || t.dataType === INT32) {
    const ints = raw
      ? Array.from(t.dataType === INT64 ? new BigInt64Array(raw.buffer, 0, raw.length / 8) : new Int32Array(raw.buffer, 0, raw.length / 4), Number)
      : (t.dataType === INT64 ? (t.int64Data ?? []) : (t.int32Data ?? [])).map(Number);
    return { dims, ints };
  }
  throw new OnnxModelError(`tensor ${t.name}: data type ${t.dataType} is not supported (float32, int32, int64 are)`);
}

function attrs(node: onnx.INodeProto): Map<string, onnx.IAttributeProto> {
  return new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
}

function intsAttr(a: Map<string, onnx.IAttributeProto>, name: string, fallback: number[]): number[] {
  const v = a.get(name)?.ints;
  return v && v.length > 0 ? v.map(Number) : fallback;
}

function intAttr(a: Map<string, onnx.IAttributeProto>, name: string, fallback: number): number {
  const v = a.get(name)?.i;
  return v === undefined || v === null ? fallback : Number(v);
}

function need(env: Map<string, Value>, name: string): Value {
  const v = env.get(name);
  if (!v) throw new OnnxModelError(`value ${name} is used before it is computed`);
  return v;
}

function asPlain(v: Value, name: string): tf.Tensor {
  if (v.kind === 'ints') return tf.tensor(v.v, v.scalar ? [] : [v.v.length], 'int32');
  if (v.kind === 'plain') return v.t;
  throw new OnnxModelError(`${name} is an image tensor where a vector is expected (reshape it first)`);
}

function tensorOf(v: Value, name: string): tf.Tensor {
  if (v.kind === 'ints') throw new OnnxModelError(`value ${name} is a shape vector where a tensor is expected`);
  return v.t;
}

/** The shape the ONNX graph sees: NCHW for image activations. */
function onnxShape(v: Value): number[] {
  if (v.kind === 'ints') return v.scalar ? [] : [v.v.length];
  if (v.kind === 'image') {
    const [n, h, w, c] = v.t.shape;
    return [n, c, h, w];
  }
  return v.t.shape;
}

/**
 * A per-channel constant ([C], [C,1,1] or [1,C,1,1]) as a [C] vector that broadcasts over the last axis,
 * which is the channel axis of both NHWC activations and [N,C] vectors.
 */
function channelVector(c: Constant, what: string): Float32Array {
  const nonUnit = c.dims.flatMap((d, i) => (d === 1 ? [] : [i]));
  const spatial = c.dims.length >= 3 && nonUnit.some((i) => i >= c.dims.length - 2);
  if (!c.floats || nonUnit.length > 1 || spatial) throw new OnnxModelError(`${what}: constant of shape [${c.dims}] is not per-channel`);
  return c.floats;
}

function compile(nodes: readonly onnx.INodeProto[], constants: Map<string, Constant>): Compiled {
  const weights: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    weights.push(t);
    return t;
  };
  const constant = (name: string, op: string): Constant => {
    const c = constants.get(name);
    if (!c) throw new OnnxModelError(`${op}: input ${name} must be a constant in the graph`);
    return c;
  };
  /** A binary operand: a computed value, or a constant placed to broadcast like the ONNX one. */
  const operand = (name: string, op: string): ((env: Map<string, Value>) => tf.Tensor) => {
    const c = constants.get(name);
    if (!c) return (env) => tensorOf(need(env, name), name);
    const t = keep(c.dims.length === 0 || c.dims.every((d) => d === 1) ? tf.scalar(c.floats?.[0] ?? c.ints?.[0] ?? 0) : tf.tensor1d(channelVector(c, op)));
    return () => t;
  };

  const steps = nodes.map((node): Step => {
    const op = node.opType ?? '';
    const a = attrs(node);
    const ins = node.input ?? [];
    const out = node.output?.[0] ?? '';
    const where = `${op} node ${node.name || out}`;
    switch (op) {
      case 'Conv':
        return compileConv(a, constant(ins[1]!, where), ins[2] ? constant(ins[2], where) : null, ins[0]!, out, keep, where);
      case 'PRelu': {
        const slope = keep(tf.tensor1d(channelVector(constant(ins[1]!, where), where)));
        return (env) => env.set(out, mapTensor(need(env, ins[0]!), (t) => tf.prelu(t, slope)));
      }
      case 'Relu':
        return (env) => env.set(out, mapTensor(need(env, ins[0]!), (t) => tf.relu(t)));
      case 'Sigmoid':
        return (env) => env.set(out, mapTensor(need(env, ins[0]!), (t) => tf.sigmoid(t)));
      case 'Add':
      case 'Mul': {
        const [x, y] = [operand(ins[0]!, where), operand(ins[1]!, where)];
        const image = (env: Map<string, Value>) => [ins[0]!, ins[1]!].some((n) => env.get(n)?.kind === 'image');
        const f = op === 'Add' ? tf.add : tf.mul;
        return (env) => {
          const t = f(x(env), y(env));
          env.set(out, image(env) ? { kind: 'image', t: t as tf.Tensor4D } : { kind: 'plain', t });
        };
      }
      case 'BatchNormalization': {
        const [scale, bias, mean, variance] = ins.slice(1, 5).map((n) => channelVector(constant(n, where), where)) as [Float32Array, Float32Array, Float32Array, Float32Array];
        const eps = a.get('epsilon')?.f ?? 1e-5;
        const k = scale.map((s, i) => s / Math.sqrt(variance[i]! + eps));
        const mul = keep(tf.tensor1d(k));
        const add = keep(tf.tensor1d(bias.map((b, i) => b - mean[i]! * k[i]!)));
        return (env) => env.set(out, mapTensor(need(env, ins[0]!), (t) => tf.add(tf.mul(t, mul), add)));
      }
      case 'GlobalAveragePool':
        return (env) => {
          const v = need(env, ins[0]!);
          if (v.kind !== 'image') throw new OnnxModelError(`${where}: input is not an image tensor`);
          env.set(out, { kind: 'image', t: tf.mean(v.t, [1, 2], true) });
        };
      case 'MatMul': {
        const b = constant(ins[1]!, where);
        if (!b.floats || b.dims.length !== 2) throw new OnnxModelError(`${where}: the second input must be a 2-D float constant`);
        const w = keep(tf.tensor2d(b.floats, b.dims as [number, number]));
        return (env) => env.set(out, { kind: 'plain', t: tf.matMul(asPlain(need(env, ins[0]!), ins[0]!) as tf.Tensor2D, w) });
      }
      case 'Reshape':
        return (env) => env.set(out, { kind: 'plain', t: reshape(need(env, ins[0]!), ints(env, constants, ins[1]!, where).v, where) });
      case 'Shape':
        return (env) => env.set(out, { kind: 'ints', v: onnxShape(need(env, ins[0]!)), scalar: false });
      case 'Constant': {
        const value = a.get('value')?.t;
        if (!value) throw new OnnxModelError(`${where}: only tensor constants are supported`);
        const c = decodeTensor(value);
        if (!c.ints) throw new OnnxModelError(`${where}: only integer constants are supported`);
        constants.set(out, c);
        return () => undefined;
      }
      case 'Gather': {
        if (intAttr(a, 'axis', 0) !== 0) throw new OnnxModelError(`${where}: only axis 0 is supported`);
        return (env) => {
          const data = ints(env, constants, ins[0]!, where);
          const index = ints(env, constants, ins[1]!, where);
          const picked = index.v.map((i) => data.v[i < 0 ? data.v.length + i : i]!);
          env.set(out, { kind: 'ints', v: picked, scalar: index.scalar });
        };
      }
      case 'Unsqueeze':
        return (env) => {
          const x = ints(env, constants, ins[0]!, where);
          if (!x.scalar || intsAttr(a, 'axes', []).join() !== '0') throw new OnnxModelError(`${where}: only a scalar at axis 0 is supported`);
          env.set(out, { kind: 'ints', v: x.v, scalar: false });
        };
      case 'Concat':
        return (env) => env.set(out, { kind: 'ints', v: ins.flatMap((n) => ints(env, constants, n, where).v), scalar: false });
      default:
        throw new OnnxModelError(`operator ${op} (${where}) is not supported by Postern's ONNX runner`);
    }
  });
  return { steps, weights };
}

function mapTensor(v: Value, f: (t: tf.Tensor) => tf.Tensor): Value {
  if (v.kind === 'ints') throw new OnnxModelError('a shape vector cannot go through an arithmetic operator');
  return v.kind === 'image' ? { kind: 'image', t: f(v.t) as tf.Tensor4D } : { kind: 'plain', t: f(v.t) };
}

function ints(env: Map<string, Value>, constants: Map<string, Constant>, name: string, where: string): { v: number[]; scalar: boolean } {
  const c = constants.get(name);
  if (c?.ints) return { v: c.ints, scalar: c.dims.length === 0 };
  const v = env.get(name);
  if (v?.kind === 'ints') return v;
  throw new OnnxModelError(`${where}: ${name} must be an integer vector`);
}

/** ONNX Reshape: 0 copies the input dimension, -1 is inferred; an image tensor is reshaped in its NCHW order. */
function reshape(v: Value, target: number[], where: string): tf.Tensor {
  const source = v.kind === 'image' ? tf.transpose(v.t, [0, 3, 1, 2]) : tensorOf(v, where);
  const shape = target.map((d, i) => (d === 0 ? source.shape[i]! : d));
  if (shape.length === 4) throw new OnnxModelError(`${where}: reshaping into a 4-D tensor is not supported`);
  return tf.reshape(source, shape);
}

function compileConv(
  a: Map<string, onnx.IAttributeProto>,
  w: Constant,
  b: Constant | null,
  input: string,
  out: string,
  keep: <T extends tf.Tensor>(t: T) => T,
  where: string,
): Step {
  if (!w.floats || w.dims.length !== 4) throw new OnnxModelError(`${where}: weights must be a 4-D float constant (OIHW)`);
  const [o, perGroup, kh, kw] = w.dims as [number, number, number, number];
  const group = intAttr(a, 'group', 1);
  const strides = intsAttr(a, 'strides', [1, 1]) as [number, number];
  const dilations = intsAttr(a, 'dilations', [1, 1]) as [number, number];
  const [top, left, bottom, right] = intsAttr(a, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  if (a.has('auto_pad') && a.get('auto_pad')?.s?.length) throw new OnnxModelError(`${where}: auto_pad is not supported, only explicit pads`);
  const symmetric = top === left && left === bottom && bottom === right;
  const pad = (x: tf.Tensor4D): tf.Tensor4D => (symmetric || (top | left | bottom | right) === 0 ? x : tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]));
  const padArg = symmetric ? top : 0;
  const bias = b?.floats ? keep(tf.tensor1d(b.floats)) : null;
  const inChannels = perGroup * group;
  const outPerGroup = o / group;
  const hwio = (g: number, outs: number, ins: number): tf.Tensor4D => {
    const f = new Float32Array(kh * kw * ins * outs);
    for (let oo = 0; oo < outs; oo++)
      for (let i = 0; i < ins; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) f[((y * kw + x) * ins + i) * outs + oo] = w.floats![(((g * outs + oo) * perGroup + i) * kh + y) * kw + x]!;
    return keep(tf.tensor4d(f, [kh, kw, ins, outs]));
  };

  let conv: (x: tf.Tensor4D) => tf.Tensor4D;
  if (group === 1) {
    const filter = hwio(0, o, perGroup);
    conv = (x) => tf.conv2d(pad(x), filter, strides, padArg, 'NHWC', dilations);
  } else if (perGroup === 1) {
    // Depthwise: output channel c*m + j reads input channel c, which is tfjs' depthwise layout too.
    const f = new Float32Array(kh * kw * inChannels * outPerGroup);
    for (let c = 0; c < inChannels; c++)
      for (let j = 0; j < outPerGroup; j++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) f[((y * kw + x) * inChannels + c) * outPerGroup + j] = w.floats[((c * outPerGroup + j) * kh + y) * kw + x]!;
    const filter = keep(tf.tensor4d(f, [kh, kw, inChannels, outPerGroup]));
    conv = (x) => tf.depthwiseConv2d(pad(x), filter, strides, padArg, 'NHWC', dilations);
  } else {
    const filters = Array.from({ length: group }, (_, g) => hwio(g, outPerGroup, perGroup));
    conv = (x) => {
      const parts = tf.split(pad(x), group, 3);
      return tf.concat(parts.map((p, g) => tf.conv2d(p as tf.Tensor4D, filters[g]!, strides, padArg, 'NHWC', dilations)), 3);
    };
  }
  return (env) => {
    const v = env.get(input);
    if (v?.kind !== 'image') throw new OnnxModelError(`${where}: input ${input} is not an image tensor`);
    if (v.t.shape[3] !== inChannels) throw new OnnxModelError(`${where}: input has ${v.t.shape[3]} channels, weights expect ${inChannels}`);
    const y = conv(v.t);
    env.set(out, { kind: 'image', t: bias ? tf.add(y, bias) : y });
  };
}
