import { INS_ISO_SELECT, ISO_SW, NATIVE, NTAG424_DF_NAME, type CommandApdu } from '../secure/apdu';
import { sameBytes } from '../secure/aes';
import { Ev2Card } from './ev2-card';
import type { AesKeySlot, RandomSource } from './ev2-picc';
import { isoReply, nativeReply } from './iso-dep';
import { encryptPiccData, sdmMac } from './sdm';

/**
 * Identity on the air. ATS 06 77 77 71 02 80: FSCI 7 (128 bytes), TA1 77, FWI 7 / SFGI 1, CID supported.
 * GetVersion frames as AN12196's GetVersion example shows them (batch and production bytes arbitrary).
 */
const IDENTITY = {
  ats: Uint8Array.from([0x77, 0x77, 0x71, 0x02, 0x80]),
  versionHw: [0x04, 0x04, 0x02, 0x30, 0x00, 0x11, 0x05],
  versionSw: [0x04, 0x04, 0x02, 0x01, 0x02, 0x11, 0x05],
  versionBatch: [0xcf, 0x39, 0x41, 0x14, 0x80, 0x49, 0x21],
};

/** The three standard files: CC (E103), NDEF (E104), proprietary (E105) (NT4H2421Gx §8.2.2). */
const FILES = [
  { no: 1, fid: 0xe103, size: 32 },
  { no: 2, fid: 0xe104, size: 256 },
  { no: 3, fid: 0xe105, size: 128 },
] as const;

/** Where SUN mirrors into the NDEF file: AN12196's example layout, with the key numbers this tag uses. */
export interface SdmLayout {
  metaReadKeyNo: number;
  fileReadKeyNo: number;
  /** Offset of the 32 hex characters of encrypted PICC data (`e=`). */
  piccDataOffset: number;
  macInputOffset: number;
  /** Offset of the 16 hex characters of SDMMAC (`c=`). */
  macOffset: number;
}

export interface Ntag424Options {
  uid: Uint8Array;
  randomId?: boolean;
  /** Keys 0-4; a factory tag has five AES zero keys, version 0. */
  keys?: AesKeySlot[];
  /** The NDEF file content (256 bytes at most). */
  ndef?: Uint8Array;
  sdm?: SdmLayout | null;
  sdmReadCtr?: number;
  random?: RandomSource;
}

/**
 * An NTAG 424 DNA: ISO SELECT of the NDEF application and of its files, ISOReadBinary and ReadData of the
 * (SUN-mirrored) NDEF file, GetVersion, AuthenticateEV2First, GetCardUID, GetKeyVersion, ChangeKey and
 * SetConfiguration (random ID). SDM is configured at construction (ChangeFileSettings is not modelled).
 */
export class Ntag424Dna extends Ev2Card {
  readonly model = 'ntag424-dna';
  readonly keys: AesKeySlot[];
  private readonly files: Map<number, Uint8Array>;
  private readonly sdm: SdmLayout | null;
  private readCtr: number;
  private appSelected = false;
  private fileSelected: number | null = null;

  constructor(options: Ntag424Options) {
    super(options.uid, options.randomId ?? false, options.random, IDENTITY);
    this.keys = (options.keys ?? Array.from({ length: 5 }, () => ({ key: new Uint8Array(16), version: 0 }))).map((k) => ({ ...k }));
    if (this.keys.length !== 5) throw new Error('an NTAG 424 DNA has exactly 5 application keys');
    this.files = new Map(FILES.map((f) => [f.no, new Uint8Array(f.size)]));
    if (options.ndef) this.files.get(2)!.set(options.ndef.subarray(0, 256));
    this.sdm = options.sdm ?? null;
    this.readCtr = options.sdmReadCtr ?? 0;
  }

  get sdmReadCounter(): number {
    return this.readCtr;
  }

  protected deselect(): void {
    this.appSelected = false;
    this.fileSelected = null;
  }

