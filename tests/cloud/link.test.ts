import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import nacl from 'tweetnacl';
import { openGateGpio, type GateGpio } from '../../drivers/gpio';
import { CredentialSync } from '../../firmware/access/credential-sync';
import { parseCloudConfig } from '../../firmware/cloud/config';
import type { Envelope } from '../../firmware/cloud/envelope';
import { CloudLink } from '../../firmware/cloud/link';
import { gateTopics } from '../../firmware/cloud/topics';
import { parseConfig } from '../../firmware/config/load';
import { ConsentLedger } from '../../firmware/consent/ledger';
import { verifyReceipt } from '../../firmware/consent/receipt';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { DoorController, relayActiveFor } from '../../firmware/door/controller';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { GateStore } from '../../firmware/store/store';
import { runHaBridge, sendCommand, signCommand, signCredentialDelta, signCredentialSet } from '../../scripts/cli/remote';
import { startMosquitto, type Broker } from '../helpers/mosquitto';
import { captureClient } from '../helpers/mqtt-capture';
import { PATIENCE_MS } from '../helpers/patience';

/**
 * The cloud link in-process with the real store, credential sync, consent ledger and door controller on
 * simulated GPIO, against a real mosquitto with the production ACL: the parts the daemon has not wired yet.
 */
