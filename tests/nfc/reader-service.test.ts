import { Writable } from 'node:stream';
import { Pn532Emulator, type Pn532EmulatorOptions } from '../../drivers/nfc/pn532-emulator';
import { CardReaderService } from '../../firmware/cards/reader-service';
import { cardsSchema } from '../../firmware/cards/config';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { EventBus, type GateEvent } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { PATIENCE_MS } from '../helpers/patience';

const SITE_KEY = Buffer.alloc(32, 7);
const UID = '04A1B2C3D4E5F6';
const HASH = hashCardUid(SITE_KEY, UID);

function setup(overrides: Record<string, unknown> = {}, irq = false, emulatorOptions: Pn532EmulatorOptions = {}) {
  const emulator = new Pn532Emulator(emulatorOptions);
  const bus = new EventBus();
  const health = new MethodHealth();
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const config = cardsSchema.parse({
    pollIntervalMs: 5,
    passiveActivationRetries: 2,
    // Short for quick fault cases, but a busy machine stalling the test for a moment must not look like one.
    ackTimeoutMs: 250,
    responseTimeoutMs: 1000,
    backoff: { initialMs: 5, maxMs: 20 },
    ...overrides,
  });
  const service = new CardReaderService({
    transport: emulator,
    bus,
    log: createLogger('debug', sink),
    health,
    siteKey: SITE_KEY,
    config,
    ...(irq ? { irq: emulator.irq } : {}),
  });
  const events: GateEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const healthLog: string[] = [];
  health.onChange((name, status, reason) => name === 'card' && healthLog.push(`${status}:${reason}`));
  return { emulator, bus, health, service, events, logLines, healthLog };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = PATIENCE_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ofType = (events: GateEvent[], type: string) => events.filter((e) => e.type === type);

let running: CardReaderService[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.stop()));
  running = [];
});
function started<T extends { service: CardReaderService }>(ctx: T): T {
  ctx.service.start();
  running.push(ctx.service);
  return ctx;
}

