import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import { CARD_PROCESSING_MS, ETU_US, FDT_MIN_US } from '../../drivers/nfc/air-timing';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { accessSchema } from '../../firmware/access/config';
import { policyFromConfig } from '../../firmware/access/policy';
import { AccessService } from '../../firmware/access/service';
import { cardsSchema } from '../../firmware/cards/config';
import { CardReaderService } from '../../firmware/cards/reader-service';
import { simulatedCard, type SimCardType } from '../../firmware/cards/secure/sim-cards';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { DoorController } from '../../firmware/door/controller';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { keyRingFrom } from '../../firmware/keys/card-keys';
import { GateStore } from '../../firmware/store/store';
import { percentile, round } from './stats';

export interface TapBenchOptions {
  taps: number;
  /** Use the PN532 IRQ line instead of polling the status byte. */
  irq: boolean;
  /** uid: a card is its UID; secure: AES authentication of a DESFire EV3 or NTAG 424 DNA (cards.mode). */
  mode: 'uid' | 'secure';
  card: SimCardType;
  /** The card shows a random ID: the gate learns its real UID in a first authentication. */
  randomUid: boolean;
}

export interface TapBenchResult {
  taps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  irq: boolean;
  mode: 'uid' | 'secure';
  card: SimCardType | 'uid-only';
  randomUid: boolean;
  /** Per tap, card entering the field → relay (polls of the arriving card included), median over the taps. */
  pn532CommandsPerTap: number;
  apdusPerTap: number;
  i2cBytesPerTap: number;
  pollIntervalMs: number;
  passiveActivationRetries: number;
  i2cByteUs: number;
  /** The emulator's modelled RF timings: one empty activation attempt, and activating a card in the field. */
  activationAttemptMs: number;
  cardActivationMs: number;
  /** ISO/IEC 14443-4 at 106 kbit/s: bit time, minimum frame delay; assumed card processing per APDU. */
  etuUs: number;
  fdtUs: number;
  cardProcessingMs: { plain: number; crypto: number };
}

const I2C_BYTE_US = 90;
const ACTIVATION_ATTEMPT_MS = 1.5;
const CARD_ACTIVATION_MS = 3;
const UID = '04A1B2C3D4E5F6';
const SITE = 'bench-site';

/**
 * Card entering the field → relay energised, through the whole card path with the daemon's default
 * settings: PN532 emulator (100 kHz bus time and, for secure cards, ISO/IEC 14443-4 air time at 106 kbit/s
 * modelled) → PN532 driver → reader service (secure transaction in secure mode) → access decision against
 * the real store → door controller → simulated relay line. Cards arrive at a random moment relative to the
 * poll loop, so polling delay is included. Run: `npm run bench -- tap [--taps N] [--irq true]
 * [--mode secure [--card desfire|ntag424] [--random-uid true]]`.
 */
export async function runTapBench(options: TapBenchOptions): Promise<TapBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-tap-bench-'));
  const siteKey = randomBytes(32);
  const cardMaster = new Uint8Array(randomBytes(16));
  const secure = options.mode === 'secure';
  const config = cardsSchema.parse({ ...(options.irq ? { irqPin: 4 } : {}), ...(secure ? { mode: 'secure' } : {}) });
  const uidBytes = Uint8Array.from(Buffer.from(UID, 'hex'));
  const present = () =>
    secure
      ? emulator.placeCard(simulatedCard({ type: options.card, uid: uidBytes, keys: 'site', randomId: options.randomUid, cardMaster, keyVersion: 1, site: SITE }))
      : emulator.place(UID);
  const bus = new EventBus();
  const log = createLogger('warn');
  const gpio = new SimGpioBackend();
  const relay = gpio.output('relay', { pin: 17, activeLow: false, initial: false });
  const door = new DoorController({ relay }, {}, { pulseMs: 30, heldOpenMs: 15_000, forcedGraceMs: 1000, relockOnClose: true }, 'fail-secure', bus);
  const store = GateStore.open({ dir, templateKey: randomBytes(32) });
  store.addCard(store.addResident({ id: 'bench-resident' }).id, hashCardUid(siteKey, UID));
  const access = new AccessService({ store, door, bus, policy: policyFromConfig(accessSchema.parse({})) });
  const emulator = new Pn532Emulator({ byteTimeUs: I2C_BYTE_US, activationAttemptMs: ACTIVATION_ATTEMPT_MS, cardActivationMs: CARD_ACTIVATION_MS });
  const reader = new CardReaderService({
    transport: emulator,
    bus,
    log,
    health: new MethodHealth(),
    siteKey,
    config,
    ...(options.irq ? { irq: emulator.irq } : {}),
    ...(secure ? { cardKeys: keyRingFrom(new Map([[1, cardMaster]]), { current: 1, acceptOld: [] }, SITE) } : {}),
  });
  reader.onCard((hash) => access.presentCard(hash));

  const waitUntil = (check: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      if (check()) return resolve();
      const offGpio = gpio.onChange(done);
      const offBus = bus.subscribe(done);
      function done(): void {
        if (!check()) return;
        offGpio();
        offBus();
        resolve();
      }
    });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  let removals = 0;
  bus.subscribe((e) => e.type === 'card.removed' && (removals += 1));
  const latencies: number[] = [];
  const commands: number[] = [];
  const apdus: number[] = [];
  const busBytes: number[] = [];
  reader.start();
  try {
    for (let i = 0; i < options.taps; i++) {
      // Arrive at a random phase of the poll cycle.
      await sleep(Math.random() * 40);
      const removedBefore = removals;
      const before = { commands: emulator.commandCount, apdus: emulator.exchanges, bytes: emulator.i2cBytes };
      present();
      await waitUntil(() => relay.active);
      latencies.push(performance.now() - emulator.placedAt!);
      commands.push(emulator.commandCount - before.commands);
      apdus.push(emulator.exchanges - before.apdus);
      busBytes.push(emulator.i2cBytes - before.bytes);
      emulator.remove();
      await waitUntil(() => !relay.active && removals > removedBefore);
    }
  } finally {
    await reader.stop();
    door.stop();
    gpio.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    taps: latencies.length,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    maxMs: round(Math.max(...latencies), 1),
    meanMs: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 1),
    irq: options.irq,
    mode: options.mode,
    card: secure ? options.card : 'uid-only',
    randomUid: secure && options.randomUid,
    pn532CommandsPerTap: percentile(commands, 50),
    apdusPerTap: percentile(apdus, 50),
    i2cBytesPerTap: percentile(busBytes, 50),
    pollIntervalMs: config.pollIntervalMs,
    passiveActivationRetries: config.passiveActivationRetries,
    i2cByteUs: I2C_BYTE_US,
    activationAttemptMs: ACTIVATION_ATTEMPT_MS,
    cardActivationMs: CARD_ACTIVATION_MS,
    etuUs: round(ETU_US, 2),
    fdtUs: round(FDT_MIN_US, 1),
    cardProcessingMs: { ...CARD_PROCESSING_MS },
  };
}
