import { DESFIRE_PICC_DF_NAME } from '../../../drivers/nfc/cards/desfire-ev3';
import { concat } from '../../../drivers/nfc/secure/aes';
import { ISO_SW, NATIVE, NTAG424_DF_NAME, isoSelectByName, nativeApdu, parseNativeResponse, parseResponse } from '../../../drivers/nfc/secure/apdu';
import { changeKeyData } from '../../../drivers/nfc/secure/change-key';
import { pcdAnswerChallenge, pcdVerifyAnswer, RND_LENGTH, type Ev2Session } from '../../../drivers/nfc/secure/ev2-auth';
import { MACT_LENGTH, openResponse, protectCommand, type CommMode } from '../../../drivers/nfc/secure/ev2-messaging';
import {
  appMasterKey,
  cardAuthKey,
  KEY_APP_MASTER,
  KEY_CARD_AUTH,
  KEY_SITE_READ,
  POSTERN_AID,
  POSTERN_DF_NAME,
  POSTERN_ISO_FID,
  POSTERN_KEY_COUNT,
  siteReadKey,
} from './postern-app';
import { beginTransaction, continueTransaction, isRandomId, type CardType, type KeyRing, type SecureOutcome } from './transaction';

/**
 * Issuing and rekeying cards, on an enrolment reader: the only code that holds the issuer master, which
 * derives each card's key 0 (the key that can change the others). It gets the master for one card, from the
 * operator's request, and keeps nothing. Every step checks the card's answer; a card that fails half-way is
 * reported with the step, and a second run tells what state it was left in (e.g. "already has the Postern
 * application").
 */

/** One APDU to the card in the field, its whole response back; throws IssueError('card-gone') when it left. */
export type Transceive = (apdu: Uint8Array, expect: number) => Promise<Uint8Array>;

export class IssueError extends Error {
  constructor(
    readonly code: 'card-gone' | 'card-refused' | 'already-issued' | 'not-issued' | 'wrong-card' | 'keys' | 'verify',
    message: string,
  ) {
    super(message);
    this.name = 'IssueError';
  }
}

export interface SiteCardKeys {
  site: string;
  /** The card master of each version this enrolment reader holds (the current one at least). */
  masters: ReadonlyMap<number, Uint8Array>;
  /** The version cards are issued with now. */
  current: number;
  /** The gate's key ring, to check each issued card the way a gate will. */
  ring: KeyRing;
}

export interface IssueRequest {
  card: CardType;
  issuerMaster: Uint8Array;
  randomUid: boolean;
  /** The PICC master key of a DESFire (AES; the emulated blank card has zeros), needed for random ID. */
  piccMasterKey?: Uint8Array;
}

export interface IssuedCard {
  uid: Uint8Array;
  card: CardType;
  keyVersion: number;
  randomUid: boolean;
}

const ZERO_KEY = new Uint8Array(16);
const EMPTY = new Uint8Array(0);

async function native(io: Transceive, ins: number, data: Uint8Array, expect: number, step: string): Promise<{ status: number; data: Uint8Array }> {
  const reply = parseNativeResponse(await io(nativeApdu(ins, data), expect));
  if (reply.status !== NATIVE.ok && reply.status !== NATIVE.additionalFrame) {
    throw new IssueError('card-refused', `${step}: the card answered status 91 ${reply.status.toString(16).padStart(2, '0').toUpperCase()}`);
  }
  return reply;
}

async function select(io: Transceive, dfName: Uint8Array): Promise<boolean> {
  const { sw } = parseResponse(await io(isoSelectByName(dfName), 2));
  if (sw === ISO_SW.ok) return true;
  if (sw === ISO_SW.fileNotFound) return false;
  throw new IssueError('card-refused', `ISO SELECT answered ${sw.toString(16)}`);
}

/** AuthenticateEV2First with one key; an authentication error says which key did not match. */
async function authenticate(io: Transceive, keyNo: number, key: Uint8Array, rndA: Uint8Array, what: string): Promise<Ev2Session> {
  const first = parseNativeResponse(await io(nativeApdu(0x71, [keyNo, 0x00]), RND_LENGTH + 2));
  if (first.status !== NATIVE.additionalFrame) throw new IssueError('keys', `${what}: the card refused authentication with key ${keyNo} (91 ${first.status.toString(16).toUpperCase()})`);
  const { cryptogram, rndB } = pcdAnswerChallenge(key, first.data, rndA);
  const second = parseNativeResponse(await io(nativeApdu(0xaf, cryptogram), 2 * RND_LENGTH + 2));
  if (second.status !== NATIVE.ok) throw new IssueError('keys', `${what}: key ${keyNo} of the card is not the expected one`);
  return pcdVerifyAnswer(key, rndA, rndB, second.data);
}

/** A command in the session; returns its plain answer and the next session (none after ChangeKey of the session key). */
async function secured(io: Transceive, s: Ev2Session, ins: number, header: Uint8Array, data: Uint8Array, mode: CommMode, step: string, answerMode: CommMode = 'mac'): Promise<{ data: Uint8Array; session: Ev2Session | null }> {
  const reply = await native(io, ins, protectCommand(s, ins, header, data, mode), 16 + MACT_LENGTH + 2, step);
  if (reply.data.length === 0) return { data: EMPTY, session: null };
  const opened = openResponse(s, reply.status, reply.data, answerMode);
  return { data: opened.data, session: opened.session };
}

