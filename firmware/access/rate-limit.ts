/**
 * Failed attempts, per credential and for the gate as a whole, as an immutable value: every transition
 * takes the time as an argument so the limiter is tested without timers.
 */
export interface RateLimitPolicy {
  /** Failures of one credential within `credentialWindowMs` after which it is refused until they age out. */
  maxFailuresPerCredential: number;
  credentialWindowMs: number;
  /** Failures of any credential within `gateWindowMs` after which every credential is refused. */
  maxFailuresPerGate: number;
  gateWindowMs: number;
}

export interface RateLimitState {
  /** Failure times (ms since epoch), oldest first, by credential key (a card hash or a face resident id). */
  readonly byCredential: ReadonlyMap<string, readonly number[]>;
  readonly gate: readonly number[];
}

/** Unknown cards can be invented at will; past this many tracked keys the stalest are forgotten. */
const MAX_TRACKED_CREDENTIALS = 1000;

export const emptyRateLimitState: RateLimitState = { byCredential: new Map(), gate: [] };

const within = (times: readonly number[], windowMs: number, now: number) => times.filter((t) => now - t < windowMs);

export function isRateLimited(state: RateLimitState, policy: RateLimitPolicy, key: string, now: number): 'credential' | 'gate' | null {
  if (within(state.gate, policy.gateWindowMs, now).length >= policy.maxFailuresPerGate) return 'gate';
  const mine = state.byCredential.get(key) ?? [];
  if (within(mine, policy.credentialWindowMs, now).length >= policy.maxFailuresPerCredential) return 'credential';
  return null;
}

export function recordFailure(state: RateLimitState, policy: RateLimitPolicy, key: string, now: number): RateLimitState {
  const byCredential = new Map<string, readonly number[]>();
  for (const [k, times] of state.byCredential) {
    const kept = within(times, policy.credentialWindowMs, now);
    if (kept.length && k !== key) byCredential.set(k, kept);
  }
  byCredential.set(key, [...within(state.byCredential.get(key) ?? [], policy.credentialWindowMs, now), now]);
  // Map iteration is insertion order and the key just failed is re-inserted last, so the first are stalest.
  for (const k of byCredential.keys()) {
    if (byCredential.size <= MAX_TRACKED_CREDENTIALS) break;
    byCredential.delete(k);
  }
  return { byCredential, gate: [...within(state.gate, policy.gateWindowMs, now), now] };
}

/** A successful entry clears that credential's failures (the gate-wide count still ages out on its own). */
export function recordSuccess(state: RateLimitState, key: string): RateLimitState {
  if (!state.byCredential.has(key)) return state;
  const byCredential = new Map(state.byCredential);
  byCredential.delete(key);
  return { byCredential, gate: state.gate };
}
