import { existsSync, readFileSync } from 'node:fs';

export interface HardwareProbe {
  /** e.g. "Raspberry Pi 5 Model B Rev 1.0", or null off a Pi. */
  model: string | null;
  gpioSysfs: boolean;
}

/** Reads what the board says it is; no device is opened. */
export function probeHardware(root = '/'): HardwareProbe {
  let model: string | null = null;
  try {
    const text = readFileSync(`${root}proc/device-tree/model`, 'utf8').replace(/\0/g, '').trim();
    if (text.startsWith('Raspberry Pi')) model = text;
  } catch {
    /* not a device-tree board */
  }
  return { model, gpioSysfs: existsSync(`${root}sys/class/gpio`) };
}

/** `auto` means real hardware on a Raspberry Pi with sysfs GPIO, the simulator anywhere else. */
export function resolveHardwareMode(setting: 'auto' | 'sim' | 'pi', probe: HardwareProbe): 'sim' | 'pi' {
  if (setting !== 'auto') return setting;
  return probe.model !== null && probe.gpioSysfs ? 'pi' : 'sim';
}
