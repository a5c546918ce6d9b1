import { Gpio } from 'onoff';
import { DebouncedInput } from './debounce';
import { selectSocChip, sysfsNumber, type GpioChipInfo } from './sysfs-numbering';
import type { DigitalInput, DigitalOutput, GpioBackend, InputSpec, OutputSpec } from './types';

const level = (active: boolean, activeLow: boolean): 0 | 1 => (active !== activeLow ? 1 : 0);

/** Real GPIO through the kernel's sysfs interface (onoff). */
export class SysfsGpioBackend implements GpioBackend {
  readonly kind = 'sysfs' as const;
  private readonly lines: Gpio[] = [];
  private readonly inputs: DebouncedInput[] = [];
  private readonly chip: GpioChipInfo;

  constructor(chips: GpioChipInfo[], chipLabel: string) {
    this.chip = selectSocChip(chips, chipLabel);
  }

  output(name: string, spec: OutputSpec): DigitalOutput {
    // 'high'/'low' as the direction sets the value in the same write as the direction: no glitch at export.
    const line = new Gpio(sysfsNumber(this.chip, spec.pin), level(spec.initial, spec.activeLow) ? 'high' : 'low');
    this.lines.push(line);
    let current = spec.initial;
    return {
      write(active: boolean) {
        line.writeSync(level(active, spec.activeLow));
        current = active;
      },
      get active() {
        return current;
      },
    };
  }

  input(name: string, spec: InputSpec): DigitalInput {
    const line = new Gpio(sysfsNumber(this.chip, spec.pin), 'in', 'both');
    this.lines.push(line);
    const input = new DebouncedInput((line.readSync() === 1) !== spec.activeLow, spec.debounceMs);
    this.inputs.push(input);
    line.watch((err, value) => {
      if (!err) input.raw((value === 1) !== spec.activeLow);
    });
    return input;
  }

  /** Outputs keep the level last written (the door controller writes "locked" before this is called). */
  close(): void {
    for (const input of this.inputs) input.dispose();
    for (const line of this.lines) {
      try {
        line.unwatchAll();
      } catch {
        /* already released */
      }
    }
  }

  describe(): string {
    return `${this.chip.label} at sysfs base ${this.chip.base}`;
  }
}
