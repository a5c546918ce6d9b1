// i2c-bus ships no types; this declares only what drivers/nfc/i2c-bus-transport.ts uses.
declare module 'i2c-bus' {
  export interface PromisifiedBus {
    i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
    i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
    close(): Promise<void>;
  }
  export function openPromisified(busNumber: number): Promise<PromisifiedBus>;
}
