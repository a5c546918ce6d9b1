import { parseIsoTime } from '../store/iso-time';
import type { CardsConfig } from './config';
import type { SecureOutcome } from './secure/transaction';
import type { Sighting } from './tap-tracker';

/**
 * What a tap means under the site's card mode: pure, given the secure transaction's outcome and the time.
 *
 *  - uid: the UID is the credential (no transaction is run).
 *  - secure: only `authentic` opens; everything else with a fixed UID is `not-authentic` (a denial that
 *    counts toward the rate limit), a random-ID card that is not a Postern card is refused as today.
 *  - both: `authentic` cards as in secure; a card with no Postern application (a UID-only card, or a
 *    DESFire/NTAG never issued) is taken by its UID until `uidUntil`; a card that has the application but
 *    fails authentication is never taken by its UID, since that is exactly what a clone looks like.
 */
export type CardMode = CardsConfig['mode'];

export interface CardModePolicy {
  mode: CardMode;
  /** Epoch ms from which `both` stops accepting UID-only cards; null: no end date. */
  uidUntilMs: number | null;
}

export function cardModePolicy(config: Pick<CardsConfig, 'mode' | 'uidUntil'>): CardModePolicy {
  const until = config.uidUntil === undefined ? null : parseIsoTime(config.uidUntil);
  if (until && 'error' in until) throw new Error(`cards.uidUntil ${until.error}`);
  return { mode: config.mode, uidUntilMs: until ? until.ms : null };
}

export function uidCardsAccepted(policy: CardModePolicy, nowMs: number): boolean {
  if (policy.mode === 'uid') return true;
  return policy.mode === 'both' && (policy.uidUntilMs === null || nowMs < policy.uidUntilMs);
}

/** The UID the anticollision showed: its keyed hash, and whether it was a random ID (never a credential). */
export interface ShownUid {
  hash: string;
  random: boolean;
}

export function classifySecureTap(
  policy: CardModePolicy,
  outcome: SecureOutcome | { kind: 'not-iso-dep' },
  shown: ShownUid,
  hashRealUid: (uid: Uint8Array) => string,
  nowMs: number,
): Sighting {
  if (outcome.kind === 'authentic') return { kind: 'card', card: hashRealUid(outcome.uid), proof: 'secure' };
  if (outcome.kind === 'no-application' || outcome.kind === 'not-iso-dep') {
    if (shown.random) return { kind: 'random-uid' };
    if (uidCardsAccepted(policy, nowMs)) return { kind: 'card', card: shown.hash, proof: 'uid' };
    return { kind: 'not-authentic', card: shown.hash, failure: policy.mode === 'both' ? 'uid-cards-ended' : 'not-a-secure-card' };
  }
  // A Postern card that failed, or did not finish: denied, whatever its UID looked like.
  return { kind: 'not-authentic', card: shown.hash, failure: outcome.failure };
}
