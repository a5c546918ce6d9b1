import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT = /^audit-(\d{6})\.jsonl$/;

export function segmentName(n: number): string {
  return `audit-${String(n).padStart(6, '0')}.jsonl`;
}

/** Segment files in `dir`, oldest first. */
export function listSegments(dir: string): { n: number; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((name) => ({ name, m: SEGMENT.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ n: Number(m[1]), path: join(dir, name) }))
    .sort((a, b) => a.n - b.n);
}
