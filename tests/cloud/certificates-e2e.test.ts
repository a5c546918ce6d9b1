import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import nacl from 'tweetnacl';
import { buildSubjectExport } from '../../firmware/admin/subject-export';
import { readAudit } from '../../firmware/audit/verify';
import { issueCertificate } from '../../firmware/cloud/certificates';
import type { Envelope } from '../../firmware/cloud/envelope';
import type { Scope } from '../../firmware/cloud/scopes';
import { gateTopics } from '../../firmware/cloud/topics';
import { signRootRotation } from '../../firmware/cloud/trust';
import { verifyReceipt } from '../../firmware/consent/receipt';
import { readSecretKey } from '../../scripts/cli/operator-keys';
import { run as remote, runHaBridge, sendCommand, signCommand, signCredentialSet } from '../../scripts/cli/remote';
import { startCloudGate, type CloudGate } from '../helpers/cloud-gate';
import { startMosquitto, type Broker } from '../helpers/mosquitto';
import { captureClient } from '../helpers/mqtt-capture';

/**
 * Operator certificates end to end: the operator tool (`postern remote root|recovery|cert`) makes the
 * keys, certificates, revocation lists and rotations; a real mosquitto with the production ACL carries
 * them; the real cloud link decides, with the real store, consent ledger, audit log and door behind it.
 */
const GATE = { site: 'site1', gate: 'gate-a' };
const login = (username: string) => ({ username, password: randomBytes(9).toString('hex') });
const users = { gate: login('site1/gate-a'), operator: login('operator'), homeassistant: login('homeassistant'), bridge: login('ha-bridge') };
const topics = gateTopics(GATE);
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const listed = nacl.sign.keyPair();
// Generous on a busy shared machine: every wait below ends as soon as what it waits for happens.
const PATIENT_MS = 60_000;
jest.setTimeout(300_000);

let broker: Broker;
let dir: string;
let gate: CloudGate;
let capture: Awaited<ReturnType<typeof captureClient>>;
let statePath: string;
let rootKeyPath: string;
const file = (name: string) => join(dir, name);

/** `postern remote …` in-process; throws with its stderr unless it exits 0. */
async function tool(...args: string[]): Promise<string[]> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await remote(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  if (code !== 0) throw new Error(`postern remote ${args.join(' ')} exited ${code}: ${err.join('\n')}`);
  return out;
}
const brokerArgs = () => ['--broker', broker.url, '--username', 'operator', '--password-file', file('operator.pass')];

let certCount = 0;
/** A new operator key and its certificate, issued by the tool under the site's current root. */
async function issue(scopes: Scope[], extra: string[] = [], rootKey = rootKeyPath) {
  certCount += 1;
  const pair = nacl.sign.keyPair();
  const out = file(`cert-${certCount}.json`);
  const [line] = await tool('cert', 'issue', '--state', statePath, '--root-key', rootKey, '--operator', b64(pair.publicKey), '--scopes', scopes.join(','), '--gates', '*', '--valid-until', '2099-12-31', '--label', 'night guard Jane Doe', ...extra, '--out', out);
  const cert = JSON.parse(readFileSync(out, 'utf8')) as Envelope;
  return { secretKey: pair.secretKey, cert, serial: Number(/^certificate (\d+):/.exec(line!)![1]) };
}
type Holder = Awaited<ReturnType<typeof issue>>;

const send = async (who: { secretKey: Uint8Array; cert?: Envelope }, cmd: string, args: Record<string, unknown> = {}) =>
  (await sendCommand(capture.client, GATE, signCommand(who.secretKey, GATE, cmd, args, 30, Date.now(), who.cert), PATIENT_MS, b64(gate.gateKey.publicKey))).body;
