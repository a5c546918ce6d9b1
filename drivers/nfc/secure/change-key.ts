import { crc32 } from 'node:zlib';
import { AES128_KEY, concat, CryptoInputError, xor } from './aes';

/**
 * The plain data of ChangeKey (Ins C4) before Full-mode protection (AN12196 §6.16): for the key the session
 * was authenticated with, NewKey ‖ KeyVer; for any other key, (NewKey ⊕ OldKey) ‖ KeyVer ‖ CRC32(NewKey), so
 * the card can check the change without the reader sending the new key in the clear of the XOR.
 */
export function changeKeyData(options: { keyNo: number; authKeyNo: number; newKey: Uint8Array; oldKey?: Uint8Array; keyVersion: number }): Uint8Array {
  const { keyNo, authKeyNo, newKey, oldKey, keyVersion } = options;
  if (newKey.length !== AES128_KEY) throw new CryptoInputError(`new key must be 16 bytes, got ${newKey.length}`);
  if (!Number.isInteger(keyVersion) || keyVersion < 0 || keyVersion > 0xff) throw new CryptoInputError(`key version must be 0..255, got ${keyVersion}`);
  if (keyNo === authKeyNo) return concat(newKey, [keyVersion]);
  if (!oldKey || oldKey.length !== AES128_KEY) throw new CryptoInputError('changing another key than the authenticated one needs its 16-byte old key');
  return concat(xor(newKey, oldKey), [keyVersion], crc32Nxp(newKey));
}

/** NXP's CRC32 (the JAMCRC variant: CRC-32 without the final inversion), least significant byte first. */
export function crc32Nxp(data: Uint8Array): Uint8Array {
  const value = ~crc32(data) >>> 0;
  return Uint8Array.from([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24]);
}
