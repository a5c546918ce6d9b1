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
 *   1. ISO SELECT the Postern DF name (DESFire); if not found, the NTAG 424 DNA application.
 *   2. GetKeyVersion of key 1: picks the site's card master for that version; a retired version stops here.
 *   3. Anticollision showed a random ID (08 xx xx xx): AuthenticateEV2First with the site read key, then
 *      GetCardUID in the secure channel for the real UID.
 *   4. AuthenticateEV2First with key 1 diversified from the real UID: only the card issued for that UID
 *      holds it. Success is the outcome `authentic` with the real UID.
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
  /** Whether a key version is accepted, retired (accepted no longer) or unknown to this gate. */
  status(version: number): 'accepted' | 'retired' | 'unknown';
  /** Key 1 of the card with this real UID, for an accepted version. */
  authKey(version: number, uid: Uint8Array): Uint8Array;
  /** Key 2 of the site for an accepted version. */
  readKey(version: number): Uint8Array;
}

export interface TransactionInput {
  anticollisionUid: Uint8Array;
  keys: KeyRing;
  /** RndA for each authentication (two at most), drawn by the caller so that this stays pure. */
  randoms: readonly [Uint8Array, Uint8Array];
}

export type CardReply = { kind: 'data'; bytes: Uint8Array } | { kind: 'no-answer' } | { kind: 'rf-error' };

type Stage =
  | { at: 'select-postern' }
  | { at: 'select-ntag' }
  | { at: 'key-version'; card: CardType }
  | { at: 'auth-1'; card: CardType; version: number; purpose: 'read' | 'prove'; key: Uint8Array; rndA: Uint8Array; uid: Uint8Array | null }
  | { at: 'auth-2'; card: CardType; version: number; purpose: 'read' | 'prove'; key: Uint8Array; rndA: Uint8Array; rndB: Uint8Array; uid: Uint8Array | null }
  | { at: 'card-uid'; card: CardType; version: number; session: Ev2Session };

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

const send = (input: TransactionInput, stage: Stage, apdu: Uint8Array, expect: number): TransactionStep => ({ kind: 'send', apdu, expect, state: { input, stage } });
const done = (outcome: SecureOutcome): TransactionStep => ({ kind: 'done', outcome });
const notAuthentic = (failure: SecureFailure, card?: CardType): TransactionStep => done({ kind: 'not-authentic', failure, ...(card ? { card } : {}) });

export function beginTransaction(input: TransactionInput): TransactionStep {
  if (input.randoms.some((r) => r.length !== RND_LENGTH)) throw new CryptoInputError('each RndA must be 16 bytes');
  return send(input, { at: 'select-postern' }, isoSelectByName(POSTERN_DF_NAME), 2);
}

/** The next step after the card's reply. Malformed or hostile replies end in an outcome, never an exception. */
export function continueTransaction(state: TransactionState, reply: CardReply): TransactionStep {
  if (reply.kind === 'no-answer') return done({ kind: 'interrupted', failure: 'torn' });
  if (reply.kind === 'rf-error') return done({ kind: 'interrupted', failure: 'rf-error' });
  const card = 'card' in state.stage ? state.stage.card : undefined;
  try {
    return step(state.input, state.stage, reply.bytes);
  } catch (err) {
    if (err instanceof ApduError || err instanceof SecureMessagingError || err instanceof CryptoInputError) return notAuthentic('bad-response', card);
    throw err;
  }
}

