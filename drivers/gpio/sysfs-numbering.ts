import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface GpioChipInfo {
  name: string;
  base: number;
  ngpio: number;
  label: string;
}

/**
 * The SoC GPIO controllers by label. Since kernel 6.6 the sysfs base is no longer 0 (512 on a Pi 4,
 * 571 on a Pi 5), so BCM numbers must be offset by the base of the right chip.
 */
export const SOC_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2712', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export function readGpioChips(sysfsRoot: string): GpioChipInfo[] {
  let entries: string[];
  try {
    entries = readdirSync(sysfsRoot).filter((e) => e.startsWith('gpiochip'));
  } catch {
    return [];
  }
  const read = (dir: string, file: string) => readFileSync(join(sysfsRoot, dir, file), 'utf8').trim();
  return entries.map((name) => ({
    name,
    base: Number.parseInt(read(name, 'base'), 10),
    ngpio: Number.parseInt(read(name, 'ngpio'), 10),
    label: read(name, 'label'),
  }));
}

/** Picks the chip whose label is `label`, or with `auto` the first SoC controller found. */
export function selectSocChip(chips: GpioChipInfo[], label: string): GpioChipInfo {
  const wanted = label === 'auto' ? SOC_CHIP_LABELS : [label];
  for (const l of wanted) {
    const chip = chips.find((c) => c.label === l);
    if (chip) return chip;
  }
  const found = chips.map((c) => `${c.name} "${c.label}" base ${c.base}`).join(', ') || 'none';
  throw new Error(`gpio.chip: no GPIO controller labelled ${wanted.map((w) => `"${w}"`).join(' or ')} (found: ${found})`);
}

export function sysfsNumber(chip: GpioChipInfo, bcm: number): number {
  if (bcm < 0 || bcm >= chip.ngpio) throw new Error(`GPIO ${bcm} is outside ${chip.label}, which has ${chip.ngpio} lines`);
  return chip.base + bcm;
}
