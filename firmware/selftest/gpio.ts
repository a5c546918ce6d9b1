import { setTimeout as delay } from 'node:timers/promises';
import type { GpioBackend } from '../../drivers/gpio/types';
import type { GateConfig } from '../config/schema';
import { fail, pass, type CheckResult } from './check';

type GpioConfig = GateConfig['gpio'];
const OUTPUTS = ['relay', 'ledGreen', 'ledRed', 'buzzer'] as const;
const INPUTS = ['contact', 'exit', 'tamper'] as const;

const WIRING_FIX = 'check the pin number in gpio.* of the config, that the postern user is in the gpio group, and the wiring (docs/HARDWARE.md)';

/** What an input reading means for an idle gate: a pressed exit button or an open case needs a look. */
function judgeInput(name: (typeof INPUTS)[number], pin: number, active: boolean): CheckResult {
  const line = `gpio ${name}`;
  switch (name) {
    case 'contact':
      return pass(line, `BCM${pin}: door ${active ? 'open' : 'closed'}`);
    case 'exit':
      return active
        ? fail(line, `BCM${pin}: reads pressed while the gate is idle`, 'a stuck exit button or a short to ground; with nobody pressing it, it must read released')
        : pass(line, `BCM${pin}: released`);
    case 'tamper':
      return active ? fail(line, `BCM${pin}: case open`, 'close the enclosure, or check the tamper switch wiring (normally closed to ground)') : pass(line, `BCM${pin}: case closed`);
  }
}

/**
 * Opens every GPIO line the gate uses, one at a time so one bad line does not hide the others. The
 * relay is opened at its locked level and nothing is ever driven to unlock. Inputs are read after their
 * debounce time has passed.
 */
export async function checkGpio(backend: GpioBackend, cfg: GpioConfig, relayLockedLevel: boolean): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  try {
    for (const name of OUTPUTS) {
      const spec = cfg[name];
      try {
        const line = backend.output(name, { ...spec, initial: name === 'relay' ? relayLockedLevel : false });
        const state = name === 'relay' ? (line.active === relayLockedLevel ? 'locked' : 'NOT locked') : line.active ? 'on' : 'off';
        results.push(state === 'NOT locked' ? fail(`gpio ${name}`, `BCM${spec.pin}: did not take the locked level`, WIRING_FIX) : pass(`gpio ${name}`, `BCM${spec.pin}: output, ${state}`));
      } catch (err) {
        results.push(fail(`gpio ${name}`, `BCM${spec.pin}: ${(err as Error).message}`, WIRING_FIX));
      }
    }
    const opened: { name: (typeof INPUTS)[number]; read: () => boolean }[] = [];
    for (const name of INPUTS) {
      const spec = cfg[name];
      try {
        const line = backend.input(name, spec);
        opened.push({ name, read: () => line.active });
      } catch (err) {
        results.push(fail(`gpio ${name}`, `BCM${spec.pin}: ${(err as Error).message}`, WIRING_FIX));
      }
    }
    await delay(2 * Math.max(0, ...INPUTS.map((n) => cfg[n].debounceMs)) + 20);
    for (const { name, read } of opened) results.push(judgeInput(name, cfg[name].pin, read()));
  } finally {
    backend.close();
  }
  return results;
}
