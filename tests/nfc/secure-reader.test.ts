import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import type { IsoDepCard } from '../../drivers/nfc/cards/iso-dep';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { accessSchema } from '../../firmware/access/config';
import { policyFromConfig } from '../../firmware/access/policy';
import { AccessService } from '../../firmware/access/service';
import { cardsSchema } from '../../firmware/cards/config';
import { CardReaderService } from '../../firmware/cards/reader-service';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { DoorController } from '../../firmware/door/controller';
import { EventBus, type GateEvent } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { GateStore } from '../../firmware/store/store';
import { PATIENCE_MS } from '../helpers/patience';
import { card, siteKeys, UID } from '../helpers/secure-cards';

const SITE_KEY = Buffer.alloc(32, 3);
const HASH = hashCardUid(SITE_KEY, UID);

/** The whole card path in a secure mode: emulated PN532 and card → driver → reader → access → door. */
function gate(cards: Record<string, unknown>, versions = { current: 2, acceptOld: [1] as number[] }) {
  const dir = mkdtempSync(join(tmpdir(), 'postern-secure-reader-'));
  const bus = new EventBus();
  const events: GateEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const gpio = new SimGpioBackend();
  const relay = gpio.output('relay', { pin: 17, activeLow: false, initial: false });
  const door = new DoorController({ relay }, {}, { pulseMs: 100, heldOpenMs: 15_000, forcedGraceMs: 1000, relockOnClose: true }, 'fail-secure', bus);
  const store = GateStore.open({ dir, templateKey: randomBytes(32) });
  store.addCard(store.addResident({ id: 'r-secure' }).id, HASH);
  store.addCard(store.addResident({ id: 'r-legacy' }).id, hashCardUid(SITE_KEY, 'CAFEF00D'));
  const access = new AccessService({ store, door, bus, policy: policyFromConfig(accessSchema.parse({})) });
  const emulator = new Pn532Emulator();
  // The longest transaction time allowed, so that a genuine card is never a timeout because the machine is busy.
  const config = cardsSchema.parse({ pollIntervalMs: 5, passiveActivationRetries: 2, secureTimeoutMs: 5000, ...cards });
  const reader = new CardReaderService({ transport: emulator, bus, log: createLogger('debug', sink), health: new MethodHealth(), siteKey: SITE_KEY, config, cardKeys: siteKeys(versions) });
  reader.onCard((hash, proof, failure) => access.presentCard(hash, proof, failure));
  reader.start();
  const decisions = () => events.filter((e) => e.type.startsWith('access.'));
  const removals = () => events.filter((e) => e.type === 'card.removed').length;
  /** Holds the card until the reader decided, then takes it away and waits until the reader has seen it leave. */
  async function tap(model: IsoDepCard | string, options: { leaveAfterExchanges?: number } = {}): Promise<GateEvent> {
    const before = decisions().length;
    const removedBefore = removals();
    if (typeof model === 'string') emulator.place(model);
    else emulator.placeCard(model, options);
    await waitFor('a decision', () => decisions().length > before);
    emulator.remove();
    await waitFor('the card to leave', () => removals() > removedBefore);
    return decisions()[before]!;
  }
  return {
    emulator,
    events,
    logLines,
    relay,
    reader,
    tap,
    decisions,
    async stop() {
      await reader.stop();
      door.stop();
      gpio.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = PATIENCE_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let current: ReturnType<typeof gate> | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('secure mode at the door', () => {
  test('a genuine DESFire and NTAG 424 DNA open, with proof "secure"; a card held in the field is authenticated once', async () => {
    const g = (current = gate({ mode: 'secure' }));
    for (const type of ['desfire', 'ntag424'] as const) {
      expect(await g.tap(card(type, 'site'))).toMatchObject({ type: 'access.granted', data: { residentId: 'r-secure', credential: HASH, proof: 'secure' } });
    }
    g.emulator.placeCard(card('desfire', 'site', { randomId: true }));
    await waitFor('granted', () => g.decisions().length === 3);
    const exchanges = g.emulator.exchanges;
    const polls = g.emulator.commandCount;
    await waitFor('ten more polls', () => g.emulator.commandCount >= polls + 10);
    expect(g.emulator.exchanges).toBe(exchanges);
    expect(g.decisions()).toHaveLength(3);
    expect(g.events.filter((e) => e.type === 'card.presented').map((e) => e.data)).toEqual(Array(3).fill({ card: HASH, proof: 'secure' }));
    const everything = JSON.stringify(g.events) + g.logLines.join('');
    expect(everything).not.toMatch(/04A1B2C3D4E5F6/i);
  });

  test('a clone, another site\'s card, a UID-only card: card-not-authentic, counted apart from the genuine card, which still opens', async () => {
    const g = (current = gate({ mode: 'secure' }));
    const denied = [await g.tap(card('desfire', 'clone')), await g.tap(card('ntag424', 'other-site')), await g.tap('04A1B2C3D4E5F6')];
    expect(denied.map((e) => [e.type, e.reason, e.data?.failure, e.data?.proof])).toEqual([
      ['access.denied', 'card-not-authentic', 'wrong-key', 'failed'],
      ['access.denied', 'card-not-authentic', 'wrong-key', 'failed'],
      ['access.denied', 'card-not-authentic', 'not-a-secure-card', 'failed'],
    ]);
    // The clone showed the genuine card's UID: the denial names whose card it imitates.
    expect(denied[0]!.data).toMatchObject({ credential: HASH, residentId: 'r-secure' });
    expect(g.relay.active).toBe(false);
    // Two more clone taps reach the per-credential limit (5 a minute) for the clone only.
    await g.tap(card('desfire', 'clone'));
    await g.tap(card('desfire', 'clone'));
    expect((await g.tap(card('desfire', 'clone'))).reason).toBe('rate-limited');
    expect(await g.tap(card('desfire', 'site'))).toMatchObject({ type: 'access.granted', data: { proof: 'secure' } });
  });

  test('pulled away mid-authentication: no grant, and the next tap of the same card opens cleanly', async () => {
    const g = (current = gate({ mode: 'secure' }));
    for (const leave of [0, 1, 2]) {
      expect(await g.tap(card('desfire', 'site'), { leaveAfterExchanges: leave })).toMatchObject({ type: 'access.denied', reason: 'card-not-authentic', data: { failure: 'torn' } });
    }
    expect(g.relay.active).toBe(false);
    expect(await g.tap(card('desfire', 'site'))).toMatchObject({ type: 'access.granted' });
  });

  test('a card too slow for secureTimeoutMs: timeout, no grant; the reader stays healthy and the next card opens', async () => {
    // Slow by seconds against a limit of 2 s: a genuine card stays well inside it even on a busy machine.
    const g = (current = gate({ mode: 'secure', secureTimeoutMs: 2000 }));
    const genuine = card('desfire', 'site');
    const slow: IsoDepCard = { model: 'slow', powerUp: () => genuine.powerUp(), activate: () => genuine.activate(), exchange: (a) => ({ ...genuine.exchange(a), processingMs: 1500 }) };
    expect(await g.tap(slow)).toMatchObject({ type: 'access.denied', reason: 'card-not-authentic', data: { failure: 'timeout' } });
    expect(await g.tap(card('desfire', 'site'))).toMatchObject({ type: 'access.granted' });
  });

  test('a retired key version is refused; enrolment takes only authentic cards', async () => {
    const g = (current = gate({ mode: 'secure', keyVersion: 2 }, { current: 2, acceptOld: [] }));
    expect(await g.tap(card('ntag424', 'site', { keyVersion: 1 }))).toMatchObject({ reason: 'card-not-authentic', data: { failure: 'retired-key' } });
    const enrol = g.reader.nextTap(PATIENCE_MS);
    g.emulator.placeCard(card('desfire', 'site', { randomId: true }));
    await expect(enrol).resolves.toBe(HASH);
    g.emulator.remove();
    await waitFor('left', () => g.events.some((e) => e.type === 'card.removed'));
    const refused = g.reader.nextTap(PATIENCE_MS);
    g.emulator.placeCard(card('desfire', 'clone'));
    await expect(refused).rejects.toThrow(/not authentic \(wrong-key\)/);
  });
});

describe('both mode (migration)', () => {
  test('UID-only cards open with proof "uid", secure cards with "secure", a failing Postern card never falls back to its UID', async () => {
    const g = (current = gate({ mode: 'both' }));
    expect(await g.tap('CAFEF00D')).toMatchObject({ type: 'access.granted', data: { residentId: 'r-legacy', proof: 'uid' } });
    expect(await g.tap(card('ntag424', 'site'))).toMatchObject({ type: 'access.granted', data: { residentId: 'r-secure', proof: 'secure' } });
    expect(await g.tap(card('desfire', 'clone'))).toMatchObject({ type: 'access.denied', reason: 'card-not-authentic' });
    // A DESFire never issued (no Postern application) counts as a UID card while UID cards are accepted.
    expect(await g.tap(card('desfire', 'blank'))).toMatchObject({ type: 'access.granted', data: { residentId: 'r-secure', proof: 'uid' } });
  });

  test('after uidUntil, UID-only cards are refused as uid-cards-ended', async () => {
    const g = (current = gate({ mode: 'both', uidUntil: '2020-01-01' }));
    expect(await g.tap('CAFEF00D')).toMatchObject({ type: 'access.denied', reason: 'card-not-authentic', data: { failure: 'uid-cards-ended' } });
    expect(await g.tap(card('desfire', 'site'))).toMatchObject({ type: 'access.granted' });
  });
});
