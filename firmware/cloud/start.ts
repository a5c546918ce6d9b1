import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import type { Logger } from '../log';
import type { CloudConfig } from './config';
import { CloudLink } from './link';
import type { CommandTargets } from './targets';

export interface StartCloudOptions {
  config: CloudConfig;
  /** The config file (LoadedConfig.source, or `defaults`): relative passwordFile / caFile paths are resolved against its folder. */
  configSource: string;
  site: string;
  gate: string;
  dataDir: string;
  bus: EventBus;
  health: MethodHealth;
  logger: Logger;
  gateSigningKey: Uint8Array;
  targets: CommandTargets;
}

/** The daemon's one call: no broker url, no cloud (the gate is whole without it); otherwise a running link. */
export function startCloud(o: StartCloudOptions): CloudLink | null {
  if (!o.config.url) {
    o.health.set('cloud', 'disabled', 'no broker configured');
    return null;
  }
  const base = o.configSource === 'defaults' ? process.cwd() : dirname(o.configSource);
  const path = (p: string) => (p === '' || isAbsolute(p) ? p : resolve(base, p));
  const link = new CloudLink({
    config: { ...o.config, passwordFile: path(o.config.passwordFile), caFile: path(o.config.caFile) },
    identity: { site: o.site, gate: o.gate },
    dataDir: join(o.dataDir, 'cloud'),
    bus: o.bus,
    health: o.health,
    logger: o.logger,
    gateSigningKey: o.gateSigningKey,
    targets: o.targets,
  });
  link.start();
  return link;
}
