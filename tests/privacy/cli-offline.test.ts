import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { AuditLog } from '../../firmware/audit/log';
import { signReceipt } from '../../firmware/consent/receipt';
import { run as audit } from '../../scripts/cli/audit';
import { run as receipt } from '../../scripts/cli/receipt';
import { parseUtcOffset, parseWindow, run as resident } from '../../scripts/cli/resident';
import type { CliIo } from '../../scripts/cli/registry';

function io(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env: {} };
}

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'postern-cli-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('postern receipt verify: valid, tampered, wrong gate key, unreadable', async () => {
  const gate = nacl.sign.keyPair();
  const r = signReceipt(gate.secretKey, { residentId: 'r-1', what: 'face-template', why: 'consent-withdrawn', deletedAt: '2026-03-01T00:00:00.000Z', ciphertextSha256: 'e'.repeat(64) });
  const file = join(dir, 'receipt.json');
  writeFileSync(file, JSON.stringify({ receipt: r }));
  const ok = io();
  expect(await receipt(['verify', file, '--gate-key', Buffer.from(gate.publicKey).toString('base64')], ok)).toBe(0);
  expect(ok.lines[0]).toMatch(/^receipt valid: face-template of resident r-1 deleted at 2026-03-01T00:00:00.000Z \(consent-withdrawn\)/);

  writeFileSync(file, JSON.stringify({ ...r, why: 'retention-expired' }));
  const bad = io();
  expect(await receipt(['verify', file], bad)).toBe(1);
  expect(bad.lines[0]).toMatch(/receipt INVALID: the signature does not match/);

  writeFileSync(file, JSON.stringify(r));
  const foreign = io();
  expect(await receipt(['verify', file, '--gate-key', Buffer.from(nacl.sign.keyPair().publicKey).toString('base64')], foreign)).toBe(1);
  expect(foreign.lines[0]).toMatch(/different key/);

  const usage = io();
  expect(await receipt(['verify'], usage)).toBe(2);
  expect(usage.errors[0]).toMatch(/missing FILE/);
  expect(await receipt(['verify', join(dir, 'none.json')], usage)).toBe(2);
  expect(await receipt(['verify', file, '--gate-key', 'abc'], usage)).toBe(2);
  expect(await receipt(['check', file], usage)).toBe(2);
  expect(usage.errors.at(-1)).toMatch(/unknown "receipt check"; known: verify/);
});

test('postern audit verify --dir: OK, then FAILED after an edit', async () => {
  const log = AuditLog.open({ dir, maxSegmentBytes: 1 << 20, maxSegments: 5 });
  for (let i = 0; i < 5; i += 1) log.append({ type: 'access.granted', reason: 'card', data: { residentId: `r-${i}` } });
  log.close();
  const ok = io();
  expect(await audit(['verify', '--dir', dir], ok)).toBe(0);
  expect(ok.lines[0]).toMatch(/^audit log OK: 6 entries in 1 segment\(s\), head [0-9a-f]{64}$/);
  const path = join(dir, readdirSync(dir)[0]!);
  writeFileSync(path, readFileSync(path, 'utf8').replace('"r-3"', '"r-9"'));
  const failed = io();
  expect(await audit(['verify', '--dir', dir], failed)).toBe(1);
  expect(failed.lines.join('\n')).toMatch(/FAILED verification[\s\S]*seq 5 was edited/);
  const empty = io();
  expect(await audit(['verify', '--dir', join(dir, 'nowhere')], empty)).toBe(2);
});

test('schedule and offset arguments are parsed, and bad ones named', async () => {
  expect(parseWindow('mon-fri 08:00-18:00')).toEqual({ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' });
  expect(parseWindow('fri-mon 22:00-02:00').days).toEqual([0, 1, 5, 6]);
  expect(parseWindow('sat,sun 10:00-14:00').days).toEqual([0, 6]);
  expect(parseUtcOffset('+05:30')).toBe(330);
  expect(parseUtcOffset('-03:00')).toBe(-180);
  const e = io();
  expect(await resident(['add', '--schedule', 'weekdays 8-18', '--socket', '/nonexistent'], e)).toBe(2);
  expect(e.errors[0]).toMatch(/--schedule "weekdays 8-18" must look like "mon-fri 08:00-18:00"/);
  expect(await resident(['add', '--utc-offset', '+02:00', '--socket', '/nonexistent'], e)).toBe(2);
  expect(e.errors[1]).toMatch(/--utc-offset only makes sense with --schedule/);
  expect(await resident(['add', '--schedule', 'mon 08:00-18:00', '--utc-offset', '2h', '--socket', '/x'], e)).toBe(2);
  expect(await resident(['add', '--bogus'], e)).toBe(2);
  expect(e.errors[3]).toMatch(/Unknown option '--bogus'[\s\S]*usage: postern resident add/);
  expect(await resident([], e)).toBe(2);
  expect(e.errors[4]).toMatch(/needs one of: add, revoke, list/);
  expect(await resident(['list', '--socket', join(dir, 'no.sock')], e)).toBe(3);
  expect(e.errors[5]).toMatch(/cannot reach the gate admin API.*is the gate daemon running/);
});
