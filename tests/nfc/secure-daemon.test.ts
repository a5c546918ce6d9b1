import { join } from 'node:path';
import { parseSimTap } from '../../firmware/cards/sim-routes';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { HttpError } from '../../firmware/http/json';
import { loadGateKeys } from '../../firmware/keys/key-files';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';

const UID = '04A1B2C3D4E5F6';

describe('POST /api/sim/nfc bodies (pure)', () => {
  const fixedUid = () => Uint8Array.from(Buffer.from('04000000000001', 'hex'));
  test('plain UID taps as before; secure cards with their keys, random ID and a pull-away point', () => {
    expect(parseSimTap({ uid: UID })).toEqual({ kind: 'uid', uid: UID, holdMs: 500 });
    expect(parseSimTap({ card: 'ntag424' }, fixedUid)).toEqual({ kind: 'card', type: 'ntag424', uid: fixedUid(), keys: 'site', randomUid: false, removeAfterFrames: null, holdMs: 500 });
    expect(parseSimTap({ card: 'desfire', uid: '04:a1:b2:c3:d4:e5:f6', keys: 'clone', randomUid: true, removeAfterFrames: 3, holdMs: 100 })).toMatchObject({ type: 'desfire', keys: 'clone', randomUid: true, removeAfterFrames: 3, holdMs: 100 });
  });
  test.each([
    [{ uid: '12345' }, /uid must be 4, 7 or 10 bytes/],
    [{ uid: UID, keys: 'site' }, /keys needs "card"/],
    [{ card: 'mifare' }, /card="mifare" must be one of desfire, ntag424/],
    [{ card: 'desfire', keys: 'stolen' }, /keys="stolen" must be one of site, clone, other-site, blank/],
    [{ card: 'desfire', uid: 'DEADBEEF' }, /must be 7 bytes of hex/],
    [{ card: 'desfire', removeAfterFrames: -1 }, /removeAfterFrames=-1 must be a whole number of APDUs from 0 to 100/],
    [{ card: 'desfire', randomUid: 'yes' }, /randomUid="yes" must be true or false/],
    [{ card: 'desfire', holdMs: 0 }, /holdMs=0/],
  ])('%j is refused with 400 saying what is allowed, never echoing the UID', (body, message) => {
    let error: unknown;
    try {
      parseSimTap(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect((error as HttpError).message).toMatch(message);
    expect((error as HttpError).message).not.toContain('DEADBEEF');
  });
});

/** The real built daemon in secure mode: the bench presents genuine cards, clones, other sites' cards, pulls one away. */
describe('secure cards through the sim daemon', () => {
  let daemon: StartedDaemon;
  let cardHash: string;
  beforeAll(async () => {
    // The longest transaction time allowed, so that a genuine card is never a timeout because the machine is busy.
    daemon = await startDaemon({ config: { cards: { mode: 'secure', pollIntervalMs: 10, secureTimeoutMs: 5000 }, door: { pulseMs: 500 } } });
    await daemon.waitForMethod('card', 'ok');
    const siteKey = loadGateKeys(join(daemon.dataDir, 'keys'), false).siteKey;
    cardHash = hashCardUid(siteKey, UID);
    expect(await daemon.post('/api/admin/residents', { id: 'r-secure' })).toMatchObject({ status: 200 });
    expect(await daemon.post('/api/admin/residents/r-secure/cards', { uid: UID })).toMatchObject({ status: 200, body: { cardHash } });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  async function decisionFor(body: Record<string, unknown>) {
    const before = (await daemon.events()).at(-1)!.seq;
    // Held long enough for the whole transaction on a busy machine; a card pulled away early is its own case.
    const res = await daemon.post('/api/sim/nfc', { uid: UID, holdMs: 2000, ...body });
    expect(res.status).toBe(200);
    const decision = await daemon.waitForEvent((e) => e.seq > before && e.type.startsWith('access.'));
    await daemon.waitForEvent((e) => e.seq > decision.seq && e.type === 'card.removed');
    return decision;
  }

  test('the banner says the mode; genuine DESFire and NTAG 424 DNA open, random ID too, with proof secure', async () => {
    expect(daemon.stderr()).toMatch(/nfc\s+simulated\s+PN532 emulator.*cards: secure, key version 1/);
    for (const body of [{ card: 'desfire' }, { card: 'ntag424' }, { card: 'desfire', randomUid: true }]) {
      expect(await decisionFor(body)).toMatchObject({ type: 'access.granted', data: { residentId: 'r-secure', credential: cardHash, proof: 'secure' } });
    }
  });

  test('a clone, another site\'s card, a plain UID card and a card pulled away are denied card-not-authentic', async () => {
    const outcomes = [];
    for (const body of [{ card: 'desfire', keys: 'clone' }, { card: 'ntag424', keys: 'other-site' }, {}, { card: 'desfire', removeAfterFrames: 2 }]) {
      const e = await decisionFor(body);
      outcomes.push([e.type, e.reason, e.data?.failure]);
    }
    expect(outcomes).toEqual([
      ['access.denied', 'card-not-authentic', 'wrong-key'],
      ['access.denied', 'card-not-authentic', 'wrong-key'],
      ['access.denied', 'card-not-authentic', 'not-a-secure-card'],
      ['access.denied', 'card-not-authentic', 'torn'],
    ]);
    expect(await decisionFor({ card: 'desfire' })).toMatchObject({ type: 'access.granted' });
    const everything = JSON.stringify(daemon.logs) + daemon.stderr() + JSON.stringify(await daemon.events());
    expect(everything).not.toMatch(/04A1B2C3D4E5F6|04:a1:b2/i);
  });

  test('bad bodies are refused with 400', async () => {
    const res = await daemon.post('/api/sim/nfc', { card: 'desfire', keys: 'stolen' });
    expect(res).toMatchObject({ status: 400, body: { error: expect.stringMatching(/keys="stolen"/) } });
  });
});
