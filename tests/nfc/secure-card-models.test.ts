import { frameAirMs, frameWaitingMs, fwiFromAts, isoDepExchangeMs, ETU_US } from '../../drivers/nfc/air-timing';
import { DesfireEv3 } from '../../drivers/nfc/cards/desfire-ev3';
import type { RandomSource } from '../../drivers/nfc/cards/ev2-picc';
import { Ntag424Dna } from '../../drivers/nfc/cards/ntag424-dna';
import { decryptPiccData, encryptPiccData, sdmMac } from '../../drivers/nfc/cards/sdm';
import { Pn532 } from '../../drivers/nfc/pn532';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { concat } from '../../drivers/nfc/secure/aes';
import { NTAG424_DF_NAME, isoSelectByName, nativeApdu, parseNativeResponse } from '../../drivers/nfc/secure/apdu';
import { changeKeyData } from '../../drivers/nfc/secure/change-key';
import { pcdAnswerChallenge, pcdVerifyAnswer, type Ev2Session } from '../../drivers/nfc/secure/ev2-auth';
import { openResponse, protectCommand } from '../../drivers/nfc/secure/ev2-messaging';
import { POSTERN_AID, POSTERN_DF_NAME, POSTERN_ISO_FID } from '../../firmware/cards/secure/postern-app';
import an12196 from '../fixtures/secure-cards/an12196-ev2.json';

const h = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const H = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const UID = h('04958CAA5C5E80');
const ZERO = new Uint8Array(16);

/** Hands out the given byte strings in order, then zeros: replays a worked example's randoms. */
function scripted(...chunks: string[]): RandomSource {
  const queue = chunks.map(h);
  return (n) => {
    const next = queue.shift() ?? new Uint8Array(n);
    if (next.length !== n) throw new Error(`script gives ${next.length} bytes where ${n} were drawn`);
    return next;
  };
}

const T14 = an12196.authenticateEv2First;

function desfireWithApp(keys = [ZERO, ZERO, ZERO], random?: RandomSource): DesfireEv3 {
  return new DesfireEv3({
    uid: UID,
    applications: [{ aid: POSTERN_AID, keySettings: 0x0b, keys: keys.map((key) => ({ key, version: 1 })), isoFid: POSTERN_ISO_FID, dfName: POSTERN_DF_NAME }],
    ...(random ? { random } : {}),
  });
}

/** The reader side of a whole authentication against a model, returning the session. */
function authenticate(card: { exchange(a: Uint8Array): { response: Uint8Array } }, keyNo: number, key: Uint8Array, rndA = new Uint8Array(16).fill(0x5a)): Ev2Session {
  const r1 = parseNativeResponse(card.exchange(nativeApdu(0x71, [keyNo, 0])).response);
  expect(r1.status).toBe(0xaf);
  const { cryptogram, rndB } = pcdAnswerChallenge(key, r1.data, rndA);
  const r2 = parseNativeResponse(card.exchange(nativeApdu(0xaf, cryptogram)).response);
  expect(r2.status).toBe(0x00);
  return pcdVerifyAnswer(key, rndA, rndB, r2.data);
}

describe('the card models answer AuthenticateEV2First byte for byte as AN12196 Table 14', () => {
  test.each([
    ['DESFire EV3', () => desfireWithApp([ZERO, ZERO, ZERO], scripted(T14.rndB, T14.ti)), POSTERN_DF_NAME],
    ['NTAG 424 DNA', () => new Ntag424Dna({ uid: UID, random: scripted(T14.rndB, T14.ti) }), NTAG424_DF_NAME],
  ])('%s', (_name, make, dfName) => {
    const card = make();
    card.powerUp();
    card.activate();
    expect(H(card.exchange(isoSelectByName(dfName)).response)).toBe('9000');
    expect(H(card.exchange(h(T14.command1)).response)).toBe(T14.response1);
    expect(H(card.exchange(h(T14.command2)).response)).toBe(T14.response2);
  });
});

