import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { commandBodyFor, MAX_VALIDITY_MS, verifyCommand, type VerifyContext } from '../../firmware/cloud/commands';
import { decideCredentialUpdate, verifyCredentialMessage, type CredentialMessage } from '../../firmware/cloud/credentials';
import { sign, signedBytes } from '../../firmware/cloud/envelope';

const operator = nacl.sign.keyPair();
const stranger = nacl.sign.keyPair();
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const NOW = 1_790_000_000_000;
const identity = { site: 'site1', gate: 'gate-a' };

function ctx(overrides: Partial<VerifyContext> = {}): VerifyContext {
  return { trustedKeys: new Set([b64(operator.publicKey)]), roots: new Set(), revoked: { has: () => false }, identity, nowMs: NOW, skewMs: 5000, maxBytes: 4096, replay: { has: () => false }, ...overrides };
}

function signed(body: Record<string, unknown>, key = operator.secretKey): string {
  return JSON.stringify(sign('cmd', body, key));
}

const good = (extra: Record<string, unknown> = {}) => ({ ...commandBodyFor(identity, 'open', {}, NOW, 30_000, 'nonce-0123456789abcdef'), ...extra });

test('a well-formed open command from a trusted key verifies', () => {
  const verdict = verifyCommand(signed(good()), ctx());
  const key = b64(operator.publicKey);
  expect(verdict).toEqual({ ok: true, command: { cmd: 'open', args: {}, nonce: 'nonce-0123456789abcdef', issuedAt: NOW, expiresAt: NOW + 30_000, key, signer: { kind: 'operator-key', key } } });
});

test('the signature covers exactly "postern/v1 cmd\\n" + body', () => {
  const body = JSON.stringify(good());
  const sig = nacl.sign.detached(new Uint8Array(Buffer.from(`postern/v1 cmd\n${body}`)), operator.secretKey);
  expect(Buffer.from(signedBytes('cmd', body)).toString()).toBe(`postern/v1 cmd\n${body}`);
  const envelope = { v: 1, key: b64(operator.publicKey), body, sig: b64(sig) };
  expect(verifyCommand(JSON.stringify(envelope), ctx()).ok).toBe(true);
});

const reasonOf = (raw: string | Uint8Array, c = ctx()) => {
  const v = verifyCommand(raw, c);
  return v.ok ? 'ok' : v.reason;
};

test.each([
  ['bad-signature: body altered after signing', () => {
    const e = sign('cmd', good(), operator.secretKey);
    return JSON.stringify({ ...e, body: e.body.replace('"open"', '"relock"') });
  }, 'bad-signature'],
  ['bad-signature: a result signature replayed as a command', () => JSON.stringify({ ...sign('result', good(), operator.secretKey) }), 'bad-signature'],
  ['unknown-key', () => signed(good(), stranger.secretKey), 'unknown-key'],
  ['wrong-gate', () => signed(good({ gate: 'gate-b' })), 'wrong-gate'],
  ['wrong-site', () => signed(good({ site: 'site2' })), 'wrong-site'],
  ['expired', () => signed(good({ issuedAt: NOW - 50_000, expiresAt: NOW - 6000 })), 'expired'],
  ['not-yet-valid', () => signed(good({ issuedAt: NOW + 6000, expiresAt: NOW + 20_000 })), 'not-yet-valid'],
  ['expiry-too-far (validity longer than 60 s)', () => signed(good({ expiresAt: NOW + MAX_VALIDITY_MS + 1 })), 'expiry-too-far'],
  ['expiry-too-far (issued late to stretch the window)', () => signed(good({ issuedAt: NOW + 4000, expiresAt: NOW + 4000 + MAX_VALIDITY_MS + 2000 })), 'expiry-too-far'],
  ['unknown-command', () => signed(good({ cmd: 'self-destruct' })), 'unknown-command'],
  ['malformed: not JSON', () => '{"v":1,', 'malformed'],
  ['malformed: envelope without signature', () => JSON.stringify({ v: 1, key: b64(operator.publicKey), body: '{}' }), 'malformed'],
  ['malformed: short nonce', () => signed(good({ nonce: 'abc' })), 'malformed'],
  ['malformed: bad args for lockdown', () => signed(good({ cmd: 'lockdown', args: { on: 'yes' } })), 'malformed'],
  ['malformed: expiry before issue', () => signed(good({ expiresAt: NOW - 1 })), 'malformed'],
  ['oversized', () => signed(good({ args: {}, pad: 'x'.repeat(5000) })), 'oversized'],
])('%s', (_name, make, reason) => {
  expect(reasonOf(make())).toBe(reason);
});

