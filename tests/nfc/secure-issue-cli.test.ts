import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { loadGateKeys } from '../../firmware/keys/key-files';
import { REPO_ROOT, startDaemon, type StartedDaemon } from '../helpers/daemon';
import { PATIENCE_MS } from '../helpers/patience';

const CLI = join(REPO_ROOT, 'dist', 'scripts', 'postern.js');
const UID = '04C0FFEE123456';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function postern(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 2 * PATIENCE_MS });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

/** Issuing through the real daemon and CLI: the sim gate is the enrolment reader, the bench holds a blank card to it. */
describe('postern card issue / rekey on the sim gate', () => {
  let daemon: StartedDaemon;
  const dir = mkdtempSync(join(tmpdir(), 'postern-issuer-'));
  const issuerKey = join(dir, 'issuer.key');
  beforeAll(async () => {
    // The longest transaction time allowed, so that a genuine card is never a timeout because the machine is busy.
    daemon = await startDaemon({ config: { cards: { mode: 'secure', pollIntervalMs: 10, secureTimeoutMs: 5000 } } });
    await daemon.waitForMethod('card', 'ok');
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a blank DESFire is issued with a random ID and enrolled; it then opens; the issuer key is kept nowhere', async () => {
    const socket = ['--socket', join(daemon.dataDir, 'admin.sock')];
    expect(await postern(['card', 'new-key', issuerKey])).toMatchObject({ code: 0 });
    expect(statSync(issuerKey).mode & 0o777).toBe(0o600);
    expect((await postern(['resident', 'add', '--id', 'r-issued', ...socket])).code).toBe(0);
    expect(await postern(['card', 'issue', 'r-issued', '--issuer-key', issuerKey, ...socket])).toMatchObject({ code: 2, err: expect.stringMatching(/--card must be desfire or ntag424/) });
    expect(await postern(['card', 'issue', 'r-issued', '--card', 'desfire', '--issuer-key', join(dir, 'nope.key'), ...socket])).toMatchObject({ code: 2, err: expect.stringMatching(/does not exist/) });

    const issuing = postern(['card', 'issue', 'r-issued', '--card', 'desfire', '--issuer-key', issuerKey, '--random-uid', '--timeout', String(PATIENCE_MS / 1000), ...socket]);
    for (const deadline = Date.now() + PATIENCE_MS; Date.now() < deadline && !(await daemon.events()).some((e) => e.type === 'card.presented'); ) {
      await daemon.post('/api/sim/nfc', { card: 'desfire', keys: 'blank', uid: UID, holdMs: 400 });
      await new Promise((r) => setTimeout(r, 500));
    }
    const issued = await issuing;
    expect(issued.code).toBe(0);
    const siteKey = loadGateKeys(join(daemon.dataDir, 'keys'), false).siteKey;
    const cardHash = hashCardUid(siteKey, UID);
    expect(JSON.parse(issued.out)).toEqual({ cardHash, card: 'desfire', keyVersion: 1, randomUid: true });
    const events = await daemon.events();
    expect(events.find((e) => e.type === 'card.presented')).toMatchObject({ reason: 'issuing' });
    // Issuing never opens the door (taps before the CLI was waiting were plain denials of a blank card).
    expect(events.some((e) => e.type === 'access.granted' || e.type === 'door.unlocked')).toBe(false);
    expect(events.find((e) => e.type === 'card.issued')).toMatchObject({ reason: 'desfire', data: { residentId: 'r-issued', credential: cardHash, keyVersion: 1, randomUid: true } });

    // The same card as a gate sees it (random ID, keys of this site): it opens for the resident.
    const before = events.at(-1)!.seq;
    await daemon.post('/api/sim/nfc', { card: 'desfire', keys: 'site', uid: UID, randomUid: true, holdMs: 300 });
    expect(await daemon.waitForEvent((e) => e.seq > before && e.type.startsWith('access.'))).toMatchObject({ type: 'access.granted', data: { residentId: 'r-issued', proof: 'secure' } });

    // Rekeying a card already on the current version says so. The CLI waits for the card only once it has
    // started, which a busy machine can take seconds to do: the card is held to the reader until it answers.
    const rekey = postern(['card', 'rekey', '--issuer-key', issuerKey, '--timeout', String(PATIENCE_MS / 1000), ...socket]);
    let rekeyed: Awaited<typeof rekey> | undefined;
    for (const deadline = Date.now() + PATIENCE_MS; !rekeyed && Date.now() < deadline; ) {
      await daemon.post('/api/sim/nfc', { card: 'ntag424', keys: 'site', uid: UID, holdMs: 1000 });
      rekeyed = await Promise.race([rekey, sleep(1500).then(() => undefined)]);
    }
    expect(rekeyed).toMatchObject({ code: 1, err: expect.stringMatching(/already on key version 1/) });

    const key = readFileSync(issuerKey, 'utf8').trim();
    const keyHex = Buffer.from(key, 'base64').toString('hex');
    const stored = readdirSync(daemon.dataDir, { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile())
      .map((f) => readFileSync(join(f.parentPath, f.name)).toString('latin1'))
      .join('');
    const everything = stored + JSON.stringify(daemon.logs) + daemon.stderr() + JSON.stringify(await daemon.events());
    expect(everything).not.toContain(key);
    expect(everything.toLowerCase()).not.toContain(keyHex);
  }, 4 * PATIENCE_MS);
});
