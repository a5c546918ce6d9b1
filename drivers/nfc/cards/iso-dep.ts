/**
 * An ISO/IEC 14443-4 card as the emulated PN532 sees it: what anticollision and RATS return, and one APDU in,
 * one APDU out per InDataExchange. The PN532 itself does the I-block framing, so the card models deal in
 * APDUs only (the air time of the framing is added by the emulator, drivers/nfc/air-timing.ts).
 */
export interface Anticollision {
  uid: Uint8Array;
  /** SENS_RES as the PN532 reports it, most significant byte first. */
  atqa: Uint8Array;
  sak: number;
  /** The ATS after TL, as the PN532 reports it. */
  ats: Uint8Array;
}

export interface IsoDepCard {
  /** A short name for logs and benches ("desfire-ev3", "ntag424-dna", …). */
  readonly model: string;
  /** The card enters the field and powers up: a random ID, when enabled, is drawn here. */
  powerUp(): void;
  /** REQA, anticollision, select and RATS: the card answers and its session starts afresh. */
  activate(): Anticollision;
  /** One command APDU; the response APDU (data ‖ SW1 SW2) and the modelled processing time. */
  exchange(apdu: Uint8Array): { response: Uint8Array; processingMs: number };
}

/** Data ‖ 91 status: a wrapped native response. */
export function nativeReply(status: number, data: ArrayLike<number> = []): Uint8Array {
  return Uint8Array.from([...Array.from(data), 0x91, status]);
}

/** Data ‖ SW1 SW2: an ISO response. */
export function isoReply(sw: number, data: ArrayLike<number> = []): Uint8Array {
  return Uint8Array.from([...Array.from(data), sw >> 8, sw & 0xff]);
}
