import type { GateConfig } from '../../firmware/config/schema';
import { SimGpioBackend } from './sim-backend';
import { SysfsGpioBackend } from './sysfs-backend';
import { readGpioChips } from './sysfs-numbering';
import type { DigitalInput, DigitalOutput, GpioBackend } from './types';

export interface GateGpio {
  backend: GpioBackend;
  /** The simulator, when `backend` is one, for the bench to drive inputs. */
  sim: SimGpioBackend | null;
  description: string;
  relay: DigitalOutput;
  ledGreen: DigitalOutput;
  ledRed: DigitalOutput;
  buzzer: DigitalOutput;
  contact: DigitalInput;
  exit: DigitalInput;
  tamper: DigitalInput;
}

/**
 * Opens every line the gate uses. The relay comes first and is exported already at `relayLockedLevel`,
 * so the door is locked before any other line is touched (red line 7).
 */
export function openGateGpio(cfg: GateConfig['gpio'], mode: 'sim' | 'pi', relayLockedLevel: boolean, simLevelsFile?: string): GateGpio {
  let backend: GpioBackend;
  let sim: SimGpioBackend | null = null;
  let description: string;
  if (mode === 'sim') {
    sim = new SimGpioBackend(simLevelsFile);
    backend = sim;
    description = 'simulated';
  } else {
    const real = new SysfsGpioBackend(readGpioChips(cfg.sysfsRoot), cfg.chip);
    backend = real;
    description = `real (${real.describe()})`;
  }
  const relay = backend.output('relay', { ...cfg.relay, initial: relayLockedLevel });
  const out = (name: 'ledGreen' | 'ledRed' | 'buzzer') => backend.output(name, { ...cfg[name], initial: false });
  return {
    backend,
    sim,
    description,
    relay,
    ledGreen: out('ledGreen'),
    ledRed: out('ledRed'),
    buzzer: out('buzzer'),
    contact: backend.input('contact', cfg.contact),
    exit: backend.input('exit', cfg.exit),
    tamper: backend.input('tamper', cfg.tamper),
  };
}
