import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { sign } from '../../firmware/cloud/envelope';
import { TrustStore, type TrustMessageContext } from '../../firmware/cloud/trust-store';
import { decideRevocationList, decideRootRotation, signRevocationList, signRootRotation, trustedRoots, verifyRevocationList, verifyRootRotation } from '../../firmware/cloud/trust';

/** Revocation lists and root rotations: the pure rules, then the gate's persisted state. */
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const [root, newRoot, thirdRoot, recovery] = [nacl.sign.keyPair(), nacl.sign.keyPair(), nacl.sign.keyPair(), nacl.sign.keyPair()];
const NOW = 1_790_000_000_000;
const HOUR = 3_600_000;
const identity = { site: 'site1', gate: 'gate-a' };
const list = (version: number, serials: number[], key = root.secretKey, site = 'site1') => JSON.stringify(signRevocationList(key, { site, version, issuedAt: NOW, serials }));
const rotation = (version: number, to: Uint8Array, from: Uint8Array, overlapUntil: number, key = recovery.secretKey) =>
  JSON.stringify(signRootRotation(key, { site: 'site1', version, issuedAt: NOW, newRoot: b64(to), previousRoot: b64(from), overlapUntil }));
const roots = (...keys: Uint8Array[]) => new Set(keys.map(b64));

