import { ResponseError, parseInListPassiveTargetA } from '../../drivers/nfc/commands';
import { ACK_FRAME, ERROR_FRAME, FrameError, TFI_PN532, decodeFrame, encodeFrame } from '../../drivers/nfc/frames';
import { Pn532, Pn532Error } from '../../drivers/nfc/pn532';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import type { I2cTransport } from '../../drivers/nfc/transport';
import { fuzzer } from '../helpers/mutate';

const { int, bytes, pick, mutate } = fuzzer(0x5eed);
// Tens of thousands of frames and commands: seconds on an idle machine, longer on a busy one.
jest.setTimeout(180_000);

function inListResponse(uid: Buffer): Buffer {
  return encodeFrame(TFI_PN532, [0x4b, 1, 1, 0x00, 0x44, 0x00, uid.length, ...uid]);
}

/** The UID a buffer really carries, if it is a checksum-valid InListPassiveTarget answer with a well-formed target. */
function uidOnTheWire(wire: Buffer): string | null {
  try {
    const f = decodeFrame(wire);
    if (f.kind !== 'info' || f.tfi !== TFI_PN532 || f.data[0] !== 0x4b) return null;
    const t = parseInListPassiveTargetA(f.data.subarray(1));
    return t ? Buffer.from(t.uid).toString('hex') : null;
  } catch {
    return null;
  }
}

describe('fuzz: random and mutated frames never crash the parser and never invent a UID', () => {
  test('20,000 frames straight into the decoder and the target parser', () => {
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const uid = bytes(pick([4, 7, 10]));
      const valid = inListResponse(uid);
      const kind = i % 4;
      const wire =
        kind === 0 ? bytes(1 + int(40)) : kind === 1 ? Buffer.concat([Buffer.from([0, 0, 0xff]), bytes(int(30))]) : mutate(valid, 1 + int(kind === 2 ? 1 : 4));
      let frame;
      try {
        frame = decodeFrame(wire);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        continue;
      }
      decoded += 1;
      if (frame.kind !== 'info') continue;
      // Whatever decodes is exactly the bytes on the wire: re-encoding reproduces them.
      expect(encodeFrame(frame.tfi, frame.data, frame.extended).equals(wire.subarray(0, frame.size))).toBe(true);
      if (kind === 2 && frame.size === valid.length) expect(wire.subarray(0, frame.size).equals(valid)).toBe(true);
      try {
        const target = parseInListPassiveTargetA(frame.data.subarray(1));
        if (target) expect(wire.toString('hex')).toContain(Buffer.from(target.uid).toString('hex'));
      } catch (err) {
        if (!(err instanceof ResponseError)) throw err;
      }
    }
    // Random bytes almost never decode; the test would be vacuous if nothing ever got through the checks.
    expect(decoded).toBeLessThan(20_000);
  });

  test('10,000 driver commands against a hostile bus: only Pn532Errors, and only UIDs that were really sent', async () => {
    // What the driver actually read off the bus (after the status byte), padding included: that is "the wire".
    let readThisCommand: Buffer[] = [];
    const queue: Buffer[] = [];
    const hostileResponse = (): Buffer => {
      const uid = bytes(pick([4, 7, 10]));
      switch (int(7)) {
        case 0:
          return bytes(1 + int(40));
        case 1:
          return inListResponse(uid);
        case 2:
          return encodeFrame(TFI_PN532, [0x4b, 0]);
        case 3:
          return Buffer.from(ERROR_FRAME);
        case 4: // checksum-valid nonsense: wrong counts and lengths
          return encodeFrame(TFI_PN532, [0x4b, int(4), 1, 0, 0x44, 0, int(16), ...bytes(int(14))]);
        case 5:
          return encodeFrame(TFI_PN532, [0x03, 0x32, 1, 6, 7]);
        default:
          return mutate(inListResponse(uid), 1 + int(3));
      }
    };
    const serve = (b: Buffer) => queue.push(b);
    const bus: I2cTransport = {
      async i2cWrite(_a, length, buffer) {
        const written = buffer.subarray(0, length);
        if (written.equals(Buffer.from(ACK_FRAME))) queue.length = 0;
        else if (written[3] === 0xff && written[4] === 0x00) serve(hostileResponse()); // NACK: "send it again"
        else {
          queue.length = 0;
          serve(int(20) === 0 ? mutate(Buffer.from(ACK_FRAME), 1) : Buffer.from(ACK_FRAME));
          serve(hostileResponse());
        }
        return { bytesWritten: length, buffer };
      },
      async i2cRead(_a, length, buffer) {
        buffer.fill(0, 0, length);
        const head = queue[0];
        if (head) {
          buffer[0] = 1;
          head.copy(buffer, 1, 0, Math.min(head.length, length - 1));
          if (length > 1) queue.shift();
        }
        if (length > 1) readThisCommand.push(Buffer.from(buffer.subarray(1, length)));
        return { bytesRead: length, buffer };
      },
      async close() {},
    };
    const pn532 = new Pn532(bus, { ackTimeoutMs: 5, responseTimeoutMs: 5, statusPollMs: 0 });
    const outcomes = { target: 0, empty: 0, error: 0 };
    for (let i = 0; i < 10_000; i++) {
      readThisCommand = [];
      try {
        const target = await pn532.inListPassiveTargetA();
        if (!target) {
          outcomes.empty += 1;
          continue;
        }
        outcomes.target += 1;
        const onWire = readThisCommand.map(uidOnTheWire).filter((u): u is string => u !== null);
        expect(onWire).toContain(Buffer.from(target.uid).toString('hex'));
      } catch (err) {
        if (!(err instanceof Pn532Error)) throw err;
        outcomes.error += 1;
      }
    }
    expect(outcomes.target).toBeGreaterThan(100);
    expect(outcomes.error).toBeGreaterThan(100);
  });

  test('the real driver and emulator under random injected corruption: only the placed card is ever read', async () => {
    const emulator = new Pn532Emulator({ byteTimeUs: 0, processingMs: 0, cardActivationMs: 0, activationAttemptMs: 0 });
    // Every answer is immediate here, so no timeout should ever expire: long ones keep a stall of this
    // process on a busy machine from passing for a reader that did not answer.
    const pn532 = new Pn532(emulator, { ackTimeoutMs: 1000, responseTimeoutMs: 1000, statusPollMs: 0 });
    await pn532.initialise(0);
    emulator.place('04A1B2C3D4E5F6');
    let read = 0;
    for (let i = 0; i < 300; i++) {
      emulator.faults.garbage = int(3);
      emulator.faults.corruptChecksum = int(3);
      try {
        const target = await pn532.inListPassiveTargetA();
        expect(Buffer.from(target!.uid).toString('hex').toUpperCase()).toBe('04A1B2C3D4E5F6');
        read += 1;
      } catch (err) {
        expect(err).toBeInstanceOf(Pn532Error);
        expect((err as Pn532Error).code).toBe('bad-frame');
      }
    }
    expect(read).toBeGreaterThan(100);
  });
});
