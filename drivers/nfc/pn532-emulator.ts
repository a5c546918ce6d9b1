import { randomBytes } from 'node:crypto';
import type { DigitalInput } from '../gpio/types';
import { frameWaitingMs, fwiFromAts, isoDepExchangeMs, ratsAtsMs } from './air-timing';
import type { IsoDepCard } from './cards/iso-dep';
import { BRTY_106_TYPE_A, CMD, RETRY_FOREVER, RF_ITEM_MAX_RETRIES } from './commands';
import { ACK_FRAME, ERROR_FRAME, FrameError, TFI_HOST, TFI_PN532, decodeFrame, encodeFrame } from './frames';
import { I2cBusClock } from './i2c-bus-clock';
import { activate, cardWithUid, encodeTargetA, parseUidHex, type FieldOccupant } from './rf-field';
import { PN532_I2C_ADDRESS, type I2cTransport } from './transport';

export type BusErrorCode = 'EREMOTEIO' | 'ETIMEDOUT';

/** Faults to inject; counters apply to the next N occurrences and count down. Tests and the bench set them. */
export interface Pn532Faults {
  /** Next N response transmissions (first sends and NACK resends) go out with a wrong data checksum. */
  corruptChecksum: number;
  /** Next N response transmissions are replaced by random bytes of the same length. */
  garbage: number;
  /** Next N commands are acknowledged and then answered with the syntax error frame. */
  syntaxError: number;
  /** Next N commands are lost on the wire: no ACK, no response. */
  dropAck: number;
  /** The status byte never shows ready. */
  neverReady: boolean;
  /** Next `count` transfers fail with this errno code, as i2c-bus reports a NACKed address or a hung bus. */
  busError: { code: BusErrorCode; count: number } | null;
  /** Extra processing time before every response, in ms. */
  slowMs: number;
}

export interface Pn532EmulatorOptions {
  address?: number;
  /** Time per byte on the bus; 90 µs is 9 bit-times at 100 kHz. */
  byteTimeUs?: number;
  /** One passive activation attempt with nothing in the field (REQA and its timeout). */
  activationAttemptMs?: number;
  /** Anticollision and select of a card that is in the field. */
  cardActivationMs?: number;
  /** Firmware command processing time. */
  processingMs?: number;
  /** Scales the modelled ISO/IEC 14443-4 air and card time (air-timing.ts); 0 answers at once, for long test runs. */
  cardTimeScale?: number;
}

interface Outgoing {
  bytes: Buffer;
}

const RECENT_COMMANDS = 64;

/**
 * InDataExchange status bytes (UM0701-02 §7.1, error codes): 0x01 "time out, the target has not answered",
 * what the PN532 reports when the card left the field; 0x27 "command not acceptable in the current context",
 * used here when no target was activated first.
 */
const STATUS_OK = 0x00;
const STATUS_TIMEOUT = 0x01;
const STATUS_NO_TARGET = 0x27;

export interface PlaceOptions {
  /** The card is pulled away right after answering this many InDataExchange commands (a torn transaction). */
  leaveAfterExchanges?: number;
}

const ERRNO: Record<BusErrorCode, { errno: number; text: string }> = {
  EREMOTEIO: { errno: -121, text: 'remote I/O error' },
  ETIMEDOUT: { errno: -110, text: 'connection timed out' },
};

function busFault(code: BusErrorCode, syscall: 'read' | 'write'): NodeJS.ErrnoException {
  // The same shape as the fs.read/fs.write errors i2c-bus passes through.
  const err: NodeJS.ErrnoException = new Error(`${code}: ${ERRNO[code].text}, ${syscall}`);
  err.errno = ERRNO[code].errno;
  err.code = code;
  err.syscall = syscall;
  return err;
}

/**
 * A PN532 on I2C, byte for byte: host frames in, the status byte then ACK/response frames out, NACK
 * resends, ACK aborts, the syntax-error frame for commands it does not know, and an RF field in which a
 * card or phone can be placed. A read transfer that covers a whole queued frame consumes it; a shorter one
 * (such as a one-byte status poll) leaves it for the next read, which starts again with the status byte.
 */
export class Pn532Emulator implements I2cTransport {
  readonly faults: Pn532Faults = { corruptChecksum: 0, garbage: 0, syntaxError: 0, dropAck: 0, neverReady: false, busError: null, slowMs: 0 };
  /** Performance-clock time (ms) at which the current occupant entered the field, for latency benches. */
  placedAt: number | null = null;

