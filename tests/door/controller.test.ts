import { openGateGpio } from '../../drivers/gpio';
import { parseConfig } from '../../firmware/config/load';
import { doorOnGpio, relayActiveFor } from '../../firmware/door/controller';
import { EventBus } from '../../firmware/events/bus';

function makeDoor(overrides: Record<string, unknown> = {}) {
  const config = parseConfig({ hardware: 'sim', ...overrides });
  const gpio = openGateGpio(config.gpio, 'sim', relayActiveFor('locked', config.door.lockType));
  const bus = new EventBus({ now: () => new Date(Date.now()) });
  const door = doorOnGpio(gpio, config.door, bus);
  const sim = gpio.sim!;
  const level = (name: string) => sim.lines().find((l) => l.name === name)!.level;
  const types = () => bus.since(0).map((e) => `${e.type}/${e.reason}`);
  return { door, sim, level, types, gpio };
}

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

describe('door controller on simulated GPIO', () => {
  test('fail-secure strike: relay de-energised when locked, energised for the pulse', () => {
    const { door, level } = makeDoor();
    expect(level('relay')).toBe(0);
    expect(door.grant('card')).toBe(true);
    expect(level('relay')).toBe(1);
    expect(level('ledGreen')).toBe(1);
    jest.advanceTimersByTime(4999);
    expect(level('relay')).toBe(1);
    jest.advanceTimersByTime(1);
    expect(level('relay')).toBe(0);
    expect(door.snapshot().relay).toBe('locked');
  });

  test('fail-safe maglock: relay energised when locked; active-low relay board inverts the pin', () => {
    const mag = makeDoor({ door: { lockType: 'fail-safe' } });
    expect(mag.level('relay')).toBe(1);
    mag.door.grant('card');
    expect(mag.level('relay')).toBe(0);
    const inverted = makeDoor({ gpio: { relay: { activeLow: true } } });
    expect(inverted.level('relay')).toBe(1);
    inverted.door.grant('card');
    expect(inverted.level('relay')).toBe(0);
  });

  test('the exit button passes through the debounce, unlocks for the pulse, then relocks', () => {
    const { sim, door, types } = makeDoor({ door: { pulseMs: 3000 } });
    sim.setInput('exit', true);
    sim.setInput('exit', false); // a 0 ms bounce: ignored
    jest.advanceTimersByTime(100);
    expect(door.snapshot().relay).toBe('locked');
    sim.setInput('exit', true);
    jest.advanceTimersByTime(30);
    expect(door.snapshot().relay).toBe('unlocked');
    sim.setInput('exit', false);
    jest.advanceTimersByTime(3000);
    expect(door.snapshot().relay).toBe('locked');
    expect(types()).toEqual(['door.exit-request/exit-button', 'door.unlocked/exit-button', 'door.locked/pulse-ended']);
  });

  test('forced opening lights the red LED and the buzzer until the door closes', () => {
    const { sim, level, door } = makeDoor();
    sim.setInput('contact', true);
    jest.advanceTimersByTime(30);
    expect(door.snapshot().alarms).toEqual(['door.forced']);
    expect(level('ledRed')).toBe(1);
    expect(level('buzzer')).toBe(1);
    sim.setInput('contact', false);
    jest.advanceTimersByTime(30);
    expect(door.snapshot().alarms).toEqual([]);
    expect(level('buzzer')).toBe(0);
  });

  test('held-open alarm fires on its timer', () => {
    const { sim, door } = makeDoor({ door: { heldOpenMs: 2000 } });
    door.grant('card');
    sim.setInput('contact', true);
    jest.advanceTimersByTime(30 + 1999);
    expect(door.snapshot().alarms).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(door.snapshot().alarms).toEqual(['door.held-open']);
  });

  test('tamper asserted at boot raises its alarm at once', () => {
    const { sim, door } = makeDoor();
    sim.setInput('tamper', true);
    jest.advanceTimersByTime(30);
    expect(door.snapshot().alarms).toEqual(['tamper']);
  });

  test('lockdown refuses grants but the exit button still opens; stop() leaves the relay locked', () => {
    const { door, sim, level } = makeDoor();
    door.setMode('lockdown', 'remote');
    expect(level('ledRed')).toBe(1);
    expect(door.grant('card')).toBe(false);
    expect(level('relay')).toBe(0);
    sim.setInput('exit', true);
    jest.advanceTimersByTime(30);
    expect(level('relay')).toBe(1);
    door.stop();
    expect(level('relay')).toBe(0);
  });
});
