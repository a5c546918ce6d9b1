import { ApduError, ISO_SW, NATIVE, NTAG424_DF_NAME, isoSelectByName, nativeApdu, parseNativeResponse, parseResponse } from '../../../drivers/nfc/secure/apdu';
import { CryptoInputError } from '../../../drivers/nfc/secure/aes';
import { pcdAnswerChallenge, pcdVerifyAnswer, RND_LENGTH, SecureMessagingError, type Ev2Session } from '../../../drivers/nfc/secure/ev2-auth';
import { MACT_LENGTH, openResponse, protectCommand } from '../../../drivers/nfc/secure/ev2-messaging';
import { KEY_CARD_AUTH, KEY_SITE_READ, POSTERN_DF_NAME } from './postern-app';

/**
 * The gate's side of a secure tap, as a pure step machine: each step says which APDU to send next, and the
 * card's reply (or its absence) gives the next step, until an outcome. No I/O and no clock here, so every
 * path, and every mutation of every reply, is tested directly; the reader service only moves bytes.
 *
 *   1. ISO SELECT the Postern DF name (DESFire) and, if not found, the NTAG 424 DNA application (the ATS
 *      decides which is tried first; it changes the order only, never the verdict).
 *   2. Anticollision showed a random ID (08 xx xx xx): AuthenticateEV2First with the site read key, then
 *      GetCardUID in the secure channel for the real UID.
 *   3. AuthenticateEV2First with key 1 diversified from the real UID: only the card issued for that UID
 *      holds it. Success is the outcome `authentic` with the real UID.
 *
 * Keys of the current version are tried first, so a card on it needs no more APDUs than that. Only when
 * the card refuses does the gate read its key version (GetKeyVersion): a retired or unknown version ends
 * there, an older accepted one is tried once, the same version means the card does not hold the key.
 */

export type CardType = 'desfire' | 'ntag424';

export type SecureFailure =
  /** The card does not hold the key: a clone, another site's card, a card from before a rekey. */
  | 'wrong-key'
  /** The card's key version is one the site no longer accepts. */
  | 'retired-key'
  /** A key version this gate has no master for (newer than its config, or never used). */
  | 'unknown-key'
  /** A reply of the wrong shape, a MAC that does not verify, an unexpected status. */
  | 'bad-response';

export type SecureOutcome =
  | { kind: 'authentic'; uid: Uint8Array; keyVersion: number; card: CardType }
  /** Not a Postern card: no Postern application, or an NTAG 424 DNA never personalised (key version 0). */
  | { kind: 'no-application' }
  | { kind: 'not-authentic'; failure: SecureFailure; card?: CardType }
  /** The card stopped answering mid-way (taken away) or the radio link failed: no verdict. */
  | { kind: 'interrupted'; failure: 'torn' | 'rf-error' | 'timeout' };

export interface KeyRing {
  /** The version cards are issued with now: tried first. */
  readonly current: number;
  /** Whether a key version is accepted, retired (accepted no longer) or unknown to this gate. */
  status(version: number): 'accepted' | 'retired' | 'unknown';
  /** Key 1 of the card with this real UID, for an accepted version. */
  authKey(version: number, uid: Uint8Array): Uint8Array;
  /** Key 2 of the site for an accepted version. */
  readKey(version: number): Uint8Array;
}

export interface TransactionInput {
  anticollisionUid: Uint8Array;
  /** The ATS after TL, when the card sent one: it orders the two SELECTs. */
  ats?: Uint8Array;
  keys: KeyRing;
  /** RndA for each authentication (three at most), drawn by the caller so that this stays pure. */
  randoms: readonly [Uint8Array, Uint8Array, Uint8Array];
}

export type CardReply = { kind: 'data'; bytes: Uint8Array } | { kind: 'no-answer' } | { kind: 'rf-error' };

/** One authentication the gate runs: with which key, for what, and whether it is already the second try. */
interface Attempt {
  card: CardType;
  version: number;
  purpose: 'read' | 'prove';
  uid: Uint8Array | null;
  /** A refusal is final: the version was already read, or the read key just matched. */
  final: boolean;
  /** Authentications started so far, this one included: picks its RndA. */
  auths: number;
}

