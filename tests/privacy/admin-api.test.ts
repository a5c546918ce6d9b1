import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openGateGpio } from '../../drivers/gpio';
import { startPrivacyCore, type PrivacyCore } from '../../firmware/admin/start';
import { startCardReader, type StartedCardReader } from '../../firmware/cards/start';
import { ConfigError, parseConfig } from '../../firmware/config/load';
import { verifyReceipt } from '../../firmware/consent/receipt';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { doorOnGpio, relayActiveFor, type DoorController } from '../../firmware/door/controller';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { loadGateKeys, type GateKeys } from '../../firmware/keys/key-files';
import { PATIENCE_MS } from '../helpers/patience';

interface Gate {
  dir: string;
  socket: string;
  core: PrivacyCore;
  cards: StartedCardReader;
  door: DoorController;
  bus: EventBus;
  keys: GateKeys;
  /** How many tap enrolments have started waiting for a card. */
  tapsAwaited(): number;
  call(method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** The privacy core as the daemon builds it: real door on simulated GPIO, real reader on the PN532 emulator, real socket. */
async function startGate(overrides: Record<string, unknown> = {}): Promise<Gate> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-admin-'));
  const config = parseConfig({ hardware: 'sim', ...overrides });
  const gpio = openGateGpio(config.gpio, 'sim', relayActiveFor('locked', config.door.lockType));
  const bus = new EventBus();
  const door = doorOnGpio(gpio, config.door, bus);
  const log = pino({ level: 'silent' });
  const health = new MethodHealth();
  const keys = loadGateKeys(join(dir, 'keys'), true);
  const cards = await startCardReader({ config: config.cards, mode: 'sim', gpio: gpio.backend, bus, log, health, siteKey: keys.siteKey, bench: null });
  const socket = join(dir, 'admin.sock');
  let tapsAwaited = 0;
  const core = await startPrivacyCore({
    access: config.access,
    consent: config.consent,
    audit: config.audit,
    dataDir: join(dir, 'data'),
    adminSocket: socket,
    keys,
    bus,
    door,
    health,
    log,
    gate: { site: 's', id: 'g' },
    nextTap: (ms) => {
      tapsAwaited++;
      return cards.reader.nextTap(ms);
    },
  });
  cards.reader.onCard((hash) => core.access.presentCard(hash));
  const call = (method: string, path: string, body?: unknown, raw?: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const text = raw ?? (body === undefined ? undefined : JSON.stringify(body));
      const req = request({ socketPath: socket, path: `/api/admin${path}`, method, headers: text ? { 'content-type': 'application/json' } : {} }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      });
      req.on('error', reject);
      req.end(text);
    });
  return {
    dir,
    socket,
    core,
    cards,
    door,
    bus,
    keys,
    tapsAwaited: () => tapsAwaited,
    call,
    async stop() {
      await core.stop();
      await cards.stop();
      door.stop();
      gpio.backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let gate: Gate;
beforeAll(async () => {
  gate = await startGate({ access: { methods: ['card', 'face'] } });
});
afterAll(async () => gate.stop());

const waitFor = async <T>(get: () => T | undefined, ms = PATIENCE_MS): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('admin API over the Unix socket', () => {
  test('the socket is 0660 and status names the gate key and counts', async () => {
    expect(statSync(gate.socket).mode & 0o777).toBe(0o660);
    const { status, body } = await gate.call('GET', '/status');
    expect(status).toBe(200);
    expect(body.gate.publicKey).toBe(Buffer.from(gate.keys.signingPublicKey).toString('base64'));
    expect(body.store).toMatchObject({ residents: 0, templates: 0, credentialVersion: 0 });
    expect(body.door.relay).toBe('locked');
  });

  test('bad requests get errors that name what was wrong', async () => {
    expect(await gate.call('GET', '/nope')).toMatchObject({ status: 404, body: { error: 'no admin route GET /nope' } });
    expect(await gate.call('GET', '/residents/x/revoke')).toMatchObject({ status: 405 });
    expect(await gate.call('POST', '/residents', undefined, '{"id":')).toMatchObject({ status: 400, body: { error: /not valid JSON/ } });
    expect(await gate.call('POST', '/residents', { name: 'Alice' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/name|Unrecognized key/) } });
    expect(await gate.call('POST', '/residents', { validUntil: 'soon' })).toMatchObject({ status: 400, body: { error: /validUntil "soon"/ } });
    expect(await gate.call('POST', '/residents/nobody/consent', { noticeVersion: '1', consentedBy: 'self' })).toMatchObject({ status: 404 });
    expect(await gate.call('POST', '/residents/nobody/consent', { noticeVersion: '1', consentedBy: 'mum' })).toMatchObject({ status: 400, body: { error: /consentedBy/ } });
    expect(await gate.call('GET', '/events?since=-1')).toMatchObject({ status: 400, body: { error: /since=-1/ } });
    expect(await gate.call('GET', '/residents/%E0%A4%A/export')).toMatchObject({ status: 400, body: { error: /percent-encoding/ } });
  });

  test('card enrolment by tap: the reader hands the tap to the API, not to the door', async () => {
    const { body: added } = await gate.call('POST', '/residents', { id: 'tapper' });
    expect(added.resident.id).toBe('tapper');
    const before = gate.bus.lastSeq;
    const awaited = gate.tapsAwaited();
    const pending = gate.call('POST', '/residents/tapper/cards/tap', { timeoutMs: PATIENCE_MS });
    // Tap only once the enrolment waits for it; an earlier tap would be an access attempt.
    await waitFor(() => (gate.tapsAwaited() > awaited ? true : undefined));
    await gate.cards.emulator!.tap('04112233445566', 200);
    const { status, body } = await pending;
    expect(status).toBe(200);
    expect(body.cardHash).toBe(hashCardUid(gate.keys.siteKey, '04112233445566'));
    expect(gate.bus.since(before).some((e) => e.type.startsWith('access.'))).toBe(false);
    // The next tap of the same card (after the reader has seen it go) is an access attempt and opens the door.
    await waitFor(() => (gate.bus.since(before).some((e) => e.type === 'card.removed') ? true : undefined));
    await gate.cards.emulator!.tap('04112233445566', 200);
    const granted = await waitFor(() => gate.bus.since(before).find((e) => e.type === 'access.granted'));
    expect(granted.data).toMatchObject({ residentId: 'tapper', credential: body.cardHash });
  });

  test('tap enrolment times out with 408 when no card comes', async () => {
    await gate.call('POST', '/residents', { id: 'slow' });
    expect(await gate.call('POST', '/residents/slow/cards/tap', { timeoutMs: 1000 })).toMatchObject({ status: 408, body: { error: /no card was tapped within 1 s/ } });
  });

  test('consent, face enrolment, export without template bytes, withdrawal with a verifiable receipt', async () => {
    await gate.call('POST', '/residents', { id: 'kid', under14: true });
    expect(await gate.call('POST', '/residents/kid/consent', { noticeVersion: '3', consentedBy: 'self' })).toMatchObject({ status: 403, body: { error: /under 14/ } });
    expect(gate.core.ledger.enrolTemplate.bind(gate.core.ledger, 'kid', new Float32Array(512).fill(0.5))).toThrow(/no consent/);
    expect(await gate.call('POST', '/residents/kid/consent', { noticeVersion: '3', consentedBy: 'guardian', guardianRef: 'form-9' })).toMatchObject({ status: 200 });
    const embedding = Float32Array.from({ length: 512 }, (_, i) => i / 512);
    gate.core.ledger.enrolTemplate('kid', embedding);

    // A face match from the vision pipeline opens the door while consent holds.
    expect(gate.core.access.presentFace({ residentId: 'kid', score: 0.9 })).toMatchObject({ grant: true });

    const exported = await gate.call('GET', '/residents/kid/export');
    expect(exported.body).toMatchObject({ face: { templateHeld: true }, consent: { current: { consentedBy: 'guardian', noticeVersion: '3' } } });
    const text = JSON.stringify(exported.body);
    const record = JSON.parse(readFileSync(join(gate.dir, 'data', 'templates.json'), 'utf8')).templates.kid;
    expect(text).not.toContain(record.box);
    expect(text).not.toContain(Buffer.from(embedding.buffer).toString('base64').slice(0, 40));

    const { body } = await gate.call('POST', '/residents/kid/consent/withdraw', {});
    expect(verifyReceipt(body.receipt, gate.keys.signingPublicKey)).toMatchObject({ valid: true });
    expect(gate.core.store.loadTemplates().find((t) => t.residentId === 'kid')).toBeUndefined();
    expect(gate.core.access.presentFace({ residentId: 'kid', score: 0.9 })).toMatchObject({ grant: false, reason: 'no-consent' });
    expect(await gate.call('POST', '/residents/kid/face/delete', {})).toMatchObject({ status: 404, body: { error: /no face template/ } });
    expect((await gate.call('GET', '/audit/verify')).body).toMatchObject({ ok: true });
  });

  test('other modules can add routes, and a route cannot be registered twice', async () => {
    gate.core.admin.route('POST', '/face/enrol', (req) => ({ got: (req.body as { residentId: string }).residentId }));
    expect(await gate.call('POST', '/face/enrol', { residentId: 'r' })).toMatchObject({ status: 200, body: { got: 'r' } });
    expect(() => gate.core.admin.route('POST', '/face/enrol', () => null)).toThrow(/registered twice/);
  });
});

describe('access service at the door', () => {
  test('lockdown refuses a valid card; repeated unknown cards become rate-limited', async () => {
    const { body } = await gate.call('POST', '/residents', { id: 'lock-test' });
    expect(body.resident.id).toBe('lock-test');
    const { body: card } = await gate.call('POST', '/residents/lock-test/cards', { uid: '04AABBCCDDEEFF' });
    gate.door.setMode('lockdown', 'test');
    expect(gate.core.access.presentCard(card.cardHash)).toMatchObject({ grant: false, reason: 'lockdown' });
    gate.door.setMode('normal', 'test');
    const stranger = 'f'.repeat(64);
    const reasons = Array.from({ length: 7 }, () => (gate.core.access.presentCard(stranger) as { reason: string }).reason);
    expect(reasons).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'rate-limited', 'rate-limited']);
    expect(gate.core.access.presentCard(card.cardHash)).toMatchObject({ grant: true });
  });
});

