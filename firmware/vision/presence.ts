/**
 * Presence gating, the decision part: pure (state, input and time in; state and verdict out), no timers.
 *
 * An empty gate is `idle`: each frame gets only the cheap look (motion against the background), and the
 * full analysis runs on a frame only when it moved, or once per heartbeat. Motion, a face found, or a
 * wake-up from outside (an enrolment, a presence sensor) make it `active`: every frame is analysed from
 * that very frame on, so a face is never decided later than it would be ungated. After `quietMs`
 * without motion or a face it is idle again.
 */
export type PresenceMode = 'idle' | 'active';

/** Why the gate entered its mode: `start` (a new worker looks at everything until the scene is known), `motion`, `face`, `unreadable` (a frame the cheap look cannot read is analysed in full), a wake-up reason from outside, or `quiet`. */
export type PresenceReason = 'start' | 'motion' | 'face' | 'unreadable' | 'quiet' | (string & {});

export interface PresenceTimings {
  /** While idle, one frame in this many ms is analysed anyway. */
  heartbeatMs: number;
  /** Active this long after the last motion or face, then idle. */
  quietMs: number;
}

export interface PresenceState {
  mode: PresenceMode;
  reason: PresenceReason;
  /** Last motion, face or wake-up. */
  lastActivityAt: number;
  lastAnalysedAt: number;
}

/** What the cheap look found: `moved` true or false, or null when it could not tell (an unreadable frame). */
export interface FrameLook {
  now: number;
  moved: boolean | null;
  /** Set by whoever must see every frame now: an enrolment in progress, a presence sensor. */
  wake?: string;
}

export function initialPresence(now: number): PresenceState {
  return { mode: 'active', reason: 'start', lastActivityAt: now, lastAnalysedAt: -Infinity };
}

const activate = (state: PresenceState, reason: PresenceReason, now: number): PresenceState => ({
  ...state,
  mode: 'active',
  reason: state.mode === 'active' ? state.reason : reason,
  lastActivityAt: now,
});

/** One frame: whether to analyse it in full, and the new state. */
export function presenceOnFrame(state: PresenceState, look: FrameLook, t: PresenceTimings): { state: PresenceState; analyse: boolean } {
  const { now } = look;
  const reason = look.wake ?? (look.moved === null ? 'unreadable' : look.moved ? 'motion' : undefined);
  let next = reason !== undefined ? activate(state, reason, now) : state;
  if (next.mode === 'active' && now - next.lastActivityAt >= t.quietMs) next = { ...next, mode: 'idle', reason: 'quiet' };
  const analyse = next.mode === 'active' || now - next.lastAnalysedAt >= t.heartbeatMs;
  return { state: analyse ? { ...next, lastAnalysedAt: now } : next, analyse };
}

/** After a full analysis: a face (judged, refused for quality or suspected a spoof: someone is there) keeps or makes it active. */
export function presenceOnAnalysis(state: PresenceState, faceSeen: boolean, now: number): PresenceState {
  return faceSeen ? activate(state, 'face', now) : state;
}
