import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../firmware/config/load';
import { fail, formatTable, runChecks } from '../../firmware/selftest/check';
import { selftestChecks } from '../../firmware/selftest/suite';
import type { CliIo } from './registry';

export const summary = 'check the reader, GPIO lines, models, broker and clock; prints a table, exits 1 on any failure';

/** Where the installer puts the config; the default when --config is not given and that file exists. */
export const INSTALLED_CONFIG = '/etc/postern/config.json';

export function configPathFrom(args: string[], io: CliIo): string | undefined | null {
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, strict: true });
    return values.config ?? (existsSync(INSTALLED_CONFIG) ? INSTALLED_CONFIG : undefined);
  } catch (err) {
    io.err(`postern ${(err as Error).message}`);
    return null;
  }
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const configPath = configPathFrom(args, io);
  if (configPath === null) {
    io.err('usage: postern selftest [--config PATH] [--json]');
    return 64;
  }
  let results;
  try {
    results = await runChecks(await selftestChecks(loadConfig(configPath)));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    results = [fail('config', err.message, `fix the file (see docs/INSTALL.md), then run postern selftest --config ${err.source}`)];
  }
  if (args.includes('--json')) io.out(JSON.stringify(results));
  else io.out(formatTable(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
