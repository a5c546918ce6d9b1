import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CloudLink, type CloudLinkDeps } from './link';

export interface StartCloudOptions extends Omit<CloudLinkDeps, 'identity' | 'now'> {
  /** The config file (LoadedConfig.source, or `defaults`): relative passwordFile / caFile paths are resolved against its folder. */
  configSource: string;
  site: string;
  gate: string;
}

/** The daemon's one call: no broker url, no cloud (the gate is whole without it); otherwise a running link. */
export function startCloud(o: StartCloudOptions): CloudLink | null {
  if (!o.config.url) {
    o.health.set('cloud', 'disabled', 'no broker configured');
    return null;
  }
  const base = o.configSource === 'defaults' ? process.cwd() : dirname(o.configSource);
  const path = (p: string) => (p === '' || isAbsolute(p) ? p : resolve(base, p));
  const { configSource: _source, site, gate, ...deps } = o;
  const link = new CloudLink({
    ...deps,
    config: { ...o.config, passwordFile: path(o.config.passwordFile), caFile: path(o.config.caFile) },
    identity: { site, gate },
    dataDir: join(o.dataDir, 'cloud'),
  });
  link.start();
  return link;
}
