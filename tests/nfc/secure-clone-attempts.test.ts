import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import type { Anticollision, IsoDepCard } from '../../drivers/nfc/cards/iso-dep';
import { Ntag424Dna } from '../../drivers/nfc/cards/ntag424-dna';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { isoSelectByName, NTAG424_DF_NAME } from '../../drivers/nfc/secure/apdu';
import { accessSchema } from '../../firmware/access/config';
import { policyFromConfig } from '../../firmware/access/policy';
import { AccessService } from '../../firmware/access/service';
import { cardsSchema } from '../../firmware/cards/config';
import { CardReaderService } from '../../firmware/cards/reader-service';
import { cardAuthKey, siteReadKey } from '../../firmware/cards/secure/postern-app';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { DoorController } from '../../firmware/door/controller';
import { EventBus, type GateEvent } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { GateStore } from '../../firmware/store/store';
import { PATIENCE_MS } from '../helpers/patience';
import { card, MASTER, SITE, siteKeys, UID } from '../helpers/secure-cards';

const SITE_KEY = Buffer.alloc(32, 9);
const HASH = hashCardUid(SITE_KEY, UID);
const ATTEMPTS = 1000;

/** A genuine card whose answers are kept, in order: what an eavesdropper near the gate would have. */
function recorded(genuine: IsoDepCard): { card: IsoDepCard; shown: () => Anticollision; answers: { apdu: Uint8Array; response: Uint8Array }[] } {
  const answers: { apdu: Uint8Array; response: Uint8Array }[] = [];
  let shown: Anticollision | undefined;
  return {
    answers,
    shown: () => shown!,
    card: {
      model: 'recorded',
      powerUp: () => genuine.powerUp(),
      activate: () => (shown = genuine.activate()),
      exchange(apdu) {
        const out = genuine.exchange(apdu);
        answers.push({ apdu, response: out.response });
        return out;
      },
    },
  };
}

/** Replays recorded answers: in order, or the answer once given to the same instruction. */
function replay(shown: Anticollision, answers: { apdu: Uint8Array; response: Uint8Array }[], byInstruction: boolean): IsoDepCard {
  let n = 0;
  return {
    model: 'replay',
    powerUp: () => undefined,
    activate: () => ((n = 0), shown),
    exchange(apdu) {
      const hit = byInstruction ? answers.find((a) => a.apdu[0] === apdu[0] && a.apdu[1] === apdu[1]) : answers[n++];
      return { response: hit?.response ?? Uint8Array.of(0x6a, 0x82), processingMs: 1 };
    },
  };
}

/** The SUN message a genuine SDM-enabled tag mirrors on a plain read, as a phone would capture it. */
function capturedSun(): Uint8Array {
  const head = Buffer.concat([Buffer.from('0051D1014D5504', 'hex'), Buffer.from('gate.example/t?e=')]);
  const url = Buffer.concat([head, Buffer.alloc(32, 0x30), Buffer.from('&c='), Buffer.alloc(16, 0x30)]);
  const macAt = head.length + 32 + 3;
  const keys = [0, 1, 2, 3, 4].map((i) => ({ key: i === 1 ? cardAuthKey(MASTER, UID, SITE) : i === 2 ? siteReadKey(MASTER, SITE) : new Uint8Array(randomBytes(16)), version: i < 3 ? 2 : 0 }));
  const tag = new Ntag424Dna({ uid: UID, keys, ndef: url, sdm: { metaReadKeyNo: 3, fileReadKeyNo: 4, piccDataOffset: head.length, macInputOffset: macAt, macOffset: macAt } });
  tag.powerUp();
  tag.activate();
  tag.exchange(isoSelectByName(NTAG424_DF_NAME));
  tag.exchange(Uint8Array.from([0x00, 0xa4, 0x00, 0x0c, 0x02, 0xe1, 0x04]));
  const read = tag.exchange(Uint8Array.from([0x00, 0xb0, 0x00, 0x00, 0x00])).response;
  expect(Buffer.from(read).toString('latin1')).toMatch(/\?e=[0-9A-F]{32}&c=[0-9A-F]{16}/);
  return read.subarray(0, -2);
}

/** A tag with the genuine UID whose NDEF file is the captured SUN message, and keys it cannot know. */
function sunClone(sun: Uint8Array, randomId: boolean): IsoDepCard {
  const keys = [0, 1, 2, 3, 4].map((i) => ({ key: new Uint8Array(randomBytes(16)), version: i < 3 ? 2 : 0 }));
  return new Ntag424Dna({ uid: UID, keys, ndef: sun, randomId });
}

/** Answers every APDU with the captured SUN message: a phone that only knows how to replay it. */
function sunParrot(sun: Uint8Array): IsoDepCard {
  const shown = { uid: UID, atqa: Uint8Array.of(0x03, 0x44), sak: 0x20, ats: Uint8Array.of(0x77, 0x77, 0x71, 0x02, 0x80) };
  return { model: 'sun-parrot', powerUp: () => undefined, activate: () => shown, exchange: () => ({ response: Uint8Array.from([...sun, 0x90, 0x00]), processingMs: 1 }) };
}

