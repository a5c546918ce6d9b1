import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import nacl from 'tweetnacl';

/** Key files of the operator side (operator, site root, recovery): one line of base64 of a 64-byte tweetnacl Ed25519 secret key, mode 0600. */

export function readSecretKey(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read key file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length !== nacl.sign.secretKeyLength) throw new Error(`${path} does not hold an Ed25519 secret key (64 bytes of base64)`);
  return new Uint8Array(bytes);
}

export function publicKeyOf(secretKey: Uint8Array): string {
  return Buffer.from(secretKey.subarray(32)).toString('base64');
}

/** A new key in `out` (never over an existing file); returns the secret key. `what` names it in the refusal. */
export function writeNewKey(out: string, what: string): Uint8Array {
  if (existsSync(out)) throw new Error(`${out} exists; refusing to overwrite ${what}`);
  const pair = nacl.sign.keyPair();
  writeFileSync(out, Buffer.from(pair.secretKey).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return pair.secretKey;
}
