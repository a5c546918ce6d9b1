import { DesfireEv3 } from '../../drivers/nfc/cards/desfire-ev3';
import type { IsoDepCard } from '../../drivers/nfc/cards/iso-dep';
import { Ntag424Dna } from '../../drivers/nfc/cards/ntag424-dna';
import { appMasterKey, POSTERN_AID } from '../../firmware/cards/secure/postern-app';
import { issueCard, IssueError, rekeyCard, type SiteCardKeys, type Transceive } from '../../firmware/cards/secure/issue';
import { keyRingFrom } from '../../firmware/keys/card-keys';
import { MASTER, masterFor, rnd16, runTransaction, SITE, siteKeys, UID } from '../helpers/secure-cards';

const ISSUER = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const MASTER_V3 = Uint8Array.from(Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'));

function enrolmentKeys(current = 2): SiteCardKeys {
  const masters = new Map([
    [1, masterFor(1)],
    [2, MASTER],
    [3, MASTER_V3],
  ]);
  return { site: SITE, masters, current, ring: keyRingFrom(masters, { current, acceptOld: [] }, SITE) };
}

/** The card in the field, straight to the model; `leaveAfter` APDUs and it is gone. */
function inField(model: IsoDepCard, leaveAfter = Infinity): { io: Transceive; shown: Uint8Array } {
  model.powerUp();
  const shown = model.activate().uid;
  let left = leaveAfter;
  const io: Transceive = async (apdu) => {
    if (left-- <= 0) throw new IssueError('card-gone', 'the card left the field');
    return model.exchange(apdu).response;
  };
  return { io, shown };
}

describe('issuing a blank DESFire EV3', () => {
  test('creates the application, writes keys 1-2 for the site and key 0 from the issuer master; gates accept it', async () => {
    const blank = new DesfireEv3({ uid: UID });
    const { io, shown } = inField(blank);
    expect(await issueCard(io, shown, enrolmentKeys(), { card: 'desfire', issuerMaster: ISSUER, randomUid: false }, rnd16)).toEqual({ uid: UID, card: 'desfire', keyVersion: 2, randomUid: false });
    expect(blank.application(POSTERN_AID)!.keys.map((k) => k.version)).toEqual([1, 2, 2]);
    expect(blank.application(POSTERN_AID)!.keys[0]!.key).toEqual(appMasterKey(ISSUER, UID, SITE));
    expect(runTransaction(blank, siteKeys()).outcome).toEqual({ kind: 'authentic', uid: UID, keyVersion: 2, card: 'desfire' });
    // A second run says what the card is, and changes nothing.
    const again = inField(blank);
    await expect(issueCard(again.io, again.shown, enrolmentKeys(), { card: 'desfire', issuerMaster: ISSUER, randomUid: false }, rnd16)).rejects.toMatchObject({ code: 'already-issued' });
  });

  test('with random ID: from the next power-up the card shows 08 xx xx xx, and gates still find its real UID', async () => {
    const blank = new DesfireEv3({ uid: UID });
    const { io, shown } = inField(blank);
    await issueCard(io, shown, enrolmentKeys(), { card: 'desfire', issuerMaster: ISSUER, randomUid: true }, rnd16);
    blank.powerUp();
    expect(blank.activate().uid[0]).toBe(0x08);
    expect(runTransaction(blank, siteKeys()).outcome).toMatchObject({ kind: 'authentic', uid: UID });
  });

  test('an NTAG presented as a DESFire, and a card pulled away half-way, fail with the reason', async () => {
    const tag = inField(new Ntag424Dna({ uid: UID }));
    await expect(issueCard(tag.io, tag.shown, enrolmentKeys(), { card: 'desfire', issuerMaster: ISSUER, randomUid: false }, rnd16)).rejects.toMatchObject({ code: 'wrong-card' });
    for (const leave of [0, 3, 6, 9]) {
      const half = inField(new DesfireEv3({ uid: UID }), leave);
      await expect(issueCard(half.io, half.shown, enrolmentKeys(), { card: 'desfire', issuerMaster: ISSUER, randomUid: false }, rnd16)).rejects.toMatchObject({ code: 'card-gone' });
    }
  });
});

describe('personalising an NTAG 424 DNA', () => {
  test('factory tag: keys 1-2 for the site, key 0 from the issuer master, optional random ID; gates accept it', async () => {
    for (const randomUid of [false, true]) {
      const tag = new Ntag424Dna({ uid: UID });
      const { io, shown } = inField(tag);
      expect(await issueCard(io, shown, enrolmentKeys(), { card: 'ntag424', issuerMaster: ISSUER, randomUid }, rnd16)).toMatchObject({ uid: UID, card: 'ntag424', randomUid });
      expect(tag.keys.map((k) => k.version)).toEqual([1, 2, 2, 0, 0]);
      expect(tag.randomIdEnabled).toBe(randomUid);
      expect(runTransaction(tag, siteKeys()).outcome).toMatchObject({ kind: 'authentic', uid: UID, card: 'ntag424' });
      const again = inField(tag);
      await expect(issueCard(again.io, again.shown, enrolmentKeys(), { card: 'ntag424', issuerMaster: ISSUER, randomUid: false }, rnd16)).rejects.toMatchObject({ code: 'already-issued' });
    }
  });
});

describe('rekeying to a new key version (after a gate was stolen)', () => {
  test.each([
    ['desfire', () => new DesfireEv3({ uid: UID })],
    ['ntag424', () => new Ntag424Dna({ uid: UID, randomId: false })],
  ] as const)('%s: v2 → v3; gates on v3 alone accept it, v2 cards are refused as retired', async (type, make) => {
    const model = make();
    const issue = inField(model);
    await issueCard(issue.io, issue.shown, enrolmentKeys(2), { card: type, issuerMaster: ISSUER, randomUid: true }, rnd16);
    const v3Gate = keyRingFrom(new Map([[3, MASTER_V3]]), { current: 3, acceptOld: [] }, SITE);
    expect(runTransaction(model, v3Gate).outcome).toMatchObject({ kind: 'not-authentic', failure: 'retired-key' });
    const wrongIssuer = inField(model);
    await expect(rekeyCard(wrongIssuer.io, wrongIssuer.shown, enrolmentKeys(3), new Uint8Array(16), rnd16)).rejects.toMatchObject({ code: 'keys' });
    const rekey = inField(model);
    expect(await rekeyCard(rekey.io, rekey.shown, enrolmentKeys(3), ISSUER, rnd16)).toMatchObject({ uid: UID, card: type, keyVersion: 3 });
    expect(runTransaction(model, v3Gate).outcome).toMatchObject({ kind: 'authentic', uid: UID, keyVersion: 3 });
    const twice = inField(model);
    await expect(rekeyCard(twice.io, twice.shown, enrolmentKeys(3), ISSUER, rnd16)).rejects.toMatchObject({ code: 'already-issued' });
  });

  test('a card never issued is refused with what to do instead', async () => {
    const blank = inField(new DesfireEv3({ uid: UID }));
    await expect(rekeyCard(blank.io, blank.shown, enrolmentKeys(3), ISSUER, rnd16)).rejects.toThrow(/postern card issue/);
    const factory = inField(new Ntag424Dna({ uid: UID }));
    await expect(rekeyCard(factory.io, factory.shown, enrolmentKeys(3), ISSUER, rnd16)).rejects.toThrow(/never personalised/);
  });
});
