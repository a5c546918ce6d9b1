import { AES_BLOCK, cbcDecrypt, cbcEncrypt, concat, encryptBlock, sameBytes } from './aes';
import { aesCmac, padM2, truncateMac } from './cmac';
import { SecureMessagingError, type Ev2Session } from './ev2-auth';

/**
 * EV2 secure messaging (AN12196 §5.7–5.8; NT4H2421Gx §9.1.9–9.1.10): CommMode.MAC appends MACt, the
 * odd bytes of CMAC(SesAuthMACKey, Ins ‖ CmdCtr ‖ TI ‖ header ‖ data); CommMode.Full also encrypts the data
 * with AES-CBC under SesAuthENCKey, ISO/IEC 9797-1 M2 padding, IV = E(SesAuthENCKey, A5 5A ‖ TI ‖ CmdCtr ‖ 0⁸)
 * for commands and 5A A5 for responses. Responses are MACed with RC and the counter after the increment.
 * Pure: each function takes the session and returns the next one.
 */

export type CommMode = 'plain' | 'mac' | 'full';
export const MACT_LENGTH = 8;
const MAX_CMD_CTR = 0xffff;

function counterBytes(ctr: number): Uint8Array {
  return Uint8Array.from([ctr & 0xff, (ctr >> 8) & 0xff]);
}

function iv(s: Ev2Session, label: readonly [number, number], ctr: number): Uint8Array {
  return encryptBlock(s.encKey, concat(label, s.ti, counterBytes(ctr), new Uint8Array(8)));
}

export function commandIv(s: Ev2Session): Uint8Array {
  return iv(s, [0xa5, 0x5a], s.cmdCtr);
}

/** The response to command n is protected with CmdCtr n+1. */
export function responseIv(s: Ev2Session): Uint8Array {
  return iv(s, [0x5a, 0xa5], s.cmdCtr + 1);
}

function macT(s: Ev2Session, first: number, ctr: number, rest: Uint8Array): Uint8Array {
  return truncateMac(aesCmac(s.macKey, concat([first], counterBytes(ctr), s.ti, rest)));
}

/** M2 padding removed, or a SecureMessagingError: a wrong key decrypts to noise that almost never ends in 80 00…. */
export function unpadM2(padded: Uint8Array): Uint8Array {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0x00) end--;
  if (end < 0 || padded[end] !== 0x80 || padded.length - end > AES_BLOCK) {
    throw new SecureMessagingError('padding', 'decrypted data does not end in ISO/IEC 9797-1 method 2 padding');
  }
  return padded.slice(0, end);
}

function checkCounter(s: Ev2Session): void {
  if (s.cmdCtr >= MAX_CMD_CTR) throw new SecureMessagingError('counter', 'command counter exhausted: authenticate again');
}

// ---- the reader's side

/** The native command data (after Ins) the reader sends: header ‖ data, encrypted and/or MACed per mode. */
export function protectCommand(s: Ev2Session, ins: number, header: Uint8Array, data: Uint8Array, mode: CommMode): Uint8Array {
  checkCounter(s);
  if (mode === 'plain') return concat(header, data);
  const body = mode === 'full' && data.length > 0 ? cbcEncrypt(s.encKey, commandIv(s), padM2(data)) : data;
  return concat(header, body, macT(s, ins, s.cmdCtr, concat(header, body)));
}

/**
 * The card's answer to a protected command with status `rc` (0x00): MAC checked before anything is decrypted,
 * then the data decrypted for Full. Returns the plain data and the session with the counter moved on.
 */
export function openResponse(s: Ev2Session, rc: number, body: Uint8Array, mode: CommMode): { data: Uint8Array; session: Ev2Session } {
  const next = { ...s, cmdCtr: s.cmdCtr + 1 };
  if (mode === 'plain') return { data: body, session: next };
  if (body.length < MACT_LENGTH) throw new SecureMessagingError('length', `response of ${body.length} bytes cannot hold an 8-byte MAC`);
  const payload = body.subarray(0, body.length - MACT_LENGTH);
  if (!sameBytes(body.subarray(body.length - MACT_LENGTH), macT(s, rc, next.cmdCtr, payload))) {
    throw new SecureMessagingError('mac', 'response MAC does not verify');
  }
  if (mode === 'mac' || payload.length === 0) return { data: Uint8Array.from(payload), session: next };
  if (payload.length % AES_BLOCK !== 0) throw new SecureMessagingError('length', `encrypted response of ${payload.length} bytes is not whole blocks`);
  return { data: unpadM2(cbcDecrypt(s.encKey, responseIv(s), payload)), session: next };
}

// ---- the card's side

/** What the card makes of a protected command: MAC checked, data decrypted; null when the MAC fails. */
export function openCommand(s: Ev2Session, ins: number, headerLength: number, body: Uint8Array, mode: CommMode): { header: Uint8Array; data: Uint8Array } | null {
  if (body.length < headerLength) return null;
  const header = body.slice(0, headerLength);
  if (mode === 'plain') return { header, data: body.slice(headerLength) };
  if (body.length < headerLength + MACT_LENGTH) return null;
  const protectedPart = body.subarray(0, body.length - MACT_LENGTH);
  if (!sameBytes(body.subarray(body.length - MACT_LENGTH), macT(s, ins, s.cmdCtr, protectedPart))) return null;
  const data = protectedPart.subarray(headerLength);
  if (mode === 'mac' || data.length === 0) return { header, data: Uint8Array.from(data) };
  if (data.length % AES_BLOCK !== 0) return null;
  try {
    return { header, data: unpadM2(cbcDecrypt(s.encKey, commandIv(s), data)) };
  } catch (err) {
    if (err instanceof SecureMessagingError) return null;
    throw err;
  }
}

/** The card's protected answer with status `rc`, and its session with the counter moved on. */
export function protectResponse(s: Ev2Session, rc: number, data: Uint8Array, mode: CommMode): { body: Uint8Array; session: Ev2Session } {
  const next = { ...s, cmdCtr: s.cmdCtr + 1 };
  if (mode === 'plain') return { body: data, session: next };
  const payload = mode === 'full' && data.length > 0 ? cbcEncrypt(s.encKey, responseIv(s), padM2(data)) : data;
  return { body: concat(payload, macT(s, rc, next.cmdCtr, payload)), session: next };
}
