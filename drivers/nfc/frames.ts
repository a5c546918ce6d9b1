/**
 * PN532 host-interface frames (UM0701-02 §6.2.1): pure encoding and decoding, no I/O.
 *
 *   normal:    00 00 FF LEN LCS TFI PD0..PDn DCS 00          LEN+LCS ≡ 0, TFI+ΣPD+DCS ≡ 0 (mod 256)
 *   extended:  00 00 FF FF FF LENM LENL LCS TFI PD0..PDn DCS 00   LENM+LENL+LCS ≡ 0
 *   ACK:       00 00 FF 00 FF 00
 *   NACK:      00 00 FF FF 00 00
 *   error:     00 00 FF 01 FF 7F 81 00   (syntax error at application level)
 */

/** Frame identifier: host → PN532. */
export const TFI_HOST = 0xd4;
/** Frame identifier: PN532 → host. */
export const TFI_PN532 = 0xd5;

export const ACK_FRAME: readonly number[] = [0x00, 0x00, 0xff, 0x00, 0xff, 0x00];
export const NACK_FRAME: readonly number[] = [0x00, 0x00, 0xff, 0xff, 0x00, 0x00];
export const ERROR_FRAME: readonly number[] = [0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00];

/** LEN counts TFI + data; a normal frame carries at most 255 of them, an extended one up to 65535. */
export const MAX_NORMAL_LEN = 0xff;
/** The PN532's own buffer limit for TFI + data (UM0701-02 §6.2.1.2): 265 bytes. */
export const MAX_EXTENDED_LEN = 265;

export type DecodedFrame =
  | { kind: 'ack'; size: number }
  | { kind: 'nack'; size: number }
  | { kind: 'error'; size: number }
  | { kind: 'info'; tfi: number; data: Uint8Array; extended: boolean; size: number };

export type FrameFault = 'no-preamble' | 'truncated' | 'bad-lcs' | 'bad-dcs' | 'bad-postamble' | 'bad-length';

export class FrameError extends Error {
  constructor(
    readonly fault: FrameFault,
    message: string,
    /** Bytes a complete frame would need, when the header was readable but the body was cut short. */
    readonly needed?: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

function checksum(bytes: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i] ?? 0;
  return (0x100 - (sum & 0xff)) & 0xff;
}

/** An information frame from `tfi` carrying `data`; extended format when it does not fit a normal one, or when asked. */
export function encodeFrame(tfi: number, data: ArrayLike<number>, forceExtended = false): Buffer {
  const len = data.length + 1;
  if (len > MAX_EXTENDED_LEN) throw new RangeError(`PN532 frame of ${len} bytes exceeds the ${MAX_EXTENDED_LEN}-byte limit`);
  const extended = forceExtended || len > MAX_NORMAL_LEN - 1;
  const header = extended ? [0x00, 0x00, 0xff, 0xff, 0xff, len >> 8, len & 0xff, 0] : [0x00, 0x00, 0xff, len, 0];
  const lcsAt = header.length - 1;
  header[lcsAt] = checksum(header, 3 + (extended ? 2 : 0), lcsAt);
  const body = [tfi, ...Array.from(data)];
  return Buffer.from([...header, ...body, checksum(body, 0, body.length), 0x00]);
}

function matches(bytes: Uint8Array, at: number, pattern: readonly number[]): boolean {
  return pattern.every((b, i) => bytes[at + i] === b);
}

/**
 * Decodes the frame starting at `offset` (the first byte after the I2C status byte). Throws FrameError for
 * anything that is not a complete, checksum-valid frame, so garbage never becomes data.
 */
export function decodeFrame(bytes: Uint8Array, offset = 0): DecodedFrame {
  const at = (i: number): number => {
    const b = bytes[offset + i];
    if (b === undefined) throw new FrameError('truncated', `frame cut short after ${i} bytes`);
    return b;
  };
  if (at(0) !== 0x00 || at(1) !== 0x00 || at(2) !== 0xff) {
    throw new FrameError('no-preamble', 'frame does not start with the preamble 00 00 FF');
  }
  if (matches(bytes, offset, ACK_FRAME)) return { kind: 'ack', size: ACK_FRAME.length };
  if (matches(bytes, offset, NACK_FRAME)) return { kind: 'nack', size: NACK_FRAME.length };
  if (matches(bytes, offset, ERROR_FRAME)) return { kind: 'error', size: ERROR_FRAME.length };

  let len: number;
  let bodyAt: number;
  const extended = at(3) === 0xff && at(4) === 0xff;
  if (extended) {
    len = (at(5) << 8) | at(6);
    if (((at(5) + at(6) + at(7)) & 0xff) !== 0) throw new FrameError('bad-lcs', 'extended frame length checksum mismatch');
    bodyAt = 8;
  } else {
    len = at(3);
    if (((len + at(4)) & 0xff) !== 0) throw new FrameError('bad-lcs', 'frame length checksum mismatch');
    bodyAt = 5;
  }
  if (len === 0 || len > MAX_EXTENDED_LEN) throw new FrameError('bad-length', `frame length ${len} is outside 1..${MAX_EXTENDED_LEN}`);
  const size = bodyAt + len + 2;
  if (bytes.length - offset < size) {
    throw new FrameError('truncated', `frame needs ${size} bytes, have ${bytes.length - offset}`, size);
  }
  let sum = 0;
  for (let i = 0; i <= len; i++) sum += at(bodyAt + i);
  if ((sum & 0xff) !== 0) throw new FrameError('bad-dcs', 'frame data checksum mismatch');
  if (at(bodyAt + len + 1) !== 0x00) throw new FrameError('bad-postamble', 'frame postamble is not 00');
  const start = offset + bodyAt;
  return { kind: 'info', tfi: at(bodyAt), data: Uint8Array.from(bytes.subarray(start + 1, start + len)), extended, size };
}
