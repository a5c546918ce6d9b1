import type { GpioBackend } from '../../drivers/gpio/types';
import { openI2cBusTransport } from '../../drivers/nfc/i2c-bus-transport';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import type { BenchServer } from '../bench/server';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import { HttpError, readJson, sendJson } from '../http/json';
import type { Logger } from '../log';
import type { CardsConfig } from './config';
import { CardReaderService } from './reader-service';

export interface CardReaderStartOptions {
  config: CardsConfig;
  mode: 'sim' | 'pi';
  gpio: GpioBackend;
  bus: EventBus;
  log: Logger;
  health: MethodHealth;
  siteKey: Uint8Array;
  bench: BenchServer | null;
}

export interface StartedCardReader {
  reader: CardReaderService;
  /** The emulated PN532 in sim mode, null on a Pi. */
  emulator: Pn532Emulator | null;
  /** For the start banner. */
  description: string;
  stop(): Promise<void>;
}

const DEFAULT_HOLD_MS = 500;

/**
 * Starts the card reader on the real PN532 (/dev/i2c-N, IRQ on a GPIO when configured) or, in sim mode,
 * on the PN532 emulator, which the bench's `POST /api/sim/nfc` taps cards on. Either way the reader
 * speaks the same protocol code to it.
 */
export async function startCardReader(opts: CardReaderStartOptions): Promise<StartedCardReader> {
  const { config, mode } = opts;
  const emulator = mode === 'sim' ? new Pn532Emulator({ address: config.address }) : null;
  const transport = emulator ?? (await openI2cBusTransport(config.i2cBus));
  const irq =
    config.irqPin === undefined ? undefined : emulator ? emulator.irq : opts.gpio.input('nfcIrq', { pin: config.irqPin, activeLow: true, debounceMs: 0 });
  const reader = new CardReaderService({ transport, bus: opts.bus, log: opts.log, health: opts.health, siteKey: opts.siteKey, config, ...(irq ? { irq } : {}) });
  if (emulator && opts.bench) {
    opts.bench.route('POST', '/api/sim/nfc', async (req, res) => {
      const { uid, holdMs = DEFAULT_HOLD_MS } = await readJson(req);
      // The message does not echo the value: it may be a real card's UID.
      if (typeof uid !== 'string') throw new HttpError(400, 'uid must be a string of 4, 7 or 10 bytes of hex (8, 14 or 20 hex digits)');
      if (typeof holdMs !== 'number' || !Number.isInteger(holdMs) || holdMs < 1 || holdMs > 60_000) {
        throw new HttpError(400, `holdMs=${JSON.stringify(holdMs)} must be a whole number of ms from 1 to 60000`);
      }
      try {
        void emulator.tap(uid, holdMs);
      } catch {
        throw new HttpError(400, 'uid must be 4, 7 or 10 bytes of hex (8, 14 or 20 hex digits)');
      }
      sendJson(res, 200, { ok: true, holdMs });
    });
    // The reader's cable pulled and plugged back in, to see the card method degrade and recover.
    opts.bench.route('POST', '/api/sim/nfc/reader', async (req, res) => {
      const { connected } = await readJson(req);
      if (typeof connected !== 'boolean') throw new HttpError(400, `connected=${JSON.stringify(connected)} must be true or false`);
      if (connected) emulator.plugIn();
      else emulator.unplug();
      sendJson(res, 200, { ok: true, connected });
    });
  }
  reader.start();
  const where = `I2C bus ${config.i2cBus} @0x${config.address.toString(16)}, ${config.irqPin === undefined ? 'status polling' : `IRQ on GPIO ${config.irqPin}`}`;
  return {
    reader,
    emulator,
    description: emulator ? `PN532 emulator (${config.irqPin === undefined ? 'status polling' : 'IRQ'})` : `PN532 on ${where}`,
    async stop() {
      await reader.stop();
      await transport.close();
    },
  };
}