const events = () => gate.bus.since(0);
async function waitEvent(predicate: (e: { type: string; reason: string; data?: Record<string, unknown> }) => boolean, after = 0) {
  for (const deadline = Date.now() + PATIENT_MS; Date.now() < deadline; ) {
    const found = events().find((e) => e.seq > after && predicate(e));
    if (found) return found;
    await sleep(20);
  }
  throw new Error(`event not seen; have ${events().filter((e) => e.seq > after).map((e) => `${e.type}/${e.reason}`).join(', ')}`);
}
const lastSeq = () => events().at(-1)?.seq ?? 0;
const unlocks = () => events().filter((e) => e.type === 'door.unlocked').length;
/** After `fromIndex` in the capture, the gate said `word` on its availability topic. */
const availability = (word: string, fromIndex: number) => capture.waitFor((m) => capture.messages.indexOf(m) >= fromIndex && m.topic === topics.availability && m.payload.toString() === word, PATIENT_MS);
async function goOffline() {
  const from = capture.messages.length;
  await gate.link.stop();
  await availability('offline', from);
}
async function comeBack() {
  const from = capture.messages.length;
  gate.startLink();
  await availability('online', from);
  // it subscribes right after saying online; give the broker a moment to take the subscription
  await sleep(300);
}
async function untilLocked() {
  for (const deadline = Date.now() + PATIENT_MS; gate.door.snapshot().relay !== 'locked' && Date.now() < deadline; ) await sleep(20);
  expect(gate.door.snapshot().relay).toBe('locked');
}

beforeAll(async () => {
  broker = await startMosquitto(Object.values(users));
  dir = mkdtempSync(join(tmpdir(), 'postern-certs-e2e-'));
  writeFileSync(file('operator.pass'), `${users.operator.password}\n`, { mode: 0o600 });
  statePath = file('site1.state.json');
  rootKeyPath = file('root-1.key');
  const [rootPublic] = await tool('root', 'keygen', '--out', rootKeyPath, '--site', 'site1', '--state', statePath);
  const [recoveryPublic] = await tool('recovery', 'keygen', '--out', file('recovery.key'));
  capture = await captureClient(broker.url, users.operator, ['postern/v1/#']);
  gate = startCloudGate({ brokerUrl: broker.url, gate: GATE, password: users.gate.password, dir: file('gate'), cloud: { siteRoot: rootPublic, siteRecovery: recoveryPublic, operatorKeys: [b64(listed.publicKey)] } });
  await capture.waitFor((m) => m.topic === topics.availability && m.payload.toString() === 'online', PATIENT_MS);
});

