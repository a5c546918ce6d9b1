import { DesfireEv3 } from '../../drivers/nfc/cards/desfire-ev3';
import { Ntag424Dna } from '../../drivers/nfc/cards/ntag424-dna';
import { ResponseError, parseInDataExchange } from '../../drivers/nfc/commands';
import { ApduError, parseCommandApdu, parseNativeResponse } from '../../drivers/nfc/secure/apdu';
import { CryptoInputError } from '../../drivers/nfc/secure/aes';
import { pcdAnswerChallenge, pcdVerifyAnswer, piccChallenge, piccVerifyCryptogram, SecureMessagingError, type Ev2Session } from '../../drivers/nfc/secure/ev2-auth';
import { openResponse, protectResponse } from '../../drivers/nfc/secure/ev2-messaging';
import { cardModePolicy, classifySecureTap } from '../../firmware/cards/card-mode';
import { card, rnd16, runTransaction, siteKeys } from '../helpers/secure-cards';
import { fuzzer } from '../helpers/mutate';

const f = fuzzer(0x14c0de);
const MUTATED_RESPONSES = 10_000;
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const isParserError = (err: unknown) => err instanceof ApduError || err instanceof SecureMessagingError || err instanceof CryptoInputError || err instanceof ResponseError;

describe('fuzz: mutated card answers never crash the gate and never grant', () => {
  test(`${MUTATED_RESPONSES} transactions, each with one mutated answer at a random step: no exception, no authentic outcome, no grant`, () => {
    // One key version only: with two versions of the same master a flipped version byte would pick an equal key.
    const keys = siteKeys({ current: 2, acceptOld: [] });
    const policy = cardModePolicy({ mode: 'both' });
    const outcomes = new Map<string, number>();
    let mutated = 0;
    const stepsOf = new Map<string, number>();
    for (let i = 0; i < MUTATED_RESPONSES; i++) {
      const type = f.pick(['desfire', 'ntag424'] as const);
      const randomId = f.int(2) === 1;
      const kind = `${type}/${randomId}`;
      if (!stepsOf.has(kind)) stepsOf.set(kind, runTransaction(card(type, 'site', { randomId }), keys).apdus.length);
      const steps = stepsOf.get(kind)!;
      const at = f.int(steps);
      let changed = false;
      const { outcome } = runTransaction(card(type, 'site', { randomId }), keys, {
        reply: (answer, index) => {
          if (index !== at) return { kind: 'data', bytes: answer };
          let bad = f.mutate(answer, 1 + f.int(3));
          if (sameBytes(bad, answer)) bad = Buffer.concat([bad, f.bytes(1)]);
          changed = true;
          return { kind: 'data', bytes: bad };
        },
      });
      mutated += changed ? 1 : 0;
      expect(outcome.kind).not.toBe('authentic');
      const sighting = classifySecureTap(policy, outcome, { hash: 'shown', random: randomId }, () => 'real', Date.now());
      expect(sighting.kind === 'card' && sighting.proof === 'secure').toBe(false);
      const key = `${outcome.kind}/${'failure' in outcome ? outcome.failure : ''}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    expect(mutated).toBe(MUTATED_RESPONSES);
    // Not vacuous: mutations reached the cryptographic checks, not only the status words.
    expect(outcomes.get('not-authentic/wrong-key')).toBeGreaterThan(500);
    expect(outcomes.get('not-authentic/bad-response')).toBeGreaterThan(500);
  }, 120_000);

  test('10,000 mutated secure-messaging answers straight into the parsers: only parser errors, never data', () => {
    const s: Ev2Session = { encKey: rnd16(), macKey: rnd16(), ti: Uint8Array.of(1, 2, 3, 4), cmdCtr: 3 };
    const key = rnd16();
    const rndA = rnd16();
    const rndB = rnd16();
    const challenge = piccChallenge(key, rndB);
    const { cryptogram } = pcdAnswerChallenge(key, challenge, rndA);
    const answer = piccVerifyCryptogram(key, rndB, cryptogram, Uint8Array.of(9, 9, 9, 9))!.answer;
    const uidReply = protectResponse(s, 0x00, Uint8Array.of(4, 1, 2, 3, 4, 5, 6), 'full').body;
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      const which = i % 4;
      const original = which === 0 ? uidReply : which === 1 ? answer : which === 2 ? Uint8Array.from([...uidReply, 0x91, 0x00]) : Uint8Array.from([...challenge, 0x91, 0xaf]);
      const bad = f.mutate(original, 1 + f.int(4));
      if (sameBytes(bad, original)) continue;
      try {
        if (which === 0) openResponse(s, 0x00, bad, f.pick(['mac', 'full'] as const));
        else if (which === 1) pcdVerifyAnswer(key, rndA, rndB, bad);
        else if (which === 2) openResponse(s, parseNativeResponse(bad).status, parseNativeResponse(bad).data, 'full');
        else {
          const r = parseNativeResponse(bad);
          if (r.status !== 0xaf) throw new ApduError('status');
          pcdAnswerChallenge(key, r.data, rndA);
          continue; // a changed E(RndB) still decrypts: the card's refusal at the next step is what stops it
        }
        throw new Error(`mutated answer ${Buffer.from(bad).toString('hex')} was accepted`);
      } catch (err) {
        if (!isParserError(err)) throw err;
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(7000);
  });

  test('InDataExchange answers and command APDUs of any shape: parsed or refused, never a crash of the card models', () => {
    for (let i = 0; i < 5000; i++) {
      const raw = f.bytes(f.int(40));
      try {
        parseInDataExchange(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(ResponseError);
      }
      const models = [new DesfireEv3({ uid: Uint8Array.of(4, 1, 2, 3, 4, 5, 6) }), new Ntag424Dna({ uid: Uint8Array.of(4, 1, 2, 3, 4, 5, 6) })];
      for (const m of models) {
        m.activate();
        const apdu = f.int(3) === 0 ? raw : Uint8Array.from([f.pick([0x00, 0x90]), f.pick([0xa4, 0x71, 0xaf, 0x51, 0x64, 0xc4, 0xca, 0x5c, 0xad, 0xb0, 0x60]), 0, 0, ...raw.subarray(0, 1 + f.int(30))]);
        const { response } = m.exchange(apdu);
        expect(response.length).toBeGreaterThanOrEqual(2);
        expect(parseCommandApdu(apdu) === null ? response.length : 2).toBeGreaterThanOrEqual(2);
      }
    }
  });
});
