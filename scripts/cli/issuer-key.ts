import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readKeyAt, writeKeyAt } from '../../firmware/keys/key-files';
import { CliError, EXIT } from './admin-client';

const AES128 = 16;

/**
 * The issuer master from the operator's file, as base64 for the admin request. The same rules as the gate's
 * own key files: one line of base64, 16 bytes, mode 0600. It lives on the operator's machine (or a USB key),
 * never in a gate's keys folder.
 */
export function readIssuerKey(path: string): string {
  if (!existsSync(path)) throw new CliError(`issuer key file ${path} does not exist (create one with: postern card new-key FILE)`, EXIT.usage);
  try {
    return Buffer.from(readKeyAt(path, 'issuer master', (n) => n === AES128)).toString('base64');
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

/** A new random AES-128 key in a new 0600 file (an issuer master, or a site's card-master-v<N>.key). */
export function writeNewKey(path: string): string {
  if (existsSync(path)) throw new CliError(`${path} already exists; a key file is never overwritten`, EXIT.refused);
  return writeKeyAt(dirname(path), basename(path), new Uint8Array(randomBytes(AES128)));
}
