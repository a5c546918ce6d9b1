import { AES_BLOCK, cbcDecrypt, concat, CryptoInputError, encryptBlock } from '../../drivers/nfc/secure/aes';
import { changeKeyData, crc32Nxp } from '../../drivers/nfc/secure/change-key';
import { aesCmac, cmacSubkeys, truncateMac } from '../../drivers/nfc/secure/cmac';
import { diversifyAes128 } from '../../drivers/nfc/secure/diversify';
import {
  deriveSessionKeys,
  pcdAnswerChallenge,
  pcdVerifyAnswer,
  piccChallenge,
  piccVerifyCryptogram,
  SecureMessagingError,
  sessionVector,
  SV1_LABEL,
  SV2_LABEL,
  type Ev2Session,
} from '../../drivers/nfc/secure/ev2-auth';
import { commandIv, openCommand, openResponse, protectCommand, protectResponse, responseIv } from '../../drivers/nfc/secure/ev2-messaging';
import { nativeApdu, parseNativeResponse } from '../../drivers/nfc/secure/apdu';
import rfc4493 from '../fixtures/secure-cards/rfc4493-aes-cmac.json';
import an10922 from '../fixtures/secure-cards/an10922-aes128.json';
import an12196 from '../fixtures/secure-cards/an12196-ev2.json';

const h = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const H = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

function session(v: { sesAuthEncKey?: string; sesAuthMacKey: string; ti: string; cmdCtr: number }): Ev2Session {
  return { encKey: h(v.sesAuthEncKey ?? '00'.repeat(16)), macKey: h(v.sesAuthMacKey), ti: h(v.ti), cmdCtr: v.cmdCtr };
}

describe('AES-CMAC against RFC 4493 §4', () => {
  const key = h(rfc4493.key);
  test('subkeys K1, K2 from L', () => {
    expect(H(encryptBlock(key, new Uint8Array(16)))).toBe(rfc4493.subkeys.l.toUpperCase());
    const { k1, k2 } = cmacSubkeys(key);
    expect(H(k1)).toBe(rfc4493.subkeys.k1.toUpperCase());
    expect(H(k2)).toBe(rfc4493.subkeys.k2.toUpperCase());
  });
  test.each(rfc4493.examples)('$name', ({ message, mac }) => {
    expect(H(aesCmac(key, h(message)))).toBe(mac.toUpperCase());
  });
});

describe('AN10922 AES-128 key diversification', () => {
  test('the worked example: UID ‖ AID ‖ system identifier "NXP Abu"', () => {
    const m = concat(h(an10922.uid), h(an10922.aid), h(an10922.systemIdentifier));
    expect(H(m)).toBe(an10922.m);
    expect(H(encryptBlock(h(an10922.masterKey), new Uint8Array(16)))).toBe(an10922.cmacL);
    expect(H(diversifyAes128(h(an10922.masterKey), m))).toBe(an10922.diversifiedKey);
  });
  test('the padded 32-byte input with K2 equals the published intermediate step', () => {
    // CMAC over exactly the padded input the note prints, last block masked with K2, gives the same key.
    const master = h(an10922.masterKey);
    const { k2 } = cmacSubkeys(master);
    const padded = h(an10922.paddedInput);
    const last = padded.slice(16).map((b, i) => b ^ k2[i]!);
    const first = encryptBlock(master, padded.slice(0, 16));
    expect(H(encryptBlock(master, first.map((b, i) => b ^ last[i]!)))).toBe(an10922.diversifiedKey);
  });
  test('inputs of 31 bytes (no padding, K1) and out-of-range inputs', () => {
    const key = diversifyAes128(new Uint8Array(16), new Uint8Array(31).fill(0xaa));
    expect(key).toHaveLength(16);
    expect(() => diversifyAes128(new Uint8Array(16), new Uint8Array(0))).toThrow(CryptoInputError);
    expect(() => diversifyAes128(new Uint8Array(16), new Uint8Array(32))).toThrow(/1 to 31 bytes/);
    expect(() => diversifyAes128(new Uint8Array(15), new Uint8Array(8))).toThrow(/16 bytes/);
  });
});

