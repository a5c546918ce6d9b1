import { z } from 'zod';

/**
 * What the gate keeps about a resident. Deliberately no name, phone or flat number: the gate only needs
 * to know whether a credential may open the door now, and the operator's own register maps the
 * pseudonymous id to a person.
 */
const isoTime = z.iso.datetime({ offset: true });
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 00:00 to 23:59');

export const scheduleWindowSchema = z.strictObject({
  /** Days the window starts on, 0 = Sunday … 6 = Saturday, in the schedule's local time. */
  days: z.array(z.number().int().min(0).max(6)).min(1),
  start: hhmm,
  /** Earlier than or equal to `start` means the window runs past midnight into the next day. */
  end: hhmm,
});

export const weeklyScheduleSchema = z.strictObject({
  /** The site's fixed offset from UTC in minutes (east positive); DST is the operator's to adjust. */
  utcOffsetMinutes: z.number().int().min(-14 * 60).max(14 * 60),
  windows: z.array(scheduleWindowSchema).min(1),
});

export const consentRecordSchema = z.strictObject({
  grantedAt: isoTime,
  /** Which version of the privacy notice the person was shown. */
  noticeVersion: z.string().min(1).max(64),
  /** `guardian` is required for residents marked under 14. */
  consentedBy: z.enum(['self', 'guardian']),
  /** The operator's reference for the guardian (e.g. another resident id or a paper form number), never a name. */
  guardianRef: z.string().min(1).max(64).optional(),
});

export const consentEventSchema = z.strictObject({
  at: isoTime,
  action: z.enum(['granted', 'withdrawn']),
  noticeVersion: z.string().optional(),
  consentedBy: z.enum(['self', 'guardian']).optional(),
});

export const cardRecordSchema = z.strictObject({
  /** HMAC-SHA256(site key, normalised UID), hex. The UID itself is never stored. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  addedAt: isoTime,
});

export const residentSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  createdAt: isoTime,
  validFrom: isoTime.nullable(),
  validUntil: isoTime.nullable(),
  schedule: weeklyScheduleSchema.nullable(),
  under14: z.boolean(),
  revokedAt: isoTime.nullable(),
  cards: z.array(cardRecordSchema),
  consent: consentRecordSchema.nullable(),
  consentHistory: z.array(consentEventSchema),
  /** That a template exists and when it was last matched; the template itself is in the template file. */
  face: z.strictObject({ enrolledAt: isoTime, lastUsedAt: isoTime.nullable() }).nullable(),
});

export const deletionReceiptSchema = z.strictObject({
  kind: z.literal('postern.deletion-receipt'),
  version: z.literal(1),
  /** Base64 Ed25519 public key of the gate that deleted, so the receipt can be checked offline. */
  gatePublicKey: z.string(),
  residentId: z.string(),
  what: z.enum(['face-template']),
  why: z.enum(['consent-withdrawn', 'resident-revoked', 'retention-expired', 'operator-request']),
  deletedAt: isoTime,
  /** SHA-256 of the deleted ciphertext: proves which template went without keeping any of it. */
  ciphertextSha256: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z.string(),
});

export const mainFileSchema = z.strictObject({
  schema: z.number().int(),
  /** Version of the credential set last applied from the cloud (0 = only local changes so far). */
  credentialVersion: z.number().int().min(0),
  residents: z.record(z.string(), residentSchema),
  receipts: z.array(deletionReceiptSchema),
});

export const templateRecordSchema = z.strictObject({
  nonce: z.string(),
  box: z.string(),
  dims: z.number().int().positive(),
  enrolledAt: isoTime,
});

export const templateFileSchema = z.strictObject({
  schema: z.number().int(),
  templates: z.record(z.string(), templateRecordSchema),
});

export type ScheduleWindow = z.infer<typeof scheduleWindowSchema>;
export type WeeklySchedule = z.infer<typeof weeklyScheduleSchema>;
export type ConsentRecord = z.infer<typeof consentRecordSchema>;
export type ConsentEvent = z.infer<typeof consentEventSchema>;
export type Resident = z.infer<typeof residentSchema>;
export type DeletionReceipt = z.infer<typeof deletionReceiptSchema>;
export type MainFile = z.infer<typeof mainFileSchema>;
export type TemplateRecord = z.infer<typeof templateRecordSchema>;
export type TemplateFile = z.infer<typeof templateFileSchema>;

/** A resident as first stored: no cards, no consent, no template; `fields` sets what the caller knows. */
export function newResident(id: string, createdAt: string, fields: Partial<Omit<Resident, 'id' | 'createdAt'>> = {}): Resident {
  return {
    id,
    createdAt,
    validFrom: null,
    validUntil: null,
    schedule: null,
    under14: false,
    revokedAt: null,
    cards: [],
    consent: null,
    consentHistory: [],
    face: null,
    ...fields,
  };
}
