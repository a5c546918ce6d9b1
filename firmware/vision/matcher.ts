/**
 * Enrolled templates in one contiguous Float32Array, one row per resident, so a 1:N search is a single
 * pass of dot products over memory that sits together (embeddings are L2-normalised: dot = cosine).
 * Capacity grows by doubling up to `maxTemplates`; a removed row is overwritten with the last row and
 * the vacated row zeroed, so no copy of a deleted template lingers in memory.
 */
export class TemplateIndex {
  private rows: Float32Array;
  private ids: string[] = [];
  private readonly rowOf = new Map<string, number>();

  constructor(
    readonly dimensions: number,
    readonly maxTemplates = 100_000,
    initialCapacity = 1024,
  ) {
    this.rows = new Float32Array(Math.min(initialCapacity, maxTemplates) * dimensions);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /** Adds or replaces the template of `id` (re-enrolment replaces). */
  upsert(id: string, embedding: Float32Array): void {
    if (embedding.length !== this.dimensions) throw new Error(`template for ${id} has ${embedding.length} dimensions, the matcher uses ${this.dimensions}`);
    let row = this.rowOf.get(id);
    if (row === undefined) {
      if (this.ids.length >= this.maxTemplates) throw new Error(`matcher is full: ${this.maxTemplates} templates`);
      row = this.ids.length;
      if ((row + 1) * this.dimensions > this.rows.length) this.grow();
      this.ids.push(id);
      this.rowOf.set(id, row);
    }
    this.rows.set(embedding, row * this.dimensions);
  }

  remove(id: string): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    const last = this.ids.length - 1;
    const d = this.dimensions;
    if (row !== last) {
      const lastId = this.ids[last]!;
      this.rows.copyWithin(row * d, last * d, (last + 1) * d);
      this.ids[row] = lastId;
      this.rowOf.set(lastId, row);
    }
    this.rows.fill(0, last * d, (last + 1) * d);
    this.ids.pop();
    this.rowOf.delete(id);
    return true;
  }

  clear(): void {
    this.rows.fill(0);
    this.ids = [];
    this.rowOf.clear();
  }

  /** The best and second-best cosine similarity over every template. */
  search(query: Float32Array): SearchResult {
    if (query.length !== this.dimensions) throw new Error(`query has ${query.length} dimensions, the matcher uses ${this.dimensions}`);
    const d = this.dimensions;
    const rows = this.rows;
    let best = -Infinity;
    let second = -Infinity;
    let bestRow = -1;
    for (let r = 0, n = this.ids.length; r < n; r++) {
      const base = r * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let i = 0;
      for (; i + 3 < d; i += 4) {
        s0 += rows[base + i]! * query[i]!;
        s1 += rows[base + i + 1]! * query[i + 1]!;
        s2 += rows[base + i + 2]! * query[i + 2]!;
        s3 += rows[base + i + 3]! * query[i + 3]!;
      }
      for (; i < d; i++) s0 += rows[base + i]! * query[i]!;
      const s = s0 + s1 + s2 + s3;
      if (s > best) {
        second = best;
        best = s;
        bestRow = r;
      } else if (s > second) {
        second = s;
      }
    }
    return bestRow < 0 ? { best: null, secondScore: null } : { best: { id: this.ids[bestRow]!, score: best }, secondScore: second === -Infinity ? null : second };
  }

  private grow(): void {
    const capacity = Math.min(this.maxTemplates, Math.max(1, (this.rows.length / this.dimensions) * 2));
    const next = new Float32Array(capacity * this.dimensions);
    next.set(this.rows);
    this.rows.fill(0);
    this.rows = next;
  }
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
