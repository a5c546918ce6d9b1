import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, resolveTarget, type Verb, verbCommand } from './admin-client';

export const summary = 'enrol a card by tapping it on the reader, or add one by UID (hashed at the gate, never stored)';

const verbs: Record<string, Verb> = {
  async enrol(args, io) {
    const usage = `postern card enrol RESIDENT_ID [--timeout SECONDS] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, timeout: { type: 'string' } }, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    const seconds = values.timeout === undefined ? 30 : Number(values.timeout);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw new CliError(`--timeout "${values.timeout}" must be a whole number of seconds from 1 to 120`, EXIT.usage);
    const target = resolveTarget(values, io.env);
    const path = `/residents/${encodeURIComponent(id!)}/cards/tap`;
    await adminCall(target, 'POST', path, { check: true });
    io.err(`Hold the card to the reader (waiting up to ${seconds} s)...`);
    const answer = await adminCall(target, 'POST', path, { timeoutMs: seconds * 1000 }, (seconds + 5) * 1000);
    printJson(io.out, answer);
    return EXIT.ok;
  },
  async add(args, io) {
    const usage = `postern card add RESIDENT_ID --uid HEX ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, uid: { type: 'string' } }, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    if (values.uid === undefined) throw new CliError(`--uid is required\nusage: ${usage}`, EXIT.usage);
    printJson(io.out, await adminCall(resolveTarget(values, io.env), 'POST', `/residents/${encodeURIComponent(id!)}/cards`, { uid: values.uid }));
    return EXIT.ok;
  },
  async remove(args, io) {
    const usage = `postern card remove CARD_HASH ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, CONNECTION_OPTIONS, usage);
    const [hash] = positionals(rest, ['CARD_HASH'], usage);
    if (!/^[0-9a-f]{64}$/.test(hash!)) throw new CliError(`"${hash}" is not a card hash (64 lower-case hex characters, as "card add" printed)`, EXIT.usage);
    printJson(io.out, await adminCall(resolveTarget(values, io.env), 'POST', `/cards/${hash}/remove`, {}));
    return EXIT.ok;
  },
};

export const run = verbCommand('card', verbs);
