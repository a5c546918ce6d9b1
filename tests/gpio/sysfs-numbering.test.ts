import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeHardware, resolveHardwareMode } from '../../drivers/detect';
import { readGpioChips, selectSocChip, sysfsNumber } from '../../drivers/gpio/sysfs-numbering';

/** Builds a directory shaped like /sys/class/gpio with the given chips. */
function fakeSysfs(chips: { base: number; ngpio: number; label: string }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'postern-sysfs-'));
  writeFileSync(join(root, 'export'), '');
  for (const c of chips) {
    const dir = join(root, `gpiochip${c.base}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'base'), `${c.base}\n`);
    writeFileSync(join(dir, 'ngpio'), `${c.ngpio}\n`);
    writeFileSync(join(dir, 'label'), `${c.label}\n`);
  }
  return root;
}

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const tree = (chips: Parameters<typeof fakeSysfs>[0]) => {
  const r = fakeSysfs(chips);
  roots.push(r);
  return r;
};

describe('BCM to sysfs GPIO numbering', () => {
  test('Raspberry Pi 4 on kernel 6.6+: base 512', () => {
    const root = tree([
      { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
      { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
    ]);
    const chip = selectSocChip(readGpioChips(root), 'auto');
    expect(chip.label).toBe('pinctrl-bcm2711');
    expect(sysfsNumber(chip, 17)).toBe(529);
  });

  test('Raspberry Pi 5: the RP1 header controller at base 571, not the SoC-internal chips before it', () => {
    const root = tree([
      { base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
      { base: 544, ngpio: 4, label: 'gpio-brcmstb@107d508520' },
      { base: 548, ngpio: 17, label: 'gpio-brcmstb@107d517c00' },
      { base: 565, ngpio: 6, label: 'gpio-brcmstb@107d517c20' },
      { base: 571, ngpio: 54, label: 'pinctrl-rp1' },
    ]);
    const chip = selectSocChip(readGpioChips(root), 'auto');
    expect(chip.base).toBe(571);
    expect(sysfsNumber(chip, 17)).toBe(588);
  });

  test('older kernels: base 0', () => {
    const root = tree([{ base: 0, ngpio: 54, label: 'pinctrl-bcm2835' }]);
    expect(sysfsNumber(selectSocChip(readGpioChips(root), 'auto'), 27)).toBe(27);
  });

  test('an explicitly named chip is used even when another SoC label is present', () => {
    const root = tree([
      { base: 0, ngpio: 54, label: 'pinctrl-bcm2835' },
      { base: 600, ngpio: 16, label: 'mcp23017' },
    ]);
    expect(sysfsNumber(selectSocChip(readGpioChips(root), 'mcp23017'), 3)).toBe(603);
  });

  test('no matching controller: the error names what was wanted and what was found', () => {
    const root = tree([{ base: 600, ngpio: 16, label: 'mcp23017' }]);
    expect(() => selectSocChip(readGpioChips(root), 'auto')).toThrow(/no GPIO controller labelled "pinctrl-rp1".*found: gpiochip600 "mcp23017" base 600/);
  });

  test('a pin beyond the controller is refused', () => {
    const chip = { name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' };
    expect(() => sysfsNumber(chip, 58)).toThrow(/outside pinctrl-bcm2711/);
  });

  test('a missing sysfs tree reads as no chips', () => {
    expect(readGpioChips('/nonexistent/gpio')).toEqual([]);
  });
});

describe('hardware detection', () => {
  test('a Raspberry Pi device tree with sysfs GPIO means real hardware under auto', () => {
    const root = mkdtempSync(join(tmpdir(), 'postern-root-'));
    roots.push(root);
    mkdirSync(join(root, 'proc/device-tree'), { recursive: true });
    mkdirSync(join(root, 'sys/class/gpio'), { recursive: true });
    writeFileSync(join(root, 'proc/device-tree/model'), 'Raspberry Pi 5 Model B Rev 1.0\0');
    const probe = probeHardware(root + '/');
    expect(probe.model).toBe('Raspberry Pi 5 Model B Rev 1.0');
    expect(resolveHardwareMode('auto', probe)).toBe('pi');
    expect(resolveHardwareMode('sim', probe)).toBe('sim');
  });

  test('anything else is simulated under auto', () => {
    const root = mkdtempSync(join(tmpdir(), 'postern-root-'));
    roots.push(root);
    expect(resolveHardwareMode('auto', probeHardware(root + '/'))).toBe('sim');
  });
});
