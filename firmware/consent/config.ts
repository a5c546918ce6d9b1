import { z } from 'zod';

/** The `consent` section of the gate config. */
export const consentSchema = z
  .strictObject({
    /** A face template not matched for this many days is deleted (with a receipt). */
    retentionDays: z.number().int().min(1).max(3650).default(180),
    /** How often the retention sweep runs. */
    sweepIntervalMinutes: z.number().int().min(1).max(24 * 60).default(60),
  })
  .prefault({});

export type ConsentConfig = z.output<typeof consentSchema>;
