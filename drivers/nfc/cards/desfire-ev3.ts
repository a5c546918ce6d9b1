import { INS_ISO_SELECT, ISO_SW, NATIVE, type CommandApdu } from '../secure/apdu';
import { sameBytes } from '../secure/aes';
import { Ev2Card } from './ev2-card';
import type { AesKeySlot, RandomSource } from './ev2-picc';
import { isoReply, nativeReply } from './iso-dep';

/** ISO DF name of the DESFire PICC level (DESFire EV1 datasheet: D2 76 00 00 85 01 00). */
export const DESFIRE_PICC_DF_NAME = Uint8Array.from([0xd2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x00]);

export interface DesfireApplication {
  /** 3 bytes, least significant byte first as on the wire. */
  aid: Uint8Array;
  keySettings: number;
  keys: AesKeySlot[];
  /** ISO file identifier and DF name, when created with them (KeySett2 bit 5). */
  isoFid?: number;
  dfName?: Uint8Array;
}

export interface DesfireEv3Options {
  /** The 7-byte UID (NXP: first byte 04). */
  uid: Uint8Array;
  /** SetConfiguration option 00 bit 1: anticollision shows a fresh 4-byte random ID (08 xx xx xx) per power-up. */
  randomId?: boolean;
  /**
   * The PICC master key. A factory card holds a 2-key 3DES zero key; this model keeps an AES key instead (the
   * legacy DES authentication is not modelled), so a "blank" model card has AES zeros, version 0.
   */
  piccMasterKey?: AesKeySlot;
  applications?: DesfireApplication[];
  random?: RandomSource;
}

/** PICC key settings of a factory card: 0x0F, CreateApplication allowed without the PICC master key (bit 2). */
const PICC_KEY_SETTINGS = 0x0f;
const FREE_CREATE = 0x04;
const AES_KEYS = 0x80;
const WITH_ISO_NAMES = 0x20;
const MAX_APP_KEYS = 14;
const DUPLICATE_ERROR = 0xde;

/**
 * Identity on the air. ATS 06 75 77 81 02 80: FSCI 5 (64 bytes), TA1 77, FWI 8 / SFGI 1, CID supported.
 * GetVersion follows the DESFire EV1 datasheet layout; the EV3 major versions (HW 0x33, SW 0x03) are what
 * public tools report for EV3 cards (the EV3 datasheet's public short form does not list them); batch number
 * and production week/year are arbitrary.
 */
const IDENTITY = {
  ats: Uint8Array.from([0x75, 0x77, 0x81, 0x02, 0x80]),
  versionHw: [0x04, 0x01, 0x01, 0x33, 0x00, 0x1a, 0x05],
  versionSw: [0x04, 0x01, 0x01, 0x03, 0x00, 0x1a, 0x05],
  versionBatch: [0xba, 0x44, 0x97, 0xd6, 0x70, 0x28, 0x24],
};

/**
 * A MIFARE DESFire EV3 as far as a gate and its issuing tool use it: ISO SELECT by DF name and native
 * SelectApplication, GetVersion, CreateApplication (AES keys, ISO names), AuthenticateEV2First, GetCardUID,
 * GetKeyVersion, ChangeKey and SetConfiguration (random ID), in ISO/IEC 7816-4 wrapping. Where the public
 * documents do not fix a byte, the comment at that line says what was chosen.
 */
export class DesfireEv3 extends Ev2Card {
  readonly model = 'desfire-ev3';
  private readonly piccKeys: AesKeySlot[];
  private readonly applications: DesfireApplication[];
  private selected: DesfireApplication | null = null;

  constructor(options: DesfireEv3Options) {
    super(options.uid, options.randomId ?? false, options.random, IDENTITY);
    this.piccKeys = [options.piccMasterKey ?? { key: new Uint8Array(16), version: 0 }];
    this.applications = (options.applications ?? []).map((a) => ({ ...a, keys: a.keys.map((k) => ({ ...k })) }));
  }

  /** The card's own view, for tests: keys and versions of an application. */
  application(aid: Uint8Array): DesfireApplication | undefined {
    return this.applications.find((a) => sameBytes(a.aid, aid));
  }

  protected deselect(): void {
    this.selected = null;
  }