test('replayed: a nonce the cache already holds is refused; clock skew inside the allowance is accepted', () => {
  const raw = signed(good());
  expect(reasonOf(raw, ctx({ replay: { has: (n) => n === 'nonce-0123456789abcdef' } }))).toBe('replayed');
  expect(reasonOf(signed(good({ issuedAt: NOW + 4000, expiresAt: NOW + 30_000 })))).toBe('ok');
  expect(reasonOf(signed(good({ issuedAt: NOW - 40_000, expiresAt: NOW - 4000 })))).toBe('ok');
});

describe('credential messages', () => {
  const credentialCtx = { trustedKeys: new Set([b64(operator.publicKey)]), roots: new Set<string>(), revoked: { has: () => false }, identity, nowMs: NOW, skewMs: 5000, maxBytes: 4096 };
  const hash = 'a'.repeat(64);
  const delta = (from: number, to: number): Record<string, unknown> => ({ kind: 'credentials', site: 'site1', gate: 'gate-a', issuedAt: NOW, type: 'delta', from, to, add: [{ cardHash: hash, residentId: 'r1' }], remove: [] });
  const verify = (body: Record<string, unknown>) => verifyCredentialMessage(JSON.stringify(sign('credentials', body, operator.secretKey)), credentialCtx);
  const message = (body: Record<string, unknown>): CredentialMessage => {
    const v = verify(body);
    if (!v.ok) throw new Error(v.detail);
    return v.message;
  };

  test('a raw UID where a hash belongs is refused', () => {
    expect(verify({ ...delta(0, 1), add: [{ cardHash: '04A1B2C3D4E5F6', residentId: 'r1' }] })).toMatchObject({ ok: false, reason: 'malformed' });
  });

  test('a command signature is not accepted as credentials, nor credentials for another gate', () => {
    const asCmd = JSON.stringify(sign('cmd', delta(0, 1), operator.secretKey));
    expect(verifyCredentialMessage(asCmd, credentialCtx)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verify({ ...delta(0, 1), gate: 'gate-b' })).toMatchObject({ ok: false, reason: 'wrong-gate' });
  });

  test('versions: apply in sequence, ignore repeats, resync on a gap, full sets only move forward', () => {
    expect(decideCredentialUpdate(message(delta(3, 4)), 3).action).toBe('apply-delta');
    expect(decideCredentialUpdate(message(delta(3, 4)), 4)).toEqual({ action: 'ignore', reason: 'already-applied' });
    expect(decideCredentialUpdate(message(delta(5, 6)), 3)).toEqual({ action: 'resync', reason: 'version-gap' });
    expect(decideCredentialUpdate(message(delta(2, 5)), 3)).toEqual({ action: 'resync', reason: 'version-gap' });
    const full = (version: number) => message({ kind: 'credentials', site: 'site1', gate: 'gate-a', issuedAt: NOW, type: 'full', version, credentials: [] });
    expect(decideCredentialUpdate(full(9), 3).action).toBe('replace-all');
    expect(decideCredentialUpdate(full(3), 3).action).toBe('ignore');
    expect(decideCredentialUpdate(full(2), 3).action).toBe('ignore');
  });
});

test('the test vector in docs/PROTOCOL.md is what this code signs and verifies', () => {
  const doc = readFileSync(join(__dirname, '../../docs/PROTOCOL.md'), 'utf8');
  const block = /### Test vector[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(block).toBeDefined();
  const documented = JSON.parse(block!);
  const seeded = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
  expect(documented.key).toBe(b64(seeded.publicKey));
  expect(sign('cmd', JSON.parse(documented.body), seeded.secretKey)).toEqual(documented);
  const verdict = verifyCommand(block!, ctx({ trustedKeys: new Set([documented.key]), identity: { site: 'oakwood', gate: 'north' }, nowMs: 1795430000000 }));
  expect(verdict.ok).toBe(true);
});
