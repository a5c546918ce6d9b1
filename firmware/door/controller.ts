import type { GateGpio } from '../../drivers/gpio';
import type { DigitalInput, DigitalOutput } from '../../drivers/gpio/types';
import type { GateConfig } from '../config/schema';
import type { EventBus } from '../events/bus';
import type { DoorMode, DoorPort, DoorSnapshot } from './port';
import { doorStep, initialDoorState, nextDeadline, type DoorInput, type DoorState, type DoorTimings } from './state-machine';

export type LockType = 'fail-secure' | 'fail-safe';

export interface DoorOutputs {
  relay: DigitalOutput;
  ledGreen?: DigitalOutput;
  ledRed?: DigitalOutput;
  buzzer?: DigitalOutput;
}

export interface DoorInputs {
  contact?: DigitalInput;
  exit?: DigitalInput;
  tamper?: DigitalInput;
}

/** The relay level that keeps the door locked: de-energised for a strike, energised for a maglock. */
export function relayActiveFor(relay: 'locked' | 'unlocked', lockType: LockType): boolean {
  return (relay === 'unlocked') === (lockType === 'fail-secure');
}

/**
 * Owns the relay. Feeds GPIO inputs and grants into the pure state machine, writes the outputs the
 * state implies, and keeps one timer for the nearest deadline.
 */
export class DoorController implements DoorPort {
  private state: DoorState;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribers: (() => void)[] = [];
  private readonly listeners = new Set<(s: DoorSnapshot) => void>();

  constructor(
    private readonly outputs: DoorOutputs,
    private readonly inputs: DoorInputs,
    private readonly timings: DoorTimings,
    private readonly lockType: LockType,
    private readonly bus: EventBus,
    private readonly now: () => number = Date.now,
  ) {
    this.forceLock();
    this.state = initialDoorState(inputs.contact?.active ? 'open' : 'closed');
    this.apply();
    if (inputs.contact) this.unsubscribers.push(inputs.contact.onChange((open) => this.feed({ kind: 'contact', open })));
    if (inputs.exit) this.unsubscribers.push(inputs.exit.onChange((pressed) => pressed && this.feed({ kind: 'exit' })));
    if (inputs.tamper) {
      this.unsubscribers.push(inputs.tamper.onChange((active) => this.feed({ kind: 'tamper', active })));
      if (inputs.tamper.active) this.feed({ kind: 'tamper', active: true });
    }
  }

  /** Drives the relay to locked immediately, whatever the state: boot and every exit path (red line 7). */
  forceLock(): void {
    this.outputs.relay.write(relayActiveFor('locked', this.lockType));
  }

  grant(source: string): boolean {
    return this.feed({ kind: 'grant', source }).granted ?? false;
  }

  setMode(mode: DoorMode, source: string): void {
    this.feed({ kind: 'mode', mode, source });
  }

  snapshot(): DoorSnapshot {
    const { relay, contact, mode, alarms } = this.state;
    return { relay, contact, mode, alarms: [...alarms] };
  }

  onChange(listener: (s: DoorSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops reacting to inputs and leaves the relay locked. */
  stop(): void {
    for (const u of this.unsubscribers.splice(0)) u();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.forceLock();
  }

  private feed(input: DoorInput): { granted?: boolean } {
    const before = this.state;
    const step = doorStep(this.state, input, this.now(), this.timings);
    this.state = step.state;
    this.apply();
    for (const e of step.events) this.bus.emit(e);
    if (step.state !== before) {
      const snap = this.snapshot();
      for (const l of this.listeners) l(snap);
    }
    return step.granted === undefined ? {} : { granted: step.granted };
  }

  private apply(): void {
    const s = this.state;
    this.outputs.relay.write(relayActiveFor(s.relay, this.lockType));
    this.outputs.ledGreen?.write(s.relay === 'unlocked');
    this.outputs.ledRed?.write(s.alarms.length > 0 || s.mode === 'lockdown');
    this.outputs.buzzer?.write(s.alarms.includes('door.forced') || s.alarms.includes('door.held-open'));
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = nextDeadline(this.state);
    if (deadline === null) return;
    this.timer = setTimeout(() => this.feed({ kind: 'tick' }), Math.max(0, deadline - this.now()));
  }
}

/** The gate's door on its GPIO lines, as configured. */
export function doorOnGpio(gpio: GateGpio, config: GateConfig['door'], bus: EventBus): DoorController {
  return new DoorController(
    { relay: gpio.relay, ledGreen: gpio.ledGreen, ledRed: gpio.ledRed, buzzer: gpio.buzzer },
    { contact: gpio.contact, exit: gpio.exit, tamper: gpio.tamper },
    config,
    config.lockType,
    bus,
  );
}
