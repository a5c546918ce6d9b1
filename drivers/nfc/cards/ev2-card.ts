import { CARD_PROCESSING_MS } from '../air-timing';
import { CLA_ISO, CLA_NATIVE, ISO_SW, NATIVE, parseCommandApdu, type CommandApdu } from '../secure/apdu';
import { cryptoRandom, Ev2Picc, type RandomSource } from './ev2-picc';
import { isoReply, nativeReply, type Anticollision, type IsoDepCard } from './iso-dep';

/** What tells one EV2 card product from another on the air: its ATS and its GetVersion frames. */
export interface Ev2Identity {
  /** ATS after TL. */
  ats: Uint8Array;
  /** GetVersion frame 1 (hardware) and 2 (software), 7 bytes each; frame 3 is UID ‖ these 7 bytes. */
  versionHw: readonly number[];
  versionSw: readonly number[];
  versionBatch: readonly number[];
}

/** Native commands that run AES on the card, given the longer modelled processing time. */
const CRYPTO_INS = new Set([0x71, 0xaf, 0x51, 0x64, 0xc4, 0x5c, 0xca]);

/**
 * What MIFARE DESFire EV3 and NTAG 424 DNA have in common as ISO/IEC 14443-4 cards: the UID and the random ID
 * option, anticollision and RATS, the APDU dispatch (ISO CLA 00, wrapped native CLA 90), GetVersion with its
 * additional frames, and SetConfiguration's random ID bit. Each product adds its own commands.
 */
export abstract class Ev2Card implements IsoDepCard {
  abstract readonly model: string;
  protected readonly uid: Uint8Array;
  protected readonly random: RandomSource;
  protected readonly picc: Ev2Picc;
  private randomId: boolean;
  private anticollisionUid: Uint8Array;
  private versionFrame = 0;

  constructor(
    uid: Uint8Array,
    randomId: boolean,
    random: RandomSource | undefined,
    private readonly identity: Ev2Identity,
  ) {
    if (uid.length !== 7) throw new Error('the UID of this card is 7 bytes');
    this.uid = Uint8Array.from(uid);
    this.randomId = randomId;
    this.random = random ?? cryptoRandom;
    this.picc = new Ev2Picc(this.random);
    this.anticollisionUid = this.uid;
  }

  get randomIdEnabled(): boolean {
    return this.randomId;
  }

  powerUp(): void {
    this.anticollisionUid = this.randomId ? Uint8Array.from([0x08, ...this.random(3)]) : this.uid;
  }

  activate(): Anticollision {
    this.versionFrame = 0;
    this.picc.reset();
    this.deselect();
    // ATQA 03 44 for a double-size UID, 03 04 (single size) for the 4-byte random ID (ISO/IEC 14443-3 bits 8-7).
    const atqa = this.anticollisionUid.length === 4 ? [0x03, 0x04] : [0x03, 0x44];
    return { uid: this.anticollisionUid, atqa: Uint8Array.from(atqa), sak: 0x20, ats: this.identity.ats };
  }

  exchange(apdu: Uint8Array): { response: Uint8Array; processingMs: number } {
    const cmd = parseCommandApdu(apdu);
    const crypto = cmd?.cla === CLA_NATIVE && CRYPTO_INS.has(cmd.ins);
    return { response: cmd ? this.respond(cmd) : isoReply(ISO_SW.wrongLength), processingMs: crypto ? CARD_PROCESSING_MS.crypto : CARD_PROCESSING_MS.plain };
  }

  /** Back to the state after activation: nothing selected. */
  protected abstract deselect(): void;
  protected abstract iso(cmd: CommandApdu): Uint8Array;
  protected abstract native(cmd: CommandApdu): Uint8Array;

  private respond(cmd: CommandApdu): Uint8Array {
    const continuing = cmd.cla === CLA_NATIVE && cmd.ins === 0xaf && this.versionFrame > 0;
    const frame = this.versionFrame;
    this.versionFrame = 0;
    if (cmd.cla === CLA_ISO) return this.iso(cmd);
    // P1/P2 of wrapped commands are 00; what a card answers to others is not public, so they are ignored here.
    if (cmd.cla !== CLA_NATIVE) return isoReply(ISO_SW.claNotSupported);
    if (cmd.ins === 0x60) return cmd.data.length ? nativeReply(NATIVE.lengthError) : this.version(1);
    if (continuing) return this.version(frame + 1);
    return this.native(cmd);
  }

  private version(frame: number): Uint8Array {
    this.picc.reset();
    this.versionFrame = frame < 3 ? frame : 0;
    if (frame === 1) return nativeReply(NATIVE.additionalFrame, this.identity.versionHw);
    if (frame === 2) return nativeReply(NATIVE.additionalFrame, this.identity.versionSw);
    // With the random ID on, the UID field is zeros (modelled: the public documents do not say).
    return nativeReply(NATIVE.ok, [...(this.randomId ? new Uint8Array(7) : this.uid), ...this.identity.versionBatch]);
  }

  /**
   * 5C option 00 (PICC configuration), Full, after authenticating with the key `allowed` accepts: bit 1 turns
   * the random ID on, for good (it cannot be turned off again).
   */
  protected setConfiguration(raw: Uint8Array, allowed: (keyNo: number) => boolean): Uint8Array {
    return this.picc.secured(0x5c, 1, raw, 'full', 'mac', (header, body, keyNo) => {
      if (!allowed(keyNo)) return NATIVE.permissionDenied;
      if (header[0] !== 0x00) return NATIVE.parameterError;
      if (body.length !== 1) return NATIVE.lengthError;
      if ((body[0]! & 0x02) !== 0) this.randomId = true;
      return new Uint8Array(0);
    });
  }
}
