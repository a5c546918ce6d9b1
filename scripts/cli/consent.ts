import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, residentAction, resolveTarget, type Verb, verbCommand } from './admin-client';

export const summary = 'record or withdraw consent to face recognition (withdrawal deletes the template and prints the signed receipt)';

const verbs: Record<string, Verb> = {
  async grant(args, io) {
    const usage = `postern consent grant RESIDENT_ID --notice VERSION [--guardian REF] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, notice: { type: 'string' }, guardian: { type: 'string' } }, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    if (values.notice === undefined) throw new CliError(`--notice is required: the version of the privacy notice the person was shown\nusage: ${usage}`, EXIT.usage);
    const body = values.guardian === undefined ? { noticeVersion: values.notice, consentedBy: 'self' } : { noticeVersion: values.notice, consentedBy: 'guardian', guardianRef: values.guardian };
    printJson(io.out, await adminCall(resolveTarget(values, io.env), 'POST', `/residents/${encodeURIComponent(id!)}/consent`, body));
    return EXIT.ok;
  },
  withdraw: residentAction('postern consent withdraw', 'consent/withdraw'),
};

export const run = verbCommand('consent', verbs);