describe('DESFire EV3 model', () => {
  test('activation: ATQA 03 44, SAK 20, ATS 75 77 81 02 80; random ID 08 xx xx xx, new at each power-up, stable within one', () => {
    const fixed = desfireWithApp();
    fixed.powerUp();
    expect(fixed.activate()).toEqual({ uid: UID, atqa: h('0344'), sak: 0x20, ats: h('7577810280') });
    const random = new DesfireEv3({ uid: UID, randomId: true });
    random.powerUp();
    const first = random.activate();
    expect(first.uid).toHaveLength(4);
    expect(first.uid[0]).toBe(0x08);
    expect(H(first.atqa)).toBe('0304');
    expect(random.activate().uid).toEqual(first.uid);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      random.powerUp();
      seen.add(H(random.activate().uid));
    }
    expect(seen.size).toBeGreaterThan(15);
  });

  test('GetVersion in three frames; SELECT of an unknown DF name is 6A82; an unknown native command 911C', () => {
    const card = desfireWithApp();
    card.activate();
    expect(H(card.exchange(h('9060000000')).response)).toBe('04010133001A0591AF');
    expect(H(card.exchange(h('90AF000000')).response)).toBe('04010103001A0591AF');
    expect(H(card.exchange(h('90AF000000')).response)).toBe(`${H(UID)}BA4497D67028249100`);
    expect(H(card.exchange(isoSelectByName(h('A000000001'))).response)).toBe('6A82');
    expect(H(card.exchange(h('90EE000000')).response)).toBe('911C');
    expect(H(card.exchange(h('90')).response)).toBe('6700');
  });

  test('GetCardUID needs authentication; within a session it returns the real UID, also when anticollision shows a random ID', () => {
    const card = new DesfireEv3({ uid: UID, randomId: true, applications: [{ aid: POSTERN_AID, keySettings: 0x0b, keys: [0, 1, 2].map(() => ({ key: ZERO, version: 1 })), dfName: POSTERN_DF_NAME, isoFid: 1 }] });
    card.powerUp();
    card.activate();
    card.exchange(isoSelectByName(POSTERN_DF_NAME));
    expect(H(card.exchange(nativeApdu(0x51)).response)).toBe('91AE');
    const s = authenticate(card, 2, ZERO);
    const reply = parseNativeResponse(card.exchange(nativeApdu(0x51, protectCommand(s, 0x51, new Uint8Array(0), new Uint8Array(0), 'mac'))).response);
    expect(reply.status).toBe(0);
    expect(openResponse(s, 0, reply.data, 'full').data).toEqual(UID);
    // A command with a wrong MAC is refused and ends the session.
    const bad = protectCommand({ ...s, cmdCtr: 5 }, 0x51, new Uint8Array(0), new Uint8Array(0), 'mac');
    expect(H(card.exchange(nativeApdu(0x51, bad)).response)).toBe('911E');
  });

  test('a wrong key is 91 AE at the second step; a key that does not exist is 91 40', () => {
    const card = desfireWithApp();
    card.activate();
    card.exchange(isoSelectByName(POSTERN_DF_NAME));
    const r1 = parseNativeResponse(card.exchange(nativeApdu(0x71, [1, 0])).response);
    const { cryptogram } = pcdAnswerChallenge(new Uint8Array(16).fill(7), r1.data, new Uint8Array(16));
    expect(H(card.exchange(nativeApdu(0xaf, cryptogram)).response)).toBe('91AE');
    expect(H(card.exchange(nativeApdu(0x71, [9, 0])).response)).toBe('9140');
    expect(H(card.exchange(nativeApdu(0xaf, cryptogram)).response)).toBe('911C');
  });

  test('issuing commands: CreateApplication, ChangeKey of another key and of key 0, GetKeyVersion, SetConfiguration random ID', () => {
    const card = new DesfireEv3({ uid: UID });
    card.activate();
    const create = concat(POSTERN_AID, [0x0b, 0xa3, POSTERN_ISO_FID >> 8, POSTERN_ISO_FID & 0xff], POSTERN_DF_NAME);
    expect(H(card.exchange(nativeApdu(0xca, create)).response)).toBe('9100');
    expect(H(card.exchange(nativeApdu(0xca, create)).response)).toBe('91DE');
    expect(H(card.exchange(isoSelectByName(POSTERN_DF_NAME)).response)).toBe('9000');
    let s = authenticate(card, 0, ZERO);
    const k1 = h('F3847D627727ED3BC9C4CC050489B966');
    const change = (session: Ev2Session, keyNo: number, plain: Uint8Array) => {
      const r = parseNativeResponse(card.exchange(nativeApdu(0xc4, protectCommand(session, 0xc4, Uint8Array.of(keyNo), plain, 'full'))).response);
      return { r, next: r.data.length ? openResponse(session, r.status, r.data, 'mac').session : session };
    };
    ({ next: s } = change(s, 1, changeKeyData({ keyNo: 1, authKeyNo: 0, newKey: k1, oldKey: ZERO, keyVersion: 4 })));
    // A corrupted CRC is an integrity error, and the key stays.
    const wrongCrc = changeKeyData({ keyNo: 2, authKeyNo: 0, newKey: k1, oldKey: ZERO, keyVersion: 4 });
    wrongCrc[20] = wrongCrc[20]! ^ 1;
    expect(change(s, 2, wrongCrc).r.status).toBe(0x1e);
    s = authenticate(card, 0, ZERO);
    const k0 = h('5004BF991F408672B1EF00F08F9E8647');
    const last = change(s, 0, changeKeyData({ keyNo: 0, authKeyNo: 0, newKey: k0, keyVersion: 2 }));
    expect(last.r).toEqual({ status: 0, data: new Uint8Array(0) }); // no MAC: the session ended
    expect(card.application(POSTERN_AID)!.keys.map((k) => k.version)).toEqual([2, 4, 0]);
    expect(H(card.exchange(nativeApdu(0x64, [1])).response)).toBe('049100');
    authenticate(card, 1, k1);
    authenticate(card, 0, k0);

    // Random ID: PICC level, PICC master key (AES zeros in the model), Full mode.
    card.exchange(nativeApdu(0x5a, [0, 0, 0]));
    const p = authenticate(card, 0, ZERO);
    const r = parseNativeResponse(card.exchange(nativeApdu(0x5c, protectCommand(p, 0x5c, Uint8Array.of(0), Uint8Array.of(0x02), 'full'))).response);
    expect(r.status).toBe(0);
    expect(card.randomIdEnabled).toBe(true);
    card.powerUp();
    expect(card.activate().uid[0]).toBe(0x08);
  });
});

