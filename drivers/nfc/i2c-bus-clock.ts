import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Models the time a transfer occupies a 100 kHz I2C bus: about 9 bit-times per byte (8 data bits and the
 * ACK bit) = 90 µs, plus the address byte. Transfers queue behind each other as on a real bus. Sub-
 * millisecond waits cannot be slept, so their time is carried as a debt that later transfers pay once it
 * reaches a whole millisecond: the bus never runs faster than modelled over any stretch of time.
 */
export class I2cBusClock {
  private freeAt = 0;

  constructor(private readonly byteTimeUs = 90) {}

  /** Resolves when `dataBytes` (plus the address byte) would have crossed the bus. */
  async transfer(dataBytes: number): Promise<void> {
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + ((dataBytes + 1) * this.byteTimeUs) / 1000;
    const wait = this.freeAt - now;
    if (wait >= 1) await sleep(Math.floor(wait));
  }
}
