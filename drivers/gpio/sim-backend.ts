import { renameSync, writeFileSync } from 'node:fs';
import { DebouncedInput } from './debounce';
import type { DigitalInput, DigitalOutput, GpioBackend, InputSpec, OutputSpec } from './types';

export interface SimLineState {
  name: string;
  pin: number;
  direction: 'in' | 'out';
  /** The electrical level on the pin (after active-low inversion). */
  level: 0 | 1;
  active: boolean;
}

/**
 * GPIO without a Pi: outputs remember their electrical level, inputs are driven by `setInput` (the
 * bench) and go through the same debouncing as real lines. A real line keeps its level after the process
 * dies, so with `levelsFile` the simulator writes every output level there as it changes: a test can
 * kill the daemon and read what the relay was left at.
 */
export class SimGpioBackend implements GpioBackend {
  readonly kind = 'sim' as const;
  private readonly outputs = new Map<string, { spec: OutputSpec; active: boolean }>();
  private readonly inputs = new Map<string, { spec: InputSpec; line: DebouncedInput; raw: boolean }>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly levelsFile?: string) {}

  output(name: string, spec: OutputSpec): DigitalOutput {
    const entry = { spec, active: spec.initial };
    this.outputs.set(name, entry);
    this.persistLevels();
    const changed = () => this.changed();
    return {
      write(active: boolean) {
        if (entry.active === active) return;
        entry.active = active;
        changed();
      },
      get active() {
        return entry.active;
      },
    };
  }

  input(name: string, spec: InputSpec): DigitalInput {
    const line = new DebouncedInput(false, spec.debounceMs);
    this.inputs.set(name, { spec, line, raw: false });
    line.onChange(() => this.changed());
    return line;
  }

  /** Drive an input as a person or the door would: `active` is the logical level (pressed, open...). */
  setInput(name: string, active: boolean): void {
    const entry = this.inputs.get(name);
    if (!entry) throw new Error(`no simulated input named "${name}" (have: ${[...this.inputs.keys()].join(', ')})`);
    entry.raw = active;
    entry.line.raw(active);
  }

  lines(): SimLineState[] {
    const out: SimLineState[] = [];
    for (const [name, { spec, active }] of this.outputs) {
      out.push({ name, pin: spec.pin, direction: 'out', active, level: active !== spec.activeLow ? 1 : 0 });
    }
    for (const [name, { spec, line }] of this.inputs) {
      out.push({ name, pin: spec.pin, direction: 'in', active: line.active, level: line.active !== spec.activeLow ? 1 : 0 });
    }
    return out;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.persistLevels();
    for (const l of this.listeners) l();
  }

  private persistLevels(): void {
    if (!this.levelsFile) return;
    const levels = Object.fromEntries(this.lines().filter((l) => l.direction === 'out').map((l) => [l.name, { level: l.level, active: l.active }]));
    // Synchronous and renamed into place: the file must be right at the instant the process is killed.
    const tmp = `${this.levelsFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(levels));
    renameSync(tmp, this.levelsFile);
  }

  close(): void {
    for (const { line } of this.inputs.values()) line.dispose();
  }
}
