import { z } from 'zod';
import { topicLevel } from '../config/base';
import { base64Key } from './config';
import { envelopeFields, parseBody, signatureHolds, signChecked, type Envelope, type Failure } from './envelope';
import { SCOPES, type Scope } from './scopes';
import type { GateIdentity } from './topics';

/**
 * An operator certificate (docs/PROTOCOL.md §2a): the site root binds an operator's public key to scopes,
 * gates of one site, a validity window and a serial. It travels as an envelope of purpose `operator-cert`
 * in the `cert` field of the messages that key signs. It names no person: the serial is what events and
 * the audit log record.
 */
export const certificateBody = z
  .object({
    purpose: z.literal('operator-cert'),
    v: z.literal(1),
    serial: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    site: topicLevel,
    /** "*" for every gate of the site, or gate ids of that site. */
    gates: z.union([z.literal('*'), z.array(topicLevel).min(1).max(10_000)]),
    operatorKey: base64Key,
    scopes: z.array(z.enum(SCOPES)).min(1),
    /** Unix milliseconds. */
    notBefore: z.number().int().nonnegative(),
    notAfter: z.number().int().nonnegative(),
  })
  .strict()
  .refine((c) => c.notAfter > c.notBefore, { error: 'must be after notBefore', path: ['notAfter'] });

export type OperatorCertificate = z.output<typeof certificateBody>;
export type CertificateRequest = Omit<OperatorCertificate, 'purpose' | 'v'>;

/** The root signs the body with its fields in this order; a request the gate would refuse is an error naming the field. */
export function issueCertificate(rootSecretKey: Uint8Array, request: CertificateRequest): Envelope {
  const body = {
    purpose: 'operator-cert' as const,
    v: 1 as const,
    serial: request.serial,
    site: request.site,
    gates: request.gates,
    operatorKey: request.operatorKey,
    scopes: [...new Set(request.scopes)],
    notBefore: request.notBefore,
    notAfter: request.notAfter,
  };
  return signChecked('operator-cert', certificateBody, body, rootSecretKey);
}

/** A message signed by a certified key carries its certificate beside the signature (the signature covers the body only). */
export function withCertificate(envelope: Envelope, cert: Envelope | undefined): Envelope {
  return cert ? { ...envelope, cert } : envelope;
}

export type ChainFailure = 'malformed' | 'untrusted-root' | 'bad-signature';

/** A certificate signed by one of `roots`, and the root that signed it. Says nothing yet about its window, revocation or site. */
export function openCertificate(value: unknown, roots: ReadonlySet<string>): { ok: true; cert: OperatorCertificate; root: string } | Failure<ChainFailure> {
  const shaped = envelopeFields(value, 'certificate');
  if (!shaped.ok) return shaped;
  const { fields } = shaped;
  if (!roots.has(fields.key)) return { ok: false, reason: 'untrusted-root', detail: `certificate is signed by ${fields.key}, which is not a site root this gate trusts` };
  if (!signatureHolds(fields, 'operator-cert')) return { ok: false, reason: 'bad-signature', detail: 'certificate signature does not verify' };
  const body = parseBody(fields, 'operator-cert', certificateBody);
  if (!body.ok) return body;
  return { ok: true, cert: body.body, root: fields.key };
}

/** What the gate may know of the revocation list: only whether a serial is on it. */
export interface RevocationView {
  has(serial: number): boolean;
}

export interface StandingContext {
  identity: GateIdentity;
  revoked: RevocationView;
  nowMs: number;
  skewMs: number;
}

export type StandingFailure = 'wrong-site' | 'cert-revoked' | 'cert-not-yet-valid' | 'cert-expired';

/** Whether a certificate holds at this gate now: its site, the revocation list, its window (with the clock skew allowed for commands). */
export function certificateStanding(cert: OperatorCertificate, ctx: StandingContext): Failure<StandingFailure> | null {
  const serial = `certificate ${cert.serial}`;
  if (cert.site !== ctx.identity.site) return { ok: false, reason: 'wrong-site', detail: `${serial} is for site "${cert.site}", this is "${ctx.identity.site}"` };
  if (ctx.revoked.has(cert.serial)) return { ok: false, reason: 'cert-revoked', detail: `${serial} is on the site's revocation list` };
  if (cert.notBefore > ctx.nowMs + ctx.skewMs) return { ok: false, reason: 'cert-not-yet-valid', detail: `${serial} is valid from ${new Date(cert.notBefore).toISOString()}` };
  if (cert.notAfter + ctx.skewMs < ctx.nowMs) return { ok: false, reason: 'cert-expired', detail: `${serial} expired at ${new Date(cert.notAfter).toISOString()}` };
  return null;
}

/** Whether a certificate covers this gate and grants the scope a message needs. */
export function certificatePermits(cert: OperatorCertificate, scope: Scope, gate: string): Failure<'wrong-gate' | 'out-of-scope'> | null {
  if (cert.gates !== '*' && !cert.gates.includes(gate)) return { ok: false, reason: 'wrong-gate', detail: `certificate ${cert.serial} does not cover gate "${gate}"` };
  if (!cert.scopes.includes(scope)) return { ok: false, reason: 'out-of-scope', detail: `certificate ${cert.serial} grants ${cert.scopes.join(', ')}; this needs ${scope}` };
  return null;
}
