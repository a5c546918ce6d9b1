import type { DoorMode } from '../door/port';
import type { Resident } from '../store/records';
import type { AccessMethod } from './config';
import type { AccessPolicy } from './policy';
import { isRateLimited, type RateLimitState } from './rate-limit';
import { isWithinSchedule } from './schedule';

export const DENY_REASONS = [
  'method-disabled',
  'lockdown',
  'rate-limited',
  'unknown',
  'revoked',
  'not-yet-valid',
  'expired',
  'outside-schedule',
  'no-consent',
  'card-not-authentic',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/**
 * How a card proved itself: its UID alone, AES authentication, or it failed authentication (a clone, another
 * site's card, a torn transaction). Absent means `uid`.
 */
export type CardProof = 'uid' | 'secure' | 'failed';

/** What was held up to the gate: a card (as its keyed hash) or a face the vision pipeline matched. */
export type Presented = { method: 'card'; cardHash: string; proof?: CardProof } | { method: 'face'; residentId: string };

export interface DecisionInput {
  policy: AccessPolicy;
  presented: Presented;
  /** The resident the credential belongs to, looked up by the caller; undefined when none does. */
  resident: Resident | undefined;
  now: Date;
  doorMode: DoorMode;
  rateLimit: RateLimitState;
}

export type Decision =
  | { grant: true; method: AccessMethod; residentId: string }
  | { grant: false; method: AccessMethod; reason: DenyReason; residentId?: string };

/** The key failures are counted under: the card hash, or the matched resident for a face. */
export function rateLimitKey(presented: Presented): string {
  if (presented.method === 'face') return `face:${presented.residentId}`;
  // Failed proofs count apart from the card they imitate, so a clone tapped at the gate cannot lock out the genuine card.
  return presented.proof === 'failed' ? `card-unproven:${presented.cardHash}` : `card:${presented.cardHash}`;
}

/** Reasons that count as a failed attempt; refusals caused by the gate's own state do not. */
export function countsAsFailure(reason: DenyReason): boolean {
  return reason !== 'lockdown' && reason !== 'method-disabled' && reason !== 'rate-limited';
}

/** Who may enter, now: pure, so every reason is tested without timers, files or hardware. */
export function decide(input: DecisionInput): Decision {
  const { policy, presented, resident, now, doorMode } = input;
  const method = presented.method;
  const deny = (reason: DenyReason): Decision => ({ grant: false, method, reason, ...(resident ? { residentId: resident.id } : {}) });

  if (!policy.methods.has(method)) return deny('method-disabled');
  if (doorMode === 'lockdown') return deny('lockdown');
  if (isRateLimited(input.rateLimit, policy.rateLimit, rateLimitKey(presented), now.getTime())) return deny('rate-limited');
  if (presented.method === 'card' && presented.proof === 'failed') return deny('card-not-authentic');
  if (!resident) return deny('unknown');
  if (resident.revokedAt) return deny('revoked');
  if (resident.validFrom && now.getTime() < Date.parse(resident.validFrom)) return deny('not-yet-valid');
  if (resident.validUntil && now.getTime() >= Date.parse(resident.validUntil)) return deny('expired');
  if (resident.schedule && !isWithinSchedule(resident.schedule, now)) return deny('outside-schedule');
  if (method === 'face') {
    // A match against a template whose consent has gone (or which was deleted meanwhile) never opens the door.
    if (!resident.consent) return deny('no-consent');
    if (!resident.face) return deny('unknown');
  }
  return { grant: true, method, residentId: resident.id };
}
