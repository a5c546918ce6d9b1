/**
 * How long things take on the air and on the bus, from the standards, so the emulator (and the tap bench
 * built on it) can be recomputed for a real reader. Each constant names its source; the card processing
 * times are assumptions, because NXP does not publish them for MIFARE DESFire EV3 or NTAG 424 DNA.
 */

/** Carrier frequency fc (ISO/IEC 14443-2 §6.1). */
export const FC_HZ = 13.56e6;
/** One bit at 106 kbit/s: 128/fc ≈ 9.44 µs (ISO/IEC 14443-2 §8.1.1, etu). */
export const ETU_US = (128 / FC_HZ) * 1e6;
/** Each byte of a standard frame is 8 data bits and an odd parity bit (ISO/IEC 14443-3 §6.2.3.1). */
export const BITS_PER_BYTE = 9;
/** Start of communication and end of communication, one bit time each (ISO/IEC 14443-3 §6.2.3.1). */
export const FRAME_DELIMITER_BITS = 2;
/** CRC_A appended to every ISO/IEC 14443-4 block (ISO/IEC 14443-3 §6.2.4). */
export const CRC_BYTES = 2;
/** The PCB byte of an I-block (ISO/IEC 14443-4 §7.1.1); the PN532 may add a CID byte too, not modelled. */
export const PCB_BYTES = 1;
/** Minimum frame delay time between a frame and the answer: 1172/fc ≈ 86 µs (ISO/IEC 14443-3 §6.2.1.1, n = 9). */
export const FDT_MIN_US = (1172 / FC_HZ) * 1e6;

/** Air time of one standard frame of `bytes` bytes at 106 kbit/s, in ms. */
export function frameAirMs(bytes: number): number {
  return ((bytes * BITS_PER_BYTE + FRAME_DELIMITER_BITS) * ETU_US) / 1000;
}

/**
 * One ISO/IEC 14443-4 exchange through the PN532's InDataExchange: the command I-block out, the frame delay,
 * the card's processing, the response I-block back, the frame delay again. Chaining is not needed: every
 * APDU here fits the cards' frame size (FSC 64 for DESFire EV3, 128 for NTAG 424 DNA, from their ATS).
 */
export function isoDepExchangeMs(commandBytes: number, responseBytes: number, cardProcessingMs: number): number {
  const overhead = PCB_BYTES + CRC_BYTES;
  return frameAirMs(commandBytes + overhead) + FDT_MIN_US / 1000 + cardProcessingMs + frameAirMs(responseBytes + overhead) + FDT_MIN_US / 1000;
}

/** Frame waiting time for a frame waiting integer FWI: (256 × 16 / fc) × 2^FWI (ISO/IEC 14443-4 §7.2). */
export function frameWaitingMs(fwi: number): number {
  return ((256 * 16) / FC_HZ) * 2 ** fwi * 1000;
}

/** RATS (2 bytes + CRC) and the ATS of `atsLength` bytes (TL included, + CRC): what activating a -4 card adds. */
export function ratsAtsMs(atsLength: number): number {
  return frameAirMs(2 + CRC_BYTES) + FDT_MIN_US / 1000 + frameAirMs(atsLength + CRC_BYTES) + FDT_MIN_US / 1000;
}

/** FWI is the high nibble of TB(1) in the ATS (ISO/IEC 14443-4 §5.2.5); 4 when the ATS has no TB(1). */
export function fwiFromAts(ats: Uint8Array): number {
  const t0 = ats[0];
  if (t0 === undefined || (t0 & 0x20) === 0) return 4;
  const tbAt = 1 + ((t0 & 0x10) ? 1 : 0);
  const tb = ats[tbAt];
  return tb === undefined ? 4 : tb >> 4;
}

/**
 * Card processing time per command, an assumption: NXP publishes no command timings for these cards. AES
 * steps (authentication, secure messaging) are given more than plain ones. BENCHMARKS.md lists both, so the
 * tap figure can be recomputed with measured values.
 */
export const CARD_PROCESSING_MS = { plain: 1, crypto: 3 } as const;
