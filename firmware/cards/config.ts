import { z } from 'zod';
import { parseIsoTime } from '../store/iso-time';

const int = (min: number, max: number, dflt: number, unit: string) =>
  z
    .number()
    .int(`must be a whole number of ${unit}`)
    .min(min, `must be at least ${min} ${unit}`)
    .max(max, `must be at most ${max} ${unit}`)
    .default(dflt);

/**
 * The `cards` section: the PN532 on I2C. Defaults suit a PN532 board on /dev/i2c-1 with its address
 * jumpers in I2C mode; the bus number and IRQ pin are the only settings an installer usually touches.
 */
export const cardsSchema = z
  .strictObject({
    /** N in /dev/i2c-N; 1 is the Pi's header pins 3 (SDA) and 5 (SCL). */
    i2cBus: int(0, 255, 1, 'bus numbers'),
    /** 7-bit address; a PN532 answers at 0x24 (36). */
    address: z.number().int().min(0x03, 'must be a 7-bit I2C address, 3..119').max(0x77, 'must be a 7-bit I2C address, 3..119').default(0x24),
    /** BCM pin wired to the PN532's IRQ (active low). Without it the driver polls the status byte. */
    irqPin: z.number().int().min(0, 'must be a BCM pin number 0..53').max(53, 'must be a BCM pin number 0..53').optional(),
    /** Pause between polls of the field. */
    pollIntervalMs: int(0, 1000, 10, 'ms'),
    /**
     * MxRtyPassiveActivation: how many more activation attempts one poll makes before reporting an empty
     * field. 255 would make a poll wait for ever for a card, so it is not allowed.
     */
    passiveActivationRetries: int(0, 254, 8, 'retries (255 means retry for ever, which would hang each poll)'),
    /** Empty polls in a row before a present card counts as removed; rides out a card at the edge of the field. */
    removeAfterMisses: int(1, 50, 2, 'polls'),
    /** Pause between status-byte reads while waiting for an answer (no IRQ line): latency against bus and CPU load. */
    statusPollMs: int(1, 50, 2, 'ms'),
    ackTimeoutMs: int(5, 1000, 30, 'ms'),
    /** Must cover a whole poll with an empty field: (passiveActivationRetries + 1) activation attempts. */
    responseTimeoutMs: int(50, 10_000, 1000, 'ms'),
    /**
     * uid: a card is its UID (any card with the same UID opens: clonable). secure: only cards that pass AES
     * authentication (DESFire EV2/EV3, NTAG 424 DNA issued for this site). both: migration, secure cards
     * authenticated and UID-only cards still accepted, until `uidUntil` when given.
     */
    mode: z.enum(['uid', 'secure', 'both']).default('uid'),
    /** In `both` mode, the moment UID-only cards stop opening (ISO-8601; a date alone means its start, UTC). */
    uidUntil: z
      .string()
      .superRefine((v, ctx) => {
        const parsed = parseIsoTime(v);
        if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      })
      .optional(),
    /** The card key version: cards are issued with it, and its master (card-master-v<N>.key) must be in keysDir. */
    keyVersion: z.number().int('must be a whole number').min(1, 'key versions are 1..255').max(255, 'key versions are 1..255').default(1),
    /** Older key versions still accepted while cards are rekeyed. Leave empty after a gate is lost or stolen. */
    acceptOldKeyVersions: z.array(z.number().int().min(1, 'key versions are 1..255').max(255, 'key versions are 1..255')).max(8, 'at most 8 old key versions').default([]),
    /** A whole secure transaction (select, authentications) must end within this; otherwise no grant. */
    secureTimeoutMs: int(50, 5000, 500, 'ms'),
    /** Re-initialisation after a fault waits initialMs, doubling per consecutive failure up to maxMs. */
    backoff: z
      .strictObject({
        initialMs: int(1, 60_000, 50, 'ms'),
        maxMs: int(1, 600_000, 5000, 'ms'),
      })
      .refine((b) => b.maxMs >= b.initialMs, { message: 'maxMs must be at least initialMs' })
      .prefault({}),
  })
  .refine((c) => c.mode === 'both' || c.uidUntil === undefined, { message: 'uidUntil only applies to mode "both"', path: ['uidUntil'] })
  .refine((c) => !c.acceptOldKeyVersions.includes(c.keyVersion), { message: 'must not repeat keyVersion', path: ['acceptOldKeyVersions'] })
  .prefault({});

export type CardsConfig = z.output<typeof cardsSchema>;
