import { isAudited } from '../../firmware/admin/start';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../firmware/audit/log';
import { listSegments } from '../../firmware/audit/segments';
import { verifyAuditDir } from '../../firmware/audit/verify';
import { EventBus } from '../../firmware/events/bus';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function writeLog(entries: number, maxSegmentBytes = 1 << 20, maxSegments = 50): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-audit-'));
  dirs.push(dir);
  const log = AuditLog.open({ dir, maxSegmentBytes, maxSegments });
  for (let i = 0; i < entries; i += 1) log.append({ type: 'access.denied', reason: 'unknown', data: { method: 'card', credential: `${i}`.padStart(64, 'c') } });
  log.close();
  return dir;
}

const linesOf = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const writeLines = (path: string, lines: string[]) => writeFileSync(path, `${lines.join('\n')}\n`);
const only = (dir: string) => listSegments(dir)[0]!.path;

describe('audit log', () => {
  test('an untouched log verifies, across restarts', () => {
    const dir = writeLog(10);
    const again = AuditLog.open({ dir, maxSegmentBytes: 1 << 20, maxSegments: 50 });
    again.append({ type: 'resident.added', reason: 'admin', data: { residentId: 'r-1' } });
    again.close();
    const v = verifyAuditDir(dir);
    expect(v).toMatchObject({ ok: true, entries: 12, segments: 1, problems: [] });
  });

  test('an edited entry is detected', () => {
    const dir = writeLog(10);
    const lines = linesOf(only(dir));
    lines[4] = lines[4]!.replace('"unknown"', '"granted"');
    writeLines(only(dir), lines);
    const v = verifyAuditDir(dir);
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.stringMatching(/seq 5 was edited/)]);
  });

  test('a removed entry is detected', () => {
    const dir = writeLog(10);
    const lines = linesOf(only(dir));
    lines.splice(6, 1);
    writeLines(only(dir), lines);
    expect(verifyAuditDir(dir).problems).toEqual([expect.stringMatching(/seq 8 does not follow entry seq 6/)]);
  });

  test('reordered entries are detected', () => {
    const dir = writeLog(10);
    const lines = linesOf(only(dir));
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    writeLines(only(dir), lines);
    const v = verifyAuditDir(dir);
    expect(v.ok).toBe(false);
    expect(v.problems.join('\n')).toMatch(/does not follow/);
  });

  test('rotation bounds the log and keeps what remains verifiable; a removed segment is detected', () => {
    const dir = writeLog(400, 4096, 4);
    const segments = listSegments(dir);
    expect(segments.map((s) => s.n)).toEqual([segments[0]!.n, segments[0]!.n + 1, segments[0]!.n + 2, segments[0]!.n + 3]);
    expect(segments[0]!.n).toBeGreaterThan(1);
    const v = verifyAuditDir(dir);
    expect(v).toMatchObject({ ok: true, segments: 4 });
    // Each segment opens with a header chained to the previous segment's last entry.
    const first = JSON.parse(linesOf(segments[1]!.path)[0]!);
    const prevLast = JSON.parse(linesOf(segments[0]!.path).at(-1)!);
    expect(first).toMatchObject({ type: 'audit.segment', prev: prevLast.hash });

    rmSync(segments[1]!.path);
    expect(verifyAuditDir(dir).problems.join('\n')).toMatch(/does not follow|missing/);
    const dir2 = writeLog(400, 4096, 4);
    rmSync(listSegments(dir2)[0]!.path);
    expect(verifyAuditDir(dir2).problems).toEqual([expect.stringMatching(/segment file\(s\) \d+ are missing/)]);
  });

  test('a torn last line from a crash is cut off on open and recorded; complete lines are never touched', () => {
    const dir = writeLog(5);
    appendFileSync(only(dir), '{"seq":7,"ts":"2026-');
    const log = AuditLog.open({ dir, maxSegmentBytes: 1 << 20, maxSegments: 50 });
    log.close();
    const lines = linesOf(only(dir));
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'audit.recovered', reason: 'torn-write', seq: 7 });
    expect(verifyAuditDir(dir).ok).toBe(true);
  });

  test('attached to the bus it records the chosen event types with their event id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-audit-'));
    dirs.push(dir);
    const log = AuditLog.open({ dir, maxSegmentBytes: 1 << 20, maxSegments: 5 });
    const bus = new EventBus();
    const failures: string[] = [];
    log.attach(bus, (t) => t.startsWith('access.'), (err, event) => failures.push(`${event.type}: ${(err as Error).message}`));
    const e = bus.emit({ type: 'access.granted', reason: 'card', data: { residentId: 'r-1' } });
    bus.emit({ type: 'vision.frame', reason: 'seen' });
    log.close();
    // With the log closed (as when its file cannot be written) the emitter carries on and the failure is reported.
    expect(bus.emit({ type: 'access.denied', reason: 'unknown' }).seq).toBe(3);
    expect(failures).toEqual([expect.stringMatching(/^access\.denied: /)]);
    const entries = linesOf(only(dir)).map((l) => JSON.parse(l));
    expect(entries.map((x) => x.type)).toEqual(['audit.segment', 'access.granted']);
    expect(entries[1].data).toEqual({ residentId: 'r-1', eventId: e.id });
  });
});

test('the audit log keeps who was given a card and every key change, not only enrolments', () => {
  for (const type of ['card.enrolled', 'card.unenrolled', 'card.issued', 'card.rekeyed', 'access.denied', 'consent.withdrawn', 'remote.rejected']) expect(isAudited(type)).toBe(true);
  for (const type of ['card.presented', 'card.removed', 'method.health']) expect(isAudited(type)).toBe(false);
});
