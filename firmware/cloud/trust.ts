import { z } from 'zod';
import { topicLevel } from '../config/base';
import { base64Key } from './config';
import { openSigned, signChecked, type Envelope, type Failure } from './envelope';
import type { GateIdentity } from './topics';

/**
 * The messages that change whom a gate trusts (docs/PROTOCOL.md §7a), and the pure decisions about them:
 * the site root's revocation list, and the recovery key's root rotation. Both are versioned and may be
 * retained, like full credential sets: a gate that was offline gets the latest on reconnect, and an
 * old copy can never move it backwards.
 */

const serial = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const version = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const revocationListBody = z
  .object({
    purpose: z.literal('revocation-list'),
    v: z.literal(1),
    site: topicLevel,
    version,
    issuedAt: z.number().int().nonnegative(),
    /** Every certificate serial revoked so far: each list replaces the one before. */
    serials: z.array(serial).max(100_000),
  })
  .strict();

export const rootRotationBody = z
  .object({
    purpose: z.literal('root-rotation'),
    v: z.literal(1),
    site: topicLevel,
    version,
    issuedAt: z.number().int().nonnegative(),
    newRoot: base64Key,
    /** The root being retired: still trusted until overlapUntil, so certificates it issued keep working while they are reissued. */
    previousRoot: base64Key,
    /** Unix ms; a time already past ends the old root's trust at once (a stolen root). */
    overlapUntil: z.number().int().nonnegative(),
  })
  .strict();

export type RevocationList = z.output<typeof revocationListBody>;
export type RootRotation = z.output<typeof rootRotationBody>;

/** What the gate keeps of the last root rotation it accepted. */
export interface RotationState {
  version: number;
  root: string;
  previousRoot: string;
  overlapUntil: number;
}

/** What the gate keeps of the last revocation list it accepted, and which root signed it. */
export interface RevocationState {
  version: number;
  serials: number[];
  signer: string;
}

export interface TrustState {
  rotation: RotationState | null;
  revocations: RevocationState | null;
}

export const EMPTY_TRUST: TrustState = { rotation: null, revocations: null };

/**
 * The site roots trusted at `nowMs`: `cloud.siteRoot` until a rotation has been accepted; after that only
 * what the rotation says (so the retired root, stolen or not, stops counting when its overlap ends).
 */
export function trustedRoots(configRoot: string, rotation: RotationState | null, nowMs: number): Set<string> {
  if (!rotation) return new Set(configRoot ? [configRoot] : []);
  return new Set(nowMs < rotation.overlapUntil ? [rotation.root, rotation.previousRoot] : [rotation.root]);
}

export type TrustReject = Failure<'oversized' | 'malformed' | 'untrusted-root' | 'untrusted-recovery-key' | 'bad-signature' | 'wrong-site'>;
export type TrustDecision = { action: 'apply' } | { action: 'ignore'; reason: 'already-applied' };

function addressed<T extends { site: string }>(body: T, identity: GateIdentity, what: string): TrustReject | null {
  return body.site === identity.site ? null : { ok: false, reason: 'wrong-site', detail: `${what} is for site "${body.site}", this is "${identity.site}"` };
}

/** A revocation list must be signed by a root trusted now, for this site. */
export function verifyRevocationList(raw: Uint8Array | string, ctx: { roots: ReadonlySet<string>; identity: GateIdentity; maxBytes: number }): { ok: true; list: RevocationList; signer: string } | TrustReject {
  const opened = openSigned(raw, 'revocation-list', revocationListBody, ctx.roots, ctx.maxBytes);
  if (!opened.ok) {
    if (opened.reason === 'unknown-key') return { ok: false, reason: 'untrusted-root', detail: `revocation list: ${opened.detail}; only a site root may sign one` };
    return { ok: false, reason: opened.reason, detail: opened.detail };
  }
  return addressed(opened.body, ctx.identity, 'revocation list') ?? { ok: true, list: opened.body, signer: opened.key };
}

/**
 * A higher version replaces the list held. So does any list once the root that signed the held one is
 * no longer trusted: otherwise a stolen root could publish an enormous version before its rotation and
 * block every later list. (The operator tool's lists are cumulative, so nothing is lost by replacing.)
 */
export function decideRevocationList(list: RevocationList, held: RevocationState | null, roots: ReadonlySet<string>): TrustDecision {
  if (!held || list.version > held.version || !roots.has(held.signer)) return { action: 'apply' };
  return { action: 'ignore', reason: 'already-applied' };
}

/** Only the recovery key pinned at provisioning (`cloud.siteRecovery`) may rotate the root: never a root itself. */
export function verifyRootRotation(raw: Uint8Array | string, ctx: { recoveryKey: string; identity: GateIdentity; maxBytes: number }): { ok: true; rotation: RootRotation } | TrustReject {
  if (!ctx.recoveryKey) return { ok: false, reason: 'untrusted-recovery-key', detail: 'this gate has no recovery key pinned (cloud.siteRecovery), so its root cannot be rotated remotely' };
  const opened = openSigned(raw, 'root-rotation', rootRotationBody, new Set([ctx.recoveryKey]), ctx.maxBytes);
  if (!opened.ok) {
    if (opened.reason === 'unknown-key') return { ok: false, reason: 'untrusted-recovery-key', detail: `root rotation: ${opened.detail}; only the site's recovery key (cloud.siteRecovery) may sign one` };
    return { ok: false, reason: opened.reason, detail: opened.detail };
  }
  if (opened.body.newRoot === opened.body.previousRoot) return { ok: false, reason: 'malformed', detail: 'root rotation: newRoot must differ from previousRoot' };
  return addressed(opened.body, ctx.identity, 'root rotation') ?? { ok: true, rotation: opened.body };
}

export function decideRootRotation(rotation: RootRotation, held: RotationState | null): TrustDecision {
  return rotation.version > (held?.version ?? 0) ? { action: 'apply' } : { action: 'ignore', reason: 'already-applied' };
}

/** What the operator tool signs with the site root: every serial revoked so far, at a new version. */
export function signRevocationList(rootSecretKey: Uint8Array, list: Omit<RevocationList, 'purpose' | 'v'>): Envelope {
  const body = { purpose: 'revocation-list' as const, v: 1 as const, site: list.site, version: list.version, issuedAt: list.issuedAt, serials: list.serials };
  return signChecked('revocation-list', revocationListBody, body, rootSecretKey);
}

/** What the operator tool signs with the offline recovery key to move the site to a new root. */
export function signRootRotation(recoverySecretKey: Uint8Array, r: Omit<RootRotation, 'purpose' | 'v'>): Envelope {
  const body = { purpose: 'root-rotation' as const, v: 1 as const, site: r.site, version: r.version, issuedAt: r.issuedAt, newRoot: r.newRoot, previousRoot: r.previousRoot, overlapUntil: r.overlapUntil };
  return signChecked('root-rotation', rootRotationBody, body, recoverySecretKey);
}
