import type { GpioBackend } from '../../drivers/gpio/types';
import { openI2cBusTransport } from '../../drivers/nfc/i2c-bus-transport';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import type { BenchServer } from '../bench/server';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import { cardMasterVersions, keyRingFrom, loadCardMasters, readCardMaster } from '../keys/card-keys';
import type { Logger } from '../log';
import type { CardsConfig } from './config';
import { CardReaderService } from './reader-service';
import type { SiteCardKeys } from './secure/issue';
import { registerSimCardRoutes } from './sim-routes';

export interface CardReaderStartOptions {
  config: CardsConfig;
  mode: 'sim' | 'pi';
  gpio: GpioBackend;
  bus: EventBus;
  log: Logger;
  health: MethodHealth;
  siteKey: Uint8Array;
  bench: BenchServer | null;
  /** Where the card masters are (card-master-v<N>.key), and the site they are diversified for; needed in secure modes. */
  keysDir?: string;
  site?: string;
}

export interface StartedCardReader {
  reader: CardReaderService;
  /** The emulated PN532 in sim mode, null on a Pi. */
  emulator: Pn532Emulator | null;
  /** What this gate can issue and rekey cards with (every card master in its keys folder); null when none. */
  issuingKeys: SiteCardKeys | null;
  /** For the start banner. */
  description: string;
  stop(): Promise<void>;
}

/**
 * Starts the card reader on the real PN532 (/dev/i2c-N, IRQ on a GPIO when configured) or, in sim mode,
 * on the PN532 emulator, which the bench's `POST /api/sim/nfc` taps cards on. Either way the reader
 * speaks the same protocol code to it.
 */
export async function startCardReader(opts: CardReaderStartOptions): Promise<StartedCardReader> {
  const { config, mode } = opts;
  // Secure modes need the card masters; sim mode makes one for the bench's genuine cards whatever the mode.
  const versions = { current: config.keyVersion, acceptOld: config.acceptOldKeyVersions };
  const { keysDir, site } = opts;
  if (config.mode !== 'uid' && (keysDir === undefined || site === undefined)) throw new Error(`cards.mode "${config.mode}" needs the keys folder and the site id`);
  const masters = keysDir !== undefined && (config.mode !== 'uid' || mode === 'sim') ? loadCardMasters(keysDir, versions, mode === 'sim') : null;
  const cardKeys = masters && site !== undefined && config.mode !== 'uid' ? keyRingFrom(masters, versions, site) : undefined;
  const issuingKeys = siteCardKeys(keysDir, site, versions);
  const emulator = mode === 'sim' ? new Pn532Emulator({ address: config.address }) : null;
  const transport = emulator ?? (await openI2cBusTransport(config.i2cBus));
  const irq =
    config.irqPin === undefined ? undefined : emulator ? emulator.irq : opts.gpio.input('nfcIrq', { pin: config.irqPin, activeLow: true, debounceMs: 0 });
  const reader = new CardReaderService({
    transport,
    bus: opts.bus,
    log: opts.log,
    health: opts.health,
    siteKey: opts.siteKey,
    config,
    ...(irq ? { irq } : {}),
    ...(cardKeys ? { cardKeys } : {}),
  });
  if (emulator && opts.bench) {
    const cardMaster = masters?.get(config.keyVersion);
    registerSimCardRoutes(opts.bench, emulator, cardMaster && site !== undefined ? { site, keyVersion: config.keyVersion, cardMaster } : null);
  }
  reader.start();
  const where = `I2C bus ${config.i2cBus} @0x${config.address.toString(16)}, ${config.irqPin === undefined ? 'status polling' : `IRQ on GPIO ${config.irqPin}`}`;
  return {
    reader,
    emulator,
    issuingKeys,
    description: `${emulator ? `PN532 emulator (${config.irqPin === undefined ? 'status polling' : 'IRQ'})` : `PN532 on ${where}`}, cards: ${config.mode === 'uid' ? 'uid' : `${config.mode}, key version ${config.keyVersion}`}`,
    async stop() {
      await reader.stop();
      await transport.close();
    },
  };
}

/**
 * Issuing works in every card mode (a site migrating from UID cards issues before it switches), with every
 * card master present in the keys folder: old ones are needed to rekey cards still on them.
 */
function siteCardKeys(keysDir: string | undefined, site: string | undefined, versions: { current: number; acceptOld: readonly number[] }): SiteCardKeys | null {
  if (keysDir === undefined || site === undefined) return null;
  const present = cardMasterVersions(keysDir);
  if (!present.includes(versions.current)) return null;
  const masters = new Map(present.map((v) => [v, readCardMaster(keysDir, v)]));
  return { site, masters, current: versions.current, ring: keyRingFrom(masters, versions, site) };
}
