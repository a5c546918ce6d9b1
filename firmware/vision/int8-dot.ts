/**
 * A WebAssembly SIMD kernel for the 1:N search: the int32 dot products of one int16 query with n rows
 * of d int8 values (d a multiple of 16), all in the module's own memory. A float32 scan of 100,000
 * 512-value templates is bound by memory bandwidth in plain JS and in tfjs alike (~55 ms here); int8
 * rows are a quarter of the bytes, and i32x4.dot_i16x8_s does eight multiply-adds per instruction.
 *
 * The module is 200 bytes, written out below rather than shipped as a binary so that it can be read:
 *
 *   (func (export "scores") (param $q i32) (param $rows i32) (param $n i32) (param $d i32) (param $out i32)
 *     (local $r i32) (local $i i32) (local $p i32) (local $acc v128) (local $v v128)
 *     for r in 0..n: acc = 0; p = rows + r*d
 *       for i in 0..d step 16: v = load(p + i)
 *         acc += dot(extend_low_s(v), load(q + 2i)) + dot(extend_high_s(v), load(q + 2i + 16))
 *       out[r] = acc[0] + acc[1] + acc[2] + acc[3])
 */
export interface Int8DotKernel {
  readonly memory: WebAssembly.Memory;
  /** Byte offsets into `memory`: the int16 query, the int8 rows, the int32 output. */
  scores(query: number, rows: number, n: number, d: number, out: number): void;
}

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')];

const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32c = (v: number) => [0x41, v];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const v128Load = (offset: number) => simd(0x00, 0, ...uleb(offset));
const [Q, ROWS, N, D, OUT, R, I, P, ACC, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [BLOCK, LOOP, END, BR, BR_IF, VOID] = [0x02, 0x03, 0x0b, 0x0c, 0x0d, 0x40];
const [ADD, MUL, SHL, GE_U, STORE] = [0x6a, 0x6c, 0x74, 0x4f, 0x36];
const [EXTEND_LOW_S, EXTEND_HIGH_S, DOT_I16X8_S, I32X4_ADD, EXTRACT_LANE, V128_CONST] = [0x87, 0x88, 0xba, 0xae, 0x1b, 0x0c];
const queryAt = (offset: number) => [...get(Q), ...get(I), ...i32c(1), SHL, ADD, ...v128Load(offset)];

const body = [
  2, 3, I32, 2, V128,
  BLOCK, VOID, LOOP, VOID,
  ...get(R), ...get(N), GE_U, BR_IF, 1,
  ...simd(V128_CONST, ...new Array<number>(16).fill(0)), ...set(ACC),
  ...get(ROWS), ...get(R), ...get(D), MUL, ADD, ...set(P),
  ...i32c(0), ...set(I),
  BLOCK, VOID, LOOP, VOID,
  ...get(I), ...get(D), GE_U, BR_IF, 1,
  ...get(P), ...get(I), ADD, ...v128Load(0), ...set(V),
  ...get(ACC),
  ...get(V), ...simd(EXTEND_LOW_S), ...queryAt(0), ...simd(DOT_I16X8_S), ...simd(I32X4_ADD),
  ...get(V), ...simd(EXTEND_HIGH_S), ...queryAt(16), ...simd(DOT_I16X8_S), ...simd(I32X4_ADD),
  ...set(ACC),
  ...get(I), ...i32c(16), ADD, ...set(I),
  BR, 0, END, END,
  ...get(OUT), ...get(R), ...i32c(2), SHL, ADD,
  ...get(ACC), ...simd(EXTRACT_LANE, 0),
  ...get(ACC), ...simd(EXTRACT_LANE, 1), ADD,
  ...get(ACC), ...simd(EXTRACT_LANE, 2), ADD,
  ...get(ACC), ...simd(EXTRACT_LANE, 3), ADD,
  STORE, 2, 0,
  ...get(R), ...i32c(1), ADD, ...set(R),
  BR, 0, END, END,
  END,
];

const MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]),
  ...section(3, [1, 0]),
  ...section(5, [1, 0, 1]),
  ...section(7, [2, ...name('scores'), 0, 0, ...name('memory'), 2, 0]),
  ...section(10, [1, ...uleb(body.length), ...body]),
]);

let compiled: WebAssembly.Module | undefined;

/** A fresh instance (its own memory) of the kernel; the module is compiled once per process. */
export function createInt8DotKernel(): Int8DotKernel {
  compiled ??= new WebAssembly.Module(MODULE);
  const exports = new WebAssembly.Instance(compiled).exports as unknown as Int8DotKernel;
  return { memory: exports.memory, scores: exports.scores };
}