  protected iso(cmd: CommandApdu): Uint8Array {
    this.picc.reset();
    if (cmd.ins !== INS_ISO_SELECT) return isoReply(ISO_SW.insNotSupported);
    // Only selection by DF name (P1 = 04) is modelled; DESFire also selects by ISO FID, which the gate never uses.
    if (cmd.p1 !== 0x04) return isoReply(ISO_SW.wrongP1P2);
    if (sameBytes(cmd.data, DESFIRE_PICC_DF_NAME)) {
      this.selected = null;
      return isoReply(ISO_SW.ok);
    }
    const app = this.applications.find((a) => a.dfName && sameBytes(a.dfName, cmd.data));
    if (!app) return isoReply(ISO_SW.fileNotFound);
    this.selected = app;
    // With P2 = 0C no FCI is returned; with P2 = 00 a card returns an FCI whose content is not public: none here.
    return isoReply(ISO_SW.ok);
  }

  protected native(cmd: CommandApdu): Uint8Array {
    const keys = this.selected ? this.selected.keys : this.piccKeys;
    switch (cmd.ins) {
      case 0x5a:
        return this.selectApplication(cmd.data);
      case 0x71:
        return this.picc.authenticateFirst(keys, cmd.data);
      case 0xaf:
        return this.picc.authenticatePart2(keys, cmd.data);
      case 0x51:
        return this.picc.getCardUid(cmd.data, this.uid);
      case 0x64:
        return this.picc.getKeyVersion(keys, cmd.data);
      case 0xc4:
        return this.picc.changeKey(keys, cmd.data);
      case 0xca:
        return this.createApplication(cmd.data);
      case 0x5c:
        // PICC level only, with the PICC master key.
        return this.setConfiguration(cmd.data, (keyNo) => !this.selected && keyNo === 0);
      default:
        this.picc.reset();
        return nativeReply(NATIVE.illegalCommand);
    }
  }

  private selectApplication(data: Uint8Array): Uint8Array {
    this.picc.reset();
    if (data.length !== 3) return nativeReply(NATIVE.lengthError);
    const app = data.every((b) => b === 0) ? null : this.application(data);
    if (app === undefined) return nativeReply(NATIVE.applicationNotFound);
    this.selected = app;
    return nativeReply(NATIVE.ok);
  }

  /** CA: AID(3) ‖ KeySett1 ‖ KeySett2 [‖ ISO FID(2) ‖ DF name] at PICC level; AES keys start as zeros, version 0. */
  private createApplication(data: Uint8Array): Uint8Array {
    const create = (body: Uint8Array): Uint8Array | number => {
      if (this.selected) return NATIVE.permissionDenied;
      if (body.length < 5) return NATIVE.lengthError;
      const aid = body.slice(0, 3);
      const [ks1, ks2] = [body[3]!, body[4]!];
      const keyCount = ks2 & 0x0f;
      if ((ks2 & 0xc0) !== AES_KEYS || keyCount < 1 || keyCount > MAX_APP_KEYS || aid.every((b) => b === 0)) return NATIVE.parameterError;
      const withNames = (ks2 & WITH_ISO_NAMES) !== 0;
      if (withNames ? body.length < 8 || body.length > 7 + 16 : body.length !== 5) return NATIVE.lengthError;
      const dfName = withNames ? body.slice(7) : undefined;
      if (this.application(aid) || (dfName && this.applications.some((a) => a.dfName && sameBytes(a.dfName, dfName)))) return DUPLICATE_ERROR;
      this.applications.push({
        aid,
        keySettings: ks1,
        keys: Array.from({ length: keyCount }, () => ({ key: new Uint8Array(16), version: 0 })),
        ...(dfName ? { isoFid: (body[5]! << 8) | body[6]!, dfName } : {}),
      });
      return new Uint8Array(0);
    };
    if (this.picc.authenticatedKey === null) {
      if ((PICC_KEY_SETTINGS & FREE_CREATE) === 0) return nativeReply(NATIVE.authenticationError);
      const result = create(data);
      return typeof result === 'number' ? nativeReply(result) : nativeReply(NATIVE.ok);
    }
    return this.picc.secured(0xca, 0, data, 'mac', 'mac', (_header, body) => create(body));
  }
}
