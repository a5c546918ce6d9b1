import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** DER prefix of an SPKI Ed25519 public key (RFC 8410); the raw 32-byte key follows it. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Importing a key costs about as much as one verification. The keys a gate sees again and again are its
 * site roots and listed operator keys, so the last few imports are kept; the cache holds key objects
 * only, never a verdict, and every signature is checked in full each time.
 */
const IMPORTED_KEYS_KEPT = 64;
const imported = new Map<string, KeyObject>();

function keyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('base64');
  let key = imported.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (imported.size >= IMPORTED_KEYS_KEPT) imported.delete(imported.keys().next().value!);
    imported.set(id, key);
  }
  return key;
}

/**
 * Detached Ed25519 verification (RFC 8032) with Node's own OpenSSL: the same signatures tweetnacl makes
 * and checks, about a hundred times faster, which is what keeps a certificate chain on the command
 * path under a millisecond (docs/BENCHMARKS.md). A key OpenSSL cannot import verifies nothing.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, keyObject(publicKey), signature);
  } catch {
    return false;
  }
}
