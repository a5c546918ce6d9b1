import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { DigitalInput } from '../../drivers/gpio/types';
import { DATA_EXCHANGE_TIMEOUT, type TypeATarget } from '../../drivers/nfc/commands';
import { Pn532, Pn532Error } from '../../drivers/nfc/pn532';
import type { I2cTransport } from '../../drivers/nfc/transport';
import type { CardProof } from '../access/decide';
import { hashCardUid, isRandomUid, normaliseUid } from '../credentials/card-id';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import type { Logger } from '../log';
import { backoffMs } from './backoff';
import { cardModePolicy, classifySecureTap, type CardModePolicy } from './card-mode';
import type { CardsConfig } from './config';
import { IssueError, type Transceive } from './secure/issue';
import { beginTransaction, continueTransaction, type CardReply, type KeyRing, type SecureOutcome } from './secure/transaction';
import { NO_TAP, tapStep, type Sighting, type TapEvent, type TapState } from './tap-tracker';

export interface CardReaderOptions {
  transport: I2cTransport;
  bus: EventBus;
  log: Logger;
  health: MethodHealth;
  /** The site HMAC key (firmware/keys): card UIDs are hashed with it the moment they are read. */
  siteKey: Uint8Array;
  config: CardsConfig;
  /** The PN532 IRQ line, when wired (config `irqPin`). */
  irq?: DigitalInput;
  /** The site's card keys (firmware/keys/card-keys.ts): required in `secure` and `both` modes. */
  cardKeys?: KeyRing;
}

/**
 * Called with the hash of every card presented (not those claimed by `nextTap`) and how it proved itself;
 * a failed proof comes with its reason. The return value is ignored, except that a returned promise's
 * rejection is caught and logged.
 */
type CardListener = (cardHash: string, proof: CardProof, failure?: string) => unknown;

/** Work on the next ISO/IEC 14443-4 card tapped (issuing, rekeying): it gets the card's APDU channel. */
export interface CardChannel {
  transceive: Transceive;
  anticollisionUid: Uint8Array;
}
export type CardJob<T> = (card: CardChannel) => Promise<{ uid: Uint8Array; result: T }>;

