import { randomBytes } from 'node:crypto';
import { DesfireEv3 } from '../../../drivers/nfc/cards/desfire-ev3';
import type { AesKeySlot } from '../../../drivers/nfc/cards/ev2-picc';
import type { IsoDepCard } from '../../../drivers/nfc/cards/iso-dep';
import { Ntag424Dna } from '../../../drivers/nfc/cards/ntag424-dna';
import { cardAuthKey, POSTERN_AID, POSTERN_DF_NAME, POSTERN_ISO_FID, siteReadKey } from './postern-app';

/**
 * Emulated cards for the bench, the tap bench and tests: a card issued for this site, a clone of one (same
 * UID, keys it cannot know), a genuine card of another site, or a blank card straight from the factory.
 */
export type SimCardType = 'desfire' | 'ntag424';
export type SimCardKeys = 'site' | 'clone' | 'other-site' | 'blank';

export interface SimCardSpec {
  type: SimCardType;
  uid: Uint8Array;
  keys: SimCardKeys;
  randomId?: boolean;
  /** The site's card master and key version (what a real issuing run would have used). */
  cardMaster: Uint8Array;
  keyVersion: number;
  site: string;
}

const random16 = (): Uint8Array => new Uint8Array(randomBytes(16));

/** Keys 0-2 of a Postern card: 0 is random here (the issuer master stays with the operator). */
function posternKeys(spec: SimCardSpec): AesKeySlot[] {
  const v = spec.keyVersion;
  if (spec.keys === 'clone') return [random16(), random16(), random16()].map((key) => ({ key, version: v }));
  const master = spec.keys === 'other-site' ? random16() : spec.cardMaster;
  return [
    { key: random16(), version: 1 },
    { key: cardAuthKey(master, spec.uid, spec.site), version: v },
    { key: siteReadKey(master, spec.site), version: v },
  ];
}

export function simulatedCard(spec: SimCardSpec): IsoDepCard {
  const blank = spec.keys === 'blank';
  const randomId = spec.randomId ?? false;
  if (spec.type === 'ntag424') {
    const keys = blank ? undefined : [...posternKeys(spec), { key: new Uint8Array(16), version: 0 }, { key: new Uint8Array(16), version: 0 }];
    return new Ntag424Dna({ uid: spec.uid, randomId, ...(keys ? { keys } : {}) });
  }
  const applications = blank ? [] : [{ aid: POSTERN_AID, keySettings: 0x0b, keys: posternKeys(spec), isoFid: POSTERN_ISO_FID, dfName: POSTERN_DF_NAME }];
  return new DesfireEv3({ uid: spec.uid, randomId, applications });
}
