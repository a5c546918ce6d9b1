import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startDaemon, type StartedDaemon } from '../helpers/daemon';
import { PATIENCE_MS } from '../helpers/patience';

const CLI = join(REPO_ROOT, 'dist', 'scripts', 'postern.js');
const UID = '04A1B2C3D4E5F6';

/** Runs the built `postern` CLI; resolves with its exit code and output whatever the code. */
async function postern(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: PATIENCE_MS });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

let gate: StartedDaemon | undefined;
afterAll(async () => gate?.stop());

test('a card enrolled with the CLI opens the simulated door; after revoke it does not', async () => {
  gate = await startDaemon({ config: { door: { pulseMs: 500 } } });
  const bench = ['--bench', gate.benchUrl];
  const socket = ['--socket', join(gate.dataDir, 'admin.sock')];
  await gate.waitForMethod('card', 'ok'); // a tap is short: the reader must be polling before the first one
  expect(statSync(join(gate.dataDir, 'admin.sock')).mode & 0o777).toBe(0o660);

  // An unknown card is refused.
  await gate.post('/api/sim/nfc', { uid: UID });
  const unknown = await gate.waitForEvent((e) => e.type === 'access.denied');
  expect(unknown.reason).toBe('unknown');

  const added = await postern(['resident', 'add', '--id', 'flat-7a', ...bench]);
  expect(added).toMatchObject({ code: 0 });
  expect(JSON.parse(added.out)).toMatchObject({ id: 'flat-7a', revokedAt: null });
  // Bad arguments get a clear error and a non-zero exit.
  expect(await postern(['card', 'add', 'flat-7a', '--uid', 'XYZ', ...socket])).toMatchObject({ code: 1, err: expect.stringMatching(/not 4, 7 or 10 bytes of hex/) });
  expect(await postern(['card', 'add', 'flat-7a', ...bench])).toMatchObject({ code: 2, err: expect.stringMatching(/--uid is required/) });
  expect(await postern(['card', 'add', 'nobody', '--uid', UID, ...bench])).toMatchObject({ code: 1, err: expect.stringMatching(/no resident with id nobody/) });

  const card = await postern(['card', 'add', 'flat-7a', '--uid', UID, ...socket]);
  expect(card.code).toBe(0);
  const { cardHash } = JSON.parse(card.out);
  expect(cardHash).toMatch(/^[0-9a-f]{64}$/);

  const before = (await gate.events()).at(-1)!.seq;
  await gate.post('/api/sim/nfc', { uid: UID });
  const granted = await gate.waitForEvent((e) => e.seq > before && e.type.startsWith('access.'));
  expect(granted).toMatchObject({ type: 'access.granted', reason: 'card', data: { residentId: 'flat-7a', credential: cardHash } });
  await gate.waitForEvent((e) => e.seq > before && e.type === 'door.unlocked');
  await gate.waitForEvent((e) => e.seq > before && e.type === 'door.locked');

  const revoked = await postern(['resident', 'revoke', 'flat-7a', ...bench]);
  expect(revoked.code).toBe(0);
  const afterRevoke = (await gate.events()).at(-1)!.seq;
  await gate.post('/api/sim/nfc', { uid: UID });
  const denied = await gate.waitForEvent((e) => e.seq > afterRevoke && e.type.startsWith('access.'));
  expect(denied).toMatchObject({ type: 'access.denied', reason: 'revoked' });
  await new Promise((r) => setTimeout(r, 300));
  expect((await gate.events(afterRevoke)).some((e) => e.type === 'door.unlocked')).toBe(false);
  expect((await gate.state()).door.relay).toBe('locked');

  // Every decision and admin action is in the audit log, which verifies, and no store file holds the UID.
  const audit = await postern(['audit', 'verify', ...bench]);
  expect(audit).toMatchObject({ code: 0, out: expect.stringMatching(/audit log OK/) });
  const auditText = readdirSync(join(gate.dataDir, 'audit')).map((f) => readFileSync(join(gate!.dataDir, 'audit', f), 'utf8')).join('');
  for (const t of ['access.granted', 'access.denied', 'resident.added', 'card.enrolled', 'resident.revoked']) expect(auditText).toContain(`"type":"${t}"`);
  for (const f of ['store.json', ...readdirSync(join(gate.dataDir, 'audit')).map((a) => join('audit', a))]) {
    const path = join(gate.dataDir, f);
    if (existsSync(path)) expect(readFileSync(path, 'utf8').toUpperCase()).not.toContain(UID);
  }
  const exported = JSON.parse((await postern(['export', 'flat-7a', ...socket])).out);
  expect(exported).toMatchObject({ kind: 'postern.subject-export', resident: { id: 'flat-7a' }, face: { templateHeld: false } });
  expect(exported.recentEvents.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['access.granted', 'access.denied']));
}, 240_000);