afterAll(async () => {
  await gate?.stop();
  await capture?.close();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('in scope: a door-open certificate opens the door; the event and the audit log name its serial and scopes, and no person', async () => {
  const guard = await issue(['door-open']);
  const before = lastSeq();
  expect(await send(guard, 'open')).toMatchObject({ kind: 'result', ok: true, cmd: 'open' });
  const accepted = await waitEvent((e) => e.type === 'remote.command' && e.reason === 'open', before);
  expect(accepted.data).toEqual({ nonce: expect.any(String), cert: { serial: guard.serial, scopes: ['door-open'] } });
  await waitEvent((e) => e.type === 'door.unlocked' && e.reason === 'remote', before);
  const audited = readAudit(gate.auditDir).entries.map((x) => x.entry).find((e) => e.type === 'remote.command' && e.data?.nonce === accepted.data?.nonce);
  expect(audited?.data).toMatchObject({ cert: { serial: guard.serial, scopes: ['door-open'] } });
  // and the event as the cloud receives it on `events`
  const published = await capture.waitFor((m) => m.topic === topics.events && m.payload.toString().includes(accepted.id), PATIENT_MS);
  expect(JSON.parse(published.payload.toString())).toMatchObject({ type: 'remote.command', reason: 'open', data: { cert: { serial: guard.serial, scopes: ['door-open'] } } });
  // the local label of the certificate ("night guard Jane Doe") stays in the operator's state file
  expect(JSON.stringify(guard.cert)).not.toContain('Jane');
  expect(readFileSync(join(gate.auditDir, 'audit-000001.jsonl'), 'utf8')).not.toContain('Jane');
  expect(capture.messages.some((m) => m.payload.toString().includes('Jane'))).toBe(false);
  await untilLocked();
});

test('out of scope: the door certificate cannot withdraw consent, revoke, hold the door or push credentials; each refusal is a gate-signed answer and an event with the serial', async () => {
  const guard = await issue(['door-open']);
  gate.store.addResident({ id: 'r-face' });
  gate.ledger.grant('r-face', { noticeVersion: 'v1', consentedBy: 'self' });
  gate.ledger.enrolTemplate('r-face', new Float32Array(128).fill(0.25));
  const before = lastSeq();
  const unlocked = unlocks();
  for (const [cmd, args] of [['withdraw-consent', { residentId: 'r-face' }], ['revoke-resident', { residentId: 'r-face' }], ['hold-unlocked', {}], ['lockdown', { on: true }], ['sync', {}]] as const) {
    // sendCommand checks the answer's signature against the gate's key before handing it back
    expect({ cmd, answer: await send(guard, cmd, args) }).toMatchObject({ cmd, answer: { ok: false, reason: 'out-of-scope', cmd, detail: expect.stringContaining(`certificate ${guard.serial}`) } });
    await waitEvent((e) => e.type === 'remote.rejected' && e.reason === 'out-of-scope' && e.data?.cmd === cmd && (e.data.cert as { serial: number }).serial === guard.serial, before);
  }
  const version = gate.store.credentialVersion;
  const push = { ...signCredentialSet(guard.secretKey, randomBytes(32), GATE, version + 5, []), cert: guard.cert };
  await capture.client.publishAsync(topics.credentials, JSON.stringify(push), { qos: 1 });
  await waitEvent((e) => e.type === 'credentials.rejected' && e.reason === 'out-of-scope', before);
  expect(gate.store.credentialVersion).toBe(version);
  expect(gate.store.hasTemplate('r-face')).toBe(true);
  expect(gate.store.getResident('r-face')?.revokedAt).toBeNull();
  expect(gate.door.snapshot().mode).toBe('normal');
  expect(unlocks()).toBe(unlocked);

  // the privacy officer's certificate can; `postern export` then shows which certificate did it
  const officer = await issue(['privacy']);
  const withdrawn = await send(officer, 'withdraw-consent', { residentId: 'r-face' });
  expect(withdrawn).toMatchObject({ ok: true, result: { residentId: 'r-face', receipt: { why: 'consent-withdrawn' } } });
  expect(verifyReceipt((withdrawn.result as { receipt: unknown }).receipt, gate.gateKey.publicKey)).toMatchObject({ valid: true });
  expect(gate.store.hasTemplate('r-face')).toBe(false);
  const exported = buildSubjectExport(gate.store, gate.auditDir, 'r-face', new Date());
  const byRemote = exported.recentEvents.filter((e) => e.type === 'remote.command');
  expect(byRemote).toEqual([expect.objectContaining({ reason: 'withdraw-consent', data: expect.objectContaining({ residentId: 'r-face', cert: { serial: officer.serial, scopes: ['privacy'] } }) })]);
  expect(JSON.stringify(exported)).not.toContain('Jane');
});

test('credentials scope: a full set pushed under a credentials certificate is applied, and the applied event names the serial', async () => {
  const clerk = await issue(['credentials']);
  const before = lastSeq();
  const version = gate.store.credentialVersion + 1;
  await capture.client.publishAsync(topics.credentials, JSON.stringify({ ...signCredentialSet(clerk.secretKey, randomBytes(32), GATE, version, [{ uid: '04A1B2C3D4E5F6', residentId: 'r-7' }]), cert: clerk.cert }), { qos: 1 });
  const applied = await waitEvent((e) => e.type === 'credentials.applied', before);
  expect(applied.data).toMatchObject({ version, cards: 1, cert: { serial: clerk.serial, scopes: ['credentials'] } });
});

test('Home Assistant: the bridge with a door-open certificate opens and relocks, and its key and certificate cannot withdraw consent', async () => {
  const ha = await issue(['door-open']);
  gate.store.addResident({ id: 'r-ha' });
  gate.ledger.grant('r-ha', { noticeVersion: 'v1', consentedBy: 'self' });
  gate.ledger.enrolTemplate('r-ha', new Float32Array(128).fill(0.5));
  const bridgeClient = await mqtt.connectAsync(broker.url, { ...users.bridge, protocolVersion: 5, reconnectPeriod: 0 });
  const homeAssistant = await mqtt.connectAsync(broker.url, { ...users.homeassistant, protocolVersion: 5, reconnectPeriod: 0 });
  const lines: string[] = [];
  const stopBridge = await runHaBridge(bridgeClient, ha.secretKey, 'postern-ha/v1', (l) => lines.push(l), ha.cert);
  const bridgeSaid = async (line: string) => {
    for (const deadline = Date.now() + PATIENT_MS; !lines.includes(line) && Date.now() < deadline; ) await sleep(20);
    expect(lines).toContain(line);
  };
  try {
    const before = lastSeq();
    await homeAssistant.publishAsync('postern-ha/v1/site1/gate-a/set', 'OPEN', { qos: 1 });
    await waitEvent((e) => e.type === 'door.unlocked' && e.reason === 'remote', before);
    await bridgeSaid('site1/gate-a open: ok');
    await homeAssistant.publishAsync('postern-ha/v1/site1/gate-a/set', 'LOCK', { qos: 1 });
    await bridgeSaid('site1/gate-a relock: ok');
    // holding the gate open is door-mode, which the bridge's certificate does not grant
    await homeAssistant.publishAsync('postern-ha/v1/site1/gate-a/set', 'UNLOCK', { qos: 1 });
    await bridgeSaid('site1/gate-a hold-unlocked: refused (out-of-scope)');
    // a compromised bridge signs whatever it likes with its key and certificate: the gate still refuses it
    const forged = signCommand(ha.secretKey, GATE, 'withdraw-consent', { residentId: 'r-ha' }, 15, Date.now(), ha.cert);
    expect((await sendCommand(bridgeClient, GATE, forged, PATIENT_MS, b64(gate.gateKey.publicKey))).body).toMatchObject({ ok: false, reason: 'out-of-scope' });
    expect(gate.store.hasTemplate('r-ha')).toBe(true);
  } finally {
    stopBridge();
    await bridgeClient.endAsync(true);
    await homeAssistant.endAsync(true);
  }
  await untilLocked();
});

test('outside the window, for another gate, from an untrusted root: refused with a gate-signed answer and an event, and the door never moves', async () => {
  const expired = await issue(['door-open'], ['--valid-from', '2020-01-01', '--valid-until', '2020-01-31']);
  const early = await issue(['door-open'], ['--valid-from', '2099-01-01']);
  const elsewhere = await issue(['door-open'], ['--gates', 'gate-b']);
  const strangerRoot = nacl.sign.keyPair();
  const pair = nacl.sign.keyPair();
  const forged = { secretKey: pair.secretKey, cert: issueCertificate(strangerRoot.secretKey, { serial: 1, site: 'site1', gates: '*', operatorKey: b64(pair.publicKey), scopes: ['door-open', 'privacy'], notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000 }) };
  const unlocked = unlocks();
  const before = lastSeq();
  for (const [who, reason] of [[expired, 'cert-expired'], [early, 'cert-not-yet-valid'], [elsewhere, 'wrong-gate'], [forged, 'untrusted-root']] as Array<[{ secretKey: Uint8Array; cert: Envelope }, string]>) {
    expect({ reason, answer: await send(who, 'open') }).toMatchObject({ reason, answer: { ok: false, reason } });
    await waitEvent((e) => e.type === 'remote.rejected' && e.reason === reason, before);
  }
  expect(unlocks()).toBe(unlocked);
  expect(gate.door.snapshot().relay).toBe('locked');
});

test('keys listed in cloud.operatorKeys keep every scope', async () => {
  gate.store.addResident({ id: 'r-listed' });
  gate.ledger.grant('r-listed', { noticeVersion: 'v1', consentedBy: 'self' });
  gate.ledger.enrolTemplate('r-listed', new Float32Array(128).fill(0.75));
  const before = lastSeq();
  expect(await send({ secretKey: listed.secretKey }, 'withdraw-consent', { residentId: 'r-listed' })).toMatchObject({ ok: true });
  expect((await waitEvent((e) => e.type === 'remote.command' && e.reason === 'withdraw-consent', before)).data).toMatchObject({ operatorKey: b64(listed.publicKey), residentId: 'r-listed' });
});

describe('revocation', () => {
  let first: Holder;
  let second: Holder;

  test('a revocation list published by `cert revoke` reaches an online gate, which refuses that certificate from then on', async () => {
    first = await issue(['door-open']);
    second = await issue(['door-open']);
    expect(await send(first, 'status')).toMatchObject({ ok: true });
    const before = lastSeq();
    // no --gate: the tool finds the site's gates by their retained availability
    const said = await tool('cert', 'revoke', String(first.serial), '--state', statePath, '--root-key', rootKeyPath, ...brokerArgs(), '--discover-ms', '5000');
    expect(said.at(-1)).toMatch(/^published revocation list v1 \(retained\) to 1 gate\(s\) of site1: gate-a$/);
    await waitEvent((e) => e.type === 'credentials.revocations' && e.data?.version === 1, before);
    expect(await send(first, 'status')).toMatchObject({ ok: false, reason: 'cert-revoked' });
    expect(await send(second, 'status')).toMatchObject({ ok: true });
  });

  test('a gate that was offline while a revocation was published refuses the certificate once it reconnects, and after a restart with the broker copy gone', async () => {
    await goOffline();
    await tool('cert', 'revoke', String(second.serial), '--state', statePath, '--root-key', rootKeyPath, ...brokerArgs(), '--gate', 'gate-a');
    const before = lastSeq();
    const unlocked = unlocks();
    await comeBack();
    await waitEvent((e) => e.type === 'credentials.revocations' && e.data?.version === 2, before);
    expect(await send(second, 'open')).toMatchObject({ ok: false, reason: 'cert-revoked' });
    // the broker forgets the list; the gate does not
    await capture.client.publishAsync(topics.revocations, '', { qos: 1, retain: true });
    await goOffline();
    await comeBack();
    expect(await send(second, 'open')).toMatchObject({ ok: false, reason: 'cert-revoked' });
    expect(await send(first, 'open')).toMatchObject({ ok: false, reason: 'cert-revoked' });
    expect(unlocks()).toBe(unlocked);
  });

  test('`cert list` shows both revoked and the list version', async () => {
    const lines = await tool('cert', 'list', '--state', statePath);
    expect(lines[0]).toMatch(/revocation list v2 \(2 revoked\)/);
    for (const serial of [first.serial, second.serial]) expect(lines.find((l) => l.trimStart().startsWith(`${serial} `))).toMatch(/revoked/);
  });
});

describe('root rotation', () => {
  test('the root cannot rotate itself; the recovery key can, with an overlap; an immediate rotation ends the old root; the gate remembers', async () => {
    const oldRootHolder = await issue(['door-open']);
    const stolenRoot = readSecretKey(rootKeyPath);
    const usurper = nacl.sign.keyPair();
    // the (stolen) root signs a rotation to a root of its own: refused, and the usurper's certificates are worthless
    let before = lastSeq();
    const selfRotation = signRootRotation(stolenRoot, { site: 'site1', version: 50, issuedAt: Date.now(), newRoot: b64(usurper.publicKey), previousRoot: b64(stolenRoot.subarray(32)), overlapUntil: Date.now() + 3_600_000 });
    await capture.client.publishAsync(topics.rootRotation, JSON.stringify(selfRotation), { qos: 1, retain: true });
    await waitEvent((e) => e.type === 'credentials.rejected' && e.reason === 'untrusted-recovery-key', before);
    const pair = nacl.sign.keyPair();
    const usurped = { secretKey: pair.secretKey, cert: issueCertificate(usurper.secretKey, { serial: 99, site: 'site1', gates: '*', operatorKey: b64(pair.publicKey), scopes: ['door-open'], notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000 }) };
    expect(await send(usurped, 'status')).toMatchObject({ ok: false, reason: 'untrusted-root' });

    // the recovery key rotates to root 2 with an hour of overlap: both roots' certificates work meanwhile
    before = lastSeq();
    await tool('root', 'rotate', '--state', statePath, '--recovery-key', file('recovery.key'), '--new-root-out', file('root-2.key'), '--overlap-hours', '1', ...brokerArgs(), '--discover-ms', '5000');
    await waitEvent((e) => e.type === 'credentials.root-rotated' && e.data?.version === 1, before);
    // the revocation list comes again, signed by root 2, and still holds the revoked serials
    await waitEvent((e) => e.type === 'credentials.revocations' && e.data?.version === 3, before);
    const newRootHolder = await issue(['door-open'], [], file('root-2.key'));
    expect(await send(oldRootHolder, 'status')).toMatchObject({ ok: true });
    expect(await send(newRootHolder, 'status')).toMatchObject({ ok: true });
    await expect(issue(['door-open'], [], rootKeyPath)).rejects.toThrow(/is not the current root|but the current root/);
    const revoked = JSON.parse(readFileSync(statePath, 'utf8')).revocations.serials as number[];
    expect(revoked).toHaveLength(2);

    // root 2 is thought stolen: rotate again with no overlap, while the gate is offline; when it is back,
    // it takes the rotation and then the list signed by root 3, and root 1 and root 2 certificates stop at once
    await goOffline();
    await tool('root', 'rotate', '--state', statePath, '--recovery-key', file('recovery.key'), '--new-root-out', file('root-3.key'), '--overlap-hours', '0', ...brokerArgs(), '--gate', 'gate-a');
    before = lastSeq();
    await comeBack();
    await waitEvent((e) => e.type === 'credentials.root-rotated' && e.data?.version === 2, before);
    await waitEvent((e) => e.type === 'credentials.revocations' && e.data?.version === 4, before);
    const thirdRootHolder = await issue(['door-open'], [], file('root-3.key'));
    expect(await send(oldRootHolder, 'status')).toMatchObject({ ok: false, reason: 'untrusted-root' });
    expect(await send(newRootHolder, 'status')).toMatchObject({ ok: false, reason: 'untrusted-root' });
    expect(await send(thirdRootHolder, 'status')).toMatchObject({ ok: true });

    // restarted with the broker's copies gone, the gate still trusts only root 3
    await capture.client.publishAsync(topics.rootRotation, '', { qos: 1, retain: true });
    await goOffline();
    await comeBack();
    expect(await send(newRootHolder, 'status')).toMatchObject({ ok: false, reason: 'untrusted-root' });
    expect(await send(thirdRootHolder, 'status')).toMatchObject({ ok: true });
  });
});

test('the broker lets no gate login publish a revocation list or a rotation, not even for itself', async () => {
  const asGate = await mqtt.connectAsync(broker.url, { ...users.gate, clientId: 'not-the-gate', protocolVersion: 5, reconnectPeriod: 0 });
  try {
    for (const topic of [topics.revocations, topics.rootRotation]) await expect(asGate.publishAsync(topic, '{}', { qos: 1, retain: true })).rejects.toMatchObject({ code: 135 });
  } finally {
    await asGate.endAsync(true);
  }
});
