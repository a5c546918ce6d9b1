import { z } from 'zod';
import { openAuthorised, signerPermits, signerStanding, type AuthorityContext, type AuthorityFailure, type Signer } from './authority';
import type { StandingFailure } from './certificates';
import { CREDENTIALS_SCOPE } from './scopes';

/** HMAC-SHA256 hex of a normalised UID (firmware/credentials/card-id.ts): a raw UID can never pass this. */
const cardHash = z.string().regex(/^[0-9a-f]{64}$/, { error: 'cardHash must be 64 lower-case hex characters (HMAC-SHA256 of the UID with the site key)' });
const credential = z.object({ cardHash, residentId: z.string().min(1).max(128) }).strict();

export type CardCredential = z.infer<typeof credential>;

const version = z.number().int().nonnegative();
const common = { kind: z.literal('credentials'), site: z.string(), gate: z.string(), issuedAt: z.number().int().nonnegative() };

const deltaBody = z.object({ ...common, type: z.literal('delta'), from: version, to: version, add: z.array(credential).default([]), remove: z.array(cardHash).default([]) }).strict();
const fullBody = z.object({ ...common, type: z.literal('full'), version, credentials: z.array(credential) }).strict();
const credentialBody = z.discriminatedUnion('type', [deltaBody, fullBody]);

export type CredentialDelta = Pick<z.infer<typeof deltaBody>, 'from' | 'to' | 'add' | 'remove'>;
export type CredentialSet = Pick<z.infer<typeof fullBody>, 'version' | 'credentials'>;
export type CredentialMessage = z.infer<typeof credentialBody>;

export type CredentialReject = { ok: false; reason: AuthorityFailure | StandingFailure | 'wrong-gate' | 'out-of-scope'; detail: string; signer?: Signer };

/**
 * Signature, signer's authority (the `credentials` scope, for this gate, now) and addressing of a
 * `credentials` message. No expiry or nonce: versions make it idempotent. A retained message signed
 * under a certificate is judged when it arrives, so one whose certificate has since expired or been
 * revoked is refused by a gate that comes back later.
 */
export function verifyCredentialMessage(raw: Uint8Array | string, ctx: AuthorityContext): { ok: true; message: CredentialMessage; signer: Signer } | CredentialReject {
  const opened = openAuthorised(raw, 'credentials', credentialBody, ctx);
  if (!opened.ok) return opened;
  const { body: message, signer } = opened;
  const refused = signerStanding(signer, ctx) ?? signerPermits(signer, CREDENTIALS_SCOPE, ctx.identity.gate);
  if (refused) return { ...refused, signer };
  if (message.site !== ctx.identity.site) return { ok: false, reason: 'wrong-site', detail: `credentials name site "${message.site}"`, signer };
  if (message.gate !== ctx.identity.gate) return { ok: false, reason: 'wrong-gate', detail: `credentials name gate "${message.gate}"`, signer };
  if (message.type === 'delta' && message.to <= message.from) return { ok: false, reason: 'malformed', detail: 'a delta must move the version forward (to > from)', signer };
  return { ok: true, message, signer };
}

export type CredentialDecision =
  | { action: 'apply-delta'; delta: CredentialDelta }
  | { action: 'replace-all'; set: CredentialSet }
  | { action: 'ignore'; reason: 'already-applied' }
  | { action: 'resync'; reason: 'version-gap' };

/** What to do with a verified credential message given the version the gate holds. */
export function decideCredentialUpdate(message: CredentialMessage, current: number): CredentialDecision {
  if (message.type === 'full') {
    return message.version > current ? { action: 'replace-all', set: { version: message.version, credentials: message.credentials } } : { action: 'ignore', reason: 'already-applied' };
  }
  if (message.to <= current) return { action: 'ignore', reason: 'already-applied' };
  if (message.from === current) return { action: 'apply-delta', delta: { from: message.from, to: message.to, add: message.add, remove: message.remove } };
  return { action: 'resync', reason: 'version-gap' };
}