interface Application {
  card: CardType;
  dfName: Uint8Array;
}

type Stage =
  | { at: 'select'; order: readonly Application[]; index: number }
  | { at: 'auth-1'; a: Attempt; key: Uint8Array; rndA: Uint8Array }
  | { at: 'auth-2'; a: Attempt; key: Uint8Array; rndA: Uint8Array; rndB: Uint8Array }
  | { at: 'key-version'; a: Attempt }
  | { at: 'card-uid'; card: CardType; version: number; session: Ev2Session; auths: number };

export interface TransactionState {
  readonly input: TransactionInput;
  readonly stage: Stage;
}

export type TransactionStep =
  | { kind: 'send'; apdu: Uint8Array; /** response bytes expected, SW included */ expect: number; state: TransactionState }
  | { kind: 'done'; outcome: SecureOutcome };

/** A 4-byte NFCID1 starting 08 is a random ID (ISO/IEC 14443-3 §6.4.4). */
export function isRandomId(uid: Uint8Array): boolean {
  return uid.length === 4 && uid[0] === 0x08;
}

const DESFIRE_APP: Application = { card: 'desfire', dfName: POSTERN_DF_NAME };
const NTAG_APP: Application = { card: 'ntag424', dfName: NTAG424_DF_NAME };

/** NTAG 424 DNA announces FSCI 7 (128-byte frames) in T0 of its ATS, DESFire EV1-EV3 FSCI 5 (64 bytes). */
function selectOrder(ats: Uint8Array | undefined): readonly Application[] {
  return ats !== undefined && ((ats[0] ?? 0) & 0x0f) === 7 ? [NTAG_APP, DESFIRE_APP] : [DESFIRE_APP, NTAG_APP];
}

const send = (input: TransactionInput, stage: Stage, apdu: Uint8Array, expect: number): TransactionStep => ({ kind: 'send', apdu, expect, state: { input, stage } });
const done = (outcome: SecureOutcome): TransactionStep => ({ kind: 'done', outcome });
const notAuthentic = (failure: SecureFailure, card?: CardType): TransactionStep => done({ kind: 'not-authentic', failure, ...(card ? { card } : {}) });

export function beginTransaction(input: TransactionInput): TransactionStep {
  if (input.randoms.some((r) => r.length !== RND_LENGTH)) throw new CryptoInputError('each RndA must be 16 bytes');
  const order = selectOrder(input.ats);
  return send(input, { at: 'select', order, index: 0 }, isoSelectByName(order[0]!.dfName), 2);
}

/** The next step after the card's reply. Malformed or hostile replies end in an outcome, never an exception. */
export function continueTransaction(state: TransactionState, reply: CardReply): TransactionStep {
  if (reply.kind === 'no-answer') return done({ kind: 'interrupted', failure: 'torn' });
  if (reply.kind === 'rf-error') return done({ kind: 'interrupted', failure: 'rf-error' });
  const stage = state.stage;
  const card = 'a' in stage ? stage.a.card : 'card' in stage ? stage.card : undefined;
  try {
    return step(state.input, stage, reply.bytes);
  } catch (err) {
    if (err instanceof ApduError || err instanceof SecureMessagingError || err instanceof CryptoInputError) return notAuthentic('bad-response', card);
    throw err;
  }
}

/** AuthenticateEV2First for attempt `a`: key 1 of the UID to prove the card, key 2 of the site to read its UID. */
function authenticate(input: TransactionInput, a: Attempt): TransactionStep {
  const [key, keyNo] = a.purpose === 'prove' ? [input.keys.authKey(a.version, a.uid!), KEY_CARD_AUTH] : [input.keys.readKey(a.version), KEY_SITE_READ];
  return send(input, { at: 'auth-1', a, key, rndA: input.randoms[a.auths - 1]! }, nativeApdu(0x71, [keyNo, 0x00]), RND_LENGTH + 2);
}

function firstAttempt(input: TransactionInput, card: CardType): TransactionStep {
  const uid = isRandomId(input.anticollisionUid) ? null : input.anticollisionUid;
  return authenticate(input, { card, version: input.keys.current, purpose: uid ? 'prove' : 'read', uid, final: false, auths: 1 });
}

