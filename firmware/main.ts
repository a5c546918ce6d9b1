import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG, loadConfig, type LoadedConfig } from './config/load';
import { formatBanner, startGate, type GateRuntime } from './daemon';
import type { DoorController } from './door/controller';
import { createLogger } from './log';
import { notificationsSettled } from './watchdog/notifier';

const EXIT_SOFTWARE = 70;

function parseCommandLine(): { configPath?: string } {
  try {
    const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, strict: true });
    // POSTERN_CONFIG is what the CLI reads too, so one variable points both at the same gate.
    const configPath = values.config ?? (process.env.POSTERN_CONFIG || undefined);
    return configPath === undefined ? {} : { configPath };
  } catch (err) {
    process.stderr.write(`postern: ${(err as Error).message}\nusage: postern-gate [--config PATH] (or POSTERN_CONFIG=PATH)\n`);
    process.exit(64);
  }
}

async function main(): Promise<void> {
  const { configPath } = parseCommandLine();
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(configPath);
  } catch (err) {
    // Nothing has been opened yet: a bad config never touches the relay or any other output.
    if (err instanceof ConfigError) {
      process.stderr.write(`postern: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }

  const log = createLogger();
  let door: DoorController | undefined;
  let runtime: GateRuntime | undefined;
  const lockNow = () => {
    try {
      door?.forceLock();
    } catch {
      /* the relay line itself failed; nothing more can be done from here */
    }
  };
  // Every way out of the process locks the door first (red line 7). SIGKILL cannot be caught: the next
  // start locks the relay before anything else.
  process.on('exit', lockNow);
  const fatal = (kind: string) => (err: unknown) => {
    lockNow();
    log.fatal({ err, kind }, 'fatal error: relay locked, exiting');
    process.exit(EXIT_SOFTWARE);
  };
  process.on('uncaughtException', fatal('uncaughtException'));
  process.on('unhandledRejection', fatal('unhandledRejection'));
  const shutdown = (signal: string) => {
    lockNow();
    log.info({ signal }, 'shutting down');
    const done = runtime ? runtime.stop(signal) : Promise.resolve();
    // A stuck module must not keep the process (and systemd) waiting forever.
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    // STOPPING=1 goes out through a child process: exiting first would let systemd kill it undelivered.
    void done.then(notificationsSettled).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    runtime = await startGate(loaded, { log, onDoor: (d) => (door = d) });
  } catch (err) {
    lockNow();
    process.stderr.write(`postern: cannot start: ${(err as Error).message}\n`);
    log.fatal({ err }, 'start failed');
    process.exit(1);
  }
  process.stderr.write(`${formatBanner(runtime)}\n`);
  log.info({ benchPort: runtime.benchPort, mode: runtime.mode }, 'gate ready');
}

void main();
