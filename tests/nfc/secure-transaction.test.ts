import { DesfireEv3 } from '../../drivers/nfc/cards/desfire-ev3';
import { Ntag424Dna } from '../../drivers/nfc/cards/ntag424-dna';
import { cardModePolicy, classifySecureTap, uidCardsAccepted } from '../../firmware/cards/card-mode';
import { cardAuthKey, siteReadKey, systemIdentifier, diversificationInput } from '../../firmware/cards/secure/postern-app';
import { beginTransaction, continueTransaction, isRandomId } from '../../firmware/cards/secure/transaction';
import { NO_TAP, tapStep, type Sighting, type TapEvent, type TapState } from '../../firmware/cards/tap-tracker';
import { keyVersionStatus } from '../../firmware/keys/card-keys';
import { card, MASTER, rnd16, runTransaction, SITE, siteKeys, UID } from '../helpers/secure-cards';

const H = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('secure transaction against the card models', () => {
  test.each(['desfire', 'ntag424'] as const)('%s issued for this site: authentic, with the UID, in 3 APDUs (SELECT, AuthenticateEV2First, its second part)', (type) => {
    const { outcome, apdus } = runTransaction(card(type, 'site'), siteKeys());
    expect(outcome).toEqual({ kind: 'authentic', uid: UID, keyVersion: 2, card: type });
    expect(apdus.map((a) => H(a.subarray(0, 2)))).toEqual(['00A4', '9071', '90AF']);
    // The ATS orders the SELECTs: each card type's own application is tried first.
    expect(H(apdus[0]!.subarray(5, 8))).toBe(type === 'desfire' ? 'F0504F' : 'D27600');
  });

  test.each(['desfire', 'ntag424'] as const)('%s with a random ID: the site read key learns the real UID, the diversified key proves the card', (type) => {
    const { outcome, apdus } = runTransaction(card(type, 'site', { randomId: true }), siteKeys());
    expect(outcome).toEqual({ kind: 'authentic', uid: UID, keyVersion: 2, card: type });
    expect(apdus.map((a) => H(a.subarray(0, 2)))).toContain('9051');
    expect(apdus.filter((a) => a[1] === 0x71).map((a) => a[5])).toEqual([2, 1]); // key 2 (read), then key 1 (prove)
  });

  test.each([
    ['a clone (same UID, keys it cannot know)', 'clone', false],
    ['a clone with a random ID', 'clone', true],
    ['a genuine card of another site', 'other-site', false],
    ['another site, random ID', 'other-site', true],
  ] as const)('%s: not authentic (wrong key), on both card types', (_what, keys, randomId) => {
    for (const type of ['desfire', 'ntag424'] as const) {
      expect(runTransaction(card(type, keys, { randomId }), siteKeys()).outcome).toEqual({ kind: 'not-authentic', failure: 'wrong-key', card: type });
    }
  });

  test('a card issued with the site key but for another UID (its key copied onto a card with this UID) is not authentic', () => {
    const model = new DesfireEv3({
      uid: UID,
      applications: [{ aid: Uint8Array.of(0x54, 0x53, 0x50), keySettings: 0x0b, keys: [{ key: rnd16(), version: 1 }, { key: cardAuthKey(MASTER, Uint8Array.of(4, 9, 9, 9, 9, 9, 9), SITE), version: 2 }, { key: siteReadKey(MASTER, SITE), version: 2 }], dfName: Uint8Array.of(0xf0, 0x50, 0x4f, 0x53, 0x54, 0x45, 0x52, 0x4e, 0x01), isoFid: 1 }],
    });
    expect(runTransaction(model, siteKeys()).outcome).toMatchObject({ kind: 'not-authentic', failure: 'wrong-key' });
  });

  test('key versions: read only when the current key is refused; an old accepted one opens, a retired or unknown one is refused', () => {
    const old = runTransaction(card('desfire', 'site', { keyVersion: 1 }), siteKeys());
    expect(old.outcome).toMatchObject({ kind: 'authentic', keyVersion: 1 });
    expect(old.apdus.map((a) => H(a.subarray(0, 2)))).toEqual(['00A4', '9071', '90AF', '9064', '9071', '90AF']);
    const retired = runTransaction(card('desfire', 'site', { keyVersion: 1 }), siteKeys({ current: 2, acceptOld: [] }));
    expect(retired.outcome).toEqual({ kind: 'not-authentic', failure: 'retired-key', card: 'desfire' });
    expect(retired.apdus.filter((a) => a[1] === 0x71)).toHaveLength(1);
    // A random-ID card on an old version: the read key of the current version fails, then the old one works.
    expect(runTransaction(card('ntag424', 'site', { keyVersion: 1, randomId: true }), siteKeys()).outcome).toMatchObject({ kind: 'authentic', uid: UID, keyVersion: 1 });
    expect(runTransaction(card('ntag424', 'site', { keyVersion: 3 }), siteKeys()).outcome).toEqual({ kind: 'not-authentic', failure: 'unknown-key', card: 'ntag424' });
    expect([1, 2, 3, 4].map((v) => keyVersionStatus({ current: 3, acceptOld: [1] }, v))).toEqual(['accepted', 'retired', 'accepted', 'unknown']);
  });

  test('not Postern cards: a blank DESFire, a factory NTAG 424 DNA (key version 0), a phone', () => {
    expect(runTransaction(card('desfire', 'blank'), siteKeys()).outcome).toEqual({ kind: 'no-application' });
    expect(runTransaction(new Ntag424Dna({ uid: UID }), siteKeys()).outcome).toEqual({ kind: 'no-application' });
    const phone = { model: 'phone', powerUp() {}, activate: () => ({ uid: Uint8Array.of(8, 1, 2, 3), atqa: Uint8Array.of(0, 4), sak: 0x20, ats: Uint8Array.of(0x78) }), exchange: () => ({ response: Uint8Array.of(0x6a, 0x82), processingMs: 1 }) };
    expect(runTransaction(phone, siteKeys()).outcome).toEqual({ kind: 'no-application' });
  });

  test('torn at every step: interrupted, never authentic', () => {
    for (const type of ['desfire', 'ntag424'] as const) {
      for (const randomId of [false, true]) {
        const full = runTransaction(card(type, 'site', { randomId }), siteKeys()).apdus.length;
        for (let k = 0; k < full; k++) {
          expect(runTransaction(card(type, 'site', { randomId }), siteKeys(), { leaveAfter: k }).outcome).toEqual({ kind: 'interrupted', failure: 'torn' });
        }
      }
    }
  });

  test('an RF error ends it without a verdict; malformed replies are bad-response; an RndA of the wrong length is refused up front', () => {
    const step = beginTransaction({ anticollisionUid: UID, keys: siteKeys(), randoms: [rnd16(), rnd16(), rnd16()] });
    if (step.kind !== 'send') throw new Error('expected a first APDU');
    expect(continueTransaction(step.state, { kind: 'rf-error' })).toEqual({ kind: 'done', outcome: { kind: 'interrupted', failure: 'rf-error' } });
    expect(continueTransaction(step.state, { kind: 'data', bytes: Uint8Array.of(0x90) })).toMatchObject({ outcome: { kind: 'not-authentic', failure: 'bad-response' } });
    expect(continueTransaction(step.state, { kind: 'data', bytes: Uint8Array.of(1, 0x90, 0x00) })).toMatchObject({ outcome: { failure: 'bad-response' } });
    expect(() => beginTransaction({ anticollisionUid: UID, keys: siteKeys(), randoms: [new Uint8Array(15), rnd16(), rnd16()] })).toThrow(/16 bytes/);
  });

  test('random IDs, diversification input and key separation', () => {
    expect([Uint8Array.of(8, 1, 2, 3), Uint8Array.of(8, 1, 2), Uint8Array.of(4, 1, 2, 3), UID].map(isRandomId)).toEqual([true, false, false, false]);
    expect(diversificationInput(UID, SITE)).toHaveLength(7 + 3 + 8);
    expect(systemIdentifier('a')).not.toEqual(systemIdentifier('b'));
    const keys = new Set([H(cardAuthKey(MASTER, UID, SITE)), H(cardAuthKey(MASTER, UID, 'other')), H(cardAuthKey(MASTER, Uint8Array.of(4, 0, 0, 0, 0, 0, 1), SITE)), H(siteReadKey(MASTER, SITE))]);
    expect(keys.size).toBe(4);
  });
});

