import nacl from 'tweetnacl';
import { openAuthorised } from '../../firmware/cloud/authority';
import { issueCertificate, withCertificate, type CertificateRequest } from '../../firmware/cloud/certificates';
import { COMMAND_ARGS, COMMAND_NAMES, commandBodyFor, verifyCommand, type CommandName, type VerifyContext } from '../../firmware/cloud/commands';
import { verifyCredentialMessage } from '../../firmware/cloud/credentials';
import { sign, type Envelope } from '../../firmware/cloud/envelope';
import { COMMAND_SCOPE, SCOPES, type Scope } from '../../firmware/cloud/scopes';

/**
 * Operator certificates at the level of the pure verifier: every command and credential message against
 * every scope, and every way a certificate chain can fail. No broker, no timers.
 */
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const root = nacl.sign.keyPair();
const otherRoot = nacl.sign.keyPair();
const operator = nacl.sign.keyPair();
const listed = nacl.sign.keyPair();
const NOW = 1_790_000_000_000;
const DAY = 86_400_000;
const identity = { site: 'site1', gate: 'gate-a' };
const SKEW = 5000;

function certFor(overrides: Partial<CertificateRequest> = {}, signer = root.secretKey): Envelope {
  return issueCertificate(signer, { serial: 7, site: 'site1', gates: '*', operatorKey: b64(operator.publicKey), scopes: ['door-open'], notBefore: NOW - DAY, notAfter: NOW + DAY, ...overrides });
}

function ctx(overrides: Partial<VerifyContext> = {}): VerifyContext {
  return { trustedKeys: new Set([b64(listed.publicKey)]), roots: new Set([b64(root.publicKey)]), revoked: { has: () => false }, identity, nowMs: NOW, skewMs: SKEW, maxBytes: 8192, replay: { has: () => false }, ...overrides };
}

const ARGS: Record<CommandName, Record<string, unknown>> = {
  open: {},
  'hold-unlocked': {},
  relock: {},
  lockdown: { on: true },
  'revoke-resident': { residentId: 'r-1' },
  'withdraw-consent': { residentId: 'r-1' },
  sync: {},
  status: {},
};
let nonceCounter = 0;
function command(cmd: CommandName, cert: Envelope | undefined, key = operator.secretKey, bodyExtra: Record<string, unknown> = {}): string {
  nonceCounter += 1;
  const body = { ...commandBodyFor(identity, cmd, ARGS[cmd], NOW, 30_000, `nonce-${String(nonceCounter).padStart(16, '0')}`), ...bodyExtra };
  return JSON.stringify(withCertificate(sign('cmd', body, key), cert));
}
const reasonOf = (raw: string, c = ctx()) => {
  const v = verifyCommand(raw, c);
  return v.ok ? 'ok' : v.reason;
};

test('every command has the scope docs/PROTOCOL.md gives it, and the table covers every command the gate knows', () => {
  expect(Object.keys(COMMAND_SCOPE).sort()).toEqual(Object.keys(COMMAND_ARGS).sort());
  expect(COMMAND_SCOPE).toEqual({
    open: 'door-open',
    relock: 'door-open',
    status: 'door-open',
    'hold-unlocked': 'door-mode',
    lockdown: 'door-mode',
    'revoke-resident': 'credentials',
    sync: 'credentials',
    'withdraw-consent': 'privacy',
  });
  // `passes` is accepted in certificates but nothing needs it yet
  expect(Object.values(COMMAND_SCOPE)).not.toContain('passes');
});

describe('every command × every scope: a single-scope certificate opens exactly its own commands', () => {
  const cases = COMMAND_NAMES.flatMap((cmd) => SCOPES.map((scope) => [cmd, scope] as [CommandName, Scope]));
  test.each(cases)('%s with a certificate for %s', (cmd, scope) => {
    const verdict = verifyCommand(command(cmd, certFor({ scopes: [scope] })), ctx());
    if (COMMAND_SCOPE[cmd] === scope) expect(verdict).toMatchObject({ ok: true, command: { cmd, signer: { kind: 'certificate', cert: { serial: 7, scopes: [scope] } } } });
    else expect(verdict).toMatchObject({ ok: false, reason: 'out-of-scope', cmd, nonce: expect.any(String), signer: { kind: 'certificate', cert: { serial: 7 } } });
  });

  test('over the whole table, nothing outside a certificate scope is accepted', () => {
    const accepted = cases.filter(([cmd, scope]) => verifyCommand(command(cmd, certFor({ scopes: [scope] })), ctx()).ok);
    expect(accepted).toEqual(cases.filter(([cmd, scope]) => COMMAND_SCOPE[cmd] === scope));
    expect(accepted).toHaveLength(COMMAND_NAMES.length);
  });
});