describe('NTAG 424 DNA model', () => {
  test('activation ATS 77 77 71 02 80; GetVersion; native commands need the application selected', () => {
    const tag = new Ntag424Dna({ uid: UID });
    tag.powerUp();
    expect(tag.activate()).toMatchObject({ atqa: h('0344'), sak: 0x20, ats: h('7777710280') });
    expect(H(tag.exchange(h('9060000000')).response)).toBe('0404023000110591AF');
    expect(H(tag.exchange(nativeApdu(0x64, [1])).response)).toBe('911C');
    expect(H(tag.exchange(isoSelectByName(NTAG424_DF_NAME)).response)).toBe('9000');
    expect(H(tag.exchange(nativeApdu(0x64, [1])).response)).toBe('009100');
    expect(H(tag.exchange(isoSelectByName(POSTERN_DF_NAME)).response)).toBe('6A82');
  });

  test('SUN: with AN12196 Table 2-4 keys, counter and padding, the mirrored e= and c= are the published ones', () => {
    const v = an12196.sunMessage;
    const url = Buffer.concat([h('0051D1014D5504'), Buffer.from('choose.url.com/ntag424?e='), Buffer.from('0'.repeat(32)), Buffer.from('&c='), Buffer.from('0'.repeat(16))]);
    const tag = new Ntag424Dna({
      uid: h(v.uid),
      ndef: url,
      sdm: { metaReadKeyNo: 3, fileReadKeyNo: 4, piccDataOffset: 0x20, macInputOffset: 0x43, macOffset: 0x43 },
      sdmReadCtr: v.sdmReadCtr - 1,
      random: scripted(v.piccData.slice(22)),
    });
    tag.activate();
    tag.exchange(isoSelectByName(NTAG424_DF_NAME));
    expect(H(tag.exchange(h('00A4000C02E104')).response)).toBe('9000');
    const read = tag.exchange(h('00B0000000')).response;
    expect(H(read.subarray(-2))).toBe('9000');
    const text = Buffer.from(read.subarray(0, -2)).toString('latin1');
    expect(text).toContain(`?e=${v.encPiccData}&c=${v.sdmMac}`);
    expect(tag.sdmReadCounter).toBe(v.sdmReadCtr);
    // The same values from the SDM functions directly, and back.
    expect(H(encryptPiccData(ZERO, h(v.uid), v.sdmReadCtr, h(v.piccData.slice(22))))).toBe(v.encPiccData);
    expect(H(sdmMac(ZERO, h(v.uid), v.sdmReadCtr, new Uint8Array(0)))).toBe(v.sdmMac);
    expect(decryptPiccData(ZERO, h(v.encPiccData))).toEqual({ tag: 0xc7, uid: h(v.uid), ctr: v.sdmReadCtr });
    // Every read is a new message: the counter moves on and the MAC changes.
    const again = Buffer.from(tag.exchange(h('90AD0000070200000000000000')).response).toString('latin1');
    expect(again).not.toContain(v.sdmMac);
    expect(tag.sdmReadCounter).toBe(v.sdmReadCtr + 1);
  });
});

