/**
 * Tap semantics as a pure step function: what one poll of the field means, given what was there before.
 * Cards are known only by their keyed hash here; a random-UID phone is one presence whatever UID it shows.
 */

/** How a card proved itself: by its UID alone, or by AES authentication (cards.mode secure/both). */
export type CardProof = 'uid' | 'secure';

export type Sighting =
  | { kind: 'card'; card: string; proof?: CardProof }
  /** A card that failed (or did not finish) secure authentication; `card` is the hash of the UID it showed. */
  | { kind: 'not-authentic'; card: string; failure: string }
  | { kind: 'random-uid' }
  | { kind: 'empty' };

export interface TapState {
  /** What is in the field: a card hash, an unproven card, 'random-uid', or nothing. */
  present: { key: string; misses: number } | null;
}

export type TapEvent =
  | { kind: 'presented'; card: string; proof?: CardProof }
  | { kind: 'not-authentic'; card: string; failure: string }
  | { kind: 'removed'; card: string }
  | { kind: 'refused-random-uid' };

export const NO_TAP: TapState = { present: null };

const RANDOM_KEY = 'random-uid';
/** An unproven card is tracked apart from the genuine card with the same UID; it leaves as that UID's hash. */
const UNPROVEN = 'unproven:';

function leaving(key: string): TapEvent[] {
  if (key === RANDOM_KEY) return [];
  return [{ kind: 'removed', card: key.startsWith(UNPROVEN) ? key.slice(UNPROVEN.length) : key }];
}

function keyOf(sighting: Exclude<Sighting, { kind: 'empty' }>): string {
  if (sighting.kind === 'card') return sighting.card;
  return sighting.kind === 'not-authentic' ? `${UNPROVEN}${sighting.card}` : RANDOM_KEY;
}

function arriving(sighting: Exclude<Sighting, { kind: 'empty' }>): TapEvent {
  if (sighting.kind === 'card') return { kind: 'presented', card: sighting.card, ...(sighting.proof ? { proof: sighting.proof } : {}) };
  if (sighting.kind === 'not-authentic') return { kind: 'not-authentic', card: sighting.card, failure: sighting.failure };
  return { kind: 'refused-random-uid' };
}

export function tapStep(state: TapState, sighting: Sighting, removeAfterMisses: number): { state: TapState; events: TapEvent[] } {
  const present = state.present;
  if (sighting.kind === 'empty') {
    if (!present) return { state, events: [] };
    const misses = present.misses + 1;
    if (misses < removeAfterMisses) return { state: { present: { key: present.key, misses } }, events: [] };
    return { state: NO_TAP, events: leaving(present.key) };
  }
  const key = keyOf(sighting);
  const next: TapState = { present: { key, misses: 0 } };
  if (present?.key === key) return { state: next, events: [] };
  return { state: next, events: [...(present ? leaving(present.key) : []), arriving(sighting)] };
}
