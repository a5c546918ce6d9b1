import { readFileSync } from 'node:fs';
import { verifyReceipt } from '../../firmware/consent/receipt';
import { CliError, EXIT, parseCommandArgs, positionals, type Verb, verbCommand } from './admin-client';

export const summary = 'verify a deletion receipt offline (optionally against the gate public key from `postern status`)';

const verbs: Record<string, Verb> = {
  async verify(args, io) {
    const usage = 'postern receipt verify FILE [--gate-key BASE64]';
    const { values, positionals: rest } = parseCommandArgs(args, { 'gate-key': { type: 'string' } }, usage);
    const [file] = positionals(rest, ['FILE'], usage);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file!, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read ${file} as JSON: ${(err as Error).message}`, EXIT.usage);
    }
    // Accept the receipt itself or an API answer that wraps it ({ "receipt": ... }).
    const candidate = parsed && typeof parsed === 'object' && 'receipt' in parsed ? (parsed as { receipt: unknown }).receipt : parsed;
    // A withdrawal or revocation of a resident who had no face template deletes nothing, so the gate signs nothing.
    if (candidate === null) throw new CliError(`${file} holds no receipt ("receipt": null): the resident had no face template, so nothing was deleted`, EXIT.refused);
    let trusted: Uint8Array | undefined;
    if (values['gate-key'] !== undefined) {
      trusted = new Uint8Array(Buffer.from(values['gate-key'], 'base64'));
      if (trusted.length !== 32) throw new CliError('--gate-key must be the base64 of a 32-byte Ed25519 public key', EXIT.usage);
    }
    const check = verifyReceipt(candidate, trusted);
    if (!check.valid) {
      io.out(`receipt INVALID: ${check.problem}`);
      return EXIT.refused;
    }
    const r = check.receipt;
    io.out(`receipt valid: ${r.what} of resident ${r.residentId} deleted at ${r.deletedAt} (${r.why}), signed by gate key ${r.gatePublicKey}${trusted ? ' (the trusted key)' : ''}`);
    return EXIT.ok;
  },
};

export const run = verbCommand('receipt', verbs);