/** The card refused the key: final, or time to ask which version its keys are. */
function refused(input: TransactionInput, a: Attempt): TransactionStep {
  if (a.final) return notAuthentic('wrong-key', a.card);
  return send(input, { at: 'key-version', a }, nativeApdu(0x64, [KEY_CARD_AUTH]), 3);
}

function step(input: TransactionInput, stage: Stage, bytes: Uint8Array): TransactionStep {
  switch (stage.at) {
    case 'select': {
      const { sw, data } = parseResponse(bytes);
      // SELECT with P2 = 0C answers 90 00 or 6A 82 and nothing else: any other answer is not a card to trust.
      if (data.length !== 0 || (sw !== ISO_SW.ok && sw !== ISO_SW.fileNotFound)) return notAuthentic('bad-response');
      if (sw === ISO_SW.ok) return firstAttempt(input, stage.order[stage.index]!.card);
      const next = stage.order[stage.index + 1];
      if (!next) return done({ kind: 'no-application' });
      return send(input, { ...stage, index: stage.index + 1 }, isoSelectByName(next.dfName), 2);
    }
    case 'key-version': {
      const { status, data } = parseNativeResponse(bytes);
      const a = stage.a;
      if (status !== NATIVE.ok || data.length !== 1) return notAuthentic('bad-response', a.card);
      const version = data[0]!;
      // A factory NTAG 424 DNA has version 0 keys: a tag Postern never personalised.
      if (version === 0) return done({ kind: 'no-application' });
      if (version === a.version) return notAuthentic('wrong-key', a.card);
      const known = input.keys.status(version);
      if (known !== 'accepted') return notAuthentic(known === 'retired' ? 'retired-key' : 'unknown-key', a.card);
      return authenticate(input, { ...a, version, final: true, auths: a.auths + 1 });
    }
    case 'auth-1': {
      const { status, data } = parseNativeResponse(bytes);
      if (status === NATIVE.noSuchKey || status === NATIVE.authenticationError) return refused(input, stage.a);
      if (status !== NATIVE.additionalFrame) return notAuthentic('bad-response', stage.a.card);
      const { cryptogram, rndB } = pcdAnswerChallenge(stage.key, data, stage.rndA);
      return send(input, { ...stage, at: 'auth-2', rndB }, nativeApdu(0xaf, cryptogram), 2 * RND_LENGTH + 2);
    }
    case 'auth-2': {
      const { status, data } = parseNativeResponse(bytes);
      const a = stage.a;
      if (status === NATIVE.authenticationError) return refused(input, a);
      if (status !== NATIVE.ok) return notAuthentic('bad-response', a.card);
      let session: Ev2Session;
      try {
        session = pcdVerifyAnswer(stage.key, stage.rndA, stage.rndB, data);
      } catch (err) {
        // The card accepted our cryptogram but cannot produce RndA': it is not the card it claims to be.
        if (err instanceof SecureMessagingError && err.fault === 'cryptogram') return notAuthentic('wrong-key', a.card);
        throw err;
      }
      if (a.purpose === 'prove') return done({ kind: 'authentic', uid: a.uid!, keyVersion: a.version, card: a.card });
      const getUid = nativeApdu(0x51, protectCommand(session, 0x51, new Uint8Array(0), new Uint8Array(0), 'mac'));
      return send(input, { at: 'card-uid', card: a.card, version: a.version, session, auths: a.auths }, getUid, 16 + MACT_LENGTH + 2);
    }
    case 'card-uid': {
      const { status, data } = parseNativeResponse(bytes);
      if (status !== NATIVE.ok) return notAuthentic('bad-response', stage.card);
      const uid = openResponse(stage.session, status, data, 'full').data;
      // A real UID is 7 bytes (NXP double size) or 4/10; a random ID is never the real UID.
      if (![4, 7, 10].includes(uid.length) || isRandomId(uid)) return notAuthentic('bad-response', stage.card);
      // The read key matched this version, so a refusal of key 1 now is final.
      return authenticate(input, { card: stage.card, version: stage.version, purpose: 'prove', uid, final: true, auths: stage.auths + 1 });
    }
  }
}