async function changeKey(io: Transceive, s: Ev2Session, keyNo: number, newKey: Uint8Array, oldKey: Uint8Array, keyVersion: number): Promise<Ev2Session | null> {
  const plain = changeKeyData({ keyNo, authKeyNo: KEY_APP_MASTER, newKey, oldKey, keyVersion });
  return (await secured(io, s, 0xc4, Uint8Array.of(keyNo), plain, 'full', `ChangeKey ${keyNo}`)).session;
}

async function cardUid(io: Transceive, s: Ev2Session): Promise<Uint8Array> {
  const { data } = await secured(io, s, 0x51, EMPTY, EMPTY, 'mac', 'GetCardUID', 'full');
  if (![4, 7, 10].includes(data.length)) throw new IssueError('card-refused', `GetCardUID returned ${data.length} bytes`);
  return data;
}

/** Keys 1 and 2 to the site's version `v`, then key 0 to the card's own app master key (which ends the session). */
async function writePosternKeys(io: Transceive, s: Ev2Session, uid: Uint8Array, keys: SiteCardKeys, issuerMaster: Uint8Array, oldKey0: Uint8Array): Promise<void> {
  const master = keys.masters.get(keys.current);
  if (!master) throw new IssueError('keys', `this reader has no card master for key version ${keys.current}`);
  let session = await changeKey(io, s, KEY_CARD_AUTH, cardAuthKey(master, uid, keys.site), ZERO_KEY, keys.current);
  session = await changeKey(io, session!, KEY_SITE_READ, siteReadKey(master, keys.site), ZERO_KEY, keys.current);
  await changeKey(io, session!, KEY_APP_MASTER, appMasterKey(issuerMaster, uid, keys.site), oldKey0, 1);
}

async function enableRandomId(io: Transceive, s: Ev2Session): Promise<void> {
  await secured(io, s, 0x5c, Uint8Array.of(0x00), Uint8Array.of(0x02), 'full', 'SetConfiguration (random ID)');
}

/** The gate's own transaction over this card: the issued card must authenticate as a gate will see it. */
export async function verifyAsGate(io: Transceive, anticollisionUid: Uint8Array, ring: KeyRing, random: () => Uint8Array): Promise<SecureOutcome> {
  let step = beginTransaction({ anticollisionUid, keys: ring, randoms: [random(), random(), random()] });
  while (step.kind === 'send') {
    let bytes: Uint8Array;
    try {
      bytes = await io(step.apdu, step.expect);
    } catch (err) {
      if (err instanceof IssueError && err.code === 'card-gone') return { kind: 'interrupted', failure: 'torn' };
      throw err;
    }
    step = continueTransaction(step.state, { kind: 'data', bytes });
  }
  return step.outcome;
}

/** Throws unless the card now authenticates as a gate expects; a card that left first was written but is unchecked. */
async function checkAsGate(io: Transceive, anticollisionUid: Uint8Array, ring: KeyRing, random: () => Uint8Array, what: string): Promise<void> {
  const check = await verifyAsGate(io, anticollisionUid, ring, random);
  if (check.kind === 'authentic') return;
  if (check.kind === 'interrupted') throw new IssueError('card-gone', `the card was ${what} but left before it could be checked: tap it on a gate to check it`);
  throw new IssueError('verify', `the ${what} card does not authenticate as a gate expects (${check.kind === 'no-application' ? 'no application' : check.failure})`);
}

async function realUid(io: Transceive, anticollisionUid: Uint8Array, keyNo: number, key: Uint8Array, random: () => Uint8Array, what: string): Promise<Uint8Array> {
  if (!isRandomId(anticollisionUid)) return anticollisionUid;
  return cardUid(io, await authenticate(io, keyNo, key, random(), what));
}

/**
 * A blank DESFire EV2/EV3: create the Postern application (AES keys, ISO names), write keys 1 and 2 for the
 * site's current key version and key 0 from the issuer master, optionally turn the random ID on (permanent),
 * and check the card as a gate would.
 */
