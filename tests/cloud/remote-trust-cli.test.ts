import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { verifyCommand } from '../../firmware/cloud/commands';
import { verifyRevocationList, verifyRootRotation } from '../../firmware/cloud/trust';
import { run } from '../../scripts/cli/remote';

/** `postern remote root|recovery|cert` without a broker: files, records, signatures, help and errors. */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-remote-trust-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => join(dir, name);
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

test('every verb answers --help with its usage on stdout, and the groups list their verbs', async () => {
  for (const verb of [['cert', 'issue'], ['cert', 'list'], ['cert', 'revoke'], ['cert', 'publish'], ['root', 'keygen'], ['root', 'rotate'], ['recovery', 'keygen']]) {
    const r = await cli(...verb, '--help');
    expect({ verb, code: r.code, first: r.out[0] }).toEqual({ verb, code: 0, first: expect.stringMatching(new RegExp(`^usage: postern remote ${verb.join(' ')} `)) });
  }
  expect((await cli('cert', '--help')).out[0]).toMatch(/^usage: postern remote cert <issue\|list\|revoke\|publish>/);
  expect((await cli('--help')).out[0]).toMatch(/cert\|root\|recovery/);
  expect(await cli('cert', 'forge')).toMatchObject({ code: 2, err: [expect.stringMatching(/unknown "remote cert forge"; known: issue, list, revoke, publish/)] });
});

