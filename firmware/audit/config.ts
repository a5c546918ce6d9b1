import { z } from 'zod';

/** The `audit` section of the gate config. */
export const auditSchema = z
  .strictObject({
    /** A segment is closed and a new one started once it grows past this. */
    maxSegmentBytes: z.number().int().min(4096).max(1 << 30).default(1 << 20),
    /** Segments kept; the oldest is deleted when a new one would exceed this. */
    maxSegments: z.number().int().min(2).max(10_000).default(20),
  })
  .prefault({});

export type AuditConfig = z.output<typeof auditSchema>;
