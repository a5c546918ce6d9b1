import { doorStep, initialDoorState, nextDeadline, type DoorInput, type DoorState, type DoorTimings } from '../../firmware/door/state-machine';

const T: DoorTimings = { pulseMs: 5000, heldOpenMs: 15000, forcedGraceMs: 1000, relockOnClose: true };
const run = (s: DoorState, inputs: [DoorInput, number][], t = T) => {
  const events: string[] = [];
  for (const [input, now] of inputs) {
    const step = doorStep(s, input, now, t);
    s = step.state;
    events.push(...step.events.map((e) => `${e.type}/${e.reason}`));
  }
  return { s, events };
};
const grant: DoorInput = { kind: 'grant', source: 'card' };
const tick: DoorInput = { kind: 'tick' };
const open: DoorInput = { kind: 'contact', open: true };
const close: DoorInput = { kind: 'contact', open: false };

describe('door state machine', () => {
  test('boots locked and closed with nothing scheduled', () => {
    const s = initialDoorState();
    expect(s).toMatchObject({ relay: 'locked', contact: 'closed', mode: 'normal', alarms: [] });
    expect(nextDeadline(s)).toBeNull();
  });

  test('a door found open at boot raises no forced alarm', () => {
    const s = initialDoorState('open');
    const { s: after, events } = run(s, [[close, 10]]);
    expect(events).toEqual(['door.closed/authorised']);
    expect(after.alarms).toEqual([]);
  });

  test('grant unlocks for the pulse, then relocks', () => {
    const step = doorStep(initialDoorState(), grant, 0, T);
    expect(step.granted).toBe(true);
    expect(step.state.relay).toBe('unlocked');
    expect(nextDeadline(step.state)).toBe(5000);
    const { s, events } = run(step.state, [[tick, 4999], [tick, 5000]]);
    expect(events).toEqual(['door.locked/pulse-ended']);
    expect(s.relay).toBe('locked');
  });

  test('a second grant during the pulse extends it without a second unlock event', () => {
    const { s, events } = run(initialDoorState(), [[grant, 0], [grant, 3000], [tick, 5000]]);
    expect(events).toEqual(['door.unlocked/card']);
    expect(s.relay).toBe('unlocked');
    expect(s.pulseUntil).toBe(8000);
  });

  test('opening during the pulse is authorised; closing relocks at once when relockOnClose', () => {
    const { s, events } = run(initialDoorState(), [[grant, 0], [open, 1000], [close, 2000]]);
    expect(events).toEqual(['door.unlocked/card', 'door.opened/authorised', 'door.closed/authorised', 'door.locked/door-closed']);
    expect(s.relay).toBe('locked');
    expect(s.alarms).toEqual([]);
  });

  test('without relockOnClose the pulse runs to its end', () => {
    const { s, events } = run(initialDoorState(), [[grant, 0], [open, 1000], [close, 2000]], { ...T, relockOnClose: false });
    expect(events).not.toContain('door.locked/door-closed');
    expect(s.relay).toBe('unlocked');
  });

  test('opening without a grant raises door.forced; closing clears it', () => {
    const { s, events } = run(initialDoorState(), [[open, 100]]);
    expect(events).toEqual(['door.forced/opened-without-grant']);
    expect(s.alarms).toEqual(['door.forced']);
    const after = run(s, [[close, 200]]);
    expect(after.events).toEqual(['door.closed/after-forced', 'alarm.cleared/door.forced']);
    expect(after.s.alarms).toEqual([]);
  });

  test('opening just after the pulse ended is within the grace; after the grace it is forced', () => {
    const within = run(initialDoorState(), [[grant, 0], [tick, 5000], [open, 5500]]);
    expect(within.events).toContain('door.opened/authorised');
    const late = run(initialDoorState(), [[grant, 0], [tick, 5000], [tick, 6000], [open, 6001]]);
    expect(late.events).toContain('door.forced/opened-without-grant');
  });

  test('door held open past heldOpenMs raises door.held-open; closing clears it', () => {
    const { s, events } = run(initialDoorState(), [[grant, 0], [open, 1000], [tick, 5000], [tick, 16000]]);
    expect(events).toEqual(['door.unlocked/card', 'door.opened/authorised', 'door.locked/pulse-ended', 'door.held-open/held-open-timeout']);
    expect(s.alarms).toEqual(['door.held-open']);
    expect(run(s, [[close, 17000]]).events).toEqual(['door.closed/authorised', 'alarm.cleared/door.held-open']);
  });

  test('exit button unlocks and authorises the opening', () => {
    const { s, events } = run(initialDoorState(), [[{ kind: 'exit' }, 0], [open, 500]]);
    expect(events).toEqual(['door.exit-request/exit-button', 'door.unlocked/exit-button', 'door.opened/authorised']);
    expect(s.alarms).toEqual([]);
  });

  test('tamper raises and clears its alarm once per change', () => {
    const { s, events } = run(initialDoorState(), [[{ kind: 'tamper', active: true }, 0], [{ kind: 'tamper', active: true }, 1]]);
    expect(events).toEqual(['tamper/case-opened']);
    expect(s.alarms).toEqual(['tamper']);
    expect(run(s, [[{ kind: 'tamper', active: false }, 2]]).events).toEqual(['alarm.cleared/tamper']);
  });

  test('lockdown refuses grants, ends an unlock in progress, and egress still works', () => {
    const { s, events } = run(initialDoorState(), [[grant, 0], [{ kind: 'mode', mode: 'lockdown', source: 'remote' }, 100]]);
    expect(events).toEqual(['door.unlocked/card', 'door.mode/remote', 'door.locked/lockdown']);
    const refused = doorStep(s, grant, 200, T);
    expect(refused.granted).toBe(false);
    expect(refused.state.relay).toBe('locked');
    const exit = doorStep(s, { kind: 'exit' }, 300, T);
    expect(exit.state.relay).toBe('unlocked');
  });

  test('held-unlocked keeps the relay unlocked with no pulse, no held-open alarm, until normal', () => {
    const held = run(initialDoorState(), [[{ kind: 'mode', mode: 'held-unlocked', source: 'remote' }, 0], [open, 10], [tick, 60_000]]);
    expect(held.events).toEqual(['door.mode/remote', 'door.unlocked/held-unlocked', 'door.opened/held-unlocked']);
    expect(held.s.relay).toBe('unlocked');
    expect(held.s.alarms).toEqual([]);
    expect(doorStep(held.s, grant, 61_000, T).granted).toBe(true);
    const back = run(held.s, [[{ kind: 'mode', mode: 'normal', source: 'remote' }, 70_000]]);
    expect(back.events).toEqual(['door.mode/remote', 'door.locked/mode-normal']);
    // The door is still open: it is now counted as held open from here.
    expect(back.s.heldOpenAt).toBe(85_000);
  });

  test('setting the mode it already has does nothing', () => {
    expect(doorStep(initialDoorState(), { kind: 'mode', mode: 'normal', source: 'x' }, 0, T).events).toEqual([]);
  });

  test('repeated contact levels are ignored', () => {
    expect(doorStep(initialDoorState(), close, 0, T).events).toEqual([]);
  });
});