interface PendingJob {
  run: CardJob<unknown>;
  resolve: (done: { cardHash: string; result: unknown }) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** What the last poll's card turned out to be, so a card held in the field is not authenticated again. */
interface Presence {
  shownHash: string;
  sighting: Sighting;
}

interface TapWaiter {
  resolve: (cardHash: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The card reader: polls the PN532, turns what it sees into one `card.presented` per physical tap, and
 * keeps going through any bus or reader fault (back off, re-initialise, report the card method degraded).
 * Raw UIDs go no further than `sight()`: everything after it, events and listeners included, has the hash.
 */
export class CardReaderService {
  private readonly pn532: Pn532;
  private readonly cardListeners = new Set<CardListener>();
  private readonly waiters: TapWaiter[] = [];
  private tap: TapState = NO_TAP;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private degradedReason: string | null = null;
  private readonly policy: CardModePolicy;
  private presence: Presence | null = null;
  private readonly jobs: PendingJob[] = [];
  /** The tap a job claimed: presented as `issuing`, never to the access listeners. */
  private claimed: string | null = null;

  constructor(private readonly options: CardReaderOptions) {
    const { config, transport, irq } = options;
    this.policy = cardModePolicy(config);
    if (config.mode !== 'uid' && !options.cardKeys) throw new Error(`cards.mode "${config.mode}" needs the site's card keys`);
    this.pn532 = new Pn532(transport, {
      address: config.address,
      ackTimeoutMs: config.ackTimeoutMs,
      responseTimeoutMs: config.responseTimeoutMs,
      statusPollMs: config.statusPollMs,
      ...(irq ? { irq } : {}),
    });
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops polling (aborting the command in flight) and fails any pending `nextTap` and card job. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.abort.abort();
    await this.loop;
    this.loop = undefined;
    for (const w of [...this.waiters.splice(0), ...this.jobs.splice(0)]) {
      clearTimeout(w.timer);
      w.reject(new Error('the card reader stopped before a card was presented'));
    }
  }

  /** Called with the hash of every card presented (not those claimed by `nextTap`). Returns an unsubscribe. */
  onCard(listener: CardListener): () => void {
    this.cardListeners.add(listener);
    return () => this.cardListeners.delete(listener);
  }

  /**
   * The hash of the next card presented, for enrolment at the gate. That tap is claimed: it is recorded as
   * `card.presented` with reason `enrolment` and not passed to the access listeners, so enrolling a card
   * does not also open (or deny at) the door.
   */
  nextTap(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => enqueue(this.waiters, timeoutMs, (timer) => ({ resolve, reject, timer })));
  }

  /**
   * Runs `job` on the next ISO/IEC 14443-4 card that is tapped, whatever the card mode, and resolves with the
   * hash of the real UID the job reports. That tap is claimed like an enrolment tap: it never opens the door.
   */
  runOnNextCard<T>(timeoutMs: number, job: CardJob<T>): Promise<{ cardHash: string; result: T }> {
    return new Promise((resolve, reject) => enqueue(this.jobs, timeoutMs, (timer) => ({ run: job, resolve: resolve as PendingJob['resolve'], reject, timer })));
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { config, log } = this.options;
    let failures = 0;
    let initialised = false;
    while (!signal.aborted) {
      try {
        if (!initialised) {
          const fw = await this.pn532.initialise(config.passiveActivationRetries, 3, signal);
          initialised = true;
          log.info({ firmware: `${fw.version}.${fw.revision}` }, 'PN532 card reader initialised');
        }
        const target = await this.pn532.inListPassiveTargetA(signal);
        this.observe(await this.sight(target, signal));
        failures = 0;
        this.recovered();
        await sleep(config.pollIntervalMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        initialised = false;
        this.degraded(err, failures);
        await sleep(backoffMs(failures, config.backoff.initialMs, config.backoff.maxMs), signal);
      }
    }
  }

  /**
   * The only place a raw UID exists: it is normalised and hashed, or recognised as random, right here. In
   * secure and both modes the card is authenticated first, once per tap: a card still in the field at the
   * next poll, showing the same UID, keeps what its tap was found to be.
   */
  private async sight(target: TypeATarget | null, signal: AbortSignal): Promise<Sighting> {
    if (!target) return { kind: 'empty' };
    const uid = normaliseUid(target.uid);
    const { siteKey, cardKeys } = this.options;
    const job = this.jobs[0];
    if (job && target.ats && !(this.presence?.shownHash === hashCardUid(siteKey, uid) && this.tap.present)) return this.runJob(job, target, signal);
    if (!cardKeys || this.policy.mode === 'uid') {
      return isRandomUid(uid) ? { kind: 'random-uid' } : { kind: 'card', card: hashCardUid(siteKey, uid), proof: 'uid' };
    }
    const shownHash = hashCardUid(siteKey, uid);
    if (this.presence?.shownHash === shownHash && this.tap.present) return this.presence.sighting;
    const outcome = target.ats ? await this.transact(target, cardKeys, signal) : ({ kind: 'not-iso-dep' } as const);
    const sighting = classifySecureTap(this.policy, outcome, { hash: shownHash, random: isRandomUid(uid) }, (real) => hashCardUid(siteKey, real), Date.now());
    this.presence = { shownHash, sighting };
    return sighting;
  }

  private async runJob(job: PendingJob, target: TypeATarget, signal: AbortSignal): Promise<Sighting> {
    this.jobs.shift();
    clearTimeout(job.timer);
    const { siteKey } = this.options;
    let card = hashCardUid(siteKey, target.uid);
    const transceive: Transceive = async (apdu, expect) => {
      const answer = await this.pn532.inDataExchange(target.tg, apdu, { expect, signal });
      if (answer.status !== 0) throw new IssueError('card-gone', 'the card left the field (or stopped answering) before the work was done');
      return answer.data;
    };
    try {
      const done = await job.run({ transceive, anticollisionUid: target.uid });
      card = hashCardUid(siteKey, done.uid);
      job.resolve({ cardHash: card, result: done.result });
    } catch (err) {
      job.reject(err instanceof Error ? err : new Error(String(err)));
      // A reader fault also goes up to the poll loop, which backs off and re-initialises.
      if (err instanceof Pn532Error) throw err;
    }
    this.claimed = card;
    const sighting: Sighting = { kind: 'card', card, proof: 'secure' };
    this.presence = { shownHash: hashCardUid(siteKey, target.uid), sighting };
    return sighting;
  }

  /**
   * Runs the secure transaction (firmware/cards/secure/transaction.ts) over InDataExchange: the pure step
   * machine decides, this only carries bytes and the deadline. A card that stops answering, or a PN532 that
   * does not answer in time, ends it without a verdict; bus faults go up to the poll loop as reader faults.
   */
  private async transact(target: TypeATarget, keys: KeyRing, signal: AbortSignal): Promise<SecureOutcome> {
    const deadline = Date.now() + this.options.config.secureTimeoutMs;
    const rnd = (): Uint8Array => new Uint8Array(randomBytes(16));
    let step = beginTransaction({ anticollisionUid: target.uid, ...(target.ats ? { ats: target.ats } : {}), keys, randoms: [rnd(), rnd(), rnd()] });
    while (step.kind === 'send') {
      const timeoutMs = deadline - Date.now();
      if (timeoutMs <= 0) return { kind: 'interrupted', failure: 'timeout' };
      let reply: CardReply;
      try {
        const answer = await this.pn532.inDataExchange(target.tg, step.apdu, { expect: step.expect, timeoutMs, signal });
        reply = answer.status === 0 ? { kind: 'data', bytes: answer.data } : answer.status === DATA_EXCHANGE_TIMEOUT ? { kind: 'no-answer' } : { kind: 'rf-error' };
      } catch (err) {
        if (err instanceof Pn532Error && err.code === 'timeout') return { kind: 'interrupted', failure: 'timeout' };
        throw err;
      }
      step = continueTransaction(step.state, reply);
    }
    return step.outcome;
  }

  private observe(sighting: Sighting): void {
    const step = tapStep(this.tap, sighting, this.options.config.removeAfterMisses);
    this.tap = step.state;
    if (!this.tap.present) {
      this.presence = null;
      this.claimed = null;
    }
    for (const event of step.events) this.publish(event);
  }

  private publish(event: TapEvent): void {
    const { bus } = this.options;
    if (event.kind === 'refused-random-uid') {
      bus.emit({ type: 'card.refused', reason: 'random-uid' });
      return;
    }
    if (event.kind === 'removed') {
      bus.emit({ type: 'card.removed', reason: 'left-field', data: { card: event.card } });
      return;
    }
    if (event.kind === 'presented' && event.card === this.claimed) {
      this.claimed = null;
      bus.emit({ type: 'card.presented', reason: 'issuing', data: { card: event.card } });
      return;
    }
    const waiter = this.waiters.shift();
    if (event.kind === 'not-authentic') {
      bus.emit({ type: 'card.refused', reason: 'card-not-authentic', data: { card: event.card, failure: event.failure } });
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`the card presented is not authentic (${event.failure}); nothing was enrolled`));
        return;
      }
      return this.notify(event.card, 'failed', event.failure);
    }
    const proof = event.proof ?? 'uid';
    // In uid mode every card is a UID card: the proof is said only where there is a choice.
    bus.emit({ type: 'card.presented', reason: waiter ? 'enrolment' : 'tap', data: { card: event.card, ...(this.policy.mode === 'uid' ? {} : { proof }) } });
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(event.card);
      return;
    }
    this.notify(event.card, proof);
  }

  private notify(card: string, proof: CardProof, failure?: string): void {
    // A failing listener must neither stop the others nor, as an unhandled rejection, the daemon.
    const failed = (err: unknown): void => this.options.log.error({ card, err: (err as Error)?.message }, 'card listener failed');
    for (const listener of this.cardListeners) {
      try {
        void Promise.resolve(listener(card, proof, failure)).catch(failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  /** Health changes reach /api/state, the MQTT state and (as `method.health` events) the audit through MethodHealth. */
  private degraded(err: unknown, failures: number): void {
    const reason = faultReason(err);
    // A reader left unplugged fails every few seconds for as long as it is out: say so once per cause.
    const level = reason === this.degradedReason ? 'debug' : 'warn';
    this.options.log[level]({ reason, failures }, 'card reader fault; backing off and re-initialising');
    this.options.health.set('card', 'degraded', reason);
    this.degradedReason = reason;
  }

  private recovered(): void {
    this.options.health.set('card', 'ok');
    if (this.degradedReason === null) return;
    this.options.log.info({ after: this.degradedReason }, 'card reader recovered');
    this.degradedReason = null;
  }
}

/** Queues an entry that fails by itself, and leaves the queue, when no card came within `timeoutMs`. */
function enqueue<E extends { reject: (err: Error) => void; timer: NodeJS.Timeout }>(queue: E[], timeoutMs: number, make: (timer: NodeJS.Timeout) => E): void {
  const entry = make(
    setTimeout(() => {
      queue.splice(queue.indexOf(entry), 1);
      entry.reject(new Error(`no card was presented within ${timeoutMs} ms`));
    }, timeoutMs),
  );
  queue.push(entry);
}

/** A short reason code for health and events, e.g. `bus-EREMOTEIO`, `reader-timeout`. */
function faultReason(err: unknown): string {
  if (err instanceof Pn532Error) return err.code === 'bus' ? `bus-${err.busCode ?? 'EIO'}` : `reader-${err.code}`;
  return 'reader-fault';
}

/** Resolves after `ms`, or early when the service stops. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