test('credential sets and deltas need the credentials scope, and nothing else grants them', () => {
  const full = { kind: 'credentials', site: 'site1', gate: 'gate-a', issuedAt: NOW, type: 'full', version: 3, credentials: [{ cardHash: 'a'.repeat(64), residentId: 'r-1' }] };
  const delta = { kind: 'credentials', site: 'site1', gate: 'gate-a', issuedAt: NOW, type: 'delta', from: 3, to: 4, add: [], remove: ['b'.repeat(64)] };
  const c = ctx();
  for (const body of [full, delta]) {
    for (const scope of SCOPES) {
      const raw = JSON.stringify(withCertificate(sign('credentials', body, operator.secretKey), certFor({ scopes: [scope] })));
      const verdict = verifyCredentialMessage(raw, c);
      if (scope === 'credentials') expect(verdict).toMatchObject({ ok: true, signer: { kind: 'certificate' } });
      else expect({ scope, verdict }).toMatchObject({ scope, verdict: { ok: false, reason: 'out-of-scope' } });
    }
  }
});

test('the issue in four lines: a door certificate cannot withdraw consent, push credentials or revoke; a privacy certificate cannot open', () => {
  const door = certFor({ scopes: ['door-open', 'door-mode'] });
  expect(reasonOf(command('withdraw-consent', door))).toBe('out-of-scope');
  expect(reasonOf(command('revoke-resident', door))).toBe('out-of-scope');
  const push = JSON.stringify(withCertificate(sign('credentials', { kind: 'credentials', site: 'site1', gate: 'gate-a', issuedAt: NOW, type: 'full', version: 9, credentials: [] }, operator.secretKey), door));
  expect(verifyCredentialMessage(push, ctx())).toMatchObject({ ok: false, reason: 'out-of-scope' });
  expect(reasonOf(command('open', certFor({ scopes: ['privacy'] })))).toBe('out-of-scope');
  expect(reasonOf(command('open', door))).toBe('ok');
});

test('keys in cloud.operatorKeys keep every scope without a certificate; an unlisted key without one is unknown', () => {
  for (const cmd of COMMAND_NAMES) expect(verifyCommand(command(cmd, undefined, listed.secretKey), ctx())).toMatchObject({ ok: true, command: { signer: { kind: 'operator-key', key: b64(listed.publicKey) } } });
  expect(reasonOf(command('open', undefined))).toBe('unknown-key');
});