function step(input: TransactionInput, stage: Stage, bytes: Uint8Array): TransactionStep {
  switch (stage.at) {
    case 'select-postern':
    case 'select-ntag': {
      const { sw, data } = parseResponse(bytes);
      // SELECT with P2 = 0C answers 90 00 or 6A 82 and nothing else: any other answer is not a card to trust.
      if (data.length !== 0 || (sw !== ISO_SW.ok && sw !== ISO_SW.fileNotFound)) return notAuthentic('bad-response');
      if (sw === ISO_SW.ok) return send(input, { at: 'key-version', card: stage.at === 'select-postern' ? 'desfire' : 'ntag424' }, nativeApdu(0x64, [KEY_CARD_AUTH]), 3);
      if (stage.at === 'select-postern') return send(input, { at: 'select-ntag' }, isoSelectByName(NTAG424_DF_NAME), 2);
      return done({ kind: 'no-application' });
    }
    case 'key-version': {
      const { status, data } = parseNativeResponse(bytes);
      if (status !== NATIVE.ok || data.length !== 1) return notAuthentic('bad-response', stage.card);
      const version = data[0]!;
      // A factory NTAG 424 DNA has version 0 keys: a tag Postern never personalised.
      if (version === 0) return done({ kind: 'no-application' });
      const known = input.keys.status(version);
      if (known !== 'accepted') return notAuthentic(known === 'retired' ? 'retired-key' : 'unknown-key', stage.card);
      const uid = isRandomId(input.anticollisionUid) ? null : input.anticollisionUid;
      const [purpose, key, keyNo] = uid ? (['prove', input.keys.authKey(version, uid), KEY_CARD_AUTH] as const) : (['read', input.keys.readKey(version), KEY_SITE_READ] as const);
      const rndA = input.randoms[0];
      return send(input, { at: 'auth-1', card: stage.card, version, purpose, key, rndA, uid }, nativeApdu(0x71, [keyNo, 0x00]), RND_LENGTH + 2);
    }
    case 'auth-1': {
      const { status, data } = parseNativeResponse(bytes);
      if (status === NATIVE.noSuchKey || status === NATIVE.authenticationError) return notAuthentic('wrong-key', stage.card);
      if (status !== NATIVE.additionalFrame) return notAuthentic('bad-response', stage.card);
      const { cryptogram, rndB } = pcdAnswerChallenge(stage.key, data, stage.rndA);
      return send(input, { ...stage, at: 'auth-2', rndB }, nativeApdu(0xaf, cryptogram), 2 * RND_LENGTH + 2);
    }
    case 'auth-2': {
      const { status, data } = parseNativeResponse(bytes);
      if (status === NATIVE.authenticationError) return notAuthentic('wrong-key', stage.card);
      if (status !== NATIVE.ok) return notAuthentic('bad-response', stage.card);
      let session: Ev2Session;
      try {
        session = pcdVerifyAnswer(stage.key, stage.rndA, stage.rndB, data);
      } catch (err) {
        if (err instanceof SecureMessagingError && err.fault === 'cryptogram') return notAuthentic('wrong-key', stage.card);
        throw err;
      }
      if (stage.purpose === 'prove') return done({ kind: 'authentic', uid: stage.uid!, keyVersion: stage.version, card: stage.card });
      return send(input, { at: 'card-uid', card: stage.card, version: stage.version, session }, nativeApdu(0x51, protectCommand(session, 0x51, new Uint8Array(0), new Uint8Array(0), 'mac')), 16 + MACT_LENGTH + 2);
    }
    case 'card-uid': {
      const { status, data } = parseNativeResponse(bytes);
      if (status !== NATIVE.ok) return notAuthentic('bad-response', stage.card);
      const uid = openResponse(stage.session, status, data, 'full').data;
      // A real UID is 7 bytes (NXP double size) or 4/10; a random ID is never the real UID.
      if (![4, 7, 10].includes(uid.length) || isRandomId(uid)) return notAuthentic('bad-response', stage.card);
      const key = input.keys.authKey(stage.version, uid);
      const rndA = input.randoms[1];
      return send(input, { at: 'auth-1', card: stage.card, version: stage.version, purpose: 'prove', key, rndA, uid }, nativeApdu(0x71, [KEY_CARD_AUTH, 0x00]), RND_LENGTH + 2);
    }
  }
}
