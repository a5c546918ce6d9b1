/**
 * ISO/IEC 7816-4 APDUs as MIFARE DESFire EV2/EV3 and NTAG 424 DNA take them over ISO/IEC 14443-4: native
 * commands wrapped as CLA 90 (AN12196 §4; DESFire EV1 datasheet "ISO/IEC 7816-4 wrapping"), and the ISO
 * SELECT by DF name both cards answer. Pure builders and strict parsers: a response of the wrong shape is an
 * ApduError, never data.
 */

export const CLA_NATIVE = 0x90;
export const CLA_ISO = 0x00;
export const INS_ISO_SELECT = 0xa4;
/** SW1 of every wrapped native response; SW2 is the native status code. */
export const SW1_NATIVE = 0x91;
export const SW_OK = 0x9000;

/** The NDEF application of NFC Forum Type 4 tags, NTAG 424 DNA's one application (AN12196 Table 14 step 1). */
export const NTAG424_DF_NAME = Uint8Array.from([0xd2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01]);

/** Native status codes (SW2 after SW1 = 91) the gate acts on. */
export const NATIVE = {
  ok: 0x00,
  additionalFrame: 0xaf,
  illegalCommand: 0x1c,
  integrityError: 0x1e,
  noSuchKey: 0x40,
  lengthError: 0x7e,
  permissionDenied: 0x9d,
  parameterError: 0x9e,
  applicationNotFound: 0xa0,
  authenticationError: 0xae,
  commandAborted: 0xca,
} as const;

export const ISO_SW = {
  ok: 0x9000,
  fileNotFound: 0x6a82,
  wrongLength: 0x6700,
  wrongP1P2: 0x6a86,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
  securityNotSatisfied: 0x6982,
  wrongData: 0x6a80,
} as const;

export class ApduError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApduError';
  }
}

/** Short APDUs only: Lc ≤ 255 (the gate's longest command is 41 bytes). */
const MAX_LC = 0xff;

/** 90 INS 00 00 [Lc data] 00: Le = 00 asks for whatever the card has. */
export function nativeApdu(ins: number, data: ArrayLike<number> = []): Uint8Array {
  if (data.length > MAX_LC) throw new ApduError(`native command data of ${data.length} bytes exceeds a short APDU`);
  return Uint8Array.from(data.length ? [CLA_NATIVE, ins, 0x00, 0x00, data.length, ...Array.from(data), 0x00] : [CLA_NATIVE, ins, 0x00, 0x00, 0x00]);
}

/** ISO SELECT by DF name, P2 = 0C (no FCI returned), as AN12196 Table 14 step 1 sends it. */
export function isoSelectByName(dfName: ArrayLike<number>): Uint8Array {
  if (dfName.length < 1 || dfName.length > 16) throw new ApduError(`DF name must be 1 to 16 bytes, got ${dfName.length}`);
  return Uint8Array.from([CLA_ISO, INS_ISO_SELECT, 0x04, 0x0c, dfName.length, ...Array.from(dfName), 0x00]);
}

export interface CardResponse {
  /** SW1 ‖ SW2 as one number, e.g. 0x9000 or 0x91AF. */
  sw: number;
  data: Uint8Array;
}

export function parseResponse(bytes: Uint8Array): CardResponse {
  if (bytes.length < 2) throw new ApduError(`card response of ${bytes.length} bytes has no status word`);
  const n = bytes.length;
  return { sw: (bytes[n - 2]! << 8) | bytes[n - 1]!, data: bytes.slice(0, n - 2) };
}

/** A wrapped native response: its native status and data; anything not 91 xx is an ApduError. */
export function parseNativeResponse(bytes: Uint8Array): { status: number; data: Uint8Array } {
  const { sw, data } = parseResponse(bytes);
  if (sw >> 8 !== SW1_NATIVE) throw new ApduError(`status word ${sw.toString(16).padStart(4, '0')} is not a native DESFire status (91 xx)`);
  return { status: sw & 0xff, data };
}

/** A parsed command APDU (the card's view): short APDUs, cases 1 to 4. */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  le: number | null;
}

export function parseCommandApdu(bytes: Uint8Array): CommandApdu | null {
  if (bytes.length < 4) return null;
  const [cla, ins, p1, p2] = bytes as unknown as [number, number, number, number];
  const rest = bytes.subarray(4);
  if (rest.length === 0) return { cla, ins, p1, p2, data: new Uint8Array(0), le: null };
  if (rest.length === 1) return { cla, ins, p1, p2, data: new Uint8Array(0), le: rest[0]! };
  const lc = rest[0]!;
  if (lc === 0) return null; // extended length: not used by these cards here
  if (rest.length === 1 + lc) return { cla, ins, p1, p2, data: rest.slice(1), le: null };
  if (rest.length === 2 + lc) return { cla, ins, p1, p2, data: rest.slice(1, 1 + lc), le: rest[1 + lc]! };
  return null;
}