describe('the emulated PN532 carries APDUs to the card model (InDataExchange)', () => {
  test('exchanges, counters, no target, a card that is not ISO-DEP, a card pulled away mid-transaction', async () => {
    const emulator = new Pn532Emulator({ byteTimeUs: 0, processingMs: 0, cardActivationMs: 0, activationAttemptMs: 0 });
    const pn532 = new Pn532(emulator, { ackTimeoutMs: 50, responseTimeoutMs: 500, statusPollMs: 0 });
    await pn532.initialise(0);
    expect(await pn532.inDataExchange(1, isoSelectByName(POSTERN_DF_NAME), { expect: 2 })).toEqual({ status: 0x27, data: new Uint8Array(0) });

    emulator.placeCard(desfireWithApp(), { leaveAfterExchanges: 2 });
    const target = await pn532.inListPassiveTargetA();
    expect(target).toMatchObject({ sak: 0x20, uid: UID, ats: h('7577810280') });
    const before = { bytes: emulator.i2cBytes, exchanges: emulator.exchanges };
    expect(await pn532.inDataExchange(1, isoSelectByName(POSTERN_DF_NAME), { expect: 2 })).toEqual({ status: 0, data: h('9000') });
    expect(await pn532.inDataExchange(1, nativeApdu(0x64, [1]), { expect: 3 })).toEqual({ status: 0, data: h('019100') });
    // Pulled away after two APDUs: the third times out on the air (status 01), as a real PN532 reports it.
    expect(await pn532.inDataExchange(1, nativeApdu(0x64, [2]), { expect: 3 })).toEqual({ status: 0x01, data: new Uint8Array(0) });
    expect(emulator.exchanges - before.exchanges).toBe(3);
    expect(emulator.i2cBytes - before.bytes).toBeGreaterThan(3 * 20);
    expect(await pn532.inListPassiveTargetA()).toBeNull();

    emulator.place('04A1B2C3D4E5F6');
    expect(await pn532.inListPassiveTargetA()).toMatchObject({ sak: 0x00 });
    expect((await pn532.inDataExchange(1, isoSelectByName(POSTERN_DF_NAME), { expect: 2 })).status).toBe(0x01);
  });
});

describe('air timing', () => {
  test('106 kbit/s frames, FWT from the ATS, one exchange', () => {
    expect(ETU_US).toBeCloseTo(9.44, 2);
    expect(frameAirMs(1)).toBeCloseTo((11 * 128) / 13.56e3, 6);
    expect(fwiFromAts(h('7577810280'))).toBe(8);
    expect(fwiFromAts(h('7777710280'))).toBe(7);
    expect(fwiFromAts(h('00'))).toBe(4);
    expect(frameWaitingMs(8)).toBeCloseTo(77.3, 1);
    // SELECT (16 bytes + PCB + CRC = 19 on air: 173 bits) and its 2-byte answer (5 bytes: 47 bits), two frame
    // delays of 1172/fc and 3 ms of card time: 220 bits × 9.44 µs + 173 µs + 3 ms ≈ 5.25 ms.
    expect(isoDepExchangeMs(16, 2, 3)).toBeCloseTo(5.25, 2);
  });
});
