import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * AES-128 in the two shapes MIFARE DESFire EV2/EV3 and NTAG 424 DNA use: single blocks and CBC over whole
 * blocks, never with padding added by the cipher (the card protocols pad themselves, or not at all).
 */
export const AES_BLOCK = 16;
export const AES128_KEY = 16;

export class CryptoInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CryptoInputError';
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== AES128_KEY) throw new CryptoInputError(`AES-128 key must be 16 bytes, got ${key.length}`);
}

function checkBlocks(data: Uint8Array): void {
  if (data.length % AES_BLOCK !== 0) throw new CryptoInputError(`AES-CBC data must be whole 16-byte blocks, got ${data.length} bytes`);
}

function run(cipher: ReturnType<typeof createCipheriv> | ReturnType<typeof createDecipheriv>, data: Uint8Array): Uint8Array {
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

export function cbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkKey(key);
  checkBlocks(data);
  return run(createCipheriv('aes-128-cbc', key, iv), data);
}

export function cbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkKey(key);
  checkBlocks(data);
  return run(createDecipheriv('aes-128-cbc', key, iv), data);
}

const ZERO_IV = new Uint8Array(AES_BLOCK);

/** One block, E(K, block): CBC with a zero IV over a single block is exactly that. */
export function encryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  if (block.length !== AES_BLOCK) throw new CryptoInputError(`AES block must be 16 bytes, got ${block.length}`);
  return cbcEncrypt(key, ZERO_IV, block);
}

export function zeroIv(): Uint8Array {
  return new Uint8Array(AES_BLOCK);
}

export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new CryptoInputError(`xor of ${a.length} and ${b.length} bytes`);
  return a.map((x, i) => x ^ b[i]!);
}

export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Compares in time independent of where the first difference is (MACs and cryptograms). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
