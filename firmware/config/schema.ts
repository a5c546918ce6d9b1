import { z } from 'zod';
import { accessSchema } from '../access/config';
import { auditSchema } from '../audit/config';
import { cardsSchema } from '../cards/config';
import { cloudConfigSchema } from '../cloud/config';
import { consentSchema } from '../consent/config';
import { faceSchema } from '../vision/config';
import { adminSchema, benchSchema, doorSchema, gateSchema, gpioSchema, hardwareSchema } from './base';

/**
 * The whole gate configuration. Each feature owns its section's schema in its own folder; this file only
 * composes them. Every field has a default so that `npm start` with no file runs a simulated gate.
 */
export const configSchema = z.strictObject({
  gate: gateSchema,
  hardware: hardwareSchema,
  /**
   * The store, outbox, audit log and replay cache live here. Relative paths are resolved against the
   * config file's folder; absent, the checkout's own `.postern-sim` (config/load.ts).
   */
  dataDir: z.string().min(1).optional(),
  /** The key files (firmware/keys). Defaults to `<dataDir>/keys`. */
  keysDir: z.string().min(1).optional(),
  door: doorSchema,
  gpio: gpioSchema,
  bench: benchSchema,
  admin: adminSchema,
  // Feature sections are added here, one line each.
  cloud: cloudConfigSchema,
  cards: cardsSchema,
  access: accessSchema,
  consent: consentSchema,
  audit: auditSchema,
  face: faceSchema,
});

export type GateConfigInput = z.input<typeof configSchema>;
export type GateConfig = z.output<typeof configSchema>;
