import { adminCall, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, resolveTarget, runCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = "the gate's door, method health, store counts and public key";

export function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(io, async () => {
    const usage = `postern status ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, CONNECTION_OPTIONS, usage);
    positionals(rest, [], usage);
    printJson(io.out, await adminCall(resolveTarget(values, io.env), 'GET', '/status'));
    return EXIT.ok;
  });
}
