import { setTimeout as delay } from 'node:timers/promises';
import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, resolveTarget, runCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = 'print recent gate events as JSON lines; --follow keeps printing new ones';

export function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(io, async () => {
    const usage = `postern events [--since SEQ] [--follow] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, since: { type: 'string' }, follow: { type: 'boolean' } }, usage);
    positionals(rest, [], usage);
    let since = values.since === undefined ? 0 : Number(values.since);
    if (!Number.isInteger(since) || since < 0) throw new CliError(`--since "${values.since}" must be a whole number ≥ 0`, EXIT.usage);
    const target = resolveTarget(values, io.env);
    for (;;) {
      const { events } = await adminCall(target, 'GET', `/events?since=${since}`);
      for (const e of events as { seq: number }[]) {
        io.out(JSON.stringify(e));
        since = e.seq;
      }
      if (!values.follow) return EXIT.ok;
      await delay(500);
    }
  });
}
