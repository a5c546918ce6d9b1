import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from '../../models/fetch';
import type { z } from 'zod';
import { configSchema, type GateConfig } from './schema';

/** Exit status for a configuration error (sysexits EX_CONFIG), so systemd and installers can tell it apart. */
export const EXIT_CONFIG = 78;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: GateConfig;
  /** The file it came from, or `defaults` when none was given. */
  source: string;
  dataDir: string;
  keysDir: string;
  adminSocket: string;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string[] {
  const key = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${issue.path.length ? `${key}.` : ''}${k}: is not a known setting (check the spelling)`);
  }
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return [`${key} = ${shown}: ${issue.message}`];
}

/** Validates an already-parsed config object. Throws ConfigError listing every problem at once. */
export function parseConfig(raw: unknown, source = 'defaults'): GateConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(source, result.error.issues.flatMap((i) => describeIssue(raw, i)));
  return result.data;
}

/**
 * Where a gate keeps its store and keys when the config names no `dataDir`: one fixed folder in the
 * checkout, whatever the working directory or the config file's folder, so that a second start (or
 * `--config` with another file) finds the same residents and keys, and the CLI finds the same gate.
 * Installed gates always name theirs (/var/lib/postern).
 */
export function defaultDataDir(): string {
  return join(projectRoot(__dirname), SIM_DATA_DIR);
}

export const SIM_DATA_DIR = '.postern-sim';

/** Reads and validates the config file (JSON), or the sim defaults when `path` is undefined. */
export function loadConfig(path?: string): LoadedConfig {
  let raw: unknown = {};
  let base = process.cwd();
  if (path !== undefined) {
    const file = resolve(path);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
    }
    base = dirname(file);
  }
  const config = parseConfig(raw, path === undefined ? 'defaults' : resolve(path));
  const dataDir = config.dataDir === undefined ? defaultDataDir() : resolve(base, config.dataDir);
  const keysDir = config.keysDir ? resolve(base, config.keysDir) : resolve(dataDir, 'keys');
  const adminSocket = isAbsolute(config.admin.socket) ? config.admin.socket : resolve(dataDir, config.admin.socket);
  return { config, source: path === undefined ? 'defaults' : resolve(path), dataDir, keysDir, adminSocket };
}
