import { existsSync } from 'node:fs';
import { verifyAuditDir, type AuditVerification } from '../../firmware/audit/verify';
import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, resolveTarget, type Verb, verbCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = 'verify the hash-chained audit log (on the gate, or offline with --dir)';

function report(io: CliIo, v: AuditVerification): number {
  if (v.ok) {
    io.out(`audit log OK: ${v.entries} entries in ${v.segments} segment(s), head ${v.head}`);
    return EXIT.ok;
  }
  io.out(`audit log FAILED verification (${v.problems.length} problem(s)):`);
  for (const p of v.problems) io.out(`  - ${p}`);
  return EXIT.refused;
}

const verbs: Record<string, Verb> = {
  async verify(args, io) {
    const usage = `postern audit verify [--dir AUDIT_DIR | ${CONNECTION_HELP}]`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, dir: { type: 'string' } }, usage);
    positionals(rest, [], usage);
    if (values.dir !== undefined) {
      if (!existsSync(values.dir)) throw new CliError(`--dir ${values.dir} does not exist`, EXIT.usage);
      const v = verifyAuditDir(values.dir);
      if (v.segments === 0) throw new CliError(`--dir ${values.dir} holds no audit segments (audit-NNNNNN.jsonl)`, EXIT.usage);
      return report(io, v);
    }
    return report(io, await adminCall(resolveTarget(values, io.env), 'GET', '/audit/verify'));
  },
};

export const run = verbCommand('audit', verbs);
