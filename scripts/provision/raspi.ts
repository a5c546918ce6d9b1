import { existsSync, readFileSync } from 'node:fs';
import { query, type Executor } from './executor';

/**
 * Turns on the Pi's I2C bus (for the PN532) with raspi-config's non-interactive mode, which also loads
 * i2c-dev at boot. raspi-config's get_* answers 0 for "enabled". The camera needs no switch on
 * Raspberry Pi OS bookworm (camera_auto_detect=1 is the default); it is only reported if turned off.
 */
export function enableInterfaces(ex: Executor): void {
  if (query('sh', ['-c', 'command -v raspi-config']).status !== 0) {
    ex.note('raspi-config not found (not Raspberry Pi OS): enable I2C and the camera by hand if this is a Pi');
    return;
  }
  if (query('raspi-config', ['nonint', 'get_i2c']).stdout.trim() !== '0') {
    ex.run('enable I2C (takes effect after a reboot)', 'raspi-config', ['nonint', 'do_i2c', '0']);
  }
  const bootConfig = ['/boot/firmware/config.txt', '/boot/config.txt'].find((p) => existsSync(p));
  if (bootConfig && /^\s*camera_auto_detect\s*=\s*0/m.test(readFileSync(bootConfig, 'utf8'))) {
    ex.note(`${bootConfig} has camera_auto_detect=0: set it to 1 for the camera (left as it is, it may be deliberate)`);
  }
}
