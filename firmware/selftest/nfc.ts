import { Pn532, Pn532Error } from '../../drivers/nfc/pn532';
import type { I2cTransport } from '../../drivers/nfc/transport';
import { fail, pass, type CheckResult } from './check';

const NAME = 'nfc reader';

function fixFor(err: unknown, busNumber: number): string {
  if (err instanceof Pn532Error && err.busCode === 'ENOENT') {
    return `/dev/i2c-${busNumber} does not exist: enable I2C (sudo raspi-config nonint do_i2c 0) and reboot, or set cards.i2cBus`;
  }
  if (err instanceof Pn532Error && (err.code === 'bus' || err.code === 'no-ack')) {
    return `nothing answers at the PN532's address: check SDA/SCL/3.3V/GND wiring and the board's I2C mode switches; \`i2cdetect -y ${busNumber}\` should show 24`;
  }
  return 'power-cycle the reader; if it persists, replace the PN532 board';
}

/** Asks the PN532 for its firmware version through the card driver, the same code the gate reads cards with. */
export async function checkPn532(transport: I2cTransport, address: number, busNumber: number): Promise<CheckResult> {
  const reader = new Pn532(transport, { address });
  try {
    const fw = await reader.getFirmwareVersion();
    if (fw.ic !== 0x32) return fail(NAME, `IC 0x${fw.ic.toString(16)} answered, not a PN532 (0x32)`, 'fit a PN532 board');
    return pass(NAME, `PN532 firmware ${fw.version}.${fw.revision} on /dev/i2c-${busNumber} at 0x${address.toString(16)}`);
  } catch (err) {
    return fail(NAME, `no firmware version from /dev/i2c-${busNumber} at 0x${address.toString(16)}: ${(err as Error).message}`, fixFor(err, busNumber));
  } finally {
    await transport.close().catch(() => undefined);
  }
}
