import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../store/atomic-file';

export interface Cursor {
  segment: number;
  offset: number;
}

export interface OutboxEntry {
  /** The line as stored: exactly what is published. */
  payload: string;
  /** Where the cursor moves once the broker has acknowledged this entry. */
  after: Cursor;
}

const SEGMENT = /^outbox-(\d{8})\.jsonl$/;
const segmentName = (n: number) => `outbox-${String(n).padStart(8, '0')}.jsonl`;

/**
 * Events waiting for the broker, on disk: append-only segment files of JSON lines plus a cursor file
 * naming the first unacknowledged byte. Appends are fsynced before they count; the cursor moves only on
 * PUBACK and is replaced atomically. A crash can at worst leave a torn last line (dropped at load: its
 * append never returned) or an entry published but not yet acknowledged (published again; the cloud
 * drops it by id). A fully acknowledged segment is rolled over so the files do not grow forever.
 */
export class Outbox {
  private readonly cursorPath: string;
  private readonly queue: OutboxEntry[] = [];
  private cursor: Cursor;
  private segment: number;
  private segmentSize: number;
  private fd: number;

  constructor(private readonly dir: string, private readonly rollBytes = 1 << 20) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.cursorPath = join(dir, 'outbox.cursor');
    this.cursor = existsSync(this.cursorPath) ? parseCursor(this.cursorPath) : { segment: 1, offset: 0 };
    const segments = readdirSync(dir)
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const n of segments) {
      if (n < this.cursor.segment) rmSync(join(dir, segmentName(n)));
      else this.load(n, n === this.cursor.segment ? this.cursor.offset : 0);
    }
    this.segment = Math.max(this.cursor.segment, ...segments);
    this.fd = openSync(join(dir, segmentName(this.segment)), 'a', 0o600);
    this.segmentSize = this.sizeOf(this.segment);
  }

  append(payload: string): void {
    if (payload.includes('\n')) throw new Error('outbox payloads are single JSON lines');
    const bytes = Buffer.from(payload + '\n', 'utf8');
    writeSync(this.fd, bytes);
    fdatasyncSync(this.fd);
    this.segmentSize += bytes.length;
    this.queue.push({ payload, after: { segment: this.segment, offset: this.segmentSize } });
  }

  /** The oldest entry not yet acknowledged. */
  peek(): OutboxEntry | undefined {
    return this.queue[0];
  }

  /** Call only with the entry `peek()` returned, after the broker acknowledged it. */
  ack(entry: OutboxEntry): void {
    if (this.queue[0] !== entry) throw new Error('outbox entries must be acknowledged in order');
    this.queue.shift();
    this.cursor = entry.after;
    if (this.queue.length === 0 && this.segmentSize >= this.rollBytes) this.roll();
    else writeFileAtomic(this.cursorPath, JSON.stringify(this.cursor));
  }

  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    closeSync(this.fd);
  }

  private roll(): void {
    closeSync(this.fd);
    const old = this.segment;
    this.segment += 1;
    this.fd = openSync(join(this.dir, segmentName(this.segment)), 'a', 0o600);
    this.segmentSize = 0;
    fsyncDir(this.dir);
    this.cursor = { segment: this.segment, offset: 0 };
    writeFileAtomic(this.cursorPath, JSON.stringify(this.cursor));
    rmSync(join(this.dir, segmentName(old)));
  }

  private sizeOf(n: number): number {
    const path = join(this.dir, segmentName(n));
    return existsSync(path) ? readFileSync(path).length : 0;
  }

  private load(n: number, from: number): void {
    const path = join(this.dir, segmentName(n));
    const content = readFileSync(path);
    const lastNewline = content.lastIndexOf(0x0a);
    if (lastNewline + 1 < content.length) {
      // A torn final line is an append that crashed before fsync returned: it never counted.
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, lastNewline + 1);
      fdatasyncSync(fd);
      closeSync(fd);
    }
    let offset = from;
    while (offset <= lastNewline) {
      const end = content.indexOf(0x0a, offset);
      this.queue.push({ payload: content.subarray(offset, end).toString('utf8'), after: { segment: n, offset: end + 1 } });
      offset = end + 1;
    }
  }
}

function parseCursor(path: string): Cursor {
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const { segment, offset } = (value ?? {}) as Record<string, unknown>;
  if (!Number.isInteger(segment) || !Number.isInteger(offset)) throw new Error(`outbox cursor ${path} is not {"segment":int,"offset":int}`);
  return { segment: segment as number, offset: offset as number };
}