const GATE = { site: 'site1', gate: 'gate-a' };
const users = {
  gate: { username: 'site1/gate-a', password: randomBytes(9).toString('hex') },
  operator: { username: 'operator', password: randomBytes(9).toString('hex') },
  homeassistant: { username: 'homeassistant', password: randomBytes(9).toString('hex') },
  bridge: { username: 'ha-bridge', password: randomBytes(9).toString('hex') },
};
const topics = gateTopics(GATE);
const operatorKey = nacl.sign.keyPair();
const gateKey = nacl.sign.keyPair();
const siteKey = randomBytes(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A broker, a link and the operator tool on a busy machine: every wait below ends as soon as it can.
jest.setTimeout(180_000);

let broker: Broker;
let dir: string;
let bus: EventBus;
let store: GateStore;
let ledger: ConsentLedger;
let gpio: GateGpio;
let door: DoorController;
let link: CloudLink;
let capture: Awaited<ReturnType<typeof captureClient>>;

const send = async (cmd: string, args: Record<string, unknown> = {}) =>
  (await sendCommand(capture.client, GATE, signCommand(operatorKey.secretKey, GATE, cmd, args), PATIENCE_MS, Buffer.from(gateKey.publicKey).toString('base64'))).body;
const waitEvent = async (predicate: (e: { type: string; reason: string }) => boolean) => {
  for (const deadline = Date.now() + PATIENCE_MS; Date.now() < deadline; ) {
    const found = bus.since(0).find(predicate);
    if (found) return found;
    await sleep(20);
  }
  throw new Error(`event not seen; have ${bus.since(0).map((e) => `${e.type}/${e.reason}`).join(', ')}`);
};
const publishCredentials = (envelope: Envelope) => capture.client.publishAsync(topics.credentials, JSON.stringify(envelope), { qos: 1 });

beforeAll(async () => {
  broker = await startMosquitto(Object.values(users));
  dir = mkdtempSync(join(tmpdir(), 'postern-cloud-link-'));
  bus = new EventBus();
  const gateConfig = parseConfig({});
  gpio = openGateGpio(gateConfig.gpio, 'sim', relayActiveFor('locked', 'fail-secure'));
  door = new DoorController({ relay: gpio.relay }, {}, { ...gateConfig.door, pulseMs: 600 }, 'fail-secure', bus);
  store = GateStore.open({ dir: join(dir, 'store'), templateKey: nacl.randomBytes(32) });
  ledger = new ConsentLedger({ store, bus, signingSecretKey: gateKey.secretKey, retentionDays: 365 });
  const credentials = new CredentialSync(store, bus);
  const health = new MethodHealth();
  capture = await captureClient(broker.url, users.operator, ['postern/v1/#']);
  const passwordFile = join(dir, 'gate.pass');
  writeFileSync(passwordFile, users.gate.password + '\n', { mode: 0o600 });
  link = new CloudLink({
    config: parseCloudConfig({ url: broker.url, passwordFile, operatorKeys: [Buffer.from(operatorKey.publicKey).toString('base64')], reconnectSeconds: 0.2 }),
    identity: GATE,
    dataDir: join(dir, 'cloud'),
    bus,
    health,
    logger: createLogger('silent'),
    gateSigningKey: gateKey.secretKey,
    targets: {
      door,
      status: () => ({ door: door.snapshot(), alarms: door.snapshot().alarms, methods: health.snapshot() }),
      credentials,
      revokeResident: (id) => {
        store.revokeResident(id);
        return ledger.deleteTemplate(id, 'resident-revoked');
      },
      withdrawConsent: (id) => ledger.withdraw(id),
    },
  });
  link.start();
  await capture.waitFor((m) => m.topic === topics.availability && m.payload.toString() === 'online');
});

afterAll(async () => {
  await link?.stop();
  door?.stop();
  await capture?.close();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('credential sets and deltas from the operator tool land in the store, hashed; repeats are ignored; a gap asks for a resync', async () => {
  const cards = [
    { uid: '04A1B2C3D4E5F6', residentId: 'r-1' },
    { uid: '04112233445566', residentId: 'r-2' },
  ];
  await publishCredentials(signCredentialSet(operatorKey.secretKey, siteKey, GATE, 3, cards));
  await waitEvent((e) => e.type === 'credentials.applied' && e.reason === 'full');
  expect(store.credentialVersion).toBe(3);
  expect(store.residentByCard(hashCardUid(siteKey, '04a1b2c3d4e5f6'))?.id).toBe('r-1');

  const delta = signCredentialDelta(operatorKey.secretKey, siteKey, GATE, 3, 4, [{ uid: '04998877665544', residentId: 'r-3' }], ['04112233445566']);
  await publishCredentials(delta);
  await waitEvent((e) => e.type === 'credentials.applied' && e.reason === 'delta');
  expect(store.credentialVersion).toBe(4);
  expect(store.residentByCard(hashCardUid(siteKey, '04112233445566'))).toBeUndefined();
  expect(store.residentByCard(hashCardUid(siteKey, '04998877665544'))?.id).toBe('r-3');

  await publishCredentials(delta);
  await waitEvent((e) => e.type === 'credentials.ignored' && e.reason === 'already-applied');
  expect(store.credentialVersion).toBe(4);

  await publishCredentials(signCredentialDelta(operatorKey.secretKey, siteKey, GATE, 6, 7, [{ uid: '04000000000001', residentId: 'r-4' }], []));
  const request = await capture.waitFor((m) => m.topic === topics.credentialsSync);
  expect(JSON.parse(request.payload.toString())).toMatchObject({ site: 'site1', gate: 'gate-a', version: 4, reason: 'version-gap' });
  expect(store.credentialVersion).toBe(4);

  expect(await send('sync')).toMatchObject({ ok: true, result: { credentialsVersion: 4 } });
  await capture.waitFor((m) => m.topic === topics.credentialsSync && JSON.parse(m.payload.toString()).reason === 'requested');

  const forged = signCredentialSet(nacl.sign.keyPair().secretKey, siteKey, GATE, 99, []);
  await publishCredentials(forged);
  await waitEvent((e) => e.type === 'credentials.rejected' && e.reason === 'unknown-key');
  expect(store.credentialVersion).toBe(4);
});

test('withdraw-consent deletes the template and answers with a receipt signed by the gate; revoke-resident revokes', async () => {
  store.addResident({ id: 'r-face' });
  ledger.grant('r-face', { noticeVersion: 'v1', consentedBy: 'self' });
  ledger.enrolTemplate('r-face', new Float32Array(128).fill(0.25));
  expect(store.hasTemplate('r-face')).toBe(true);
  const answer = await send('withdraw-consent', { residentId: 'r-face' });
  expect(answer).toMatchObject({ ok: true, result: { residentId: 'r-face' } });
  expect(verifyReceipt((answer.result as { receipt: unknown }).receipt, gateKey.publicKey)).toMatchObject({ valid: true });
  expect(store.hasTemplate('r-face')).toBe(false);

  expect(await send('revoke-resident', { residentId: 'r-1' })).toMatchObject({ ok: true, result: { revoked: true, receipt: null } });
  expect(store.getResident('r-1')?.revokedAt).toEqual(expect.any(String));
  expect(await send('revoke-resident', { residentId: 'nobody' })).toMatchObject({ ok: false, reason: 'failed' });
});

test('Home Assistant OPEN reaches the door only through the signing bridge', async () => {
  const bridgeClient = await mqtt.connectAsync(broker.url, { ...users.bridge, protocolVersion: 5, reconnectPeriod: 0 });
  const ha = await mqtt.connectAsync(broker.url, { ...users.homeassistant, protocolVersion: 5, reconnectPeriod: 0 });
  const lines: string[] = [];
  const stopBridge = await runHaBridge(bridgeClient, operatorKey.secretKey, 'postern-ha/v1', (l) => lines.push(l));
  try {
    await ha.publishAsync('postern-ha/v1/site1/gate-a/set', 'OPEN', { qos: 1 });
    // The door's own report that it unlocked: its short pulse may be over by the time this test looks.
    await waitEvent((e) => e.type === 'door.unlocked' && e.reason === 'remote');
    for (const deadline = Date.now() + PATIENCE_MS; lines.length === 0 && Date.now() < deadline; ) await sleep(20);
    expect(lines).toEqual(['site1/gate-a open: ok']);
  } finally {
    stopBridge();
    await bridgeClient.endAsync(true);
    await ha.endAsync(true);
  }
});

test('a command whose nonce cannot be written to the replay cache is refused and moves nothing', async () => {
  // a directory where the cache's temp file goes makes the atomic write fail, as a full or read-only disk would
  const blocker = join(dir, 'cloud', 'replay-cache.json.tmp');
  for (const deadline = Date.now() + PATIENCE_MS; door.snapshot().relay !== 'locked' && Date.now() < deadline; ) await sleep(20);
  const unlocksBefore = bus.since(0).filter((e) => e.type === 'door.unlocked').length;
  mkdirSync(blocker);
  try {
    expect(await send('open')).toMatchObject({ ok: false, reason: 'failed', detail: expect.stringMatching(/cannot record the nonce/) });
    await waitEvent((e) => e.type === 'remote.failed' && e.reason === 'open');
    expect(door.snapshot().relay).toBe('locked');
    expect(bus.since(0).filter((e) => e.type === 'door.unlocked').length).toBe(unlocksBefore);
  } finally {
    rmSync(blocker, { recursive: true });
  }
});

test('events are scrubbed of anything personal that an emitter might slip in', async () => {
  const uid = '04C0FFEE123456';
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
  const event = bus.emit({ type: 'card.presented', reason: 'test', data: { uid, cardHash: hashCardUid(siteKey, uid), nested: { template: Array.from({ length: 16 }, (_, i) => i / 7), image: jpeg }, embedding: new Float32Array([0.5, 0.25]) } });
  const published = await capture.waitFor((m) => m.topic === topics.events && m.payload.toString().includes(event.id));
  const text = published.payload.toString('latin1');
  expect(text).not.toContain(uid);
  expect(published.payload.includes(jpeg.subarray(0, 3))).toBe(false);
  expect(text).not.toContain(String(1 / 7));
  expect(JSON.parse(text).data).toEqual({ uid: '[removed]', cardHash: hashCardUid(siteKey, uid), nested: { template: '[removed]', image: '[removed]' }, embedding: '[removed]' });
});

test('privacy: nothing the gate published in this session carries a raw UID or the face template', () => {
  const fromGate = capture.messages.filter((m) => !m.topic.endsWith('/cmd') && !m.topic.endsWith('/credentials'));
  expect(fromGate.some((m) => m.topic === topics.cmdResult)).toBe(true);
  const bytes = Buffer.concat(fromGate.map((m) => m.payload));
  const template = Buffer.from(new Float32Array(128).fill(0.25).buffer);
  for (const uid of ['04A1B2C3D4E5F6', '04112233445566', '04998877665544']) {
    expect(bytes.toString('latin1').toUpperCase()).not.toContain(uid);
    expect(bytes.includes(Buffer.from(uid, 'hex'))).toBe(false);
  }
  expect(bytes.includes(template.subarray(0, 32))).toBe(false);
  expect(bytes.toString('latin1')).not.toContain(template.subarray(0, 30).toString('base64'));
  expect(bytes.toString('latin1')).not.toMatch(/0\.25,0\.25/);
});
