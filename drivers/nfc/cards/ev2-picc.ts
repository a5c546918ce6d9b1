import { randomBytes } from 'node:crypto';
import { changeKeyData } from '../secure/change-key';
import { AES128_KEY, sameBytes, xor } from '../secure/aes';
import { piccChallenge, piccVerifyCryptogram, RND_LENGTH, TI_LENGTH, type Ev2Session } from '../secure/ev2-auth';
import { openCommand, protectResponse, type CommMode } from '../secure/ev2-messaging';
import { NATIVE } from '../secure/apdu';
import { nativeReply } from './iso-dep';

/** One AES key of an application, with the key version byte the card keeps beside it. */
export interface AesKeySlot {
  key: Uint8Array;
  version: number;
}

type AuthState =
  | { kind: 'none' }
  | { kind: 'challenge'; keyNo: number; rndB: Uint8Array }
  | { kind: 'authenticated'; keyNo: number; session: Ev2Session };

/** Draws n random bytes; tests pass a fixed source to replay the AN12196 examples. */
export type RandomSource = (n: number) => Uint8Array;
export const cryptoRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

/**
 * The card side of AuthenticateEV2First and of the EV2 secure-messaging commands MIFARE DESFire EV2/EV3
 * and NTAG 424 DNA share (GetCardUID, GetKeyVersion, ChangeKey), over the keys of the selected application.
 * Any error ends the authentication, as on the cards (AN12196 §5.7: "the session is terminated").
 */
export class Ev2Picc {
  private auth: AuthState = { kind: 'none' };

  constructor(private readonly random: RandomSource = cryptoRandom) {}

  /** Selection or reactivation ends any authentication. */
  reset(): void {
    this.auth = { kind: 'none' };
  }

  get authenticatedKey(): number | null {
    return this.auth.kind === 'authenticated' ? this.auth.keyNo : null;
  }

  /** 71: KeyNo ‖ LenCap ‖ PCDcap2 (LenCap bytes). Answers E(K, RndB) with 91 AF. */
  authenticateFirst(keys: readonly AesKeySlot[], data: Uint8Array): Uint8Array {
    this.reset();
    const [keyNo, lenCap] = data;
    if (keyNo === undefined || lenCap === undefined || data.length !== 2 + lenCap || lenCap > 6) return nativeReply(NATIVE.lengthError);
    const slot = keys[keyNo];
    if (!slot) return nativeReply(NATIVE.noSuchKey);
    const rndB = this.random(RND_LENGTH);
    this.auth = { kind: 'challenge', keyNo, rndB };
    return nativeReply(NATIVE.additionalFrame, piccChallenge(slot.key, rndB));
  }

  /** AF after 71: E(K, RndA ‖ RndB'). Answers E(K, TI ‖ RndA' ‖ PDcap2 ‖ PCDcap2), or 91 AE. */
  authenticatePart2(keys: readonly AesKeySlot[], data: Uint8Array): Uint8Array {
    const auth = this.auth;
    this.reset();
    if (auth.kind !== 'challenge') return nativeReply(NATIVE.illegalCommand);
    if (data.length !== 2 * RND_LENGTH) return nativeReply(NATIVE.lengthError);
    const done = piccVerifyCryptogram(keys[auth.keyNo]!.key, auth.rndB, data, this.random(TI_LENGTH));
    if (!done) return nativeReply(NATIVE.authenticationError);
    this.auth = { kind: 'authenticated', keyNo: auth.keyNo, session: done.session };
    return nativeReply(NATIVE.ok, done.answer);
  }

  /**
   * A command that needs the session: opens it (MAC checked, data decrypted) and runs `body`, which returns
   * the plain answer or a native error status. The answer goes back protected in `responseMode`.
   */
  secured(
    ins: number,
    headerLength: number,
    raw: Uint8Array,
    commandMode: CommMode,
    responseMode: CommMode,
    body: (header: Uint8Array, data: Uint8Array, keyNo: number) => Uint8Array | number,
  ): Uint8Array {
    const auth = this.auth;
    if (auth.kind !== 'authenticated') {
      this.reset();
      return nativeReply(NATIVE.authenticationError);
    }
    const opened = openCommand(auth.session, ins, headerLength, raw, commandMode);
    if (!opened) {
      this.reset();
      return nativeReply(NATIVE.integrityError);
    }
    const result = body(opened.header, opened.data, auth.keyNo);
    if (typeof result === 'number') {
      this.reset();
      return nativeReply(result);
    }
    if (this.auth.kind !== 'authenticated') return nativeReply(NATIVE.ok); // the body ended the session: no MAC
    const { body: protectedBody, session } = protectResponse(auth.session, NATIVE.ok, result, responseMode);
    this.auth = { ...auth, session };
    return nativeReply(NATIVE.ok, protectedBody);
  }

  /** 51 GetCardUID: the real UID, encrypted (CommMode.Full response), whatever the anticollision showed. */
  getCardUid(raw: Uint8Array, uid: Uint8Array): Uint8Array {
    return this.secured(0x51, 0, raw, 'mac', 'full', () => uid);
  }

  /** 64 GetKeyVersion: plain before authentication, MACed within a session. */
  getKeyVersion(keys: readonly AesKeySlot[], raw: Uint8Array): Uint8Array {
    const version = (keyNo: number | undefined): Uint8Array | number => {
      const slot = keyNo === undefined ? undefined : keys[keyNo];
      return slot ? Uint8Array.of(slot.version) : NATIVE.noSuchKey;
    };
    if (this.auth.kind !== 'authenticated') {
      this.reset();
      if (raw.length !== 1) return nativeReply(NATIVE.lengthError);
      const v = version(raw[0]);
      return typeof v === 'number' ? nativeReply(v) : nativeReply(NATIVE.ok, v);
    }
    return this.secured(0x64, 1, raw, 'mac', 'mac', (header) => version(header[0]));
  }

  /**
   * C4 ChangeKey (Full): only after authenticating with key 0 (the application master key: the access right
   * this gate's applications are created with, and the only one NTAG 424 DNA has). Changing key 0 ends the
   * session and its answer carries no MAC (AN12196 §6.16, case 2).
   */
  changeKey(keys: AesKeySlot[], raw: Uint8Array): Uint8Array {
    return this.secured(0xc4, 1, raw, 'full', 'mac', (header, data, authKeyNo) => {
      const keyNo = header[0]! & 0x3f;
      const slot = keys[keyNo];
      if (!slot) return NATIVE.noSuchKey;
      if (authKeyNo !== 0) return NATIVE.permissionDenied;
      if (keyNo === authKeyNo) {
        if (data.length !== AES128_KEY + 1) return NATIVE.lengthError;
        keys[keyNo] = { key: data.slice(0, AES128_KEY), version: data[AES128_KEY]! };
        this.reset();
        return new Uint8Array(0);
      }
      if (data.length !== AES128_KEY + 1 + 4) return NATIVE.lengthError;
      const newKey = xor(data.subarray(0, AES128_KEY), slot.key);
      const expected = changeKeyData({ keyNo, authKeyNo, newKey, oldKey: slot.key, keyVersion: data[AES128_KEY]! });
      if (!sameBytes(expected, data)) return NATIVE.integrityError; // the CRC32 of the new key did not match
      keys[keyNo] = { key: newKey, version: data[AES128_KEY]! };
      return new Uint8Array(0);
    });
  }
}