  protected iso(cmd: CommandApdu): Uint8Array {
    if (cmd.ins === INS_ISO_SELECT) return this.isoSelect(cmd.p1, cmd.data);
    if (cmd.ins === 0xb0) return this.isoReadBinary((cmd.p1 << 8) | cmd.p2, cmd.le ?? 0);
    return isoReply(ISO_SW.insNotSupported);
  }

  protected native(cmd: CommandApdu): Uint8Array {
    // Native commands other than GetVersion need the application selected; the status for "not selected" is not public.
    if (!this.appSelected) return nativeReply(NATIVE.illegalCommand);
    switch (cmd.ins) {
      case 0x71:
        return this.picc.authenticateFirst(this.keys, cmd.data);
      case 0xaf:
        return this.picc.authenticatePart2(this.keys, cmd.data);
      case 0x51:
        return this.picc.getCardUid(cmd.data, this.uid);
      case 0x64:
        return this.picc.getKeyVersion(this.keys, cmd.data);
      case 0xc4:
        return this.picc.changeKey(this.keys, cmd.data);
      case 0xad:
        return this.readData(cmd.data);
      case 0x5c:
        // With the application master key (key 0).
        return this.setConfiguration(cmd.data, (keyNo) => keyNo === 0);
      default:
        this.picc.reset();
        return nativeReply(NATIVE.illegalCommand);
    }
  }

  private isoSelect(p1: number, data: Uint8Array): Uint8Array {
    if (p1 === 0x04) {
      this.picc.reset();
      if (!sameBytes(data, NTAG424_DF_NAME)) return isoReply(ISO_SW.fileNotFound);
      this.appSelected = true;
      this.fileSelected = null;
      return isoReply(ISO_SW.ok);
    }
    // P1 = 00 or 02: an elementary file of the application by its ISO FID.
    if ((p1 !== 0x00 && p1 !== 0x02) || data.length !== 2 || !this.appSelected) return isoReply(ISO_SW.fileNotFound);
    const file = FILES.find((f) => f.fid === ((data[0]! << 8) | data[1]!));
    if (!file) return isoReply(ISO_SW.fileNotFound);
    this.fileSelected = file.no;
    return isoReply(ISO_SW.ok);
  }

  private isoReadBinary(offset: number, le: number): Uint8Array {
    if (this.fileSelected === null) return isoReply(ISO_SW.fileNotFound);
    const content = this.read(this.fileSelected, offset, le === 0 ? 256 : le);
    return content ? isoReply(ISO_SW.ok, content) : isoReply(ISO_SW.wrongData);
  }

  /** AD (plain, free read access as in AN12196's SUN layout): FileNo ‖ Offset(3) ‖ Length(3), length 0 = to the end. */
  private readData(data: Uint8Array): Uint8Array {
    if (data.length !== 7) return nativeReply(NATIVE.lengthError);
    const le3 = (at: number) => data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
    const content = this.read(data[0]!, le3(1), le3(4) || 256);
    return content ? nativeReply(NATIVE.ok, content) : nativeReply(0xbe); // boundary error
  }

  /** File bytes, with the SUN mirror filled in for the NDEF file; each such read moves SDMReadCtr on. */
  private read(fileNo: number, offset: number, length: number): Uint8Array | null {
    const file = this.files.get(fileNo);
    if (!file || offset >= file.length) return null;
    const view = Uint8Array.from(file);
    if (fileNo === 2 && this.sdm) {
      this.readCtr += 1;
      const { metaReadKeyNo, fileReadKeyNo, piccDataOffset, macInputOffset, macOffset } = this.sdm;
      const ascii = (b: Uint8Array) => Buffer.from(Buffer.from(b).toString('hex').toUpperCase(), 'ascii');
      view.set(ascii(encryptPiccData(this.keys[metaReadKeyNo]!.key, this.uid, this.readCtr, this.random(5))), piccDataOffset);
      const mac = sdmMac(this.keys[fileReadKeyNo]!.key, this.uid, this.readCtr, view.subarray(macInputOffset, macOffset));
      view.set(ascii(mac), macOffset);
    }
    return view.slice(offset, Math.min(file.length, offset + length));
  }
}
