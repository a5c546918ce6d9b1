import { AES_BLOCK, encryptBlock, xor } from './aes';

/**
 * AES-CMAC (NIST SP 800-38B, RFC 4493): the MAC of EV2 secure messaging, the session-key derivation and
 * AN10922 key diversification.
 */

/** Left shift of a 16-byte string by one bit, then XOR Rb (0x87) into the last byte if the top bit fell off. */
function double(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < AES_BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[AES_BLOCK - 1] = out[AES_BLOCK - 1]! ^ 0x87;
  return out;
}

/** RFC 4493 §2.3: K1 and K2 from L = E(K, 0^128). */
export function cmacSubkeys(key: Uint8Array): { k1: Uint8Array; k2: Uint8Array } {
  const l = encryptBlock(key, new Uint8Array(AES_BLOCK));
  const k1 = double(l);
  return { k1, k2: double(k1) };
}

/** ISO/IEC 9797-1 padding method 2: 0x80 then zeros up to the next block boundary (always at least one byte). */
export function padM2(data: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(data.length / AES_BLOCK) + 1) * AES_BLOCK);
  padded.set(data);
  padded[data.length] = 0x80;
  return padded;
}

/**
 * The CMAC of `message` after its last block has been XORed with `finalMask` (K1 when the message fills whole
 * blocks, K2 after padding). AN10922 needs this step on its own, so it is not folded into aesCmac.
 */
export function cmacWithLastBlock(key: Uint8Array, blocks: Uint8Array, finalMask: Uint8Array): Uint8Array {
  let x: Uint8Array = new Uint8Array(AES_BLOCK);
  const n = blocks.length / AES_BLOCK;
  for (let i = 0; i < n; i++) {
    let block = blocks.subarray(i * AES_BLOCK, (i + 1) * AES_BLOCK);
    if (i === n - 1) block = xor(block, finalMask);
    x = encryptBlock(key, xor(x, block));
  }
  return x;
}

export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const { k1, k2 } = cmacSubkeys(key);
  const complete = message.length > 0 && message.length % AES_BLOCK === 0;
  return cmacWithLastBlock(key, complete ? message : padM2(message), complete ? k1 : k2);
}

/** The 8-byte MACt of EV2 secure messaging: the bytes at odd positions (1, 3, … 15) of the full CMAC. */
export function truncateMac(mac: Uint8Array): Uint8Array {
  return Uint8Array.from({ length: AES_BLOCK / 2 }, (_, i) => mac[2 * i + 1]!);
}

