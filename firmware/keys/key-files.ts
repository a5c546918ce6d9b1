import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';

/**
 * The gate's three secrets, each in its own 0600 file holding one line of base64 (red line 4 keeps the
 * template key apart from the store). The provisioning script writes the same format.
 */
export const KEY_FILES = {
  /** tweetnacl Ed25519 secret key, 64 bytes: signs deletion receipts, command results and state. */
  gateSigning: 'gate-ed25519.key',
  /** tweetnacl secretbox key, 32 bytes: encrypts face templates at rest. */
  templateBox: 'template-secretbox.key',
  /** Site HMAC key, ≥32 bytes, the same on every gate of a site: hashes card UIDs. */
  siteHmac: 'site-hmac.key',
} as const;

export interface GateKeys {
  signingSecretKey: Uint8Array;
  signingPublicKey: Uint8Array;
  templateKey: Uint8Array;
  siteKey: Uint8Array;
}

const EXPECTED_LENGTH: Record<keyof typeof KEY_FILES, (n: number) => boolean> = {
  gateSigning: (n) => n === nacl.sign.secretKeyLength,
  templateBox: (n) => n === nacl.secretbox.keyLength,
  siteHmac: (n) => n >= 32,
};

export function readKeyFile(dir: string, which: keyof typeof KEY_FILES): Uint8Array {
  return readKeyAt(join(dir, KEY_FILES[which]), which, EXPECTED_LENGTH[which]);
}

/** One line of base64 in a 0600 file; any other mode, or a wrong length, is refused with the reason. */
export function readKeyAt(path: string, label: string, validLength: (n: number) => boolean): Uint8Array {
  if (!existsSync(path)) throw new Error(`key file ${path} is missing (run scripts/provision, or start in sim mode to generate one)`);
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new Error(`key file ${path} has mode ${mode.toString(8)}; it must be 0600 (readable by the service user only)`);
  const bytes = new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'));
  if (!validLength(bytes.length)) throw new Error(`key file ${path} holds ${bytes.length} bytes, which is not a valid ${label} key`);
  return bytes;
}

export function writeKeyFile(dir: string, which: keyof typeof KEY_FILES, bytes: Uint8Array): string {
  return writeKeyAt(dir, KEY_FILES[which], bytes);
}

/** Creates `dir/name` (0600, never over an existing file) holding `bytes` as one line of base64. */
export function writeKeyAt(dir: string, name: string, bytes: Uint8Array): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  writeFileSync(path, Buffer.from(bytes).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return path;
}

export function generateKeyBytes(which: keyof typeof KEY_FILES): Uint8Array {
  if (which === 'gateSigning') return nacl.sign.keyPair().secretKey;
  return nacl.randomBytes(32);
}

/** Loads all three keys; with `createMissing` (sim mode and provisioning only) generates any that are absent. */
export function loadGateKeys(dir: string, createMissing: boolean): GateKeys {
  if (createMissing) {
    for (const which of Object.keys(KEY_FILES) as (keyof typeof KEY_FILES)[]) {
      if (!existsSync(join(dir, KEY_FILES[which]))) writeKeyFile(dir, which, generateKeyBytes(which));
    }
  }
  const signingSecretKey = readKeyFile(dir, 'gateSigning');
  return {
    signingSecretKey,
    signingPublicKey: nacl.sign.keyPair.fromSecretKey(signingSecretKey).publicKey,
    templateKey: readKeyFile(dir, 'templateBox'),
    siteKey: readKeyFile(dir, 'siteHmac'),
  };
}
