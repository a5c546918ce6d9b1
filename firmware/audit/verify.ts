import { readFileSync } from 'node:fs';
import { checkLink, type AuditEntry } from './chain';
import { listSegments } from './segments';

export interface AuditVerification {
  ok: boolean;
  segments: number;
  entries: number;
  /** Hash of the newest entry: compare it with a copy kept elsewhere to detect a truncated tail. */
  head: string | null;
  problems: string[];
}

/** The first entry of every segment names the segments that must still exist when it was written. */
export interface SegmentStart {
  segment: number;
  oldestRetained: number;
}

function parseLine(line: string, where: string): AuditEntry | string {
  try {
    const e = JSON.parse(line) as AuditEntry;
    if (typeof e.seq !== 'number' || typeof e.hash !== 'string' || typeof e.prev !== 'string') return `${where}: not an audit entry`;
    return e;
  } catch {
    return `${where}: not valid JSON`;
  }
}

/** Reads every retained entry, oldest first, with the problems met on the way (unparseable lines). */
export function readAudit(dir: string): { entries: { entry: AuditEntry; segment: number }[]; problems: string[]; segments: number[] } {
  const entries: { entry: AuditEntry; segment: number }[] = [];
  const problems: string[] = [];
  const segments = listSegments(dir);
  for (const { n, path } of segments) {
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    lines.forEach((line, i) => {
      const parsed = parseLine(line, `${path} line ${i + 1}`);
      if (typeof parsed === 'string') problems.push(parsed);
      else entries.push({ entry: parsed, segment: n });
    });
  }
  return { entries, problems, segments: segments.map((s) => s.n) };
}

/**
 * Verifies the hash chain over all retained segments: an edited entry fails its own hash, a removed,
 * inserted or reordered one breaks the `prev` link or the sequence, a removed segment breaks the link
 * between segments or the retained range the newest segment header records.
 */
export function verifyAuditDir(dir: string): AuditVerification {
  const { entries, problems, segments } = readAudit(dir);
  let previous: AuditEntry | undefined;
  let lastStart: SegmentStart | undefined;
  let prevSegment: number | undefined;
  for (const { entry, segment } of entries) {
    if (segment !== prevSegment) {
      if (entry.type !== 'audit.segment') problems.push(`segment ${segment} does not start with its segment header (its first entries were removed)`);
      else lastStart = entry.data as unknown as SegmentStart;
      prevSegment = segment;
    }
    const problem = checkLink(entry, previous);
    if (problem) problems.push(problem);
    previous = entry;
  }
  if (lastStart) {
    const expected: number[] = [];
    for (let n = lastStart.oldestRetained; n <= lastStart.segment; n += 1) expected.push(n);
    const missing = expected.filter((n) => !segments.includes(n));
    if (missing.length) problems.push(`segment file(s) ${missing.join(', ')} are missing (removed outside rotation)`);
    if (segments.at(-1) !== lastStart.segment) problems.push(`the newest segment file is ${segments.at(-1)}, but the last header is for ${lastStart.segment}`);
  }
  return { ok: problems.length === 0, segments: segments.length, entries: entries.length, head: previous?.hash ?? null, problems };
}
