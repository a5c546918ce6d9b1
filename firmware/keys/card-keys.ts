import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AES128_KEY } from '../../drivers/nfc/secure/aes';
import { cardAuthKey, siteReadKey } from '../cards/secure/postern-app';
import type { KeyRing } from '../cards/secure/transaction';
import { readKeyAt, writeKeyAt } from './key-files';

/**
 * The site's card masters, one 0600 file per key version in the keys folder, the same on every gate of the
 * site (like the site HMAC key): `card-master-v<N>.key`, 16 bytes of base64. A gate derives from them
 * what it needs to check a card (key 1 per card, key 2 per site); the issuer master, which can change a
 * card's keys, is never among them.
 */
export function cardMasterFileName(version: number): string {
  return `card-master-v${version}.key`;
}

export interface CardKeyVersions {
  /** The version cards are issued with now. */
  current: number;
  /** Older versions still accepted while cards are rekeyed; empty after a gate was stolen. */
  acceptOld: readonly number[];
}

/** accepted / retired / unknown, the rule the key ring applies: pure, tested on its own. */
export function keyVersionStatus(versions: CardKeyVersions, version: number): 'accepted' | 'retired' | 'unknown' {
  if (version === versions.current || versions.acceptOld.includes(version)) return 'accepted';
  return version < versions.current ? 'retired' : 'unknown';
}

export function readCardMaster(dir: string, version: number): Uint8Array {
  return readKeyAt(join(dir, cardMasterFileName(version)), `card master v${version}`, (n) => n === AES128_KEY);
}

/** Creates the card master of a version if it is missing (sim mode, provisioning); returns whether it did. */
export function ensureCardMaster(dir: string, version: number): boolean {
  if (existsSync(join(dir, cardMasterFileName(version)))) return false;
  writeKeyAt(dir, cardMasterFileName(version), new Uint8Array(randomBytes(AES128_KEY)));
  return true;
}

/** A KeyRing over masters already loaded: every accepted version must have one. */
export function keyRingFrom(masters: ReadonlyMap<number, Uint8Array>, versions: CardKeyVersions, site: string): KeyRing {
  const readKeys = new Map<number, Uint8Array>();
  const master = (version: number): Uint8Array => {
    const m = masters.get(version);
    if (!m || keyVersionStatus(versions, version) !== 'accepted') throw new Error(`card key version ${version} is not accepted by this gate`);
    return m;
  };
  return {
    current: versions.current,
    status: (version) => keyVersionStatus(versions, version),
    authKey: (version, uid) => cardAuthKey(master(version), uid, site),
    readKey: (version) => {
      let key = readKeys.get(version);
      if (!key) readKeys.set(version, (key = siteReadKey(master(version), site)));
      return key;
    },
  };
}

/** Versions whose master is in the keys folder (an enrolment reader keeps old ones until every card is rekeyed). */
export function cardMasterVersions(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^card-master-v([1-9]\d{0,2})\.key$/.exec(name)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .filter((v) => v <= 255)
    .sort((a, b) => a - b);
}

/** The master of every accepted version (missing ones are created only when asked: sim mode). */
export function loadCardMasters(dir: string, versions: CardKeyVersions, createMissing: boolean): Map<number, Uint8Array> {
  const masters = new Map<number, Uint8Array>();
  for (const version of [versions.current, ...versions.acceptOld]) {
    if (createMissing) ensureCardMaster(dir, version);
    masters.set(version, readCardMaster(dir, version));
  }
  return masters;
}
