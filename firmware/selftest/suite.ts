import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { probeHardware, resolveHardwareMode } from '../../drivers/detect';
import { SysfsGpioBackend } from '../../drivers/gpio/sysfs-backend';
import { readGpioChips } from '../../drivers/gpio/sysfs-numbering';
import { openI2cBusTransport } from '../../drivers/nfc/i2c-bus-transport';
import { loadVerifiedModel, manifest } from '../../models/loader';
import type { LoadedConfig } from '../config/load';
import { relayActiveFor } from '../door/controller';
import { KEY_FILES, loadGateKeys } from '../keys/key-files';
import { initTfBackend } from '../vision/tf-backend';
import { cameraFor } from '../vision/start';
import { checkBroker, checkBrokerThroughRunningGate } from './broker';
import { checkCamera } from './camera';
import { fail, pass, skip, type NamedCheck } from './check';
import { checkClock } from './clock';
import { checkGpio } from './gpio';
import { checkModels } from './models';
import { checkPn532 } from './nfc';

/** A daemon that answers on the admin socket owns the bus and the lines; opening them again would fight it. */
export function daemonAnswers(socketPath: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect(socketPath);
    const done = (up: boolean) => {
      socket.destroy();
      resolveAnswer(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function ntpSynchronized(): string | null {
  const r = spawnSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : null;
}

/** Every check for this gate's config, hardware checks only on real hardware that the daemon is not using. */
export async function selftestChecks(loaded: LoadedConfig): Promise<NamedCheck[]> {
  const { config } = loaded;
  const mode = resolveHardwareMode(config.hardware, probeHardware());
  const running = await daemonAnswers(loaded.adminSocket);
  const hardwareSkip = mode === 'sim' ? 'hardware is simulated (hardware: sim, or not a Pi)' : running ? 'the gate is running and holds the device; stop it (systemctl stop postern) to test this' : null;
  const base = loaded.source === 'defaults' ? process.cwd() : dirname(loaded.source);
  const abs = (p: string) => (p === '' || isAbsolute(p) ? p : resolve(base, p));

  return [
    { name: 'config', timeoutMs: 1000, run: () => [pass('config', `${loaded.source}: valid, gate ${config.gate.site}/${config.gate.id}, ${mode} hardware`)] },
    {
      name: 'keys',
      timeoutMs: 2000,
      run: () => {
        if (mode === 'sim' && !existsSync(join(loaded.keysDir, KEY_FILES.gateSigning))) {
          return [skip('keys', `${loaded.keysDir}: none yet; in sim mode the gate creates them at its first start`)];
        }
        try {
          loadGateKeys(loaded.keysDir, false);
          return [pass('keys', `${loaded.keysDir}: signing, template and site keys readable, mode 0600`)];
        } catch (err) {
          return [fail('keys', (err as Error).message, 'run scripts/provision/provision.sh (it creates missing keys and fixes owners, and never replaces existing ones)')];
        }
      },
    },
    { name: 'clock', timeoutMs: 6000, run: () => checkClock(new Date(), ntpSynchronized()) },
    {
      name: 'nfc reader',
      timeoutMs: 5000,
      run: async () => (hardwareSkip ? [skip('nfc reader', hardwareSkip)] : [await checkPn532(await openI2cBusTransport(config.cards.i2cBus), config.cards.address, config.cards.i2cBus)]),
    },
    {
      name: 'gpio',
      timeoutMs: 5000,
      run: () =>
        hardwareSkip
          ? [skip('gpio', hardwareSkip)]
          : checkGpio(new SysfsGpioBackend(readGpioChips(config.gpio.sysfsRoot), config.gpio.chip), config.gpio, relayActiveFor('locked', config.door.lockType)),
    },
    {
      name: 'camera',
      timeoutMs: 15_000,
      run: async () => {
        if (!config.access.methods.includes('face')) return [skip('camera', 'face recognition is off (access.methods): no camera needed')];
        if (hardwareSkip) return [skip('camera', hardwareSkip)];
        return [await checkCamera(cameraFor(config.face, mode), 10_000)];
      },
    },
    {
      name: 'models',
      timeoutMs: 120_000,
      run: async () => {
        await initTfBackend();
        return checkModels(manifest.models, loadVerifiedModel);
      },
    },
    {
      name: 'broker',
      timeoutMs: 15_000,
      run: () =>
        running
          ? checkBrokerThroughRunningGate(config.cloud, loaded.adminSocket)
          : checkBroker({ cloud: { ...config.cloud, passwordFile: abs(config.cloud.passwordFile), caFile: abs(config.cloud.caFile) }, site: config.gate.site, gate: config.gate.id }),
    },
  ];
}
