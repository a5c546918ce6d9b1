import { readIssuerKey, writeNewKey } from './issuer-key';
import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, resolveTarget, type Verb, verbCommand } from './admin-client';

export const summary = 'enrol a card by tapping it or by UID (hashed at the gate, never stored); issue or rekey secure cards';

const ISSUE_OPTIONS = { ...CONNECTION_OPTIONS, 'issuer-key': { type: 'string' }, timeout: { type: 'string' } } as const;

function seconds(value: string | undefined): number {
  const s = value === undefined ? 30 : Number(value);
  if (!Number.isInteger(s) || s < 1 || s > 120) throw new CliError(`--timeout "${value}" must be a whole number of seconds from 1 to 120`, EXIT.usage);
  return s;
}

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
  /**
   * The gate (or enrolment reader) issues the next card tapped: the issuer master is read from its file here,
   * sent over the admin socket for that one card, and never stored by the gate.
   */
  async issue(args, io) {
    const usage = `postern card issue RESIDENT_ID --card desfire|ntag424 --issuer-key FILE [--random-uid] [--timeout SECONDS] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...ISSUE_OPTIONS, card: { type: 'string' }, 'random-uid': { type: 'boolean' } }, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    if (values.card !== 'desfire' && values.card !== 'ntag424') throw new CliError(`--card must be desfire or ntag424\nusage: ${usage}`, EXIT.usage);
    if (values['issuer-key'] === undefined) throw new CliError(`--issuer-key is required (the issuer master, 16 bytes, in a 0600 file)\nusage: ${usage}`, EXIT.usage);
    const wait = seconds(values.timeout);
    const issuerKey = readIssuerKey(values['issuer-key']);
    const target = resolveTarget(values, io.env);
    const path = `/residents/${encodeURIComponent(id!)}/cards/issue`;
    const body = { card: values.card, issuerKey, randomUid: values['random-uid'] === true, timeoutMs: wait * 1000 };
    await adminCall(target, 'POST', path, { ...body, check: true });
    io.err(`Hold the blank ${values.card === 'desfire' ? 'DESFire' : 'NTAG 424 DNA'} card to the reader, and keep it there until this prints (waiting up to ${wait} s)...`);
    printJson(io.out, await adminCall(target, 'POST', path, body, (wait + 10) * 1000));
    return EXIT.ok;
  },
  async 'new-key'(args, io) {
    const usage = 'postern card new-key FILE   (a new AES-128 key, 0600: an issuer master, or a site\'s card-master-v<N>.key)';
    const { positionals: rest } = parseCommandArgs(args, {}, usage);
    const [file] = positionals(rest, ['FILE'], usage);
    io.err(`wrote ${writeNewKey(file!)} (0600); keep issuer masters off the gates`);
    return EXIT.ok;
  },
  async rekey(args, io) {
    const usage = `postern card rekey --issuer-key FILE [--timeout SECONDS] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, ISSUE_OPTIONS, usage);
    positionals(rest, [], usage);
    if (values['issuer-key'] === undefined) throw new CliError(`--issuer-key is required\nusage: ${usage}`, EXIT.usage);
    const wait = seconds(values.timeout);
    const body = { issuerKey: readIssuerKey(values['issuer-key']), timeoutMs: wait * 1000 };
    const target = resolveTarget(values, io.env);
    await adminCall(target, 'POST', '/cards/rekey', { ...body, check: true });
    io.err(`Hold the card to the reader, and keep it there until this prints (waiting up to ${wait} s)...`);
    printJson(io.out, await adminCall(target, 'POST', '/cards/rekey', body, (wait + 10) * 1000));
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