describe('AuthenticateEV2First (AN12196 Table 14)', () => {
  const v = an12196.authenticateEv2First;
  const key = h(v.key);
  test('the commands and the card answers, byte for byte, from both ends', () => {
    expect(H(nativeApdu(0x71, [v.keyNo, 0x00]))).toBe(v.command1);
    const r1 = parseNativeResponse(h(v.response1));
    expect(r1.status).toBe(0xaf);
    expect(H(piccChallenge(key, h(v.rndB)))).toBe(H(r1.data));

    const { cryptogram, rndB } = pcdAnswerChallenge(key, r1.data, h(v.rndA));
    expect(H(rndB)).toBe(v.rndB);
    expect(H(nativeApdu(0xaf, cryptogram))).toBe(v.command2);

    const r2 = parseNativeResponse(h(v.response2));
    expect(r2.status).toBe(0x00);
    const card = piccVerifyCryptogram(key, h(v.rndB), cryptogram, h(v.ti));
    expect(card && H(card.answer)).toBe(H(r2.data));

    const s = pcdVerifyAnswer(key, h(v.rndA), rndB, r2.data);
    expect(H(s.ti)).toBe(v.ti);
    expect(s.cmdCtr).toBe(0);
    expect(H(s.encKey)).toBe(v.sesAuthEncKey);
    expect(H(s.macKey)).toBe(v.sesAuthMacKey);
    expect(card!.session).toEqual(s);
    // TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2 decrypted shows the zero capabilities.
    expect(H(cbcDecrypt(key, new Uint8Array(16), r2.data).subarray(20))).toBe(v.pdCap2 + v.pcdCap2);
  });
  test('SV1, SV2 and the session keys', () => {
    expect(H(sessionVector(SV1_LABEL, h(v.rndA), h(v.rndB)))).toBe(v.sv1);
    expect(H(sessionVector(SV2_LABEL, h(v.rndA), h(v.rndB)))).toBe(v.sv2);
    const keys = deriveSessionKeys(key, h(v.rndA), h(v.rndB));
    expect([H(keys.encKey), H(keys.macKey)]).toEqual([v.sesAuthEncKey, v.sesAuthMacKey]);
  });
  test('a card without the key is refused: one flipped bit, the wrong key, the wrong lengths', () => {
    const { rndB } = pcdAnswerChallenge(key, parseNativeResponse(h(v.response1)).data, h(v.rndA));
    const answer = parseNativeResponse(h(v.response2)).data;
    const flipped = Uint8Array.from(answer);
    flipped[5] = flipped[5]! ^ 0x01;
    expect(() => pcdVerifyAnswer(key, h(v.rndA), rndB, flipped)).toThrow(SecureMessagingError);
    expect(() => pcdVerifyAnswer(new Uint8Array(16).fill(1), h(v.rndA), rndB, answer)).toThrow(/does not hold the key/);
    expect(() => pcdVerifyAnswer(key, h(v.rndA), rndB, answer.subarray(0, 31))).toThrow(/32 bytes/);
    expect(() => pcdAnswerChallenge(key, new Uint8Array(15), h(v.rndA))).toThrow(/16 bytes/);
    // The card side refuses a reader that does not know the key.
    const wrong = pcdAnswerChallenge(new Uint8Array(16).fill(9), piccChallenge(key, h(v.rndB)), h(v.rndA));
    expect(piccVerifyCryptogram(key, h(v.rndB), wrong.cryptogram, h(v.ti))).toBeNull();
  });
});

