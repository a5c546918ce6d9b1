import { setTimeout as delay } from 'node:timers/promises';
import type { DigitalInput } from '../gpio/types';
import {
  CMD,
  ResponseError,
  inDataExchangeParams,
  inListPassiveTargetParams,
  maxRetriesParams,
  parseFirmwareVersion,
  parseInDataExchange,
  parseInListPassiveTargetA,
  samConfigurationParams,
  type DataExchangeResult,
  type FirmwareVersion,
  type TypeATarget,
} from './commands';
import { ACK_FRAME, FrameError, NACK_FRAME, TFI_HOST, TFI_PN532, decodeFrame, encodeFrame, type DecodedFrame } from './frames';
import { PN532_I2C_ADDRESS, type I2cTransport } from './transport';

/**
 * bus: the I2C transfer failed (EREMOTEIO, ETIMEDOUT, ENOENT...); no-ack: the command was not acknowledged;
 * timeout: acknowledged but never answered; bad-frame: the answer kept failing its checksums;
 * error-frame: the PN532 reported a syntax error; bad-response: a valid frame that is not the answer asked for;
 * aborted: the caller gave up (service stopping).
 */
export type Pn532ErrorCode = 'bus' | 'no-ack' | 'timeout' | 'bad-frame' | 'error-frame' | 'bad-response' | 'aborted';

export class Pn532Error extends Error {
  constructor(
    readonly code: Pn532ErrorCode,
    message: string,
    /** The errno code of a bus fault, e.g. EREMOTEIO. */
    readonly busCode?: string,
  ) {
    super(message);
    this.name = 'Pn532Error';
  }
}

export interface Pn532Options {
  address?: number;
  /** The PN532's P70_IRQ line as a GPIO input whose `active` means "held low": a response is ready. */
  irq?: DigitalInput;
  /** The PN532 acknowledges within about 1 ms; this is how long to wait for it. */
  ackTimeoutMs?: number;
  /** Default wait for a response after the ACK. */
  responseTimeoutMs?: number;
  /** Pause between status-byte reads when there is no IRQ line. */
  statusPollMs?: number;
  /** How many times to ask for a resend (NACK) of a response that failed its checksums. */
  nackRetries?: number;
}

interface CommandOptions {
  /** Bytes of response data (after TFI and the response code) to read in the first transfer. */
  expect: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Frame overhead around TFI + data: 00 00 FF LEN LCS … DCS 00. */
const NORMAL_OVERHEAD = 7;
const STATUS_READY = 0x01;

/** InListPassiveTarget data for one type A target with a 10-byte NFCID1 and no ATS. */
const INLIST_EXPECT = 1 + 1 + 2 + 1 + 1 + 10;

/** Host side of the PN532 protocol over I2C (UM0701-02 §6.2.4): status byte, ACK, response, NACK, abort. */
export class Pn532 {
  private readonly address: number;
  private readonly ackTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly statusPollMs: number;
  private readonly nackRetries: number;

  constructor(
    private readonly bus: I2cTransport,
    private readonly options: Pn532Options = {},
  ) {
    this.address = options.address ?? PN532_I2C_ADDRESS;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 1000;
    this.statusPollMs = options.statusPollMs ?? 1;
    this.nackRetries = options.nackRetries ?? 2;
  }

  /**
   * Brings the reader to a known state: abort whatever it was doing, read the firmware version (retried,
   * since a PN532 waking from power-down may miss the first command), leave SAM low-power mode, and make
   * passive activation give up after a finite number of retries so a poll with no card returns.
   */
  async initialise(passiveActivationRetries: number, firmwareAttempts = 3, signal?: AbortSignal): Promise<FirmwareVersion> {
    await this.abort().catch(() => undefined);
    let firmware: FirmwareVersion | undefined;
    for (let attempt = 1; firmware === undefined; attempt++) {
      try {
        firmware = await this.getFirmwareVersion(signal);
      } catch (err) {
        if (attempt >= firmwareAttempts || (err instanceof Pn532Error && err.code === 'aborted')) throw err;
      }
    }
    if (firmware.ic !== 0x32) throw new Pn532Error('bad-response', `reader reports IC 0x${firmware.ic.toString(16)}, not a PN532 (0x32)`);
    await this.samConfiguration(signal);
    await this.setPassiveActivationRetries(passiveActivationRetries, signal);
    return firmware;
  }

