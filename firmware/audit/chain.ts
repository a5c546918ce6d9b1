import { createHash } from 'node:crypto';

/** The hash the first entry ever written commits to. */
export const GENESIS = '0'.repeat(64);

export interface AuditEntry {
  /** Continuous across segments. */
  seq: number;
  ts: string;
  type: string;
  reason: string;
  data?: Record<string, unknown>;
  /** Hash of the entry before this one (GENESIS for the first): what makes removal and reordering visible. */
  prev: string;
  /** SHA-256 over this entry's other fields, in a fixed order: what makes an edit visible. */
  hash: string;
}

export type UnsealedEntry = Omit<AuditEntry, 'hash'>;

/** Stable serialisation: object keys sorted at every level, so the hash does not depend on insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function entryHash(entry: UnsealedEntry): string {
  const { seq, ts, type, reason, data, prev } = entry;
  return createHash('sha256').update(canonicalJson({ seq, ts, type, reason, data, prev })).digest('hex');
}

export function seal(entry: UnsealedEntry): AuditEntry {
  return { ...entry, hash: entryHash(entry) };
}

/**
 * Checks one entry against the one before it. Returns what is wrong, or null. `previous` is undefined at
 * the start of the oldest retained segment, whose link to pruned history cannot be checked.
 */
export function checkLink(entry: AuditEntry, previous: AuditEntry | undefined): string | null {
  if (entryHash(entry) !== entry.hash) return `entry seq ${entry.seq} was edited (its hash does not match its contents)`;
  if (!previous) return null;
  if (entry.prev !== previous.hash) {
    return `entry seq ${entry.seq} does not follow entry seq ${previous.seq} (an entry was removed, inserted or moved between them)`;
  }
  if (entry.seq !== previous.seq + 1) return `entry seq ${entry.seq} follows seq ${previous.seq} (sequence broken)`;
  return null;
}