test('root keygen, cert issue, list, revoke and root rotate, offline: each writes what a gate verifies', async () => {
  const state = f('site.json');
  const root = await cli('root', 'keygen', '--out', f('root.key'), '--site', 'oakwood', '--state', state);
  expect(root.code).toBe(0);
  const rootPublic = root.out[0]!;
  expect(statSync(f('root.key')).mode & 0o777).toBe(0o600);
  expect(statSync(state).mode & 0o777).toBe(0o600);
  expect((await cli('root', 'keygen', '--out', f('root-b.key'), '--site', 'oakwood', '--state', state)).err[0]).toMatch(/exists; refusing/);
  const recovery = await cli('recovery', 'keygen', '--out', f('recovery.key'));
  expect(recovery.out[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);

  const op = await cli('keygen', '--out', f('op.key'));
  const issued = await cli('cert', 'issue', '--state', state, '--root-key', f('root.key'), '--operator', op.out[0]!, '--scopes', 'door-open,door-mode', '--gates', 'north,south', '--valid-until', '2099-12-31', '--label', 'front desk', '--out', f('op.cert'));
  expect(issued).toMatchObject({ code: 0, out: [expect.stringMatching(/^certificate 1: door-open, door-mode at north, south, .* to 2100-01-01T00:00:00\.000Z → /)] });
  const cert = JSON.parse(readFileSync(f('op.cert'), 'utf8'));
  expect(JSON.parse(cert.body)).toMatchObject({ purpose: 'operator-cert', serial: 1, site: 'oakwood', gates: ['north', 'south'], operatorKey: op.out[0], scopes: ['door-open', 'door-mode'] });
  expect(cert.body).not.toContain('front desk');

  // `sign --cert` makes an envelope the gate accepts through the chain, and only within scope
  const ctx = { trustedKeys: new Set<string>(), roots: new Set([rootPublic]), revoked: { has: () => false }, identity: { site: 'oakwood', gate: 'north' }, nowMs: Date.now(), skewMs: 5000, maxBytes: 8192, replay: { has: () => false } };
  const signed = await cli('sign', '--key', f('op.key'), '--cert', f('op.cert'), '--site', 'oakwood', '--gate', 'north', 'lockdown', '{"on":true}');
  expect(verifyCommand(signed.out[0]!, ctx)).toMatchObject({ ok: true, command: { cmd: 'lockdown', signer: { kind: 'certificate' } } });
  const outOfScope = await cli('sign', '--key', f('op.key'), '--cert', f('op.cert'), '--site', 'oakwood', '--gate', 'north', 'withdraw-consent', '{"residentId":"r-1"}');
  expect(verifyCommand(outOfScope.out[0]!, ctx)).toMatchObject({ ok: false, reason: 'out-of-scope' });
  // a certificate for another key is caught by the tool before anything is sent
  await cli('keygen', '--out', f('other.key'));
  expect((await cli('sign', '--key', f('other.key'), '--cert', f('op.cert'), '--site', 'oakwood', '--gate', 'north', 'open')).err[0]).toMatch(/certifies key .*, not this key/);

  const revoked = await cli('cert', 'revoke', '1', '--state', state, '--root-key', f('root.key'));
  expect(revoked.out).toEqual(['certificate 1 revoked: revocation list v1 (1 serial(s)) signed', expect.stringMatching(/^not published: run `postern remote cert publish --state /)]);
  const records = JSON.parse(readFileSync(state, 'utf8'));
  expect(verifyRevocationList(JSON.stringify(records.revocations.signed), { roots: new Set([rootPublic]), identity: { site: 'oakwood', gate: 'north' }, maxBytes: 65536 })).toMatchObject({ ok: true, list: { version: 1, serials: [1] } });
  expect((await cli('cert', 'revoke', '1', '--state', state, '--root-key', f('root.key'))).err[0]).toMatch(/certificate 1 is already revoked \(revocation list v1\)/);
  expect((await cli('cert', 'revoke', '42', '--state', state, '--root-key', f('root.key'))).err[0]).toMatch(/no certificate with serial 42 was issued from this state file/);

  const list = await cli('cert', 'list', '--state', state);
  expect(list.out[0]).toBe(`site oakwood, root ${rootPublic}; revocation list v1 (1 revoked); root rotation v0`);
  expect(list.out[1]).toMatch(/^\s+1 {2}revoked\s+door-open,door-mode\s+north,south .*front desk$/);

  const rotated = await cli('root', 'rotate', '--state', state, '--recovery-key', f('recovery.key'), '--new-root-out', f('root-2.key'), '--overlap-hours', '24');
  expect(rotated.code).toBe(0);
  const after = JSON.parse(readFileSync(state, 'utf8'));
  expect(after.root).not.toBe(rootPublic);
  expect(verifyRootRotation(JSON.stringify(after.rotation.signed), { recoveryKey: recovery.out[0]!, identity: { site: 'oakwood', gate: 'north' }, maxBytes: 65536 })).toMatchObject({ ok: true, rotation: { version: 1, newRoot: after.root, previousRoot: rootPublic } });
  // the list is signed again by the new root, same serials, next version
  expect(verifyRevocationList(JSON.stringify(after.revocations.signed), { roots: new Set([after.root]), identity: { site: 'oakwood', gate: 'north' }, maxBytes: 65536 })).toMatchObject({ ok: true, list: { version: 2, serials: [1] } });
  expect((await cli('cert', 'list', '--state', state)).out[1]).toMatch(/revoked/);
});

test('bad input is refused with a message that names what was wrong', async () => {
  const state = f('bad.json');
  await cli('root', 'keygen', '--out', f('bad-root.key'), '--site', 'elm', '--state', state);
  const issue = (over: Record<string, string>) => {
    const flags: Record<string, string> = { state, 'root-key': f('bad-root.key'), operator: b64(nacl.sign.keyPair().publicKey), scopes: 'door-open', gates: '*', 'valid-until': '2099-01-01', out: f('x.cert'), ...over };
    return cli('cert', 'issue', ...Object.entries(flags).filter(([, v]) => v !== '').flatMap(([k, v]) => [`--${k}`, v]));
  };
  expect((await issue({ scopes: 'door-open,everything' })).err[0]).toMatch(/--scopes "door-open,everything": unknown everything; use one or more of door-open, door-mode, credentials, privacy, passes/);
  expect((await issue({ 'valid-until': '2099-02-30' })).err[0]).toMatch(/--valid-until "2099-02-30" has day 30/);
  expect((await issue({ out: '' })).err[0]).toMatch(/--out is required/);
  expect((await issue({ operator: 'AAAA' })).err[0]).toMatch(/--operator "AAAA" is not an Ed25519 public key/);
  expect((await issue({ 'valid-from': '2099-06-01' })).err[0]).toMatch(/notAfter must be after notBefore/);
  expect((await issue({ 'root-key': f('root.key') })).err[0]).toMatch(/holds .*, but the current root of site elm is/);
  // a gates list with a name a gate id cannot have is refused before anything is signed
  expect((await issue({ gates: 'North Gate' })).err[0]).toMatch(/gates\.0 must be 1-64 characters/);
  expect((await cli('cert', 'list', '--state', f('missing.json'))).err[0]).toMatch(/state file .*missing\.json does not exist/);
  writeFileSync(f('broken.json'), '{"kind":"postern.site-state","v":1}');
  expect((await cli('cert', 'list', '--state', f('broken.json'))).err[0]).toMatch(/state file .*broken\.json: field "site"/);
  expect((await cli('root', 'rotate', '--state', state, '--recovery-key', f('recovery.key'), '--new-root-out', f('r.key'), '--overlap-hours', 'soon')).err[0]).toMatch(/--overlap-hours must be between 0 and 8784/);
  expect((await cli('cert', 'publish', '--state', state)).err[0]).toMatch(/--broker is required/);
  expect((await cli('cert', 'revoke', 'x1', '--state', state, '--root-key', f('bad-root.key'))).err[0]).toMatch(/SERIAL must be a certificate serial/);
  expect(JSON.parse(readFileSync(state, 'utf8')).certificates).toEqual([]);
});
