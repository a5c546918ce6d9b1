/**
 * Tap semantics as a pure step function: what one poll of the field means, given what was there before.
 * Cards are known only by their keyed hash here; a random-UID phone is one presence whatever UID it shows.
 */
export type Sighting = { kind: 'card'; card: string } | { kind: 'random-uid' } | { kind: 'empty' };

export interface TapState {
  /** What is in the field: a card hash, 'random-uid', or nothing. */
  present: { key: string; misses: number } | null;
}

export type TapEvent = { kind: 'presented'; card: string } | { kind: 'removed'; card: string } | { kind: 'refused-random-uid' };

export const NO_TAP: TapState = { present: null };

const RANDOM_KEY = 'random-uid';

function leaving(key: string): TapEvent[] {
  return key === RANDOM_KEY ? [] : [{ kind: 'removed', card: key }];
}

function arriving(sighting: Exclude<Sighting, { kind: 'empty' }>): TapEvent {
  return sighting.kind === 'card' ? { kind: 'presented', card: sighting.card } : { kind: 'refused-random-uid' };
}

export function tapStep(state: TapState, sighting: Sighting, removeAfterMisses: number): { state: TapState; events: TapEvent[] } {
  const present = state.present;
  if (sighting.kind === 'empty') {
    if (!present) return { state, events: [] };
    const misses = present.misses + 1;
    if (misses < removeAfterMisses) return { state: { present: { key: present.key, misses } }, events: [] };
    return { state: NO_TAP, events: leaving(present.key) };
  }
  const key = sighting.kind === 'card' ? sighting.card : RANDOM_KEY;
  const next: TapState = { present: { key, misses: 0 } };
  if (present?.key === key) return { state: next, events: [] };
  return { state: next, events: [...(present ? leaving(present.key) : []), arriving(sighting)] };
}
