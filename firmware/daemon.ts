import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { probeHardware, resolveHardwareMode } from '../drivers/detect';
import { openGateGpio, type GateGpio } from '../drivers/gpio';
import { benchSurfaces, BenchServer } from './bench/server';
import { startPrivacyCore } from './admin/start';
import { registerCardIssuing } from './cards/issue-routes';
import { startCardReader, type StartedCardReader } from './cards/start';
import { startCloud } from './cloud/start';
import type { LoadedConfig } from './config/load';
import type { GateConfig } from './config/schema';
import { doorOnGpio, relayActiveFor, type DoorController } from './door/controller';
import { EventBus } from './events/bus';
import { MethodHealth } from './health';
import { loadGateKeys, type GateKeys } from './keys/key-files';
import { createLogger, type Logger } from './log';
import { StateRegistry } from './state';
import { startFaceRecognition } from './vision/start';
import { startWatchdog } from './watchdog/watchdog';

export interface DeviceLine {
  device: string;
  real: boolean;
  detail: string;
}

export interface GateRuntime {
  loaded: LoadedConfig;
  config: GateConfig;
  mode: 'sim' | 'pi';
  log: Logger;
  bus: EventBus;
  health: MethodHealth;
  state: StateRegistry;
  gpio: GateGpio;
  door: DoorController;
  keys: GateKeys;
  /** The card reader: `cards.reader.onCard` / `nextTap` for access and enrolment. */
  cards: StartedCardReader;
  bench: BenchServer | null;
  benchPort: number | null;
  /** What the start banner lists: which devices are real and which simulated. */
  devices: DeviceLine[];
  /** Whether this start created the data directory's keys, i.e. began an empty gate. */
  freshDataDir: boolean;
  storeCounts: () => { residents: number; cards: number; templates: number };
  stop(reason: string): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Called as soon as the door exists, so the process's exit handlers can lock it even if start fails later. */
  onDoor?: (door: DoorController) => void;
}

/**
 * The composition root: builds every part of the gate in dependency order and returns a handle that
 * stops them in reverse. The relay is locked before anything else is touched.
 */
