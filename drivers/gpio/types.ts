/** Logical levels: `true` means active (relay energised, LED lit, button pressed, contact open...). */
export interface DigitalOutput {
  write(active: boolean): void;
  readonly active: boolean;
}

export interface DigitalInput {
  /** The debounced logical level. */
  readonly active: boolean;
  onChange(listener: (active: boolean) => void): () => void;
}

export interface OutputSpec {
  pin: number;
  activeLow: boolean;
  /** The level the line takes the instant it is exported, so there is no glitch at boot. */
  initial: boolean;
}

export interface InputSpec {
  pin: number;
  activeLow: boolean;
  debounceMs: number;
}

/** One interface, two backends (sysfs through onoff, and the simulator), as Johnny-Five's IO plugins do. */
export interface GpioBackend {
  readonly kind: 'sysfs' | 'sim';
  output(name: string, spec: OutputSpec): DigitalOutput;
  input(name: string, spec: InputSpec): DigitalInput;
  close(): void;
}
