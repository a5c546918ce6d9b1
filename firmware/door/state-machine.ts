import type { ContactState, DoorMode, RelayState } from './port';

/**
 * The door as a pure state machine: (state, input, now) → (state, events). Time enters only as `now`
 * and as deadlines in the state, so every transition can be tested without timers or hardware; the
 * controller turns deadlines into timers and state into GPIO levels.
 */
export type Alarm = 'door.forced' | 'door.held-open' | 'tamper';

export interface DoorState {
  mode: DoorMode;
  relay: RelayState;
  contact: ContactState;
  /** The current opening was authorised (grant, exit, held-unlocked); a forced one is not. */
  openingAuthorised: boolean;
  alarms: Alarm[];
  /** Deadlines in ms since the epoch; null when not running. */
  pulseUntil: number | null;
  graceUntil: number | null;
  heldOpenAt: number | null;
}

export interface DoorTimings {
  pulseMs: number;
  heldOpenMs: number;
  forcedGraceMs: number;
  relockOnClose: boolean;
}

export type DoorInput =
  | { kind: 'grant'; source: string }
  | { kind: 'exit' }
  | { kind: 'contact'; open: boolean }
  | { kind: 'tamper'; active: boolean }
  | { kind: 'mode'; mode: DoorMode; source: string }
  | { kind: 'tick' };

export interface DoorEvent {
  type: string;
  reason: string;
  data?: Record<string, unknown>;
}

export interface DoorStep {
  state: DoorState;
  events: DoorEvent[];
  /** For `grant`: whether the door was (or already is) unlocked for it. */
  granted?: boolean;
}

export function initialDoorState(contact: ContactState = 'closed'): DoorState {
  return {
    mode: 'normal',
    relay: 'locked',
    contact,
    // A door found open at boot was not forced open by anyone we saw: no alarm for it.
    openingAuthorised: contact === 'open',
    alarms: [],
    pulseUntil: null,
    graceUntil: null,
    heldOpenAt: null,
  };
}

/** The earliest deadline the controller must wake up for, or null. */
export function nextDeadline(s: DoorState): number | null {
  const ds = [s.pulseUntil, s.graceUntil, s.heldOpenAt].filter((d): d is number => d !== null);
  return ds.length ? Math.min(...ds) : null;
}

const withAlarm = (alarms: Alarm[], a: Alarm) => (alarms.includes(a) ? alarms : [...alarms, a]);
const withoutAlarm = (alarms: Alarm[], a: Alarm) => alarms.filter((x) => x !== a);

function unlockPulse(s: DoorState, t: DoorTimings, now: number, reason: string, events: DoorEvent[]): DoorState {
  if (s.relay === 'locked') events.push({ type: 'door.unlocked', reason });
  return { ...s, relay: 'unlocked', pulseUntil: now + t.pulseMs, graceUntil: null };
}

function lock(s: DoorState, now: number, t: DoorTimings, reason: string, events: DoorEvent[]): DoorState {
  if (s.relay === 'unlocked') events.push({ type: 'door.locked', reason });
  // People reach the handle a moment after the strike relocks; the grace keeps that from being "forced".
  const graceUntil = reason === 'pulse-ended' && t.forcedGraceMs > 0 && s.contact === 'closed' ? now + t.forcedGraceMs : null;
  return { ...s, relay: 'locked', pulseUntil: null, graceUntil };
}

export function doorStep(s: DoorState, input: DoorInput, now: number, t: DoorTimings): DoorStep {
  const events: DoorEvent[] = [];
  switch (input.kind) {
    case 'grant': {
      if (s.mode === 'lockdown') return { state: s, events, granted: false };
      if (s.mode === 'held-unlocked') return { state: s, events, granted: true };
      return { state: unlockPulse(s, t, now, input.source, events), events, granted: true };
    }
    case 'exit': {
      // Egress always works, lockdown included (red line 7).
      if (s.mode === 'held-unlocked') return { state: s, events };
      events.push({ type: 'door.exit-request', reason: 'exit-button' });
      return { state: unlockPulse(s, t, now, 'exit-button', events), events };
    }
    case 'contact': {
      if (input.open) {
        if (s.contact === 'open') return { state: s, events };
        const authorised = s.mode === 'held-unlocked' || s.relay === 'unlocked' || (s.graceUntil !== null && now < s.graceUntil);
        if (authorised) {
          events.push({ type: 'door.opened', reason: s.mode === 'held-unlocked' ? 'held-unlocked' : 'authorised' });
          const heldOpenAt = s.mode === 'held-unlocked' ? null : now + t.heldOpenMs;
          return { state: { ...s, contact: 'open', openingAuthorised: true, graceUntil: null, heldOpenAt }, events };
        }
        events.push({ type: 'door.forced', reason: 'opened-without-grant' });
        return { state: { ...s, contact: 'open', openingAuthorised: false, alarms: withAlarm(s.alarms, 'door.forced') }, events };
      }
      if (s.contact === 'closed') return { state: s, events };
      events.push({ type: 'door.closed', reason: s.openingAuthorised ? 'authorised' : 'after-forced' });
      let next: DoorState = { ...s, contact: 'closed', openingAuthorised: false, heldOpenAt: null };
      for (const a of ['door.forced', 'door.held-open'] as const) {
        if (next.alarms.includes(a)) {
          events.push({ type: 'alarm.cleared', reason: a });
          next = { ...next, alarms: withoutAlarm(next.alarms, a) };
        }
      }
      if (t.relockOnClose && next.mode === 'normal' && next.relay === 'unlocked') next = lock(next, now, t, 'door-closed', events);
      return { state: next, events };
    }
    case 'tamper': {
      if (input.active === s.alarms.includes('tamper')) return { state: s, events };
      if (input.active) {
        events.push({ type: 'tamper', reason: 'case-opened' });
        return { state: { ...s, alarms: withAlarm(s.alarms, 'tamper') }, events };
      }
      events.push({ type: 'alarm.cleared', reason: 'tamper' });
      return { state: { ...s, alarms: withoutAlarm(s.alarms, 'tamper') }, events };
    }
    case 'mode': {
      if (input.mode === s.mode) return { state: s, events };
      events.push({ type: 'door.mode', reason: input.source, data: { mode: input.mode, previous: s.mode } });
      const moded: DoorState = { ...s, mode: input.mode };
      if (input.mode === 'held-unlocked') {
        if (moded.relay === 'locked') events.push({ type: 'door.unlocked', reason: 'held-unlocked' });
        return { state: { ...moded, relay: 'unlocked', pulseUntil: null, graceUntil: null, heldOpenAt: null }, events };
      }
      // Lockdown and back-to-normal both end any unlock in progress.
      const locked = lock(moded, now, t, input.mode === 'lockdown' ? 'lockdown' : 'mode-normal', events);
      const heldOpenAt = locked.contact === 'open' ? now + t.heldOpenMs : null;
      return { state: { ...locked, heldOpenAt, openingAuthorised: locked.contact === 'open' }, events };
    }
    case 'tick': {
      let next = s;
      if (next.pulseUntil !== null && now >= next.pulseUntil) next = lock(next, now, t, 'pulse-ended', events);
      if (next.graceUntil !== null && now >= next.graceUntil) next = { ...next, graceUntil: null };
      if (next.heldOpenAt !== null && now >= next.heldOpenAt) {
        events.push({ type: 'door.held-open', reason: 'held-open-timeout' });
        next = { ...next, heldOpenAt: null, alarms: withAlarm(next.alarms, 'door.held-open') };
      }
      return { state: next, events };
    }
  }
}
