import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBus, GateEvent } from '../events/bus';
import { fsyncDir } from '../store/atomic-file';
import { GENESIS, seal, type AuditEntry } from './chain';
import { listSegments, segmentName } from './segments';

export interface AuditLogOptions {
  dir: string;
  maxSegmentBytes: number;
  maxSegments: number;
  now?: () => Date;
}

export type AuditInput = Pick<AuditEntry, 'type' | 'reason'> & { data?: Record<string, unknown> };

/**
 * The append-only, hash-chained audit log: JSON lines in numbered segments. Each segment opens with an
 * `audit.segment` entry chained to the last entry of the one before, so rotation (and pruning of the
 * oldest) keeps what remains verifiable. Every line is flushed to disk before append() returns.
 */
export class AuditLog {
  private fd: number;
  private segment: number;
  private size: number;
  private last: AuditEntry | undefined;
  private readonly now: () => Date;

  private constructor(private readonly options: AuditLogOptions) {
    this.now = options.now ?? (() => new Date());
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const segments = listSegments(options.dir);
    const newest = segments.at(-1);
    if (newest) {
      const recovered = recoverTail(newest.path);
      this.segment = newest.n;
      this.last = recovered.last ?? lastEntryBefore(segments, newest.n);
      this.fd = openSync(newest.path, 'a', 0o600);
      this.size = statSync(newest.path).size;
      if (recovered.droppedBytes > 0) {
        this.append({ type: 'audit.recovered', reason: 'torn-write', data: { droppedBytes: recovered.droppedBytes } });
      }
    } else {
      this.segment = 0;
      this.size = 0;
      this.fd = -1;
      this.startSegment();
    }
  }

  static open(options: AuditLogOptions): AuditLog {
    return new AuditLog(options);
  }

  get head(): string {
    return this.last?.hash ?? GENESIS;
  }

  append(input: AuditInput): AuditEntry {
    if (this.size >= this.options.maxSegmentBytes) this.startSegment();
    return this.write(input);
  }

  /**
   * Records every bus event whose type `include` accepts, from now on. A failed append (disk full, say)
   * goes to `onError` rather than to the emitter: the door must not stop because the log cannot grow.
   */
  attach(bus: EventBus, include: (type: string) => boolean, onError: (err: unknown, event: GateEvent) => void): () => void {
    return bus.subscribe((event: GateEvent) => {
      if (!include(event.type)) return;
      try {
        this.append({ type: event.type, reason: event.reason, data: { ...(event.data ?? {}), eventId: event.id } });
      } catch (err) {
        onError(err, event);
      }
    });
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private write(input: AuditInput): AuditEntry {
    const entry = seal({
      seq: (this.last?.seq ?? 0) + 1,
      ts: this.now().toISOString(),
      type: input.type,
      reason: input.reason,
      ...(input.data ? { data: input.data } : {}),
      prev: this.head,
    });
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    writeSync(this.fd, line);
    fdatasyncSync(this.fd);
    this.size += line.length;
    this.last = entry;
    return entry;
  }

  private startSegment(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.segment += 1;
    const oldestRetained = Math.max(1, this.segment - this.options.maxSegments + 1);
    for (const old of listSegments(this.options.dir)) if (old.n < oldestRetained) rmSync(old.path);
    const path = join(this.options.dir, segmentName(this.segment));
    this.fd = openSync(path, 'a', 0o600);
    this.size = 0;
    fsyncDir(this.options.dir);
    this.write({ type: 'audit.segment', reason: this.segment === 1 ? 'started' : 'rotated', data: { segment: this.segment, oldestRetained } });
  }
}

/**
 * A crash mid-append can leave a partial last line; it is cut off (that write never completed). Complete
 * lines are never touched, even unreadable ones: that is evidence for `audit verify`.
 */
function recoverTail(path: string): { last: AuditEntry | undefined; droppedBytes: number } {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const droppedBytes = Buffer.byteLength(lines.pop() ?? '');
  if (droppedBytes > 0) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, Buffer.byteLength(text) - droppedBytes);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return { last: parseOrUndefined(lines.at(-1)), droppedBytes };
}

function parseOrUndefined(line: string | undefined): AuditEntry | undefined {
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as AuditEntry;
  } catch {
    return undefined;
  }
}

/** When the newest segment is empty (a crash right after creating it), the chain continues from the one before. */
function lastEntryBefore(segments: { n: number; path: string }[], n: number): AuditEntry | undefined {
  const before = segments.filter((s) => s.n < n).at(-1);
  if (!before) return undefined;
  return parseOrUndefined(readFileSync(before.path, 'utf8').split('\n').filter((l) => l.length > 0).at(-1));
}
