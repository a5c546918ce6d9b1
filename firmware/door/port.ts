/**
 * What the rest of the gate may ask of the door. The controller behind it (firmware/door/controller.ts)
 * owns the relay; nothing else drives it.
 */
export type RelayState = 'locked' | 'unlocked';
export type ContactState = 'closed' | 'open';
export type DoorMode = 'normal' | 'lockdown' | 'held-unlocked';

export interface DoorSnapshot {
  relay: RelayState;
  contact: ContactState;
  mode: DoorMode;
  /** Active alarms, e.g. `door.forced`, `door.held-open`, `tamper`. */
  alarms: string[];
}

export interface DoorPort {
  /**
   * Momentary unlock for an access grant. Returns false (and unlocks nothing) in lockdown; the caller
   * records the denial. `source` is a reason code such as `card`, `face`, `remote`.
   */
  grant(source: string): boolean;
  setMode(mode: DoorMode, source: string): void;
  snapshot(): DoorSnapshot;
}