  private readonly address: number;
  private readonly clock: I2cBusClock;
  private readonly activationAttemptMs: number;
  private readonly cardActivationMs: number;
  private readonly processingMs: number;
  private readonly cardTimeScale: number;
  private readonly out: Outgoing[] = [];
  private readonly irqListeners = new Set<(active: boolean) => void>();
  private readonly jobTimers = new Set<NodeJS.Timeout>();
  private irqLevel = false;
  private lastResponse: Buffer | null = null;
  private occupant: FieldOccupant | null = null;
  private tapInProgress: { timer: NodeJS.Timeout; done: () => void } | null = null;
  private plugged = true;
  private passiveActivationRetries = RETRY_FOREVER;
  private samMode = 0;
  /** The target the last InListPassiveTarget activated, and how long the PN532 waits for it (its FWT). */
  private target: { occupant: FieldOccupant; fwtMs: number } | null = null;
  private leaveAfterExchanges: number | null = null;
  private busBytes = 0;
  private exchangeTotal = 0;
  private readonly commandLog: number[] = [];
  private commandTotal = 0;
  /** The InListPassiveTarget in progress, if any. */
  private poll: { startedAt: number; attempts: number; respond: (data: number[], afterMs: number) => void; timer: NodeJS.Timeout | undefined } | null = null;
  /** P70_IRQ as a GPIO input: active (pulled low) while a frame is ready for the host. */
  readonly irq: DigitalInput;

  constructor(options: Pn532EmulatorOptions = {}) {
    const level = (): boolean => this.irqLevel;
    this.irq = {
      get active() {
        return level();
      },
      onChange: (listener) => {
        this.irqListeners.add(listener);
        return () => this.irqListeners.delete(listener);
      },
    };
    this.address = options.address ?? PN532_I2C_ADDRESS;
    this.clock = new I2cBusClock(options.byteTimeUs ?? 90);
    this.activationAttemptMs = options.activationAttemptMs ?? 1.5;
    this.cardActivationMs = options.cardActivationMs ?? 3;
    this.processingMs = options.processingMs ?? 1;
    this.cardTimeScale = options.cardTimeScale ?? 1;
  }

  /** The most recent command codes received (up to 64), oldest first, for tests that check what the driver sent. */
  get recentCommands(): readonly number[] {
    return this.commandLog;
  }

  /** Commands received since power-up of the emulator. */
  get commandCount(): number {
    return this.commandTotal;
  }

  /** SAMConfiguration mode last set (0 until configured, as after power-up). */
  get sam(): number {
    return this.samMode;
  }

  get maxPassiveActivationRetries(): number {
    return this.passiveActivationRetries;
  }

  /** Bytes moved over I2C since power-up of the emulator, the address byte of each transfer included. */
  get i2cBytes(): number {
    return this.busBytes;
  }

  /** InDataExchange commands (APDUs to the card) since power-up of the emulator. */
  get exchanges(): number {
    return this.exchangeTotal;
  }

  /** Puts a card with this UID in the field until `remove()`. */
  place(uid: string, details: { atqa?: Uint8Array; sak?: number; ats?: Uint8Array } = {}): void {
    this.enter({ ...cardWithUid(parseUidHex(uid)), ...details });
  }

  /** Puts a phone (a random UID at each activation) in the field until `remove()`. */
  placePhone(): void {
    this.enter({ kind: 'phone' });
  }

  /** Puts an ISO/IEC 14443-4 card model (DESFire EV3, NTAG 424 DNA…) in the field until `remove()`. */
  placeCard(card: IsoDepCard, options: PlaceOptions = {}): void {
    this.enter({ kind: 'iso-dep', card }, options);
  }

  /** `tap()` for a card model. */
  tapCard(card: IsoDepCard, holdMs = 300, options: PlaceOptions = {}): Promise<void> {
    this.placeCard(card, options);
    return this.holdFor(holdMs);
  }

  remove(): void {
    this.endTap();
    this.occupant = null;
    this.placedAt = null;
  }

  /**
   * A person holding a card to the reader for `holdMs`, then taking it away. Resolves once it has left,
   * or once another card or `remove()` has ended the tap early.
   */
  tap(uid: string, holdMs = 300): Promise<void> {
    this.place(uid);
    return this.holdFor(holdMs);
  }

