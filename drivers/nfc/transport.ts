/**
 * Exactly the part of i2c-bus's PromisifiedBus the PN532 driver uses: plain I2C reads and writes
 * (no SMBus), so the real bus, the emulator and test doubles are interchangeable.
 */
export interface I2cTransport {
  i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
  close(): Promise<void>;
}

/** The PN532's 7-bit I2C address. */
export const PN532_I2C_ADDRESS = 0x24;