export async function startGate(loaded: LoadedConfig, options: StartOptions = {}): Promise<GateRuntime> {
  const { config } = loaded;
  const mode = resolveHardwareMode(config.hardware, probeHardware());
  mkdirSync(loaded.dataDir, { recursive: true, mode: 0o750 });

  const gpio = openGateGpio(config.gpio, mode, relayActiveFor('locked', config.door.lockType), join(loaded.dataDir, 'sim-gpio.json'));
  const log = options.log ?? createLogger();
  const bus = new EventBus();
  const door = doorOnGpio(gpio, config.door, bus);
  options.onDoor?.(door);
  // Pings start now, before the slow modules (models), so a long start is not mistaken for a hang.
  const watchdog = startWatchdog({ env: process.env, log });

  const stack: { name: string; stop: () => Promise<void> | void }[] = [];
  const onStop = (name: string, stop: () => Promise<void> | void) => stack.push({ name, stop });
  onStop('gpio', () => gpio.backend.close());
  onStop('door', () => door.stop());

  const health = new MethodHealth();
  health.set('exit', 'ok');
  const state = new StateRegistry();
  state.provide('gate', () => ({ site: config.gate.site, id: config.gate.id, hardware: mode }));
  state.provide('door', () => {
    const { relay, contact, mode: doorMode } = door.snapshot();
    return { relay, contact, mode: doorMode };
  });
  state.provide('alarms', () => door.snapshot().alarms);
  state.provide('methods', () => health.snapshot());
  state.provide('leds', () => ({ ledGreen: gpio.ledGreen.active, ledRed: gpio.ledRed.active, buzzer: gpio.buzzer.active }));
  bus.subscribe((e) => log.info({ event: e }, e.type));
  health.onChange((method, status, reason) => bus.emit({ type: 'method.health', reason: reason || status, data: { method, status } }));

  const devices: DeviceLine[] = [{ device: 'gpio', real: gpio.sim === null, detail: gpio.description }];
  const freshDataDir = !existsSync(loaded.keysDir);
  const keys = loadGateKeys(loaded.keysDir, mode === 'sim');

  const surfaces = benchSurfaces(config.bench.enabled, mode);
  const debounceMs = { exit: config.gpio.exit.debounceMs, contact: config.gpio.contact.debounceMs, tamper: config.gpio.tamper.debounceMs };
  const bench = surfaces.serve ? new BenchServer({ port: config.bench.port, bus, state, simGpio: gpio.sim, debounceMs, log }) : null;

  // --- Feature modules, in start order. Each registers its own stop with onStop. ---

  // Card reader: the PN532 on I2C, or its emulator in sim mode behind POST /api/sim/nfc.
  const cards = await startCardReader({ config: config.cards, mode, gpio: gpio.backend, bus, log, health, siteKey: keys.siteKey, bench, keysDir: loaded.keysDir, site: config.gate.site });
  devices.push({ device: 'nfc', real: cards.emulator === null, detail: cards.description });

  // Store, access decisions, consent, audit log and admin API: cards open the door through it.
  const privacy = await startPrivacyCore({ access: config.access, consent: config.consent, audit: config.audit, dataDir: loaded.dataDir, adminSocket: loaded.adminSocket, keys, bus, door, health, log, gate: { site: config.gate.site, id: config.gate.id }, nextTap: (ms) => cards.reader.nextTap(ms) });
  onStop('privacy', () => privacy.stop());
  // Registered after the privacy core so that it stops first: a tap during shutdown must not reach a closing store.
  onStop('cards', () => cards.stop());
  cards.reader.onCard((cardHash, proof, failure) => privacy.access.presentCard(cardHash, proof, failure));
  // Issuing and rekeying secure cards: the issuer master comes with each request and is never kept.
  registerCardIssuing(privacy.admin, { reader: cards.reader, keys: cards.issuingKeys, registry: privacy.registry, store: privacy.store, bus });
  if (surfaces.admin) bench?.mount('/api/admin/', privacy.admin.handle);
  // Cloud link: only with a broker url; events from before it started still go out (bus.since).
  const cloudTargets = { door, status: () => state.snapshot(), credentials: privacy.credentials, revokeResident: (id: string) => privacy.registry.revoke(id).receipt, withdrawConsent: (id: string) => privacy.ledger.withdraw(id) };
  const cloud = startCloud({ config: config.cloud, configSource: loaded.source, site: config.gate.site, gate: config.gate.id, dataDir: loaded.dataDir, bus, health, logger: log, gateSigningKey: keys.signingSecretKey, targets: cloudTargets });
  if (cloud) onStop('cloud', () => cloud.stop());
  // `postern status`: what the cloud link still has to send.
  privacy.admin.route('GET', '/cloud', () => ({ link: health.get('cloud') ?? 'disabled', outboxDepth: cloud?.pendingEvents ?? 0 }));
  // Face recognition: only when access.methods allows face; models load in the background, cards never wait.
  const face = startFaceRecognition({ config: config.face, enabled: config.access.methods.includes('face'), mode, store: privacy.store, presentFace: (m) => privacy.access.presentFace(m), enrolTemplate: (id, e) => privacy.ledger.enrolTemplate(id, e), admin: privacy.admin, bench, bus, health, log });
  if (face) {
    onStop('face', () => face.stop());
    devices.push({ device: 'camera', real: face.realCamera, detail: face.description });
  }

  // --- End of feature modules. ---

  let benchPort: number | null = null;
  if (bench) {
    benchPort = await bench.start();
    onStop('bench', () => bench.stop());
  }

  let stopping: Promise<void> | undefined;
  const runtime: GateRuntime = {
    loaded,
    config,
    mode,
    log,
    bus,
    health,
    state,
    gpio,
    door,
    keys,
    cards,
    bench,
    benchPort,
    devices,
    freshDataDir,
    storeCounts: () => privacy.store.counts(),
    stop(reason: string) {
      stopping ??= (async () => {
        door.forceLock();
        watchdog.stopping();
        bus.emit({ type: 'gate.stopping', reason });
        for (const part of stack.reverse()) {
          try {
            await part.stop();
          } catch (err) {
            log.error({ err, part: part.name }, 'stopping a part failed');
          }
        }
        door.forceLock();
      })();
      return stopping;
    },
  };
  watchdog.ready();
  bus.emit({ type: 'gate.started', reason: mode, data: { benchPort } });
  return runtime;
}

function dataDirOrigin(rt: GateRuntime): string {
  const named = rt.config.dataDir;
  if (named === undefined) return "this checkout's default";
  return isAbsolute(named) ? 'dataDir in the config' : `dataDir "${named}", relative to the config file's folder`;
}

/** A start on an empty folder says so loudly: a mistyped --config must not pass for the gate it meant. */
function storeLine(rt: GateRuntime): string {
  const c = rt.storeCounts();
  const counts = `${c.residents} residents, ${c.cards} cards, ${c.templates} face templates`;
  return rt.freshDataDir ? `NEW — empty store and new gate keys created (${counts})` : counts;
}

export function formatBanner(rt: GateRuntime): string {
  const lines = [
    `Postern gate ${rt.config.gate.site}/${rt.config.gate.id} — ${rt.mode === 'sim' ? 'SIMULATED hardware' : 'Raspberry Pi hardware'}`,
    `  config: ${rt.loaded.source}`,
    `  data:   ${rt.loaded.dataDir} (${dataDirOrigin(rt)})`,
    `  store:  ${storeLine(rt)}`,
    ...rt.devices.map((d) => `  ${d.device.padEnd(7)} ${d.real ? 'real     ' : 'simulated'}  ${d.detail}`),
    `  door:   ${rt.door.snapshot().relay} (${rt.config.door.lockType}, pulse ${rt.config.door.pulseMs} ms)`,
    rt.benchPort !== null ? `  bench:  http://127.0.0.1:${rt.benchPort}/` : '  bench:  off',
  ];
  return lines.join('\n');
}
