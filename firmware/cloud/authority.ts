import type { z } from 'zod';
import { certificatePermits, certificateStanding, openCertificate, type ChainFailure, type OperatorCertificate, type StandingContext, type StandingFailure } from './certificates';
import { envelopeFields, parseBody, parsePayload, signatureHolds, type Failure, type OpenFailure, type Purpose } from './envelope';
import type { Scope } from './scopes';

/**
 * Who signed a command or credential message, and on whose authority: a key listed in
 * `cloud.operatorKeys` (every scope, as before certificates), or a key certified by a site root.
 */
export type Signer = { kind: 'operator-key'; key: string } | { kind: 'certificate'; key: string; root: string; cert: OperatorCertificate };

/** What events and the audit log record about a signer: the certificate's serial and scopes, or the listed key. Never a name. */
export type SignerRecord = { cert: { serial: number; scopes: Scope[] } } | { operatorKey: string };

export function signerRecord(signer: Signer): SignerRecord {
  return signer.kind === 'certificate' ? { cert: { serial: signer.cert.serial, scopes: signer.cert.scopes } } : { operatorKey: signer.key };
}

export type AuthorityFailure = OpenFailure | ChainFailure;

/** Everything a gate must know to judge who signed a command or credential message, at `nowMs`. */
export interface AuthorityContext extends StandingContext {
  /** `cloud.operatorKeys`: keys that may sign anything without a certificate. */
  trustedKeys: ReadonlySet<string>;
  /** Site roots trusted now (cloud.siteRoot, or what a root rotation says): a key certified by one of them may sign what its certificate allows. */
  roots: ReadonlySet<string>;
  maxBytes: number;
}

/**
 * Size, shape, the signer's authority (listed key, or certificate chain to a trusted root), the message
 * signature and the body's schema. The certificate's window, revocation, gates and scopes are judged
 * after the body is read (signerStanding, signerPermits), so that those refusals can name the nonce.
 */
export function openAuthorised<S extends z.ZodType>(
  raw: Uint8Array | string,
  purpose: Purpose,
  schema: S,
  ctx: Pick<AuthorityContext, 'trustedKeys' | 'roots' | 'maxBytes'>,
): { ok: true; signer: Signer; body: z.output<S> } | Failure<AuthorityFailure> {
  const payload = parsePayload(raw, ctx.maxBytes);
  if (!payload.ok) return payload;
  const shaped = envelopeFields(payload.value);
  if (!shaped.ok) return shaped;
  const { fields } = shaped;
  let signer: Signer;
  if (fields.cert !== undefined) {
    const chain = openCertificate(fields.cert, ctx.roots);
    if (!chain.ok) return chain;
    if (chain.cert.operatorKey !== fields.key) return { ok: false, reason: 'unknown-key', detail: `key ${fields.key} is not the key certificate ${chain.cert.serial} certifies` };
    signer = { kind: 'certificate', key: fields.key, root: chain.root, cert: chain.cert };
  } else if (ctx.trustedKeys.has(fields.key)) {
    signer = { kind: 'operator-key', key: fields.key };
  } else {
    return { ok: false, reason: 'unknown-key', detail: `key ${fields.key} is not trusted by this gate and carries no certificate` };
  }
  if (!signatureHolds(fields, purpose)) return { ok: false, reason: 'bad-signature', detail: `signature does not verify for ${purpose}` };
  const body = parseBody(fields, purpose, schema);
  return body.ok ? { ok: true, signer, body: body.body } : body;
}

/** A listed key always stands; a certificate must be for this site, unrevoked and inside its window. */
export function signerStanding(signer: Signer, ctx: StandingContext): Failure<StandingFailure> | null {
  return signer.kind === 'certificate' ? certificateStanding(signer.cert, ctx) : null;
}

/** A listed key may do anything at any gate; a certificate only what its scopes and gates say. */
export function signerPermits(signer: Signer, scope: Scope, gate: string): Failure<'wrong-gate' | 'out-of-scope'> | null {
  return signer.kind === 'certificate' ? certificatePermits(signer.cert, scope, gate) : null;
}
