import { randomBytes } from 'node:crypto';
import type { IsoDepCard } from '../../drivers/nfc/cards/iso-dep';
import { keyRingFrom } from '../../firmware/keys/card-keys';
import { simulatedCard, type SimCardKeys, type SimCardType } from '../../firmware/cards/secure/sim-cards';
import { beginTransaction, continueTransaction, type CardReply, type KeyRing, type SecureOutcome, type TransactionStep } from '../../firmware/cards/secure/transaction';

export const SITE = 'riverside';
/** The site's card master of key version 2 (the current one in these tests). */
export const MASTER = Uint8Array.from(Buffer.from('8f1c2a9e47d3b6055ee1c0a4d9b27f31', 'hex'));

/** Each key version has its own master, as on a real site. */
export function masterFor(version: number): Uint8Array {
  if (version === 2) return MASTER;
  const m = Uint8Array.from(MASTER);
  m[15] = m[15]! ^ version;
  return m;
}
export const UID = Uint8Array.from(Buffer.from('04A1B2C3D4E5F6', 'hex'));

export const rnd16 = (): Uint8Array => new Uint8Array(randomBytes(16));

/** The site's key ring: version 2 current, 1 still accepted; masters for both. */
export function siteKeys(versions = { current: 2, acceptOld: [1] as number[] }): KeyRing {
  return keyRingFrom(new Map(versions.acceptOld.concat(versions.current).map((v) => [v, masterFor(v)])), versions, SITE);
}

export function card(type: SimCardType, keys: SimCardKeys, options: { uid?: Uint8Array; randomId?: boolean; keyVersion?: number; master?: Uint8Array } = {}): IsoDepCard {
  const keyVersion = options.keyVersion ?? 2;
  return simulatedCard({ type, keys, uid: options.uid ?? UID, randomId: options.randomId ?? false, cardMaster: options.master ?? masterFor(keyVersion), keyVersion, site: SITE });
}

/**
 * The pure transaction driven straight against a card model (no PN532): `reply` may rewrite each answer
 * (a hostile or broken card), `leaveAfter` pulls the card away after that many answers.
 */
export function runTransaction(
  model: IsoDepCard,
  keys: KeyRing,
  options: { leaveAfter?: number; reply?: (answer: Uint8Array, index: number) => CardReply } = {},
): { outcome: SecureOutcome; apdus: Uint8Array[] } {
  model.powerUp();
  const shown = model.activate();
  let step: TransactionStep = beginTransaction({ anticollisionUid: shown.uid, ats: shown.ats, keys, randoms: [rnd16(), rnd16(), rnd16()] });
  const apdus: Uint8Array[] = [];
  while (step.kind === 'send') {
    const index = apdus.length;
    apdus.push(step.apdu);
    let reply: CardReply;
    if (options.leaveAfter !== undefined && index >= options.leaveAfter) reply = { kind: 'no-answer' };
    else {
      const answer = model.exchange(step.apdu).response;
      reply = options.reply ? options.reply(answer, index) : { kind: 'data', bytes: answer };
    }
    step = continueTransaction(step.state, reply);
  }
  return { outcome: step.outcome, apdus };
}