describe('card reader service', () => {
  test('one card.presented per tap, none while the card stays, card.removed when it leaves; hash only', async () => {
    const ctx = started(setup());
    const seen: string[] = [];
    ctx.service.onCard((h) => seen.push(h));
    await waitFor('card ok', () => ctx.health.get('card') === 'ok');
    ctx.emulator.place(UID);
    await waitFor('presented', () => ofType(ctx.events, 'card.presented').length === 1);
    const polls = ctx.emulator.commandCount;
    await waitFor('several more polls', () => ctx.emulator.commandCount >= polls + 5);
    expect(ofType(ctx.events, 'card.presented')).toHaveLength(1);
    ctx.emulator.remove();
    await waitFor('removed', () => ofType(ctx.events, 'card.removed').length === 1);
    ctx.emulator.place(UID);
    await waitFor('second tap', () => ofType(ctx.events, 'card.presented').length === 2);

    expect(seen).toEqual([HASH, HASH]);
    const [presented] = ofType(ctx.events, 'card.presented');
    expect(presented).toMatchObject({ reason: 'tap', data: { card: HASH } });
    expect(ofType(ctx.events, 'card.removed')[0]).toMatchObject({ reason: 'left-field', data: { card: HASH } });
    const everything = JSON.stringify(ctx.events) + ctx.logLines.join('');
    expect(everything).not.toMatch(/04A1B2C3D4E5F6/i);
    expect(everything).not.toMatch(/04:?A1:?B2:?C3/i);
  });

  test('works with the IRQ line instead of status polling', async () => {
    const ctx = started(setup({}, true));
    ctx.emulator.place('DEADBEEF');
    await waitFor('presented', () => ofType(ctx.events, 'card.presented').length === 1);
    expect(ofType(ctx.events, 'card.presented')[0]!.data).toEqual({ card: hashCardUid(SITE_KEY, 'DEADBEEF') });
  });

  test('a phone with random UIDs is refused once per tap, never passed on as a card', async () => {
    const ctx = started(setup());
    const seen: string[] = [];
    ctx.service.onCard((h) => seen.push(h));
    ctx.emulator.placePhone();
    await waitFor('refused', () => ofType(ctx.events, 'card.refused').length === 1);
    const polls = ctx.emulator.commandCount;
    await waitFor('more polls', () => ctx.emulator.commandCount >= polls + 5);
    expect(ofType(ctx.events, 'card.refused')).toEqual([expect.objectContaining({ reason: 'random-uid' })]);
    expect(ofType(ctx.events, 'card.presented')).toHaveLength(0);
    expect(seen).toEqual([]);
  });

  test('a throwing or rejecting access listener does not stop the others or the reader', async () => {
    const ctx = started(setup());
    const seen: string[] = [];
    ctx.service.onCard(() => {
      throw new Error('sync failure');
    });
    ctx.service.onCard(async () => {
      throw new Error('async failure');
    });
    ctx.service.onCard((h) => void seen.push(h));
    ctx.emulator.place(UID);
    await waitFor('listener called', () => seen.length === 1);
    await waitFor('both failures logged', () => ctx.logLines.filter((l) => l.includes('card listener failed')).length === 2);
    ctx.emulator.remove();
    await waitFor('still polling', () => ofType(ctx.events, 'card.removed').length === 1);
  });

  test('nextTap claims the next card for enrolment; access listeners do not see it', async () => {
    const ctx = started(setup());
    const seen: string[] = [];
    ctx.service.onCard((h) => seen.push(h));
    const next = ctx.service.nextTap(PATIENCE_MS);
    ctx.emulator.place(UID);
    await expect(next).resolves.toBe(HASH);
    expect(ofType(ctx.events, 'card.presented')[0]).toMatchObject({ reason: 'enrolment', data: { card: HASH } });
    expect(seen).toEqual([]);
    await expect(ctx.service.nextTap(30)).rejects.toThrow(/no card was presented within 30 ms/);
  });

  test('bus errors: degraded with the errno, back off, re-initialise, ok again; the held card is not re-presented', async () => {
    const ctx = started(setup());
    ctx.emulator.place(UID);
    await waitFor('presented', () => ofType(ctx.events, 'card.presented').length === 1);
    ctx.emulator.faults.busError = { code: 'EREMOTEIO', count: 4 };
    await waitFor('degraded', () => ctx.healthLog.includes('degraded:bus-EREMOTEIO'));
    await waitFor('recovered', () => ctx.health.get('card') === 'ok');
    expect(ctx.healthLog).toEqual(['ok:', 'degraded:bus-EREMOTEIO', 'ok:']);
    // Warned once for the cause; repeats of the same cause only at debug level.
    const [first, ...repeats] = ctx.logLines.filter((l) => l.includes('card reader fault')).map((l) => JSON.parse(l).level as number);
    expect(first).toBe(40);
    expect(repeats.every((level) => level === 20)).toBe(true);
    expect(ofType(ctx.events, 'card.presented')).toHaveLength(1);
    expect(ofType(ctx.events, 'card.removed')).toHaveLength(0);
  });

  test('ETIMEDOUT, a reader that never gets ready, a syntax error and slow answers all degrade and recover', async () => {
    const ctx = started(setup());
    await waitFor('ok', () => ctx.health.get('card') === 'ok');
    ctx.emulator.faults.busError = { code: 'ETIMEDOUT', count: 2 };
    await waitFor('etimedout', () => ctx.healthLog.includes('degraded:bus-ETIMEDOUT'));
    await waitFor('ok again', () => ctx.health.get('card') === 'ok');

    ctx.emulator.faults.neverReady = true;
    await waitFor('no-ack', () => ctx.healthLog.includes('degraded:reader-no-ack'));
    ctx.emulator.faults.neverReady = false;
    await waitFor('ok again', () => ctx.health.get('card') === 'ok');

    ctx.emulator.faults.syntaxError = 1;
    await waitFor('error frame', () => ctx.healthLog.includes('degraded:reader-error-frame'));
    await waitFor('ok again', () => ctx.health.get('card') === 'ok');

    ctx.emulator.faults.slowMs = 3000;
    await waitFor('timeout', () => ctx.healthLog.includes('degraded:reader-timeout'));
    ctx.emulator.faults.slowMs = 0;
    await waitFor('ok again', () => ctx.health.get('card') === 'ok');
    ctx.emulator.place(UID);
    await waitFor('card still works', () => ofType(ctx.events, 'card.presented').length === 1);
  });

  test('an unplugged reader is re-initialised from reset when it comes back', async () => {
    const ctx = started(setup());
    await waitFor('ok', () => ctx.health.get('card') === 'ok');
    ctx.emulator.unplug();
    await waitFor('degraded', () => ctx.health.get('card') === 'degraded');
    expect(ctx.emulator.sam).toBe(0);
    ctx.emulator.plugIn();
    await waitFor('ok again', () => ctx.health.get('card') === 'ok');
    expect(ctx.emulator.sam).toBe(1);
    expect(ctx.emulator.maxPassiveActivationRetries).toBe(2);
    ctx.emulator.place(UID);
    await waitFor('presented', () => ofType(ctx.events, 'card.presented').length === 1);
  });

  test('dropped ACKs and corrupted checksums are absorbed without inventing a card', async () => {
    const ctx = started(setup());
    ctx.emulator.place(UID);
    ctx.emulator.faults.dropAck = 3;
    ctx.emulator.faults.corruptChecksum = 5;
    ctx.emulator.faults.garbage = 5;
    await waitFor('faults used up', () => ctx.emulator.faults.garbage + ctx.emulator.faults.corruptChecksum + ctx.emulator.faults.dropAck === 0);
    await waitFor('presented', () => ofType(ctx.events, 'card.presented').length >= 1);
    await waitFor('ok', () => ctx.health.get('card') === 'ok');
    for (const e of ofType(ctx.events, 'card.presented')) expect(e.data).toEqual({ card: HASH });
    expect(ofType(ctx.events, 'card.presented')).toHaveLength(1);
  });

  test('stop() returns mid-poll without waiting for the poll to end, and fails a pending nextTap', async () => {
    // One poll of an empty field lasts 255 attempts x 40 ms, about 10 s; stop() must abort it, not sit it out.
    const POLL_MS = 255 * 40;
    const ctx = setup({ passiveActivationRetries: 254, responseTimeoutMs: 10_000 }, false, { activationAttemptMs: 40 });
    ctx.service.start();
    await waitFor('polling', () => ctx.emulator.recentCommands.includes(0x4a));
    const pending = ctx.service.nextTap(PATIENCE_MS);
    const t0 = Date.now();
    await ctx.service.stop();
    expect(Date.now() - t0).toBeLessThan(POLL_MS / 2);
    await expect(pending).rejects.toThrow(/stopped/);
  });
});
