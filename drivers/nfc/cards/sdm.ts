import { cbcDecrypt, cbcEncrypt, concat, CryptoInputError, zeroIv } from '../secure/aes';
import { aesCmac, truncateMac } from '../secure/cmac';

/**
 * NTAG 424 DNA Secure Dynamic Messaging (SUN), AES mode (NT4H2421Gx §9.3; AN12196 §3.4): what a tag mirrors
 * into its NDEF URL on each plain read. Modelled for the emulated tag only: the gate never grants on a SUN
 * message, because anyone who reads an unused one off the tag can present it once elsewhere.
 */

/** PICCDataTag: UID mirrored (bit 7), SDMReadCtr mirrored (bit 6), UID length 7 (bits 3-0). */
export const PICC_DATA_TAG_UID_CTR = 0xc7;

function counter3(ctr: number): Uint8Array {
  if (!Number.isInteger(ctr) || ctr < 0 || ctr > 0xffffff) throw new CryptoInputError(`SDMReadCtr must be 0..16777215, got ${ctr}`);
  return Uint8Array.from([ctr & 0xff, (ctr >> 8) & 0xff, (ctr >> 16) & 0xff]);
}

/** E(SDMMetaRead key, PICCDataTag ‖ UID ‖ SDMReadCtr ‖ random padding), IV zero: the `e=` of the URL. */
export function encryptPiccData(metaReadKey: Uint8Array, uid: Uint8Array, ctr: number, padding: Uint8Array): Uint8Array {
  if (uid.length !== 7 || padding.length !== 5) throw new CryptoInputError('PICCData is a 7-byte UID and 5 bytes of padding');
  return cbcEncrypt(metaReadKey, zeroIv(), concat([PICC_DATA_TAG_UID_CTR], uid, counter3(ctr), padding));
}

/** The tag's view reversed, for tests: tag, UID and counter out of `e=`. */
export function decryptPiccData(metaReadKey: Uint8Array, enc: Uint8Array): { tag: number; uid: Uint8Array; ctr: number } {
  const plain = cbcDecrypt(metaReadKey, zeroIv(), enc);
  return { tag: plain[0]!, uid: plain.slice(1, 8), ctr: plain[8]! | (plain[9]! << 8) | (plain[10]! << 16) };
}

/** SesSDMFileReadMACKey = CMAC(SDMFileRead key, 3C C3 00 01 00 80 ‖ UID ‖ SDMReadCtr); SDMMAC = its MACt over the input. */
export function sdmMac(fileReadKey: Uint8Array, uid: Uint8Array, ctr: number, macInput: Uint8Array): Uint8Array {
  const session = aesCmac(fileReadKey, concat([0x3c, 0xc3, 0x00, 0x01, 0x00, 0x80], uid, counter3(ctr)));
  return truncateMac(aesCmac(session, macInput));
}
