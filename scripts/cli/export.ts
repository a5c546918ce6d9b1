import { writeFileSync } from 'node:fs';
import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, resolveTarget, runCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = 'subject access: everything the gate holds about one resident, as JSON (no template bytes)';

export function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(io, async () => {
    const usage = `postern export RESIDENT_ID [--out FILE] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, out: { type: 'string' } }, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    const data = await adminCall(resolveTarget(values, io.env), 'GET', `/residents/${encodeURIComponent(id!)}/export`);
    if (values.out === undefined) printJson(io.out, data);
    else {
      try {
        writeFileSync(values.out, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        throw new CliError(`cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it already exists' : (err as Error).message}`, EXIT.refused);
      }
      io.err(`written to ${values.out}`);
    }
    return EXIT.ok;
  });
}