  async getFirmwareVersion(signal?: AbortSignal): Promise<FirmwareVersion> {
    return this.parsed(await this.command(CMD.GetFirmwareVersion, [], { expect: 4, signal }), parseFirmwareVersion);
  }

  async samConfiguration(signal?: AbortSignal): Promise<void> {
    const data = await this.command(CMD.SAMConfiguration, samConfigurationParams(this.options.irq !== undefined), { expect: 0, signal });
    this.parsed(data, expectEmpty('SAMConfiguration'));
  }

  async setPassiveActivationRetries(retries: number, signal?: AbortSignal): Promise<void> {
    const data = await this.command(CMD.RFConfiguration, maxRetriesParams(retries), { expect: 0, signal });
    this.parsed(data, expectEmpty('RFConfiguration'));
  }

  /** One poll for a 106 kbps type A target; null when none answered within the configured retries. */
  async inListPassiveTargetA(signal?: AbortSignal): Promise<TypeATarget | null> {
    const data = await this.command(CMD.InListPassiveTarget, inListPassiveTargetParams(), { expect: INLIST_EXPECT, signal });
    return this.parsed(data, parseInListPassiveTargetA);
  }

  /**
   * One APDU to the target `tg` activated by the last poll, through the PN532's ISO/IEC 14443-4 handling.
   * `expect` is the response length the caller foresees, so that the first read usually holds all of it.
   */
  async inDataExchange(tg: number, apdu: Uint8Array, opts: { expect: number; timeoutMs?: number; signal?: AbortSignal }): Promise<DataExchangeResult> {
    const data = await this.command(CMD.InDataExchange, inDataExchangeParams(tg, apdu), { ...opts, expect: 1 + opts.expect });
    return this.parsed(data, parseInDataExchange);
  }

  /** Diagnose NumTst 0x00, the communication line test: the PN532 echoes `payload` back. */
  async lineTest(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const data = await this.command(CMD.Diagnose, [0x00, ...payload], { expect: payload.length + 1, signal });
    if (data[0] !== 0x00) throw new Pn532Error('bad-response', 'line test answered for another test number');
    return data.subarray(1);
  }

  /** An ACK from the host aborts the command in progress (UM0701-02 §6.2.1.3). */
  async abort(): Promise<void> {
    await this.write(Buffer.from(ACK_FRAME));
  }

  private parsed<T>(data: Uint8Array, parse: (d: Uint8Array) => T): T {
    try {
      return parse(data);
    } catch (err) {
      if (err instanceof ResponseError) throw new Pn532Error('bad-response', err.message);
      throw err;
    }
  }

  private async command(code: number, params: number[], opts: CommandOptions): Promise<Uint8Array> {
    await this.write(encodeFrame(TFI_HOST, [code, ...params]));
    try {
      await this.awaitAck(opts.signal);
      return await this.awaitResponse(code, opts);
    } catch (err) {
      // A reader still working on this command would answer into the next one: abort it first.
      if (!(err instanceof Pn532Error) || err.code !== 'bus') await this.abort().catch(() => undefined);
      throw err;
    }
  }

  private async awaitAck(signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + this.ackTimeoutMs;
    const bytes = await this.readWhenReady(ACK_FRAME.length, deadline, signal, 'no-ack');
    const frame = decodeOrNull(bytes);
    if (frame?.kind === 'ack') return;
    if (frame?.kind === 'error') throw new Pn532Error('error-frame', 'PN532 reported a syntax error instead of an ACK');
    throw new Pn532Error('no-ack', 'PN532 sent something other than an ACK');
  }