describe('revocation lists', () => {
  const verify = (raw: string, trusted = roots(root.publicKey)) => verifyRevocationList(raw, { roots: trusted, identity, maxBytes: 65536 });

  test('only a root trusted now may sign one, for this site, under its own purpose', () => {
    expect(verify(list(1, [3]))).toMatchObject({ ok: true, list: { version: 1, serials: [3] }, signer: b64(root.publicKey) });
    expect(verify(list(1, [3], nacl.sign.keyPair().secretKey))).toMatchObject({ ok: false, reason: 'untrusted-root' });
    expect(verify(list(1, [3], root.secretKey, 'site2'))).toMatchObject({ ok: false, reason: 'wrong-site' });
    // the same body signed by the root as a certificate or a command is not a revocation list
    const body = JSON.parse(JSON.parse(list(1, [3])).body);
    for (const purpose of ['operator-cert', 'cmd', 'credentials'] as const) expect(verify(JSON.stringify(sign(purpose, body, root.secretKey)))).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verify(JSON.stringify(sign('revocation-list', { ...body, serials: ['3'] }, root.secretKey)))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  test('versions only move forward, unless the root that signed the held list is no longer trusted', () => {
    const parsed = (raw: string) => JSON.parse(JSON.parse(raw).body);
    const held = { version: 5, serials: [1, 2], signer: b64(root.publicKey) };
    expect(decideRevocationList(parsed(list(6, [1, 2, 3])), held, roots(root.publicKey))).toEqual({ action: 'apply' });
    expect(decideRevocationList(parsed(list(5, [])), held, roots(root.publicKey))).toEqual({ action: 'ignore', reason: 'already-applied' });
    expect(decideRevocationList(parsed(list(4, [])), held, roots(root.publicKey))).toEqual({ action: 'ignore', reason: 'already-applied' });
    expect(decideRevocationList(parsed(list(1, [])), null, roots(root.publicKey))).toEqual({ action: 'apply' });
    // a (stolen) root that published version 2^53-1 before being rotated away cannot block the new root's lists
    const poisoned = { version: Number.MAX_SAFE_INTEGER, serials: [], signer: b64(root.publicKey) };
    expect(decideRevocationList(parsed(list(2, [9], newRoot.secretKey)), poisoned, roots(newRoot.publicKey))).toEqual({ action: 'apply' });
    expect(decideRevocationList(parsed(list(2, [9], newRoot.secretKey)), poisoned, roots(newRoot.publicKey, root.publicKey))).toEqual({ action: 'ignore', reason: 'already-applied' });
  });
});

describe('root rotation', () => {
  const verify = (raw: string, recoveryKey = b64(recovery.publicKey)) => verifyRootRotation(raw, { recoveryKey, identity, maxBytes: 65536 });

  test('only the pinned recovery key may rotate: the root itself (stolen or not) cannot', () => {
    expect(verify(rotation(1, newRoot.publicKey, root.publicKey, NOW + HOUR))).toMatchObject({ ok: true, rotation: { version: 1, newRoot: b64(newRoot.publicKey) } });
    expect(verify(rotation(1, thirdRoot.publicKey, root.publicKey, NOW + HOUR, root.secretKey))).toMatchObject({ ok: false, reason: 'untrusted-recovery-key' });
    expect(verify(rotation(1, newRoot.publicKey, root.publicKey, NOW + HOUR), '')).toMatchObject({ ok: false, reason: 'untrusted-recovery-key', detail: expect.stringMatching(/cloud\.siteRecovery/) });
    // a recovery signature over a revocation list or a certificate is no rotation
    const body = JSON.parse(JSON.parse(rotation(1, newRoot.publicKey, root.publicKey, NOW + HOUR)).body);
    expect(verify(JSON.stringify(sign('revocation-list', body, recovery.secretKey)))).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verify(rotation(1, root.publicKey, root.publicKey, NOW + HOUR))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  test('the old and the new root overlap until overlapUntil; then only the new one counts; a version never goes back', () => {
    const state = { version: 1, root: b64(newRoot.publicKey), previousRoot: b64(root.publicKey), overlapUntil: NOW + HOUR };
    expect(trustedRoots(b64(root.publicKey), null, NOW)).toEqual(roots(root.publicKey));
    expect(trustedRoots('', null, NOW)).toEqual(new Set());
    expect(trustedRoots(b64(root.publicKey), state, NOW)).toEqual(roots(newRoot.publicKey, root.publicKey));
    expect(trustedRoots(b64(root.publicKey), state, NOW + HOUR)).toEqual(roots(newRoot.publicKey));
    // the configured root no longer counts once a rotation has been accepted, even if the config still names it
    expect(trustedRoots(b64(thirdRoot.publicKey), state, NOW)).toEqual(roots(newRoot.publicKey, root.publicKey));
    const parsed = (raw: string) => JSON.parse(JSON.parse(raw).body);
    expect(decideRootRotation(parsed(rotation(2, thirdRoot.publicKey, newRoot.publicKey, NOW)), state)).toEqual({ action: 'apply' });
    expect(decideRootRotation(parsed(rotation(1, thirdRoot.publicKey, newRoot.publicKey, NOW)), state)).toEqual({ action: 'ignore', reason: 'already-applied' });
  });
});

describe('the gate keeps what it accepted (<dataDir>/cloud/trust.json)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-trust-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const ctx = (nowMs = NOW): TrustMessageContext => ({ configRoot: b64(root.publicKey), recoveryKey: b64(recovery.publicKey), identity, maxBytes: 65536, nowMs });

  test('a revocation list survives a restart, a lower version changes nothing, and a leftover temp file from a crash is ignored', () => {
    const store = new TrustStore(dir);
    expect(store.receiveRevocationList(list(2, [4, 9, 4]), ctx())).toEqual({ type: 'credentials.revocations', reason: 'applied', data: { version: 2, revokedCount: 2 } });
    expect(store.has(9)).toBe(true);
    expect(store.receiveRevocationList(list(1, []), ctx())).toEqual({ type: 'credentials.ignored', reason: 'already-applied', data: { kind: 'revocation-list', version: 1, held: 2 } });
    expect(store.receiveRevocationList(list(3, [1], nacl.sign.keyPair().secretKey), ctx())).toMatchObject({ type: 'credentials.rejected', reason: 'untrusted-root' });
    // a kill -9 between writing the temp file and renaming it leaves the temp file; the committed state is what counts
    writeFileSync(join(dir, 'trust.json.tmp'), '{"revocations":{"version":99');
    const reopened = new TrustStore(dir);
    expect([reopened.has(4), reopened.has(9), reopened.has(1)]).toEqual([true, true, false]);
    expect(reopened.current.revocations).toEqual({ version: 2, serials: [4, 9], signer: b64(root.publicKey) });
  });

  test('a rotation survives a restart and decides which root signs the next lists and certificates', () => {
    const store = new TrustStore(dir);
    expect(store.receiveRootRotation(rotation(1, newRoot.publicKey, root.publicKey, NOW + HOUR, root.secretKey), ctx())).toMatchObject({ type: 'credentials.rejected', reason: 'untrusted-recovery-key' });
    expect(store.roots(b64(root.publicKey), NOW)).toEqual(roots(root.publicKey));
    expect(store.receiveRootRotation(rotation(1, newRoot.publicKey, root.publicKey, NOW + HOUR), ctx())).toMatchObject({ type: 'credentials.root-rotated', reason: 'applied', data: { version: 1, root: b64(newRoot.publicKey) } });
    const reopened = new TrustStore(dir);
    expect(reopened.roots(b64(root.publicKey), NOW)).toEqual(roots(newRoot.publicKey, root.publicKey));
    expect(reopened.roots(b64(root.publicKey), NOW + HOUR)).toEqual(roots(newRoot.publicKey));
    // after the overlap the old root's list is refused and the new root's accepted
    expect(reopened.receiveRevocationList(list(1, [5]), ctx(NOW + HOUR))).toMatchObject({ type: 'credentials.rejected', reason: 'untrusted-root' });
    expect(reopened.receiveRevocationList(list(1, [5], newRoot.secretKey), ctx(NOW + HOUR))).toMatchObject({ type: 'credentials.revocations', reason: 'applied' });
    expect(reopened.receiveRootRotation(rotation(1, thirdRoot.publicKey, newRoot.publicKey, NOW), ctx())).toMatchObject({ type: 'credentials.ignored', data: { kind: 'root-rotation', version: 1, held: 1 } });
  });

  test('an unreadable state file stops the link from starting, naming the file, rather than forgetting revocations', () => {
    writeFileSync(join(dir, 'trust.json'), 'not json');
    expect(() => new TrustStore(dir)).toThrow(/trust\.json is not valid JSON; refusing to start/);
    writeFileSync(join(dir, 'trust.json'), JSON.stringify({ rotation: null, revocations: { version: 1, serials: ['x'], signer: b64(root.publicKey) } }));
    expect(() => new TrustStore(dir)).toThrow(/field "revocations\.serials\.0"/);
  });
});