describe(`${ATTEMPTS} clone attempts at a secure gate`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-clones-'));
  const bus = new EventBus();
  const events: GateEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const gpio = new SimGpioBackend();
  const relay = gpio.output('relay', { pin: 17, activeLow: false, initial: false });
  let unlocks = 0;
  gpio.onChange(() => relay.active && (unlocks += 1));
  const door = new DoorController({ relay }, {}, { pulseMs: 500, heldOpenMs: 15_000, forcedGraceMs: 1000, relockOnClose: true }, 'fail-secure', bus);
  const store = GateStore.open({ dir, templateKey: randomBytes(32) });
  store.addCard(store.addResident({ id: 'r-genuine' }).id, HASH);
  // Limits out of the way: every attempt must be judged by the cryptography, not stopped by the rate limiter.
  const policy = policyFromConfig(accessSchema.parse({ rateLimit: { perCredential: { maxFailures: 10_000 }, perGate: { maxFailures: 10_000 } } }));
  const access = new AccessService({ store, door, bus, policy });
  const emulator = new Pn532Emulator({ byteTimeUs: 0, processingMs: 0, cardActivationMs: 0, activationAttemptMs: 0, cardTimeScale: 0 });
  // The longest transaction time allowed: a genuine answer must never turn into a timeout because the machine is busy.
  const config = cardsSchema.parse({ mode: 'secure', pollIntervalMs: 0, passiveActivationRetries: 1, removeAfterMisses: 1, irqPin: 4, secureTimeoutMs: 5000 });
  const reader = new CardReaderService({ transport: emulator, bus, log: createLogger('silent'), health: new MethodHealth(), siteKey: SITE_KEY, config, cardKeys: siteKeys(), irq: emulator.irq });
  reader.onCard((hash, proof, failure) => access.presentCard(hash, proof, failure));

  const decisions = () => events.filter((e) => e.type.startsWith('access.'));
  /** Woken by the bus rather than polling, so the wait leaves the CPU to the reader. */
  function waitFor(what: string, predicate: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      if (predicate()) return resolve();
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out waiting for ${what}`));
      }, PATIENCE_MS);
      const off = bus.subscribe(() => {
        if (!predicate()) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }
  async function present(model: IsoDepCard): Promise<GateEvent> {
    const before = decisions().length;
    const removedBefore = events.filter((e) => e.type === 'card.removed').length;
    emulator.placeCard(model);
    await waitFor('a decision', () => decisions().length > before);
    emulator.remove();
    await waitFor('the card to leave', () => events.filter((e) => e.type === 'card.removed').length > removedBefore);
    return decisions()[before]!;
  }

  beforeAll(() => reader.start());
  afterAll(async () => {
    await reader.stop();
    door.stop();
    gpio.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('genuine cards open; 0 of the clone attempts do; the genuine card still opens after them', async () => {
    const recordings = [recorded(card('desfire', 'site')), recorded(card('desfire', 'site', { randomId: true })), recorded(card('ntag424', 'site'))];
    for (const r of recordings) expect(await present(r.card)).toMatchObject({ type: 'access.granted', data: { residentId: 'r-genuine', proof: 'secure' } });
    const grantsBefore = decisions().filter((e) => e.type === 'access.granted').length;
    const unlocksBefore = unlocks;
    const sun = capturedSun();

    const attempts: ((i: number) => IsoDepCard)[] = [
      () => card('desfire', 'clone'),
      () => card('ntag424', 'clone'),
      () => card('desfire', 'clone', { randomId: true }),
      () => card('ntag424', 'other-site'),
      () => card('desfire', 'other-site', { randomId: true }),
      (i) => replay(recordings[i % 3]!.shown(), recordings[i % 3]!.answers, false),
      (i) => replay(recordings[i % 3]!.shown(), recordings[i % 3]!.answers, true),
      () => sunClone(sun, false),
      () => sunClone(sun, true),
      () => sunParrot(sun),
    ];
    const failures = new Map<string, number>();
    for (let i = 0; i < ATTEMPTS; i++) {
      const decision = await present(attempts[i % attempts.length]!(Math.floor(i / attempts.length)));
      expect(decision.type).toBe('access.denied');
      const why = `${decision.reason}/${String(decision.data?.failure)}`;
      failures.set(why, (failures.get(why) ?? 0) + 1);
    }
    expect(decisions().filter((e) => e.type === 'access.granted').length).toBe(grantsBefore);
    expect(unlocks).toBe(unlocksBefore);
    // Every attempt was judged by the cryptography or the shape of the answers, none by the rate limiter (a replay
    // that answers a SELECT with another SELECT's "not found" can also pass for no Postern card at all).
    for (const why of failures.keys()) expect(['card-not-authentic/bad-response', 'card-not-authentic/not-a-secure-card', 'card-not-authentic/wrong-key']).toContain(why);
    expect(failures.get('card-not-authentic/wrong-key')).toBeGreaterThan(400);
    expect(failures.get('card-not-authentic/bad-response')).toBeGreaterThanOrEqual(100);
    expect([...failures.values()].reduce((a, b) => a + b, 0)).toBe(ATTEMPTS);

    expect(await present(card('ntag424', 'site', { randomId: true }))).toMatchObject({ type: 'access.granted', data: { residentId: 'r-genuine' } });
  }, 5 * PATIENCE_MS);
});
