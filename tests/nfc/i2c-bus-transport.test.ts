import { openI2cBusTransport } from '../../drivers/nfc/i2c-bus-transport';
import { Pn532, Pn532Error } from '../../drivers/nfc/pn532';
import { CardReaderService } from '../../firmware/cards/reader-service';
import { cardsSchema } from '../../firmware/cards/config';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { PATIENCE_MS } from '../helpers/patience';

/** The real i2c-bus backend on a bus this machine does not have: what a Pi with I2C disabled looks like. */
describe('real i2c-bus transport without the bus', () => {
  const MISSING_BUS = 250;

  test('opens lazily; the driver reports the first transfer as a bus fault with ENOENT', async () => {
    const transport = await openI2cBusTransport(MISSING_BUS);
    const err = await new Pn532(transport, { ackTimeoutMs: 10 }).getFirmwareVersion().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Pn532Error);
    expect(err).toMatchObject({ code: 'bus', busCode: 'ENOENT' });
    await transport.close();
  });

  test('the reader service stays up and reports the card method degraded', async () => {
    const transport = await openI2cBusTransport(MISSING_BUS);
    const health = new MethodHealth();
    const service = new CardReaderService({
      transport,
      bus: new EventBus(),
      log: createLogger('silent'),
      health,
      siteKey: Buffer.alloc(32, 1),
      config: cardsSchema.parse({ i2cBus: MISSING_BUS, backoff: { initialMs: 5, maxMs: 10 } }),
    });
    service.start();
    const until = Date.now() + PATIENCE_MS;
    while (health.get('card') !== 'degraded' && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(health.get('card')).toBe('degraded');
    await new Promise((r) => setTimeout(r, 50)); // several more failed re-initialisations, no crash
    await service.stop();
    await transport.close();
  });
});