describe('credential sync (the cloud module shapes)', () => {
  test('deltas apply on the right version only; a full set replaces every card', () => {
    const sync = gate.core.credentials;
    const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(64)) as [string, string, string];
    const v = sync.version();
    expect(() => sync.applyDelta({ from: v + 1, to: v + 2, add: [], remove: [] })).toThrow(/based on version/);
    expect(() => sync.applyDelta({ from: v, to: v + 1, add: [{ cardHash: '04AABBCCDD', residentId: 'x' }], remove: [] })).toThrow(/raw UIDs are never accepted/);
    sync.applyDelta({ from: v, to: v + 1, add: [{ cardHash: a, residentId: 'cloud-1' }, { cardHash: b, residentId: 'cloud-2' }], remove: [] });
    expect(gate.core.store.residentByCard(a)?.id).toBe('cloud-1');
    sync.applyDelta({ from: v + 1, to: v + 2, add: [{ cardHash: b, residentId: 'cloud-1' }], remove: [a] });
    expect(gate.core.store.residentByCard(a)).toBeUndefined();
    expect(gate.core.store.getResident('cloud-1')?.cards.map((x) => x.hash)).toEqual([b]);
    expect(gate.core.store.getResident('cloud-2')?.cards).toEqual([]);
    sync.replaceAll({ version: 10, credentials: [{ cardHash: c, residentId: 'cloud-2' }] });
    expect(sync.version()).toBe(10);
    expect(gate.core.store.residentByCard(b)).toBeUndefined();
    expect(gate.core.store.residentByCard(c)?.id).toBe('cloud-2');
  });
});

test('the gate config refuses a face-only policy at load, naming the key', () => {
  expect(() => parseConfig({ access: { methods: ['face'] } })).toThrow(ConfigError);
  expect(() => parseConfig({ access: { methods: ['face'] } })).toThrow(/access\.methods = \["face"\]: allows face but no non-face method/);
  expect(parseConfig({}).access.methods).toEqual(['card']);
});