describe('the chain, the window, the gates, revocation', () => {
  test.each([
    ['untrusted-root: signed by a root this gate does not trust', () => command('open', certFor({}, otherRoot.secretKey)), 'untrusted-root', {}],
    ['untrusted-root: a gate with no site root configured', () => command('open', certFor()), 'untrusted-root', { roots: new Set<string>() }],
    ['bad-signature: certificate body altered after the root signed it (scope added)', () => {
      const cert = certFor();
      return command('withdraw-consent', { ...cert, body: cert.body.replace('"door-open"', '"privacy"') });
    }, 'bad-signature', {}],
    ['bad-signature: a command signature presented as a certificate (purposes are separate)', () => {
      const cert = certFor();
      return command('open', { ...sign('cmd', JSON.parse(cert.body), root.secretKey) });
    }, 'bad-signature', {}],
    ['unknown-key: a valid certificate carried by a message another key signed', () => command('open', certFor(), nacl.sign.keyPair().secretKey), 'unknown-key', {}],
    ['unknown-key: a listed key presenting somebody else\'s certificate', () => command('open', certFor(), listed.secretKey), 'unknown-key', {}],
    ['malformed: certificate without a serial', () => {
      const { serial: _s, ...rest } = JSON.parse(certFor().body) as Record<string, unknown>;
      return command('open', sign('operator-cert', rest, root.secretKey));
    }, 'malformed', {}],
    ['malformed: certificate with an unknown scope', () => command('open', sign('operator-cert', { ...JSON.parse(certFor().body), scopes: ['door-open', 'everything'] }, root.secretKey)), 'malformed', {}],
    ['malformed: certificate that ends before it starts', () => command('open', sign('operator-cert', { ...JSON.parse(certFor().body), notAfter: NOW - 2 * DAY }, root.secretKey)), 'malformed', {}],
    ['malformed: cert field that is not an object', () => JSON.stringify({ ...sign('cmd', commandBodyFor(identity, 'open', {}, NOW, 30_000, 'nonce-zzzzzzzzzzzzzzzz'), operator.secretKey), cert: 'trust me' }), 'malformed', {}],
    ['cert-expired: past notAfter by more than the skew', () => command('open', certFor({ notAfter: NOW - SKEW - 1 })), 'cert-expired', {}],
    ['cert-not-yet-valid: notBefore beyond the skew', () => command('open', certFor({ notBefore: NOW + SKEW + 1, notAfter: NOW + DAY })), 'cert-not-yet-valid', {}],
    ['ok: expired by less than the skew', () => command('open', certFor({ notAfter: NOW - SKEW + 1 })), 'ok', {}],
    ['ok: valid from just inside the skew', () => command('open', certFor({ notBefore: NOW + SKEW - 1 })), 'ok', {}],
    ['cert-revoked: serial on the revocation list', () => command('open', certFor()), 'cert-revoked', { revoked: { has: (s: number) => s === 7 } }],
    ['ok: another serial on the revocation list', () => command('open', certFor()), 'ok', { revoked: { has: (s: number) => s === 8 } }],
    ['wrong-gate: certificate lists other gates of the site', () => command('open', certFor({ gates: ['gate-b', 'gate-c'] })), 'wrong-gate', {}],
    ['ok: certificate lists this gate', () => command('open', certFor({ gates: ['gate-b', 'gate-a'] })), 'ok', {}],
    ['wrong-site: certificate for another site, even naming a gate of the same id', () => command('open', certFor({ site: 'site2', gates: ['gate-a'] })), 'wrong-site', {}],
    ['replayed: still checked last', () => command('open', certFor()), 'replayed', { replay: { has: () => true } }],
  ] as Array<[string, () => string, string, Partial<VerifyContext>]>)('%s', (_name, make, reason, overrides) => {
    expect(reasonOf(make(), ctx(overrides))).toBe(reason);
  });

  test('a refusal after the chain checked names the nonce, the command and the certificate', () => {
    const verdict = verifyCommand(command('open', certFor()), ctx({ revoked: { has: () => true } }));
    expect(verdict).toMatchObject({ ok: false, reason: 'cert-revoked', cmd: 'open', nonce: expect.stringMatching(/^nonce-/), detail: expect.stringContaining('certificate 7'), signer: { cert: { serial: 7 } } });
  });

  test('a certificate is only ever a certificate: the same root signature does not open a command, and a command key cannot certify', () => {
    const cert = certFor();
    // the certificate envelope itself, sent as a command by the root
    expect(openAuthorised(JSON.stringify(cert), 'cmd', COMMAND_ARGS.open, { trustedKeys: new Set([b64(root.publicKey)]), roots: new Set(), maxBytes: 8192 })).toMatchObject({ ok: false, reason: 'bad-signature' });
    // an operator (listed, full scope) key cannot stand in for the root
    expect(reasonOf(command('open', certFor({}, listed.secretKey)))).toBe('untrusted-root');
  });
});

test('issuing refuses what a gate would refuse, naming the field', () => {
  expect(() => certFor({ scopes: ['door-open', 'root' as Scope] })).toThrow(/operator-cert: scopes\.1/);
  expect(() => certFor({ gates: ['North Gate'] })).toThrow(/operator-cert: gates\.0 must be 1-64 characters/);
  expect(() => certFor({ operatorKey: 'abc' })).toThrow(/operator-cert: operatorKey must be an Ed25519 public key/);
  expect(() => certFor({ notAfter: NOW - DAY })).toThrow(/notAfter must be after notBefore/);
  expect(() => certFor({ serial: 0 })).toThrow(/operator-cert: serial/);
});