  private holdFor(holdMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.tapInProgress = { timer: setTimeout(() => this.remove(), holdMs), done: resolve };
    });
  }

  private endTap(): void {
    const tap = this.tapInProgress;
    this.tapInProgress = null;
    if (!tap) return;
    clearTimeout(tap.timer);
    tap.done();
  }

  /** The reader's cable pulled: every transfer fails until `plugIn()`, which powers it up from reset. */
  unplug(): void {
    this.plugged = false;
    this.cancelJob();
    this.out.length = 0;
    this.lastResponse = null;
    this.samMode = 0;
    this.passiveActivationRetries = RETRY_FOREVER;
    this.target = null;
    this.updateIrq();
  }

  plugIn(): void {
    this.plugged = true;
  }

  async i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    this.checkTransfer(address, 'read');
    const head = this.faults.neverReady ? undefined : this.out[0];
    buffer.fill(0, 0, length);
    if (head) {
      buffer[0] = 0x01;
      head.bytes.copy(buffer, 1, 0, Math.min(head.bytes.length, length - 1));
      if (length - 1 >= head.bytes.length) {
        this.out.shift();
        this.updateIrq();
      }
    }
    this.busBytes += length + 1;
    await this.clock.transfer(length);
    return { bytesRead: length, buffer };
  }

  async i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    this.checkTransfer(address, 'write');
    const bytes = Buffer.from(buffer.subarray(0, length));
    this.busBytes += length + 1;
    await this.clock.transfer(length);
    this.receive(bytes);
    return { bytesWritten: length, buffer };
  }

  async close(): Promise<void> {
    this.cancelJob();
    this.remove();
  }

  private enter(occupant: FieldOccupant, options: PlaceOptions = {}): void {
    this.endTap();
    if (occupant.kind === 'iso-dep') occupant.card.powerUp();
    this.leaveAfterExchanges = options.leaveAfterExchanges ?? null;
    this.occupant = occupant;
    this.placedAt = performance.now();
    this.armPoll();
  }

  private checkTransfer(address: number, syscall: 'read' | 'write'): void {
    const fault = this.faults.busError;
    if (fault && fault.count > 0) {
      fault.count -= 1;
      if (fault.count <= 0) this.faults.busError = null;
      throw busFault(fault.code, syscall);
    }
    // Nobody acknowledges the address: what Linux reports for an absent or unpowered device.
    if (!this.plugged || address !== this.address) throw busFault('EREMOTEIO', syscall);
  }

  private receive(bytes: Buffer): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      if (err instanceof FrameError) return; // the PN532 drops what it cannot parse, without an ACK
      throw err;
    }
    if (frame.kind === 'ack') {
      this.cancelJob();
      this.out.length = 0;
      this.updateIrq();
      return;
    }
    if (frame.kind === 'nack') {
      const last = this.lastResponse;
      if (last) this.later(this.processingMs, () => this.transmit(last));
      return;
    }
    if (frame.kind !== 'info' || frame.tfi !== TFI_HOST || frame.data.length === 0) return;
    if (this.faults.dropAck > 0) {
      this.faults.dropAck -= 1;
      return;
    }
    this.cancelJob();
    this.out.length = 0;
    this.queue(Buffer.from(ACK_FRAME));
    const [code, ...params] = frame.data as unknown as [number, ...number[]];
    this.commandTotal += 1;
    this.commandLog.push(code);
    if (this.commandLog.length > RECENT_COMMANDS) this.commandLog.shift();
    this.execute(code, params);
  }

  private execute(code: number, params: number[]): void {
    const respond = (data: number[], afterMs = this.processingMs): void => {
      this.later(afterMs + this.faults.slowMs, () => this.respond([code + 1, ...data]));
    };
    const syntaxError = (): void => {
      this.later(this.processingMs, () => this.queue(Buffer.from(ERROR_FRAME)));
    };
    if (this.faults.syntaxError > 0) {
      this.faults.syntaxError -= 1;
      return syntaxError();
    }
    switch (code) {
      case CMD.Diagnose:
        if (params[0] !== 0x00) return syntaxError();
        return respond(params);
      case CMD.GetFirmwareVersion:
        return respond([0x32, 0x01, 0x06, 0x07]);
      case CMD.SAMConfiguration: {
        const mode = params[0];
        if (mode === undefined || mode < 1 || mode > 4) return syntaxError();
        this.samMode = mode;
        return respond([]);
      }
      case CMD.RFConfiguration: {
        if (params[0] === RF_ITEM_MAX_RETRIES) {
          if (params.length !== 4) return syntaxError();
          this.passiveActivationRetries = params[3]!;
        } else if (params[0] === undefined) {
          return syntaxError();
        }
        return respond([]);
      }
      case CMD.InListPassiveTarget: {
        const [maxTg, brTy] = params;
        if (maxTg === undefined || maxTg < 1 || maxTg > 2 || brTy !== BRTY_106_TYPE_A) return syntaxError();
        this.target = null;
        return this.startPoll((data, afterMs) => respond(data, afterMs));
      }
      case CMD.InDataExchange: {
        const [tg, ...apdu] = params;
        if (tg === undefined) return syntaxError();
        return this.dataExchange(tg, Uint8Array.from(apdu), respond);
      }
      default:
        return syntaxError();
    }
  }

  /**
   * Passive activation: attempts at t = 0, 1, 2… × activationAttemptMs until one finds a target or the
   * retries run out. Rather than one timer per attempt, it sleeps until the attempt that matters: the next
   * one after a card enters, or the last one while the field stays empty.
   */
  private startPoll(respond: (data: number[], afterMs: number) => void): void {
    const attempts = this.passiveActivationRetries === RETRY_FOREVER ? Infinity : this.passiveActivationRetries + 1;
    this.poll = { startedAt: performance.now(), attempts, respond, timer: undefined };
    this.armPoll();
  }

  private armPoll(): void {
    const poll = this.poll;
    if (!poll) return;
    if (poll.timer) {
      clearTimeout(poll.timer);
      this.jobTimers.delete(poll.timer);
    }
    const elapsed = performance.now() - poll.startedAt;
    const nextAttempt = this.activationAttemptMs > 0 ? Math.ceil(elapsed / this.activationAttemptMs - 1e-9) : 0;
    if (this.occupant && nextAttempt < poll.attempts) {
      poll.timer = this.later(nextAttempt * this.activationAttemptMs - elapsed, () => {
        if (!this.occupant) return this.armPoll(); // taken away before the attempt reached it
        this.poll = null;
        const target = activate(this.occupant, 1);
        // An ISO/IEC 14443-4 card is also sent RATS; the PN532 then waits up to the FWT its ATS announces.
        this.target = { occupant: this.occupant, fwtMs: frameWaitingMs(target.ats ? fwiFromAts(target.ats) : 4) };
        poll.respond(encodeTargetA(target), this.cardActivationMs + (target.ats ? ratsAtsMs(target.ats.length + 1) * this.cardTimeScale : 0));
      });
    } else if (poll.attempts !== Infinity) {
      // Empty field, or a card that arrived after the last attempt: the retries end with no target.
      poll.timer = this.later(poll.attempts * this.activationAttemptMs - elapsed, () => {
        this.poll = null;
        poll.respond([0], 0);
      });
    }
  }

  /**
   * InDataExchange to the activated target: the card model's answer after the modelled air and processing
   * time, or status 01 (timeout) after the FWT when the card has left the field or does not speak ISO-DEP.
   */
  private dataExchange(tg: number, apdu: Uint8Array, respond: (data: number[], afterMs?: number) => void): void {
    const target = this.target;
    if (!target || tg !== 1) return respond([STATUS_NO_TARGET]);
    this.exchangeTotal += 1;
    if (this.leaveAfterExchanges === 0) this.remove();
    if (target.occupant !== this.occupant || target.occupant.kind !== 'iso-dep') {
      return respond([STATUS_TIMEOUT], this.processingMs + target.fwtMs * this.cardTimeScale);
    }
    const { response, processingMs } = target.occupant.card.exchange(apdu);
    respond([STATUS_OK, ...response], this.processingMs + isoDepExchangeMs(apdu.length, response.length, processingMs) * this.cardTimeScale);
    if (this.leaveAfterExchanges !== null && --this.leaveAfterExchanges === 0) this.remove();
  }

  private respond(data: number[]): void {
    const frame = encodeFrame(TFI_PN532, data);
    this.lastResponse = frame;
    this.transmit(frame);
  }

  /** Puts a response on the wire, where the injected corruption happens (resends included). */
  private transmit(frame: Buffer): void {
    if (this.faults.garbage > 0) {
      this.faults.garbage -= 1;
      this.queue(randomBytes(frame.length));
    } else if (this.faults.corruptChecksum > 0) {
      this.faults.corruptChecksum -= 1;
      const bad = Buffer.from(frame);
      bad[bad.length - 2] = (bad[bad.length - 2]! + 1) & 0xff;
      this.queue(bad);
    } else {
      this.queue(frame);
    }
  }

  private queue(bytes: Buffer): void {
    this.out.push({ bytes });
    this.updateIrq();
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.jobTimers.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    this.jobTimers.add(timer);
    return timer;
  }

  private cancelJob(): void {
    for (const t of this.jobTimers) clearTimeout(t);
    this.jobTimers.clear();
    this.poll = null;
  }

  private updateIrq(): void {
    const level = !this.faults.neverReady && this.out.length > 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    for (const l of this.irqListeners) l(level);
  }
}