describe('what a tap means in each card mode (pure)', () => {
  const NOW = Date.parse('2027-06-01T12:00:00Z');
  const shown = { hash: 'shown', random: false };
  const randomShown = { hash: 'rnd', random: true };
  const real = () => 'real';
  const policy = (mode: 'uid' | 'secure' | 'both', uidUntil?: string) => cardModePolicy({ mode, ...(uidUntil ? { uidUntil } : {}) });

  test('authentic cards are their real UID, proof secure, in secure and both', () => {
    for (const mode of ['secure', 'both'] as const) {
      expect(classifySecureTap(policy(mode), { kind: 'authentic', uid: UID, keyVersion: 1, card: 'desfire' }, randomShown, real, NOW)).toEqual({ kind: 'card', card: 'real', proof: 'secure' });
    }
  });

  test('UID-only cards: refused in secure, accepted in both until uidUntil, random IDs never', () => {
    const uidCard = { kind: 'not-iso-dep' } as const;
    expect(classifySecureTap(policy('secure'), uidCard, shown, real, NOW)).toEqual({ kind: 'not-authentic', card: 'shown', failure: 'not-a-secure-card' });
    expect(classifySecureTap(policy('both'), uidCard, shown, real, NOW)).toEqual({ kind: 'card', card: 'shown', proof: 'uid' });
    expect(classifySecureTap(policy('both', '2027-06-02'), { kind: 'no-application' }, shown, real, NOW)).toEqual({ kind: 'card', card: 'shown', proof: 'uid' });
    expect(classifySecureTap(policy('both', '2027-06-01T12:00:00Z'), uidCard, shown, real, NOW)).toEqual({ kind: 'not-authentic', card: 'shown', failure: 'uid-cards-ended' });
    expect(classifySecureTap(policy('both'), uidCard, randomShown, real, NOW)).toEqual({ kind: 'random-uid' });
    expect(classifySecureTap(policy('secure'), { kind: 'no-application' }, randomShown, real, NOW)).toEqual({ kind: 'random-uid' });
    expect([uidCardsAccepted(policy('uid'), NOW), uidCardsAccepted(policy('secure'), NOW)]).toEqual([true, false]);
  });

  test('a Postern card that fails is never taken by its UID, not even in both mode', () => {
    for (const mode of ['secure', 'both'] as const) {
      expect(classifySecureTap(policy(mode), { kind: 'not-authentic', failure: 'wrong-key' }, shown, real, NOW)).toEqual({ kind: 'not-authentic', card: 'shown', failure: 'wrong-key' });
      expect(classifySecureTap(policy(mode), { kind: 'interrupted', failure: 'torn' }, randomShown, real, NOW)).toEqual({ kind: 'not-authentic', card: 'rnd', failure: 'torn' });
    }
  });

  test('an impossible uidUntil is refused by name', () => {
    expect(() => cardModePolicy({ mode: 'both', uidUntil: '2027-02-30' })).toThrow(/cards.uidUntil has day 30/);
  });
});

describe('tap semantics of unproven cards', () => {
  function run(sightings: Sighting[]): TapEvent[] {
    let state: TapState = NO_TAP;
    const events: TapEvent[] = [];
    for (const s of sightings) {
      const step = tapStep(state, s, 2);
      state = step.state;
      events.push(...step.events);
    }
    return events;
  }
  const clone: Sighting = { kind: 'not-authentic', card: 'a', failure: 'wrong-key' };
  test('one denial per tap however long it is held; it leaves as its UID hash; the genuine card after it is a new tap', () => {
    expect(run([clone, clone, clone, { kind: 'empty' }, { kind: 'empty' }])).toEqual([
      { kind: 'not-authentic', card: 'a', failure: 'wrong-key' },
      { kind: 'removed', card: 'a' },
    ]);
    expect(run([clone, { kind: 'card', card: 'a', proof: 'secure' }])).toEqual([
      { kind: 'not-authentic', card: 'a', failure: 'wrong-key' },
      { kind: 'removed', card: 'a' },
      { kind: 'presented', card: 'a', proof: 'secure' },
    ]);
  });
});
