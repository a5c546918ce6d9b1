import { randomBytes } from 'node:crypto';
import type { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { parseUidHex } from '../../drivers/nfc/rf-field';
import type { BenchServer } from '../bench/server';
import { HttpError, readJson, sendJson } from '../http/json';
import { simulatedCard, type SimCardKeys, type SimCardType } from './secure/sim-cards';

const DEFAULT_HOLD_MS = 500;
const CARD_TYPES: readonly SimCardType[] = ['desfire', 'ntag424'];
const KEY_SETS: readonly SimCardKeys[] = ['site', 'clone', 'other-site', 'blank'];

/** A tap the bench asked for: a plain UID card, or a secure card model with its keys. */
export type SimTap =
  | { kind: 'uid'; uid: string; holdMs: number }
  | { kind: 'card'; type: SimCardType; uid: Uint8Array; keys: SimCardKeys; randomUid: boolean; removeAfterFrames: number | null; holdMs: number };

const UID_RULE = '4, 7 or 10 bytes of hex (8, 14 or 20 hex digits)';

/**
 * `POST /api/sim/nfc` bodies: `{uid, holdMs?}` as before, or `{card: "desfire"|"ntag424", uid?, keys?:
 * "site"|"clone"|"other-site"|"blank", randomUid?, removeAfterFrames?, holdMs?}`. Pure: every refusal is an
 * HttpError 400 saying what is allowed; messages never echo a UID (it may be a real card's).
 */
export function parseSimTap(body: Record<string, unknown>, freshUid: () => Uint8Array = () => Uint8Array.from([0x04, ...randomBytes(6)])): SimTap {
  const { uid, holdMs = DEFAULT_HOLD_MS, card, keys = 'site', randomUid = false, removeAfterFrames } = body;
  if (typeof holdMs !== 'number' || !Number.isInteger(holdMs) || holdMs < 1 || holdMs > 60_000) {
    throw new HttpError(400, `holdMs=${JSON.stringify(holdMs)} must be a whole number of ms from 1 to 60000`);
  }
  if (card === undefined) {
    for (const k of ['keys', 'randomUid', 'removeAfterFrames'] as const) if (k in body) throw new HttpError(400, `${k} needs "card" ("desfire" or "ntag424")`);
    if (typeof uid !== 'string') throw new HttpError(400, `uid must be a string of ${UID_RULE}`);
    try {
      parseUidHex(uid);
    } catch {
      throw new HttpError(400, `uid must be ${UID_RULE}`);
    }
    return { kind: 'uid', uid, holdMs };
  }
  if (!CARD_TYPES.includes(card as SimCardType)) throw new HttpError(400, `card=${JSON.stringify(card)} must be one of ${CARD_TYPES.join(', ')}`);
  if (!KEY_SETS.includes(keys as SimCardKeys)) throw new HttpError(400, `keys=${JSON.stringify(keys)} must be one of ${KEY_SETS.join(', ')}`);
  if (typeof randomUid !== 'boolean') throw new HttpError(400, `randomUid=${JSON.stringify(randomUid)} must be true or false`);
  if (removeAfterFrames !== undefined && (typeof removeAfterFrames !== 'number' || !Number.isInteger(removeAfterFrames) || removeAfterFrames < 0 || removeAfterFrames > 100)) {
    throw new HttpError(400, `removeAfterFrames=${JSON.stringify(removeAfterFrames)} must be a whole number of APDUs from 0 to 100`);
  }
  let bytes: Uint8Array;
  if (uid === undefined) bytes = freshUid();
  else {
    const hex = typeof uid === 'string' ? uid.replace(/[\s:-]/g, '') : '';
    if (!/^[0-9a-fA-F]{14}$/.test(hex)) throw new HttpError(400, 'uid of a DESFire EV3 or NTAG 424 DNA must be 7 bytes of hex (14 hex digits)');
    bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  return { kind: 'card', type: card as SimCardType, uid: bytes, keys: keys as SimCardKeys, randomUid, removeAfterFrames: removeAfterFrames ?? null, holdMs };
}

export interface SimCardSite {
  site: string;
  keyVersion: number;
  /** The site's card master of that version (sim mode creates it). */
  cardMaster: Uint8Array;
}

/** The bench's NFC routes on the PN532 emulator: tap a card, pull the reader off the bus. */
export function registerSimCardRoutes(bench: BenchServer, emulator: Pn532Emulator, site: SimCardSite | null): void {
  bench.route('POST', '/api/sim/nfc', async (req, res) => {
    const tap = parseSimTap(await readJson(req));
    if (tap.kind === 'uid') {
      void emulator.tap(tap.uid, tap.holdMs);
      return sendJson(res, 200, { ok: true, holdMs: tap.holdMs });
    }
    if (!site) throw new HttpError(400, 'secure cards need the site card master, which this gate was started without');
    const model = simulatedCard({ ...site, type: tap.type, uid: tap.uid, keys: tap.keys, randomId: tap.randomUid });
    void emulator.tapCard(model, tap.holdMs, tap.removeAfterFrames === null ? {} : { leaveAfterExchanges: tap.removeAfterFrames });
    sendJson(res, 200, { ok: true, holdMs: tap.holdMs, card: tap.type, keys: tap.keys, ...(tap.removeAfterFrames === null ? {} : { removeAfterFrames: tap.removeAfterFrames }) });
  });
  // The reader's cable pulled and plugged back in, to see the card method degrade and recover.
  bench.route('POST', '/api/sim/nfc/reader', async (req, res) => {
    const { connected } = await readJson(req);
    if (typeof connected !== 'boolean') throw new HttpError(400, `connected=${JSON.stringify(connected)} must be true or false`);
    if (connected) emulator.plugIn();
    else emulator.unplug();
    sendJson(res, 200, { ok: true, connected });
  });
}
