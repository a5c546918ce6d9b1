import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { accessSchema } from '../../firmware/access/config';
import { policyFromConfig } from '../../firmware/access/policy';
import { AccessService } from '../../firmware/access/service';
import { cardsSchema } from '../../firmware/cards/config';
import { CardReaderService } from '../../firmware/cards/reader-service';
import { DoorController } from '../../firmware/door/controller';
import { EventBus, type GateEvent } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { GateStore } from '../../firmware/store/store';
import { PATIENCE_MS } from '../helpers/patience';

/** The whole card path on real components: emulated PN532 → driver → reader → access decision on the store → door. */
describe('a tapped card at the door', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-card-access-'));
  const bus = new EventBus();
  const events: GateEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const gpio = new SimGpioBackend();
  const relay = gpio.output('relay', { pin: 17, activeLow: false, initial: false });
  const door = new DoorController({ relay }, {}, { pulseMs: 200, heldOpenMs: 15_000, forcedGraceMs: 1000, relockOnClose: true }, 'fail-secure', bus);
  const store = GateStore.open({ dir, templateKey: randomBytes(32) });
  const access = new AccessService({ store, door, bus, policy: policyFromConfig(accessSchema.parse({})) });
  const emulator = new Pn532Emulator();
  const health = new MethodHealth();
  const reader = new CardReaderService({
    transport: emulator,
    bus,
    log: createLogger('silent'),
    health,
    siteKey: randomBytes(32),
    config: cardsSchema.parse({ pollIntervalMs: 5, passiveActivationRetries: 2 }),
  });
  reader.onCard((hash) => access.presentCard(hash));

  const next = (type: string, from: number) =>
    new Promise<GateEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event`)), PATIENCE_MS);
      const check = () => {
        const found = events.slice(from).find((e) => e.type === type);
        if (!found) return;
        clearTimeout(timer);
        off();
        resolve(found);
      };
      const off = bus.subscribe(check);
      check();
    });

  // A tap is short: the reader must be polling before the first one.
  beforeAll(async () => {
    reader.start();
    for (const deadline = Date.now() + PATIENCE_MS; health.get('card') !== 'ok' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
  });
  afterAll(async () => {
    await reader.stop();
    door.stop();
    gpio.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a card enrolled through nextTap opens the door; an unknown card is denied with a reason', async () => {
    const resident = store.addResident({ id: 'r-0001' });
    const enrol = reader.nextTap(PATIENCE_MS);
    void emulator.tap('04A1B2C3D4E5F6', 100);
    const hash = await enrol;
    store.addCard(resident.id, hash);
    expect(relay.active).toBe(false); // enrolling the card did not open the door
    await next('card.removed', 0);

    let from = events.length;
    void emulator.tap('04A1B2C3D4E5F6', 100);
    expect(await next('access.granted', from)).toMatchObject({ data: { residentId: 'r-0001', credential: hash } });
    expect(relay.active).toBe(true);
    await next('door.locked', from);

    from = events.length;
    void emulator.tap('DEADBEEF', 100);
    const denied = await next('access.denied', from);
    expect(denied.reason).toBe('unknown');
    expect(relay.active).toBe(false);
  });
});
