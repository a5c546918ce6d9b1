import { AES_BLOCK, cbcDecrypt, cbcEncrypt, concat, encryptBlock, sameBytes, xor, zeroIv } from './aes';
import { aesCmac } from './cmac';

/**
 * AuthenticateEV2First with AES-128, as MIFARE DESFire EV2/EV3 and NTAG 424 DNA run it (NXP AN12196 §5.6,
 * Table 14 for the worked example): both sides prove the key with random challenges, agree on a transaction
 * identifier TI, and derive two session keys from the two randoms. Pure functions for both ends, so the
 * gate's reader and the emulated cards share one implementation that the NXP vectors pin.
 */

export const RND_LENGTH = 16;
export const TI_LENGTH = 4;
/** PDcap2 and PCDcap2, 6 bytes each; this gate sends and expects zeros (no LRP, no EV2 extras). */
export const CAPS_LENGTH = 6;

export class SecureMessagingError extends Error {
  constructor(
    readonly fault: 'length' | 'cryptogram' | 'mac' | 'padding' | 'status' | 'counter',
    message: string,
  ) {
    super(message);
    this.name = 'SecureMessagingError';
  }
}

/** An authenticated EV2 session: the keys, the transaction id and the command counter (AN12196 §5.1). */
export interface Ev2Session {
  readonly encKey: Uint8Array;
  readonly macKey: Uint8Array;
  readonly ti: Uint8Array;
  /** CmdCtr, 16 bits, sent little-endian; incremented after every command/response pair. */
  readonly cmdCtr: number;
}

/** RndB' and RndA': the 16-byte random rotated left by one byte. */
export function rotateLeft(b: Uint8Array): Uint8Array {
  return concat(b.subarray(1), b.subarray(0, 1));
}

function checkLength(what: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new SecureMessagingError('length', `${what} must be ${n} bytes, got ${b.length}`);
}

/**
 * SV1/SV2 (AN12196 §5.6, NT4H2421Gx §9.1.7): label ‖ 00 01 00 80 ‖ RndA[15..14] ‖ (RndA[13..8] ⊕ RndB[15..10])
 * ‖ RndB[9..0] ‖ RndA[7..0], where byte 15 is the first byte sent.
 */
export function sessionVector(label: readonly [number, number], rndA: Uint8Array, rndB: Uint8Array): Uint8Array {
  checkLength('RndA', rndA, RND_LENGTH);
  checkLength('RndB', rndB, RND_LENGTH);
  return concat(label, [0x00, 0x01, 0x00, 0x80], rndA.subarray(0, 2), xor(rndA.subarray(2, 8), rndB.subarray(0, 6)), rndB.subarray(6, 16), rndA.subarray(8, 16));
}

export const SV1_LABEL = [0xa5, 0x5a] as const;
export const SV2_LABEL = [0x5a, 0xa5] as const;

export function deriveSessionKeys(key: Uint8Array, rndA: Uint8Array, rndB: Uint8Array): { encKey: Uint8Array; macKey: Uint8Array } {
  return { encKey: aesCmac(key, sessionVector(SV1_LABEL, rndA, rndB)), macKey: aesCmac(key, sessionVector(SV2_LABEL, rndA, rndB)) };
}

// ---- the reader's side (PCD)

/** Step 2: decrypt E(K, RndB) from the card, answer E(K, RndA ‖ RndB'). */
export function pcdAnswerChallenge(key: Uint8Array, encRndB: Uint8Array, rndA: Uint8Array): { cryptogram: Uint8Array; rndB: Uint8Array } {
  checkLength('E(K, RndB)', encRndB, RND_LENGTH);
  checkLength('RndA', rndA, RND_LENGTH);
  const rndB = cbcDecrypt(key, zeroIv(), encRndB);
  return { cryptogram: cbcEncrypt(key, zeroIv(), concat(rndA, rotateLeft(rndB))), rndB };
}

/**
 * Step 3: the card's E(K, TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2) must hold our RndA rotated: only a card that knows K
 * can produce it. Anything else is a SecureMessagingError, never a session.
 */
export function pcdVerifyAnswer(key: Uint8Array, rndA: Uint8Array, rndB: Uint8Array, encAnswer: Uint8Array): Ev2Session {
  checkLength('E(K, TI ‖ RndA′ ‖ caps)', encAnswer, 2 * AES_BLOCK);
  const plain = cbcDecrypt(key, zeroIv(), encAnswer);
  if (!sameBytes(plain.subarray(TI_LENGTH, TI_LENGTH + RND_LENGTH), rotateLeft(rndA))) {
    throw new SecureMessagingError('cryptogram', 'the card did not return RndA: it does not hold the key');
  }
  return { ...deriveSessionKeys(key, rndA, rndB), ti: plain.slice(0, TI_LENGTH), cmdCtr: 0 };
}

// ---- the card's side (PICC), for the emulated cards

export function piccChallenge(key: Uint8Array, rndB: Uint8Array): Uint8Array {
  checkLength('RndB', rndB, RND_LENGTH);
  return encryptBlock(key, rndB);
}

/** The card checks RndB' in the reader's cryptogram; on success it answers and both hold the same session. */
export function piccVerifyCryptogram(
  key: Uint8Array,
  rndB: Uint8Array,
  cryptogram: Uint8Array,
  ti: Uint8Array,
): { answer: Uint8Array; session: Ev2Session } | null {
  if (cryptogram.length !== 2 * AES_BLOCK || ti.length !== TI_LENGTH) return null;
  const plain = cbcDecrypt(key, zeroIv(), cryptogram);
  const rndA = plain.slice(0, RND_LENGTH);
  if (!sameBytes(plain.subarray(RND_LENGTH), rotateLeft(rndB))) return null;
  const answer = cbcEncrypt(key, zeroIv(), concat(ti, rotateLeft(rndA), new Uint8Array(2 * CAPS_LENGTH)));
  return { answer, session: { ...deriveSessionKeys(key, rndA, rndB), ti: Uint8Array.from(ti), cmdCtr: 0 } };
}