  private async awaitResponse(code: number, opts: CommandOptions): Promise<Uint8Array> {
    const deadline = Date.now() + (opts.timeoutMs ?? this.responseTimeoutMs);
    let length = NORMAL_OVERHEAD + 2 + opts.expect;
    for (let nacks = 0; ; nacks++) {
      const bytes = await this.readWhenReady(length, deadline, opts.signal, 'timeout');
      let frame: DecodedFrame;
      try {
        frame = decodeFrame(bytes, 1);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        if (nacks >= this.nackRetries) throw new Pn532Error('bad-frame', `response kept failing (${err.fault}) after ${nacks} resends`);
        // Too short a read or a corrupted frame: ask for the same response again, longer if the header said so.
        if (err.needed !== undefined) length = err.needed;
        await this.write(Buffer.from(NACK_FRAME));
        continue;
      }
      if (frame.kind === 'error') throw new Pn532Error('error-frame', `PN532 reported a syntax error for command 0x${code.toString(16)}`);
      if (frame.kind !== 'info' || frame.tfi !== TFI_PN532 || frame.data[0] !== code + 1) {
        throw new Pn532Error('bad-response', `expected the response to command 0x${code.toString(16)}, got another frame`);
      }
      return frame.data.subarray(1);
    }
  }

  /** Waits for the status byte's ready bit (or the IRQ line), then reads status + `length` bytes in one transfer. */
  private async readWhenReady(length: number, deadline: number, signal: AbortSignal | undefined, onTimeout: Pn532ErrorCode): Promise<Buffer> {
    const irq = this.options.irq;
    for (;;) {
      if (signal?.aborted) throw new Pn532Error('aborted', 'command aborted by the caller');
      const ready = irq ? await waitForIrq(irq, deadline, signal) : ((await this.read(1))[0]! & STATUS_READY) !== 0;
      if (ready) {
        const bytes = await this.read(length + 1);
        if ((bytes[0]! & STATUS_READY) !== 0) return bytes;
      }
      if (Date.now() >= deadline) {
        throw new Pn532Error(onTimeout, onTimeout === 'no-ack' ? 'PN532 did not acknowledge the command' : 'PN532 did not answer in time');
      }
      await sleep(this.statusPollMs, signal);
    }
  }

  private async read(length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    try {
      const { bytesRead } = await this.bus.i2cRead(this.address, length, buffer);
      if (bytesRead !== length) throw new Pn532Error('bus', `short I2C read: ${bytesRead} of ${length} bytes`);
    } catch (err) {
      throw busError(err, 'read');
    }
    return buffer;
  }

  private async write(frame: Buffer): Promise<void> {
    try {
      const { bytesWritten } = await this.bus.i2cWrite(this.address, frame.length, frame);
      if (bytesWritten !== frame.length) throw new Pn532Error('bus', `short I2C write: ${bytesWritten} of ${frame.length} bytes`);
    } catch (err) {
      throw busError(err, 'write');
    }
  }
}

function expectEmpty(command: string): (d: Uint8Array) => void {
  return (d) => {
    if (d.length !== 0) throw new ResponseError(`${command} answered ${d.length} unexpected bytes`);
  };
}

function decodeOrNull(bytes: Buffer): DecodedFrame | null {
  try {
    return decodeFrame(bytes, 1);
  } catch (err) {
    if (err instanceof FrameError) return null;
    throw err;
  }
}

function busError(err: unknown, op: 'read' | 'write'): Pn532Error {
  if (err instanceof Pn532Error) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const busCode = typeof code === 'string' ? code : 'EIO';
  return new Pn532Error('bus', `I2C ${op} failed: ${busCode}`, busCode);
}

/** Resolves after `ms`, or early on abort (the caller checks the signal). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

/** Resolves true as soon as IRQ is asserted, false at the deadline or on abort. */
function waitForIrq(irq: DigitalInput, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (irq.active) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
    const off = irq.onChange((active) => active && finish(true));
    const onAbort = (): void => finish(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(result: boolean): void {
      clearTimeout(timer);
      off();
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    }
  });
}
