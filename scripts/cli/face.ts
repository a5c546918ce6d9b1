import { adminCall, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, pickVerb, positionals, printJson, resolveTarget, runCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = "delete a resident's face template (prints the signed deletion receipt)";

const verbs: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  async delete(args, io) {
    const usage = `postern face delete RESIDENT_ID ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, CONNECTION_OPTIONS, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    printJson(io.out, await adminCall(resolveTarget(values, io.env), 'POST', `/residents/${encodeURIComponent(id!)}/face/delete`, {}));
    return EXIT.ok;
  },
};

export function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(io, async () => {
    const { verb, rest } = pickVerb(args, verbs, 'face');
    return verb(rest, io);
  });
}
