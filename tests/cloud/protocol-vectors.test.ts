import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { issueCertificate, withCertificate } from '../../firmware/cloud/certificates';
import { commandBodyFor, verifyCommand } from '../../firmware/cloud/commands';
import { verifyEd25519 } from '../../firmware/cloud/ed25519';
import { sign, signedBytes, type Envelope, type Purpose } from '../../firmware/cloud/envelope';
import { signRevocationList, signRootRotation, verifyRevocationList, verifyRootRotation } from '../../firmware/cloud/trust';

/** docs/PROTOCOL.md §2a: the certificate, revocation list and rotation vectors are what this code signs and verifies. */
const doc = readFileSync(join(__dirname, '../../docs/PROTOCOL.md'), 'utf8');
const section = /### Certificate test vectors\n([\s\S]*?)\n## 3\. /.exec(doc)?.[1] ?? '';
const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
const [certJson, commandJson, listJson, rotationJson] = blocks('json').map((b) => JSON.parse(b) as Envelope);
const [certBytes, listBytes, rotationBytes] = blocks('text').map((b) => b.replace(/\n$/, ''));
const seeded = (byte: number) => nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(byte));
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const [root, recovery, newRoot, operator] = [seeded(1), seeded(2), seeded(3), seeded(7)];
const identity = { site: 'oakwood', gate: 'north' };
const AT = 1795430000000;

test('the section holds four envelopes and three signed-byte listings, and the keys the seeds give', () => {
  expect([certJson, commandJson, listJson, rotationJson].every(Boolean)).toBe(true);
  expect([certBytes, listBytes, rotationBytes].every(Boolean)).toBe(true);
  for (const key of [root, recovery, newRoot, operator]) expect(section).toContain(b64(key.publicKey));
});

test.each([
  ['operator-cert', () => certJson!, () => certBytes!, root],
  ['revocation-list', () => listJson!, () => listBytes!, root],
  ['root-rotation', () => rotationJson!, () => rotationBytes!, recovery],
] as Array<[Purpose, () => Envelope, () => string, nacl.SignKeyPair]>)('%s: the signed bytes are as listed, and Node crypto and tweetnacl both verify the signature', (purpose, envelope, bytes, signer) => {
  const e = envelope();
  expect(Buffer.from(signedBytes(purpose, e.body)).toString('utf8')).toBe(bytes());
  expect(e.key).toBe(b64(signer.publicKey));
  const sig = new Uint8Array(Buffer.from(e.sig, 'base64'));
  expect(verifyEd25519(signer.publicKey, signedBytes(purpose, e.body), sig)).toBe(true);
  expect(nacl.sign.detached.verify(signedBytes(purpose, e.body), sig, signer.publicKey)).toBe(true);
});

test('the code signs every vector to the same bytes', () => {
  expect(issueCertificate(root.secretKey, { serial: 12, site: 'oakwood', gates: ['north'], operatorKey: b64(operator.publicKey), scopes: ['door-open'], notBefore: 1795420000000, notAfter: 1798012000000 })).toEqual(certJson);
  const body = commandBodyFor(identity, 'open', {}, AT, 30_000, 'q3Zk1yW0bq9tX2cP4sLm8A');
  expect(withCertificate(sign('cmd', body, operator.secretKey), certJson)).toEqual(commandJson);
  expect(signRevocationList(root.secretKey, { site: 'oakwood', version: 3, issuedAt: AT, serials: [5, 12] })).toEqual(listJson);
  expect(signRootRotation(recovery.secretKey, { site: 'oakwood', version: 1, issuedAt: AT, newRoot: b64(newRoot.publicKey), previousRoot: b64(root.publicKey), overlapUntil: AT + 7 * 86_400_000 })).toEqual(rotationJson);
});

test('the gate accepts them as the text says: the command under the certificate, the list from the root, the rotation from the recovery key', () => {
  const ctx = { trustedKeys: new Set<string>(), roots: new Set([b64(root.publicKey)]), revoked: { has: () => false }, identity, nowMs: AT, skewMs: 30_000, maxBytes: 65_536, replay: { has: () => false } };
  expect(verifyCommand(JSON.stringify(commandJson), ctx)).toMatchObject({ ok: true, command: { cmd: 'open', signer: { kind: 'certificate', cert: { serial: 12, scopes: ['door-open'] } } } });
  const withdraw = withCertificate(sign('cmd', commandBodyFor(identity, 'withdraw-consent', { residentId: 'r-1' }, AT, 30_000, 'q3Zk1yW0bq9tX2cP4sLm8B'), operator.secretKey), certJson);
  expect(verifyCommand(JSON.stringify(withdraw), ctx)).toMatchObject({ ok: false, reason: 'out-of-scope' });
  expect(verifyCommand(JSON.stringify(commandJson), { ...ctx, revoked: { has: (s: number) => s === 12 } })).toMatchObject({ ok: false, reason: 'cert-revoked' });
  expect(verifyRevocationList(JSON.stringify(listJson), { roots: ctx.roots, identity, maxBytes: 65_536 })).toMatchObject({ ok: true, list: { version: 3, serials: [5, 12] } });
  expect(verifyRootRotation(JSON.stringify(rotationJson), { recoveryKey: b64(recovery.publicKey), identity, maxBytes: 65_536 })).toMatchObject({ ok: true, rotation: { newRoot: b64(newRoot.publicKey) } });
});
