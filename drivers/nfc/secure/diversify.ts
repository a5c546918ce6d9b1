import { AES128_KEY, AES_BLOCK, CryptoInputError } from './aes';
import { cmacSubkeys, cmacWithLastBlock } from './cmac';

/** AN10922 §2.2: the diversification input M is 1 to 31 bytes (32 with the constant, two AES blocks). */
export const MAX_DIVERSIFICATION_INPUT = 31;
/** Div constant 1 of AN10922 for an AES-128 key. */
const DIV_CONSTANT_AES128 = 0x01;

/**
 * NXP AN10922 AES-128 key diversification: CMAC(K, 0x01 ‖ M) over exactly 32 bytes, padded when shorter,
 * with K2 when padding was added and K1 when 0x01 ‖ M filled both blocks. Unlike plain CMAC the message is
 * always padded to 32 bytes, which is why this is not aesCmac(K, 0x01 ‖ M).
 */
export function diversifyAes128(master: Uint8Array, m: Uint8Array): Uint8Array {
  if (master.length !== AES128_KEY) throw new CryptoInputError(`AN10922 master key must be 16 bytes, got ${master.length}`);
  if (m.length < 1 || m.length > MAX_DIVERSIFICATION_INPUT) {
    throw new CryptoInputError(`AN10922 diversification input must be 1 to ${MAX_DIVERSIFICATION_INPUT} bytes, got ${m.length}`);
  }
  const d = new Uint8Array(m.length + 1);
  d[0] = DIV_CONSTANT_AES128;
  d.set(m, 1);
  const { k1, k2 } = cmacSubkeys(master);
  const full = d.length === 2 * AES_BLOCK;
  // Padded to two blocks whatever the length: 0x80 then zeros (ISO/IEC 9797-1 method 2).
  const padded = new Uint8Array(2 * AES_BLOCK);
  padded.set(d);
  if (!full) padded[d.length] = 0x80;
  return cmacWithLastBlock(master, padded, full ? k1 : k2);
}
