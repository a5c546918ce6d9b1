import { parseConfig } from '../../firmware/config/load';
import { KEYS_DIR } from './keys';

export const CONFIG_PATH = '/etc/postern/config.json';
export const DATA_DIR = '/var/lib/postern';
export const PASSWORD_PATH = '/etc/postern/mqtt-password';
export const CA_PATH = '/etc/postern/mqtt-ca.pem';

export interface GateSettings {
  site: string;
  gate: string;
  hardware: 'pi' | 'sim' | 'auto';
  /** Empty: the gate runs without a cloud link. */
  brokerUrl: string;
  brokerUsername: string;
  hasPassword: boolean;
  hasCa: boolean;
  operatorKeys: string[];
  /** cloud.siteRoot / cloud.siteRecovery; undefined keeps what the file holds. */
  siteRoot?: string;
  siteRecovery?: string;
}

type Json = Record<string, unknown>;
const section = (obj: Json, key: string): Json => {
  const v = obj[key];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Json) } : {};
};

/**
 * The config the installer writes: what it knows (ids, paths, broker) laid over whatever the file
 * already holds, so settings an operator tuned by hand (door timings, GPIO pins) survive a re-run.
 * Validated with the daemon's own schema, so a file the daemon would refuse is never written.
 */
export function buildConfig(existing: Json, s: GateSettings): Json {
  const config: Json = { ...existing };
  config.gate = { ...section(existing, 'gate'), site: s.site, id: s.gate };
  config.hardware = s.hardware;
  config.dataDir = DATA_DIR;
  config.keysDir = KEYS_DIR;
  const cloud = section(existing, 'cloud');
  cloud.url = s.brokerUrl;
  cloud.username = s.brokerUsername;
  cloud.passwordFile = s.hasPassword ? PASSWORD_PATH : '';
  cloud.caFile = s.hasCa ? CA_PATH : '';
  const keys = Array.isArray(cloud.operatorKeys) ? (cloud.operatorKeys as unknown[]).map(String) : [];
  cloud.operatorKeys = [...new Set([...keys, ...s.operatorKeys])];
  if (s.siteRoot !== undefined) cloud.siteRoot = s.siteRoot;
  if (s.siteRecovery !== undefined) cloud.siteRecovery = s.siteRecovery;
  config.cloud = cloud;
  parseConfig(config, CONFIG_PATH);
  return config;
}

export function existingSettings(existing: Json): Partial<GateSettings> {
  const gate = section(existing, 'gate');
  const cloud = section(existing, 'cloud');
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const hw = str(existing.hardware);
  return {
    ...(str(gate.site) !== undefined && { site: str(gate.site)! }),
    ...(str(gate.id) !== undefined && { gate: str(gate.id)! }),
    ...((hw === 'pi' || hw === 'sim' || hw === 'auto') && { hardware: hw }),
    ...(str(cloud.url) !== undefined && { brokerUrl: str(cloud.url)! }),
    ...(str(cloud.username) !== undefined && { brokerUsername: str(cloud.username)! }),
  };
}
