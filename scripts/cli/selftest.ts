import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../firmware/config/load';
import { fail, formatTable, runChecks } from '../../firmware/selftest/check';
import { selftestChecks } from '../../firmware/selftest/suite';
import { EXIT, INSTALLED_CONFIG, parseCommandArgs, positionals, runCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = 'check the reader, GPIO lines, models, broker and clock; prints a table, exits 1 on any failure';

export function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(io, async () => {
    const usage = 'postern selftest [--config FILE] [--json]';
    const { values, positionals: rest } = parseCommandArgs(args, { config: { type: 'string' }, json: { type: 'boolean' } }, usage);
    positionals(rest, [], usage);
    const configPath = values.config ?? io.env.POSTERN_CONFIG ?? (existsSync(INSTALLED_CONFIG) ? INSTALLED_CONFIG : undefined);
    let results;
    try {
      results = await runChecks(await selftestChecks(loadConfig(configPath)));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      results = [fail('config', `${err.source}: ${err.problems.join('; ')}`, `fix the file (docs/INSTALL.md), then run postern selftest --config ${err.source}`)];
    }
    io.out(values.json ? JSON.stringify(results) : formatTable(results));
    const CHECK_FAILED = 1;
    return results.every((r) => r.ok) ? EXIT.ok : CHECK_FAILED;
  });
}