describe('EV2 secure messaging (AN12196 examples)', () => {
  test('CommMode.MAC: GetFileSettings MACt is the odd bytes of the CMAC', () => {
    const v = an12196.getFileSettingsMac;
    const s = session(v);
    expect(H(nativeApdu(0xf5, protectCommand(s, 0xf5, h(v.header), new Uint8Array(0), 'mac')))).toBe(v.command);
    expect(H(truncateMac(aesCmac(s.macKey, h(v.macInput))))).toBe(v.macT);
  });

  test('CommMode.Full command: ChangeFileSettings IV, ciphertext, MACt; the MACed response moves the counter', () => {
    const v = an12196.changeFileSettingsFull;
    const s = session(v);
    expect(H(commandIv(s))).toBe(v.ivc);
    const data = protectCommand(s, 0x5f, h(v.header), h(v.plain), 'full');
    expect(H(nativeApdu(0x5f, data))).toBe(v.command);
    const reply = parseNativeResponse(h(v.response));
    const opened = openResponse(s, reply.status, reply.data, 'mac');
    expect(opened.data).toHaveLength(0);
    expect(opened.session.cmdCtr).toBe(2);
    // The card's view of the same command and its answer.
    expect(openCommand(s, 0x5f, 1, data, 'full')).toEqual({ header: h(v.header), data: h(v.plain) });
    expect(H(protectResponse(s, 0x00, new Uint8Array(0), 'mac').body)).toBe(H(reply.data));
  });

  test('GetCardUID (Table 28): command MAC, response IV, decrypted UID', () => {
    const v = an12196.getCardUid;
    const s = session(v);
    expect(H(aesCmac(s.macKey, h(v.macInput)))).toBe(v.cmac);
    expect(H(nativeApdu(0x51, protectCommand(s, 0x51, new Uint8Array(0), new Uint8Array(0), 'full')))).toBe(v.command);
    expect(H(responseIv(s))).toBe(v.ivr);
    const reply = parseNativeResponse(h(v.response));
    const opened = openResponse(s, reply.status, reply.data, 'full');
    expect(H(opened.data)).toBe(v.uid);
    expect(opened.session.cmdCtr).toBe(1);
    expect(H(protectResponse(s, 0x00, h(v.uid), 'full').body)).toBe(H(reply.data));
  });

  test('a response with a flipped bit, a cut MAC, the wrong counter or the wrong session is refused before decryption', () => {
    const v = an12196.getCardUid;
    const s = session(v);
    const body = parseNativeResponse(h(v.response)).data;
    for (let i = 0; i < body.length; i++) {
      const bad = Uint8Array.from(body);
      bad[i] = bad[i]! ^ 0x40;
      expect(() => openResponse(s, 0x00, bad, 'full')).toThrow(SecureMessagingError);
    }
    expect(() => openResponse(s, 0x00, body.subarray(0, 7), 'full')).toThrow(/8-byte MAC/);
    expect(() => openResponse({ ...s, cmdCtr: 1 }, 0x00, body, 'full')).toThrow(/MAC does not verify/);
    expect(() => openResponse(s, 0xaf, body, 'full')).toThrow(/MAC does not verify/);
    expect(() => openResponse({ ...s, macKey: new Uint8Array(16) }, 0x00, body, 'full')).toThrow(SecureMessagingError);
    expect(() => protectCommand({ ...s, cmdCtr: 0xffff }, 0x51, new Uint8Array(0), new Uint8Array(0), 'full')).toThrow(/counter exhausted/);
  });

  test('ChangeKey, both cases: CRC32 of the new key and the whole command', () => {
    const a = an12196.changeKeyOther;
    expect(H(crc32Nxp(h(a.newKey)))).toBe(a.crc32);
    const plainA = changeKeyData({ keyNo: a.keyNo, authKeyNo: 0, newKey: h(a.newKey), oldKey: h(a.oldKey), keyVersion: a.keyVersion });
    expect(H(nativeApdu(0xc4, protectCommand(session(a), 0xc4, Uint8Array.of(a.keyNo), plainA, 'full')))).toBe(a.command);
    const b = an12196.changeKeyAuthenticated;
    const plainB = changeKeyData({ keyNo: b.keyNo, authKeyNo: 0, newKey: h(b.newKey), keyVersion: b.keyVersion });
    expect(H(nativeApdu(0xc4, protectCommand(session(b), 0xc4, Uint8Array.of(b.keyNo), plainB, 'full')))).toBe(b.command);
    expect(() => changeKeyData({ keyNo: 1, authKeyNo: 0, newKey: h(b.newKey), keyVersion: 1 })).toThrow(/old key/);
  });

  test('round trip on both ends over random data of every length 0..48', () => {
    const s: Ev2Session = { encKey: h('00112233445566778899AABBCCDDEEFF'), macKey: h('FFEEDDCCBBAA99887766554433221100'), ti: h('01020304'), cmdCtr: 7 };
    for (let n = 0; n <= 48; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      for (const mode of ['plain', 'mac', 'full'] as const) {
        expect(openCommand(s, 0x3d, 1, protectCommand(s, 0x3d, Uint8Array.of(9), data, mode), mode)).toEqual({ header: Uint8Array.of(9), data });
        const { body } = protectResponse(s, 0x00, data, mode);
        expect(openResponse(s, 0x00, body, mode).data).toEqual(data);
      }
    }
    expect(AES_BLOCK).toBe(16);
  });
});
