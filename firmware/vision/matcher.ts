import { createInt8DotKernel, type Int8DotKernel } from './int8-dot';

/** Query values are scaled so the largest is this: int8 x int13 products summed over 512 values stay far inside int32. */
const QUERY_LEVELS = 4095;
const ROW_LEVELS = 127;

/**
 * Enrolled templates as int8 rows (one scale per row) in one contiguous block of a WebAssembly memory,
 * so a 1:N search is one SIMD pass over memory that sits together (int8-dot.ts); embeddings are
 * L2-normalised, so a dot product is the cosine. Quantising moves a score by about 0.001 (tests bound
 * it), far below the threshold and margin steps. Capacity grows by doubling up to `maxTemplates`; a
 * removed row is overwritten with the last row and the vacated row zeroed, so no copy of a deleted
 * template lingers in memory; the quantised query is zeroed after each search.
 */
export class TemplateIndex {
  private readonly kernel: Int8DotKernel = createInt8DotKernel();
  /** Bytes per row: the dimensions rounded up to the kernel's 16-value step, the rest zero. */
  private readonly stride: number;
  private capacity = 0;
  private rows = new Int8Array(0);
  private scales = new Float32Array(0);
  private query = new Int16Array(0);
  private out = new Int32Array(0);
  private ids: string[] = [];
  private readonly rowOf = new Map<string, number>();

  constructor(
    readonly dimensions: number,
    readonly maxTemplates = 100_000,
    initialCapacity = 1024,
  ) {
    this.stride = Math.ceil(dimensions / 16) * 16;
    this.layout(Math.max(1, Math.min(initialCapacity, maxTemplates)));
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /** The rows, their scales and the search scratch, as allocated (capacity, not size). */
  get memoryBytes(): number {
    return this.rows.byteLength + this.scales.byteLength + this.query.byteLength + this.out.byteLength;
  }

  /** Adds or replaces the template of `id` (re-enrolment replaces). */
  upsert(id: string, embedding: Float32Array): void {
    if (embedding.length !== this.dimensions) throw new Error(`template for ${id} has ${embedding.length} dimensions, the matcher uses ${this.dimensions}`);
    let row = this.rowOf.get(id);
    if (row === undefined) {
      if (this.ids.length >= this.maxTemplates) throw new Error(`matcher is full: ${this.maxTemplates} templates`);
      row = this.ids.length;
      if (row + 1 > this.capacity) this.layout(Math.min(this.maxTemplates, this.capacity * 2));
      this.ids.push(id);
      this.rowOf.set(id, row);
    }
    const scale = maxAbs(embedding) / ROW_LEVELS || 1;
    const base = row * this.stride;
    for (let i = 0; i < this.dimensions; i++) this.rows[base + i] = Math.round(embedding[i]! / scale);
    this.scales[row] = scale;
  }

  remove(id: string): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    const last = this.ids.length - 1;
    const d = this.stride;
    if (row !== last) {
      const lastId = this.ids[last]!;
      this.rows.copyWithin(row * d, last * d, (last + 1) * d);
      this.scales[row] = this.scales[last]!;
      this.ids[row] = lastId;
      this.rowOf.set(lastId, row);
    }
    this.rows.fill(0, last * d, (last + 1) * d);
    this.scales[last] = 0;
    this.ids.pop();
    this.rowOf.delete(id);
    return true;
  }

  clear(): void {
    this.rows.fill(0);
    this.scales.fill(0);
    this.ids = [];
    this.rowOf.clear();
  }

  /** The best and second-best cosine similarity over every template. */
  search(query: Float32Array): SearchResult {
    if (query.length !== this.dimensions) throw new Error(`query has ${query.length} dimensions, the matcher uses ${this.dimensions}`);
    const n = this.ids.length;
    if (n === 0) return { best: null, secondScore: null };
    const qScale = maxAbs(query) / QUERY_LEVELS || 1;
    for (let i = 0; i < this.dimensions; i++) this.query[i] = Math.round(query[i]! / qScale);
    this.kernel.scores(this.query.byteOffset, this.rows.byteOffset, n, this.stride, this.out.byteOffset);
    let best = -Infinity;
    let second = -Infinity;
    let bestRow = -1;
    for (let r = 0; r < n; r++) {
      const s = this.out[r]! * this.scales[r]! * qScale;
      if (s > best) {
        second = best;
        best = s;
        bestRow = r;
      } else if (s > second) {
        second = s;
      }
    }
    this.query.fill(0);
    this.out.fill(0, 0, n);
    return { best: { id: this.ids[bestRow]!, score: best }, secondScore: second === -Infinity ? null : second };
  }

  /**
   * Rows from byte 0, then the query and the output (16-byte aligned, as rows are a multiple of 16
   * bytes); growing keeps the rows in place and zeroes what the scratch held.
   */
  private layout(capacity: number): void {
    const rowBytes = capacity * this.stride;
    const queryAt = rowBytes;
    const outAt = queryAt + this.stride * 2;
    const need = outAt + capacity * 4;
    const memory = this.kernel.memory;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65_536));
    const oldRows = this.capacity * this.stride;
    this.rows = new Int8Array(memory.buffer, 0, rowBytes);
    this.rows.fill(0, oldRows);
    this.query = new Int16Array(memory.buffer, queryAt, this.stride);
    this.out = new Int32Array(memory.buffer, outAt, capacity);
    const scales = new Float32Array(capacity);
    scales.set(this.scales);
    this.scales.fill(0);
    this.scales = scales;
    this.capacity = capacity;
  }
}

function maxAbs(v: Float32Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

export interface SearchResult {
  best: { id: string; score: number } | null;
  secondScore: number | null;
}

export interface MatchRule {
  /** Minimum cosine similarity to the best template. */
  threshold: number;
  /** Minimum lead of the best over the second-best resident, so look-alikes are not confused. */
  margin: number;
}

export type MatchVerdict =
  | { matched: true; residentId: string; score: number }
  | { matched: false; reason: 'no-templates' | 'below-threshold' | 'ambiguous'; score: number | null };

/** Pure: whether a search result names a resident under the threshold-and-margin rule. */
export function judgeMatch(result: SearchResult, rule: MatchRule): MatchVerdict {
  if (!result.best) return { matched: false, reason: 'no-templates', score: null };
  const { id, score } = result.best;
  if (score < rule.threshold) return { matched: false, reason: 'below-threshold', score };
  if (result.secondScore !== null && score - result.secondScore < rule.margin) return { matched: false, reason: 'ambiguous', score };
  return { matched: true, residentId: id, score };
}

/** Scales an embedding to unit length in place (so a dot product is the cosine); refuses a zero or non-finite one. */
export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) throw new Error('embedding has zero or non-finite norm');
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}