async function issueDesfire(io: Transceive, anticollisionUid: Uint8Array, keys: SiteCardKeys, req: IssueRequest, random: () => Uint8Array): Promise<Uint8Array> {
  const piccKey = req.piccMasterKey ?? ZERO_KEY;
  if (!(await select(io, DESFIRE_PICC_DF_NAME))) throw new IssueError('wrong-card', 'this is not a DESFire card (no PICC level to select)');
  const uid = await realUid(io, anticollisionUid, 0, piccKey, random, 'PICC master key');
  const create = concat(POSTERN_AID, [0x0b, 0x80 | 0x20 | POSTERN_KEY_COUNT, POSTERN_ISO_FID >> 8, POSTERN_ISO_FID & 0xff], POSTERN_DF_NAME);
  const created = parseNativeResponse(await io(nativeApdu(0xca, create), 2));
  if (created.status === 0xde) throw new IssueError('already-issued', 'the card already has the Postern application: use `postern card rekey` for a key change');
  if (created.status !== NATIVE.ok) throw new IssueError('card-refused', `CreateApplication: the card answered 91 ${created.status.toString(16).toUpperCase()} (is CreateApplication free on this card's PICC level?)`);
  if (!(await select(io, POSTERN_DF_NAME))) throw new IssueError('card-refused', 'the new application cannot be selected');
  const session = await authenticate(io, KEY_APP_MASTER, ZERO_KEY, random(), 'new application');
  await writePosternKeys(io, session, uid, keys, req.issuerMaster, ZERO_KEY);
  if (req.randomUid) {
    await select(io, DESFIRE_PICC_DF_NAME);
    await enableRandomId(io, await authenticate(io, 0, piccKey, random(), 'PICC master key'));
  }
  return uid;
}

/** A factory NTAG 424 DNA: keys 1 and 2 for the site, key 0 from the issuer master, optional random ID. */
async function personaliseNtag(io: Transceive, anticollisionUid: Uint8Array, keys: SiteCardKeys, req: IssueRequest, random: () => Uint8Array): Promise<Uint8Array> {
  if (!(await select(io, NTAG424_DF_NAME))) throw new IssueError('wrong-card', 'this is not an NTAG 424 DNA (no NDEF application)');
  const version = (await native(io, 0x64, Uint8Array.of(KEY_CARD_AUTH), 3, 'GetKeyVersion')).data[0];
  if (version !== 0) throw new IssueError('already-issued', `the tag's key 1 already has version ${version}: use \`postern card rekey\``);
  const uid = await realUid(io, anticollisionUid, KEY_APP_MASTER, ZERO_KEY, random, 'factory key 0');
  const session = await authenticate(io, KEY_APP_MASTER, ZERO_KEY, random(), 'factory key 0');
  await writePosternKeys(io, session, uid, keys, req.issuerMaster, ZERO_KEY);
  if (req.randomUid) await enableRandomId(io, await authenticate(io, KEY_APP_MASTER, appMasterKey(req.issuerMaster, uid, keys.site), random(), 'new key 0'));
  return uid;
}

export async function issueCard(io: Transceive, anticollisionUid: Uint8Array, keys: SiteCardKeys, req: IssueRequest, random: () => Uint8Array): Promise<IssuedCard> {
  if (req.card === 'desfire' && (await select(io, POSTERN_DF_NAME))) {
    throw new IssueError('already-issued', 'the card already has the Postern application: use `postern card rekey` for a key change');
  }
  const uid = req.card === 'desfire' ? await issueDesfire(io, anticollisionUid, keys, req, random) : await personaliseNtag(io, anticollisionUid, keys, req, random);
  await checkAsGate(io, anticollisionUid, keys.ring, random, 'issued');
  return { uid, card: req.card, keyVersion: keys.current, randomUid: req.randomUid };
}

/**
 * A card issued with an older key version gets keys 1 and 2 of the current one: authenticated with its key 0
 * (from the issuer master); ChangeKey needs the old keys too, so the old version's master must be here.
 */
export async function rekeyCard(io: Transceive, anticollisionUid: Uint8Array, keys: SiteCardKeys, issuerMaster: Uint8Array, random: () => Uint8Array): Promise<IssuedCard> {
  const card: CardType = (await select(io, POSTERN_DF_NAME)) ? 'desfire' : (await select(io, NTAG424_DF_NAME)) ? 'ntag424' : (() => {
    throw new IssueError('not-issued', 'this card has no Postern application: issue it with `postern card issue`');
  })();
  const old = (await native(io, 0x64, Uint8Array.of(KEY_CARD_AUTH), 3, 'GetKeyVersion')).data[0]!;
  if (old === 0) throw new IssueError('not-issued', 'this tag was never personalised: issue it with `postern card issue`');
  if (old === keys.current) throw new IssueError('already-issued', `the card is already on key version ${old}`);
  const oldMaster = keys.masters.get(old);
  const master = keys.masters.get(keys.current);
  if (!oldMaster || !master) throw new IssueError('keys', `rekeying from version ${old} to ${keys.current} needs card-master-v${old}.key and card-master-v${keys.current}.key in the keys folder`);
  const uid = await realUid(io, anticollisionUid, KEY_SITE_READ, siteReadKey(oldMaster, keys.site), random, `site read key v${old}`);
  let session = await authenticate(io, KEY_APP_MASTER, appMasterKey(issuerMaster, uid, keys.site), random(), 'key 0 (issuer master)');
  session = (await changeKey(io, session, KEY_CARD_AUTH, cardAuthKey(master, uid, keys.site), cardAuthKey(oldMaster, uid, keys.site), keys.current))!;
  await changeKey(io, session, KEY_SITE_READ, siteReadKey(master, keys.site), siteReadKey(oldMaster, keys.site), keys.current);
  await checkAsGate(io, anticollisionUid, keys.ring, random, 'rekeyed');
  return { uid, card, keyVersion: keys.current, randomUid: isRandomId(anticollisionUid) };
}
