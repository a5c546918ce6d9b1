/**
 * The PN532 commands this gate uses (UM0701-02 §7), as pure request builders and response parsers.
 * Each response parser checks the length and shape it was promised and throws otherwise, so a frame
 * that passed its checksums but says something unexpected still never becomes a UID.
 */

export const CMD = {
  Diagnose: 0x00,
  GetFirmwareVersion: 0x02,
  SAMConfiguration: 0x14,
  RFConfiguration: 0x32,
  InListPassiveTarget: 0x4a,
  InDataExchange: 0x40,
} as const;

/** RFConfiguration item 0x05: MxRtyATR, MxRtyPSL, MxRtyPassiveActivation. */
export const RF_ITEM_MAX_RETRIES = 0x05;
/** MxRtyPassiveActivation 0xFF means "retry for ever", which would hang a poll when no card is near. */
export const RETRY_FOREVER = 0xff;
/** InListPassiveTarget BrTy for 106 kbps type A (ISO/IEC 14443 type A). */
export const BRTY_106_TYPE_A = 0x00;
/** SAK bit 6 set: the target is ISO/IEC 14443-4 compliant, so the PN532 appends its ATS. */
const SAK_ISO14443_4 = 0x20;

export class ResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseError';
  }
}

export interface FirmwareVersion {
  /** 0x32 for a PN532. */
  ic: number;
  version: number;
  revision: number;
  /** Bit field: 1 = ISO/IEC 14443 type A, 2 = type B, 4 = ISO 18092. */
  support: number;
}

export interface TypeATarget {
  /** Logical target number the PN532 assigned (1 for the first). */
  tg: number;
  /** SENS_RES, two bytes as sent on the wire. */
  atqa: Uint8Array;
  /** SEL_RES. */
  sak: number;
  /** NFCID1: 4, 7 or 10 bytes. */
  uid: Uint8Array;
  /** Answer to select, only for ISO/IEC 14443-4 targets. */
  ats?: Uint8Array;
}

/** InDataExchange DataOut is at most 262 bytes (UM0701-02 §7.3.8). */
export const MAX_DATA_EXCHANGE = 262;

/** InDataExchange error 0x01: "time out, the target has not answered" (UM0701-02 §7.1): the card left. */
export const DATA_EXCHANGE_TIMEOUT = 0x01;

export interface DataExchangeResult {
  /** The error code (status bits 5-0): 0 = the target answered, 0x01 = it did not answer in time. */
  status: number;
  /** What the target answered (empty unless status is 0). */
  data: Uint8Array;
}

export function inDataExchangeParams(tg: number, data: ArrayLike<number>): number[] {
  if (data.length > MAX_DATA_EXCHANGE) throw new RangeError(`InDataExchange data of ${data.length} bytes exceeds ${MAX_DATA_EXCHANGE}`);
  return [tg, ...Array.from(data)];
}

/** `Status [DataIn]`: the MI bit (more information, chaining) is refused, since no APDU here needs it. */
export function parseInDataExchange(data: Uint8Array): DataExchangeResult {
  const status = data[0];
  if (status === undefined) throw new ResponseError('InDataExchange answered no status byte');
  if ((status & 0x40) !== 0) throw new ResponseError('InDataExchange asked for chaining (MI), which this gate does not use');
  const code = status & 0x3f;
  if (code !== 0 && data.length !== 1) throw new ResponseError(`InDataExchange error 0x${code.toString(16)} came with data`);
  return { status: code, data: data.slice(1) };
}

export function parseFirmwareVersion(data: Uint8Array): FirmwareVersion {
  if (data.length !== 4) throw new ResponseError(`GetFirmwareVersion answered ${data.length} bytes, expected 4`);
  const [ic, version, revision, support] = data as unknown as [number, number, number, number];
  return { ic, version, revision, support };
}

export function samConfigurationParams(useIrq: boolean): number[] {
  // Mode 0x01 = normal (no SAM); timeout only applies to virtual-card mode; IRQ pin driven when asked.
  return [0x01, 0x14, useIrq ? 0x01 : 0x00];
}

export function maxRetriesParams(passiveActivation: number): number[] {
  if (!Number.isInteger(passiveActivation) || passiveActivation < 0 || passiveActivation >= RETRY_FOREVER) {
    throw new RangeError(`passive activation retries must be 0..254 (0xFF retries for ever), got ${passiveActivation}`);
  }
  return [RF_ITEM_MAX_RETRIES, 0xff, 0x01, passiveActivation];
}

export function inListPassiveTargetParams(): number[] {
  return [0x01, BRTY_106_TYPE_A];
}

/** Parses `NbTg [Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1 (ATSLength ATS)]` for one 106 kbps type A target. */
export function parseInListPassiveTargetA(data: Uint8Array): TypeATarget | null {
  const nbTg = data[0];
  if (nbTg === undefined) throw new ResponseError('InListPassiveTarget answered no bytes');
  if (nbTg === 0) {
    if (data.length !== 1) throw new ResponseError('InListPassiveTarget reported no target but sent target data');
    return null;
  }
  if (nbTg !== 1) throw new ResponseError(`InListPassiveTarget reported ${nbTg} targets, asked for at most 1`);
  if (data.length < 6) throw new ResponseError(`InListPassiveTarget target data is ${data.length - 1} bytes, too short`);
  const tg = data[1] as number;
  const atqa = data.slice(2, 4);
  const sak = data[4] as number;
  const uidLength = data[5] as number;
  if (![4, 7, 10].includes(uidLength)) throw new ResponseError(`NFCID1 length ${uidLength} is not 4, 7 or 10`);
  const uidEnd = 6 + uidLength;
  if (data.length < uidEnd) throw new ResponseError('InListPassiveTarget NFCID1 cut short');
  const uid = data.slice(6, uidEnd);
  if ((sak & SAK_ISO14443_4) === 0) {
    if (data.length !== uidEnd) throw new ResponseError('InListPassiveTarget sent bytes after the NFCID1 of a non-ISO14443-4 target');
    return { tg, atqa, sak, uid };
  }
  // ATSLength counts itself (it is the ATS's TL byte).
  const atsLength = data[uidEnd];
  if (atsLength === undefined || atsLength < 1 || data.length !== uidEnd + atsLength) {
    throw new ResponseError('InListPassiveTarget ATS length does not match the frame');
  }
  return { tg, atqa, sak, uid, ats: data.slice(uidEnd + 1, uidEnd + atsLength) };
}
