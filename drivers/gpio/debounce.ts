/**
 * Reports a level only after it has been stable for `ms`: reed contacts and buttons bounce for a few ms,
 * and each bounce would otherwise be a door-forced alarm or a second exit request.
 */
export class Debouncer {
  private stable: boolean;
  private pending: boolean;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    initial: boolean,
    private readonly ms: number,
    private readonly onStable: (level: boolean) => void,
  ) {
    this.stable = initial;
    this.pending = initial;
  }

  get level(): boolean {
    return this.stable;
  }

  raw(level: boolean): void {
    this.pending = level;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (level === this.stable) return;
    if (this.ms === 0) {
      this.commit();
      return;
    }
    this.timer = setTimeout(() => this.commit(), this.ms);
  }

  private commit(): void {
    this.timer = undefined;
    if (this.pending === this.stable) return;
    this.stable = this.pending;
    this.onStable(this.stable);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** A DigitalInput fed by raw levels from a backend, debounced. */
export class DebouncedInput {
  private readonly listeners = new Set<(active: boolean) => void>();
  private readonly debouncer: Debouncer;

  constructor(initial: boolean, debounceMs: number) {
    this.debouncer = new Debouncer(initial, debounceMs, (level) => {
      for (const l of this.listeners) l(level);
    });
  }

  get active(): boolean {
    return this.debouncer.level;
  }

  raw(level: boolean): void {
    this.debouncer.raw(level);
  }

  onChange(listener: (active: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    this.debouncer.dispose();
    this.listeners.clear();
  }
}
