import { createHash } from 'node:crypto';
import { concat } from '../../../drivers/nfc/secure/aes';
import { diversifyAes128 } from '../../../drivers/nfc/secure/diversify';

/**
 * The Postern application on a secure card, and how its keys are derived. Gate, bench and issuing tool all
 * read these constants, so a card issued by one is the card the other expects.
 *
 *  - DESFire EV2/EV3: application AID 0x505354 ("PST"; sent least significant byte first, 54 53 50), with ISO
 *    DF name F0 50 4F 53 54 45 52 4E 01 (an unregistered proprietary AID, category F of ISO/IEC 7816-5:
 *    "F0" ‖ "POSTERN" ‖ version 01) and ISO FID 0x5053, three AES keys.
 *  - NTAG 424 DNA: its one NDEF application (D2 76 00 00 85 01 01), keys 0-2 used as below, keys 3-4 left
 *    for SUN/SDM.
 *
 * Keys: 0 application master (derived from the issuer master; only the issuing tool ever holds it),
 * 1 card authentication (derived per card from the site's card master of that key version), 2 site read key
 * (one per site and key version, only used to learn the real UID of a random-ID card). The key version byte
 * of keys 1 and 2 is the site's card key version.
 */
export const POSTERN_AID = Uint8Array.from([0x54, 0x53, 0x50]);
export const POSTERN_DF_NAME = Uint8Array.from([0xf0, 0x50, 0x4f, 0x53, 0x54, 0x45, 0x52, 0x4e, 0x01]);
export const POSTERN_ISO_FID = 0x5053;
export const KEY_APP_MASTER = 0;
export const KEY_CARD_AUTH = 1;
export const KEY_SITE_READ = 2;
export const POSTERN_KEY_COUNT = 3;

/** "RD": the diversification input of the site read key starts with this instead of a UID. */
const READ_KEY_LABEL = [0x52, 0x44];

/**
 * AN10922's system identifier: 8 bytes of SHA-256("postern-site:" ‖ site id), so two sites that were (wrongly)
 * given the same master still derive different card keys.
 */
export function systemIdentifier(site: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`postern-site:${site}`, 'utf8').digest().subarray(0, 8));
}

/** AN10922 diversification input M = UID ‖ AID ‖ system identifier (at most 10 + 3 + 8 = 21 bytes). */
export function diversificationInput(uid: Uint8Array, site: string): Uint8Array {
  return concat(uid, POSTERN_AID, systemIdentifier(site));
}

/** Key 1 of one card: what a gate derives to check it and the issuing tool writes into it. */
export function cardAuthKey(cardMaster: Uint8Array, uid: Uint8Array, site: string): Uint8Array {
  return diversifyAes128(cardMaster, diversificationInput(uid, site));
}

/** Key 2, the same on every card of the site and key version. */
export function siteReadKey(cardMaster: Uint8Array, site: string): Uint8Array {
  return diversifyAes128(cardMaster, concat(READ_KEY_LABEL, POSTERN_AID, systemIdentifier(site)));
}

/** Key 0 of one card, from the issuer master the operator keeps off the gates. */
export function appMasterKey(issuerMaster: Uint8Array, uid: Uint8Array, site: string): Uint8Array {
  return diversifyAes128(issuerMaster, diversificationInput(uid, site));
}
