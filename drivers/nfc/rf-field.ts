import { randomBytes } from 'node:crypto';
import type { IsoDepCard } from './cards/iso-dep';
import type { TypeATarget } from './commands';

/** What the emulated antenna sees: nothing, one card, or a phone that shows a fresh random UID each time. */
export interface CardInField {
  kind: 'card';
  uid: Uint8Array;
  atqa: Uint8Array;
  sak: number;
  ats?: Uint8Array;
}
/** A card model that speaks ISO/IEC 14443-4 (DESFire EV3, NTAG 424 DNA): anticollision and APDUs come from it. */
export interface IsoDepInField {
  kind: 'iso-dep';
  card: IsoDepCard;
}
export type FieldOccupant = CardInField | IsoDepInField | { kind: 'phone' };

/** Parses "04A1B2C3D4E5F6" / "04:a1:…" into 4, 7 or 10 bytes, or says what is wrong with it. */
export function parseUidHex(uid: string): Uint8Array {
  const hex = uid.replace(/[\s:-]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex) || ![8, 14, 20].includes(hex.length)) {
    throw new Error(`card UID "${uid}" must be 4, 7 or 10 bytes of hex (8, 14 or 20 hex digits)`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Typical ATQA/SAK for each UID size: MIFARE Classic 1K, NTAG/Ultralight, and a triple-size UID. */
export function cardWithUid(uid: Uint8Array): CardInField {
  const atqa = uid.length === 4 ? [0x00, 0x04] : uid.length === 7 ? [0x00, 0x44] : [0x00, 0x84];
  const sak = uid.length === 4 ? 0x08 : 0x00;
  return { kind: 'card', uid, atqa: Uint8Array.from(atqa), sak };
}

/** The target a single activation of the occupant yields: phones (HCE) answer with a random UID 08 xx xx xx. */
export function activate(occupant: FieldOccupant, tg: number): TypeATarget {
  if (occupant.kind === 'card') {
    const { uid, atqa, sak, ats } = occupant;
    return ats ? { tg, atqa, sak, uid, ats } : { tg, atqa, sak, uid };
  }
  if (occupant.kind === 'iso-dep') return { tg, ...occupant.card.activate() };
  return {
    tg,
    atqa: Uint8Array.from([0x00, 0x04]),
    sak: 0x20,
    uid: Uint8Array.from([0x08, ...randomBytes(3)]),
    ats: Uint8Array.from([0x78, 0x80, 0x70, 0x02]),
  };
}

/** InListPassiveTarget response data (after the response code) for one target, as the PN532 lays it out. */
export function encodeTargetA(target: TypeATarget): number[] {
  const ats = target.ats ? [target.ats.length + 1, ...target.ats] : [];
  return [1, target.tg, ...target.atqa, target.sak, target.uid.length, ...target.uid, ...ats];
}
