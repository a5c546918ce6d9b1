import { randomUUID } from 'node:crypto';

/** Everything that happens at the gate is one of these; the bench, the audit log and the cloud outbox read them. */
export interface GateEvent {
  /** Monotonic within one daemon run and persisted across runs by whoever restores `startSeq`. */
  seq: number;
  /** Globally unique, so the cloud can drop duplicates delivered twice. */
  id: string;
  /** ISO-8601 UTC. */
  ts: string;
  /** Dotted type, e.g. `door.unlocked`, `access.denied`, `card.presented`. */
  type: string;
  /** Machine-readable reason code, e.g. `exit-button`, `unknown-credential`. */
  reason: string;
  /** Extra fields. Never personal data: hashed credential ids and pseudonymous resident ids only. */
  data?: Record<string, unknown>;
}

export type EventInput = Pick<GateEvent, 'type' | 'reason'> & { data?: Record<string, unknown> };
export type EventListener = (event: GateEvent) => void;

export interface EventBusOptions {
  /** How many recent events to keep for `since()` (the bench's /api/events). */
  keep?: number;
  startSeq?: number;
  now?: () => Date;
}

export class EventBus {
  private readonly keep: number;
  private readonly now: () => Date;
  private readonly recent: GateEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private seq: number;

  constructor(options: EventBusOptions = {}) {
    this.keep = options.keep ?? 500;
    this.now = options.now ?? (() => new Date());
    this.seq = options.startSeq ?? 0;
  }

  emit(input: EventInput): GateEvent {
    this.seq += 1;
    const event: GateEvent = {
      seq: this.seq,
      id: randomUUID(),
      ts: this.now().toISOString(),
      type: input.type,
      reason: input.reason,
      ...(input.data ? { data: input.data } : {}),
    };
    this.recent.push(event);
    if (this.recent.length > this.keep) this.recent.shift();
    for (const listener of this.listeners) {
      // A faulty listener (say, a bench client gone away) must not stop the others or the emitter.
      try {
        listener(event);
      } catch {
        /* listeners own their own error handling */
      }
    }
    return event;
  }

  /** Events with seq greater than `seq`, oldest first, from the in-memory window. */
  since(seq: number): GateEvent[] {
    return this.recent.filter((e) => e.seq > seq);
  }

  get lastSeq(): number {
    return this.seq;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
