import type { I2cTransport } from './transport';

/**
 * The real bus: /dev/i2c-<busNumber> through i2c-bus, loaded only when asked for so that sim mode never
 * touches the native addon. i2c-bus opens a missing bus lazily: a wrong bus number shows up as ENOENT on
 * the first transfer, which the reader service handles like any other bus fault.
 */
export async function openI2cBusTransport(busNumber: number): Promise<I2cTransport> {
  const i2c = await import('i2c-bus');
  return i2c.openPromisified(busNumber);
}
