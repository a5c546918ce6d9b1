import { createHmac } from 'node:crypto';

/** A card UID as upper-case hex with no separators: the one form that is ever hashed. */
export function normaliseUid(uid: string | Uint8Array): string {
  if (typeof uid !== 'string') return Buffer.from(uid).toString('hex').toUpperCase();
  const hex = uid.replace(/[\s:-]/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex) || ![8, 14, 20].includes(hex.length)) {
    throw new Error(`card UID "${uid}" is not 4, 7 or 10 bytes of hex`);
  }
  return hex;
}

/** Random UIDs (ISO 14443-3: first byte 0x08) change on every tap, as phones do: never a credential. */
export function isRandomUid(normalised: string): boolean {
  return normalised.length === 8 && normalised.startsWith('08');
}

/** HMAC-SHA256(site key, normalised UID), hex: the only form of a card id stored or sent (red line 5). */
export function hashCardUid(siteKey: Uint8Array, uid: string | Uint8Array): string {
  return createHmac('sha256', siteKey).update(normaliseUid(uid), 'utf8').digest('hex');
}
