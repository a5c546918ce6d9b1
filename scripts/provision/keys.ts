import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import nacl from 'tweetnacl';
import { generateKeyBytes, KEY_FILES, readKeyFile, writeKeyFile } from '../../firmware/keys/key-files';
import { SERVICE_USER } from './accounts';
import type { Executor } from './executor';
import { UsageError } from './options';

export const KEYS_DIR = '/etc/postern/keys';
const OWNER = { user: SERVICE_USER, group: SERVICE_USER };

function decodeBase64File(path: string, what: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new UsageError(`${what} ${path} is not one line of base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** A site key file as another gate of the site has it (firmware/keys format: base64, at least 32 bytes). */
export function readSiteKeyImport(path: string): Uint8Array {
  const bytes = decodeBase64File(path, 'site key');
  if (bytes.length < 32) throw new UsageError(`site key ${path} holds ${bytes.length} bytes; a site key has at least 32`);
  return bytes;
}

/** An Ed25519 public key file, as the config's cloud.operatorKeys, siteRoot and siteRecovery hold them (base64 of 32 bytes). */
export function readPublicKey(path: string, what: string): string {
  const bytes = decodeBase64File(path, what);
  if (bytes.length !== nacl.sign.publicKeyLength) {
    throw new UsageError(`${what} ${path} holds ${bytes.length} bytes; an Ed25519 public key has ${nacl.sign.publicKeyLength}`);
  }
  return Buffer.from(bytes).toString('base64');
}

export const readOperatorKey = (path: string): string => readPublicKey(path, 'operator public key');

/**
 * The gate's key files, written by firmware/keys/key-files.ts itself so the format cannot drift.
 * Existing keys are never replaced: a new signing key would orphan every receipt already issued, and
 * a new site key would make every enrolled card unknown.
 */
export function ensureKeys(ex: Executor, siteKeyImport: Uint8Array | undefined): void {
  ex.ensureDir(KEYS_DIR, 0o700, OWNER);
  const create = (which: keyof typeof KEY_FILES, bytes: () => Uint8Array) => (path: string) => {
    writeKeyFile(dirname(path), which, bytes());
  };
  ex.ensureCreatedOnce(`${KEYS_DIR}/${KEY_FILES.gateSigning}`, 'generate the gate signing key', create('gateSigning', () => generateKeyBytes('gateSigning')), 0o600, OWNER);
  ex.ensureCreatedOnce(`${KEYS_DIR}/${KEY_FILES.templateBox}`, 'generate the template encryption key', create('templateBox', () => generateKeyBytes('templateBox')), 0o600, OWNER);

  const hadSiteKey = existsSync(ex.at(`${KEYS_DIR}/${KEY_FILES.siteHmac}`));
  ex.ensureCreatedOnce(
    `${KEYS_DIR}/${KEY_FILES.siteHmac}`,
    siteKeyImport ? 'import the site key' : 'generate a new site key',
    create('siteHmac', () => siteKeyImport ?? generateKeyBytes('siteHmac')),
    0o600,
    OWNER,
  );
  if (!siteKeyImport && !hadSiteKey) {
    ex.note(`new site key: give ${KEYS_DIR}/${KEY_FILES.siteHmac} to every other gate of this site (--site-key FILE)`);
  }
}

/**
 * Refuses an imported site key that differs from the installed one, before anything is changed:
 * enrolled cards are hashed with the installed key.
 */
export function checkSiteKeyImport(installedKeysDir: string, imported: Uint8Array): void {
  if (!existsSync(`${installedKeysDir}/${KEY_FILES.siteHmac}`)) return;
  if (!Buffer.from(readKeyFile(installedKeysDir, 'siteHmac')).equals(Buffer.from(imported))) {
    throw new UsageError(
      `${KEYS_DIR}/${KEY_FILES.siteHmac} already holds a different site key; enrolled cards are hashed with it. ` +
        'Remove the file by hand if you really mean to replace it.',
    );
  }
}

/** The gate's public key, for the operator to register; undefined before the key exists (dry run). */
export function gatePublicKey(ex: Executor): string | undefined {
  const dir = ex.at(KEYS_DIR);
  if (!existsSync(`${dir}/${KEY_FILES.gateSigning}`)) return undefined;
  return Buffer.from(nacl.sign.keyPair.fromSecretKey(readKeyFile(dir, 'gateSigning')).publicKey).toString('base64');
}
