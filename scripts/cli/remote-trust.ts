import { existsSync, writeFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { certificateBody, issueCertificate } from '../../firmware/cloud/certificates';
import { base64Key } from '../../firmware/cloud/config';
import { SCOPES, type Scope } from '../../firmware/cloud/scopes';
import { gateTopics } from '../../firmware/cloud/topics';
import { signRevocationList, signRootRotation } from '../../firmware/cloud/trust';
import { parseIsoTime } from '../../firmware/store/iso-time';
import { CliError, CliHelp, EXIT, parseCommandArgs, positionals, verbCommand, type Verb } from './admin-client';
import { publicKeyOf, readSecretKey, writeNewKey } from './operator-keys';
import { BROKER_HELP, BROKER_OPTIONS, connectBroker, discoverGates } from './remote-broker';
import type { CliIo } from './registry';
import { certificateStatus, loadSiteState, newSiteState, recordCertificate, saveSiteState, serialsAfterRevoking, type SiteState } from './site-state';

/**
 * `postern remote cert|root|recovery`: the site root and its operator certificates, the revocation list
 * and root rotation (docs/PROTOCOL.md §2a, §7a). Everything here can run on an offline machine; only
 * the verbs given --broker publish, and `cert publish` sends what was signed offline.
 */

const STATE = { state: { type: 'string' } } as const;
const PUBLISH = { ...BROKER_OPTIONS, gate: { type: 'string', multiple: true }, 'discover-ms': { type: 'string' } } as const satisfies ParseArgsConfig['options'];
const PUBLISH_HELP = `[${BROKER_HELP} [--gate G ...] [--discover-ms MS]]`;

/** A required option, or a usage error naming it. */
function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CliError(`--${name} is required\nusage: ${usage}`, EXIT.usage);
  return v;
}

function time(flag: string, text: string, dateOnly: 'start-of-day' | 'end-of-day'): number {
  const parsed = parseIsoTime(text, dateOnly);
  if ('error' in parsed) throw new CliError(`${flag} "${text}" ${parsed.error}`, EXIT.usage);
  return parsed.ms;
}

/** The secret key in `path`, which must be the one whose public key is `expected` (what the state file says is the current root). */
function rootKey(path: string, state: SiteState): Uint8Array {
  const secret = readSecretKey(path);
  if (publicKeyOf(secret) !== state.root) throw new CliError(`--root-key ${path} holds ${publicKeyOf(secret)}, but the current root of site ${state.site} is ${state.root}`, EXIT.refused);
  return secret;
}

export function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0) throw new CliError(`--scopes "${text}": ${unknown.length ? `unknown ${unknown.join(', ')}; ` : ''}use one or more of ${SCOPES.join(', ')}, separated by commas`, EXIT.usage);
  return scopes as Scope[];
}

export function parseGates(text: string): '*' | string[] {
  if (text.trim() === '*') return '*';
  const gates = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (gates.length === 0) throw new CliError(`--gates "${text}": give "*" for every gate of the site, or gate ids separated by commas`, EXIT.usage);
  return gates;
}

/** The signed revocation list and root rotation, retained on each gate's topics: named with --gate, or every gate the broker knows. */
async function publish(values: { gate?: string[] | undefined; 'discover-ms'?: string | undefined } & Parameters<typeof connectBroker>[0], state: SiteState, io: CliIo): Promise<void> {
  const { revocations, rotation } = state;
  if (!revocations.signed && !rotation.signed) throw new CliError(`nothing to publish for site ${state.site}: no revocation list or root rotation has been signed yet`, EXIT.refused);
  const waitMs = values['discover-ms'] === undefined ? 1500 : Number(values['discover-ms']);
  if (!(waitMs >= 0)) throw new CliError(`--discover-ms must be a number of milliseconds, got "${values['discover-ms']}"`, EXIT.usage);
  const client = await connectBroker(values);
  try {
    const gates = values.gate?.length ? values.gate : await discoverGates(client, state.site, waitMs);
    if (gates.length === 0) throw new CliError(`no gate of site ${state.site} found on the broker (each gate leaves a retained availability message once it has connected); name them with --gate`, EXIT.refused);
    for (const gate of gates) {
      const topics = gateTopics({ site: state.site, gate });
      // The rotation first: a gate must know the new root before it sees a list signed by it.
      if (rotation.signed) await client.publishAsync(topics.rootRotation, JSON.stringify(rotation.signed), { qos: 1, retain: true });
      if (revocations.signed) await client.publishAsync(topics.revocations, JSON.stringify(revocations.signed), { qos: 1, retain: true });
    }
    const what = [revocations.signed ? `revocation list v${revocations.version}` : '', rotation.signed ? `root rotation v${rotation.version}` : ''].filter(Boolean).join(' and ');
    io.out(`published ${what} (retained) to ${gates.length} gate(s) of ${state.site}: ${gates.join(', ')}`);
  } finally {
    await client.endAsync();
  }
}

/** Library errors (unreadable files, refused bodies) become CliErrors, so each verb ends with a message and an exit code. */
function guarded(verb: Verb): Verb {
  return async (args, io) => {
    try {
      return await verb(args, io);
    } catch (err) {
      if (err instanceof CliError || err instanceof CliHelp || !(err instanceof Error)) throw err;
      throw new CliError(err.message, EXIT.refused);
    }
  };
}

const certVerbs: Record<string, Verb> = {
  async issue(args, io) {
    const usage = 'postern remote cert issue --state FILE --root-key FILE --operator PUBKEY --scopes S[,S...] --gates "*"|G[,G...] --valid-until TIME [--valid-from TIME] [--label TEXT] --out FILE';
    const { values } = parseCommandArgs(args, { ...STATE, 'root-key': { type: 'string' }, operator: { type: 'string' }, scopes: { type: 'string' }, gates: { type: 'string' }, 'valid-from': { type: 'string' }, 'valid-until': { type: 'string' }, label: { type: 'string' }, out: { type: 'string' } }, usage);
    const statePath = required(values, 'state', usage);
    const out = required(values, 'out', usage);
    const operator = required(values, 'operator', usage);
    if (!base64Key.safeParse(operator).success) throw new CliError(`--operator "${operator}" is not an Ed25519 public key (44 characters of base64, as \`postern remote keygen\` prints)`, EXIT.usage);
    const scopes = parseScopes(required(values, 'scopes', usage));
    const gates = parseGates(required(values, 'gates', usage));
    const now = Date.now();
    const notBefore = values['valid-from'] === undefined ? now : time('--valid-from', values['valid-from'], 'start-of-day');
    const notAfter = time('--valid-until', required(values, 'valid-until', usage), 'end-of-day');
    if (existsSync(out)) throw new CliError(`${out} exists; refusing to overwrite a certificate`, EXIT.refused);
    const state = loadSiteState(statePath);
    const root = rootKey(required(values, 'root-key', usage), state);
    const serial = state.nextSerial;
    const cert = issueCertificate(root, { serial, site: state.site, gates, operatorKey: operator, scopes, notBefore, notAfter });
    // The serial is spent before the file is written, so a failure cannot hand the same serial out twice.
    saveSiteState(statePath, recordCertificate(state, certificateBody.parse(JSON.parse(cert.body)), now, values.label));
    writeFileSync(out, `${JSON.stringify(cert)}\n`, { mode: 0o644, flag: 'wx' });
    io.out(`certificate ${serial}: ${scopes.join(', ')} at ${gates === '*' ? `every gate of ${state.site}` : gates.join(', ')}, ${new Date(notBefore).toISOString()} to ${new Date(notAfter).toISOString()} → ${out}`);
    return EXIT.ok;
  },

  async list(args, io) {
    const usage = 'postern remote cert list --state FILE [--json]';
    const { values } = parseCommandArgs(args, { ...STATE, json: { type: 'boolean' } }, usage);
    const state = loadSiteState(required(values, 'state', usage));
    const now = Date.now();
    const rows = state.certificates.map((c) => ({ ...c, status: certificateStatus(state, c, now) }));
    if (values.json) {
      io.out(JSON.stringify({ site: state.site, root: state.root, revocationList: { version: state.revocations.version, serials: state.revocations.serials }, rootRotation: state.rotation.version, certificates: rows }, null, 2));
      return EXIT.ok;
    }
    io.out(`site ${state.site}, root ${state.root}; revocation list v${state.revocations.version} (${state.revocations.serials.length} revoked); root rotation v${state.rotation.version}`);
    for (const c of rows) {
      io.out(`${String(c.serial).padStart(5)}  ${c.status.padEnd(13)}  ${c.scopes.join(',').padEnd(24)}  ${(c.gates === '*' ? '*' : c.gates.join(',')).padEnd(16)}  ${c.notBefore} → ${c.notAfter}${c.label === undefined ? '' : `  ${c.label}`}`);
    }
    return EXIT.ok;
  },

  async revoke(args, io) {
    const usage = `postern remote cert revoke SERIAL --state FILE --root-key FILE ${PUBLISH_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...STATE, 'root-key': { type: 'string' }, ...PUBLISH }, usage);
    const [serialText] = positionals(rest, ['SERIAL'], usage);
    const serial = Number(serialText);
    if (!Number.isInteger(serial) || serial < 1) throw new CliError(`SERIAL must be a certificate serial (a whole number from 1), got "${serialText}"`, EXIT.usage);
    const statePath = required(values, 'state', usage);
    const state = loadSiteState(statePath);
    const root = rootKey(required(values, 'root-key', usage), state);
    const serials = serialsAfterRevoking(state, serial);
    const version = state.revocations.version + 1;
    const signed = signRevocationList(root, { site: state.site, version, issuedAt: Date.now(), serials });
    const next: SiteState = { ...state, revocations: { version, serials, signed } };
    saveSiteState(statePath, next);
    io.out(`certificate ${serial} revoked: revocation list v${version} (${serials.length} serial(s)) signed`);
    if (values.broker === undefined) io.out(`not published: run \`postern remote cert publish --state ${statePath} ${BROKER_HELP}\``);
    else await publish(values, next, io);
    return EXIT.ok;
  },

  async publish(args, io) {
    const usage = `postern remote cert publish --state FILE ${BROKER_HELP} [--gate G ...] [--discover-ms MS]`;
    const { values } = parseCommandArgs(args, { ...STATE, ...PUBLISH }, usage);
    const state = loadSiteState(required(values, 'state', usage));
    required(values, 'broker', usage);
    await publish(values, state, io);
    return EXIT.ok;
  },
};

const rootVerbs: Record<string, Verb> = {
  async keygen(args, io) {
    const usage = 'postern remote root keygen --out FILE --site SITE --state FILE';
    const { values } = parseCommandArgs(args, { ...STATE, out: { type: 'string' }, site: { type: 'string' } }, usage);
    const statePath = required(values, 'state', usage);
    const site = required(values, 'site', usage);
    if (existsSync(statePath)) throw new CliError(`${statePath} exists; refusing to start the records of a new root over it`, EXIT.refused);
    const state = newSiteState(site, publicKeyOf(writeNewKey(required(values, 'out', usage), 'a root key')));
    saveSiteState(statePath, state);
    io.out(state.root);
    io.err(`site root for ${site}: put the public key above in every gate's cloud.siteRoot (provisioning: --site-root FILE); records in ${statePath}`);
    return EXIT.ok;
  },

  async rotate(args, io) {
    const usage = `postern remote root rotate --state FILE --recovery-key FILE --new-root-out FILE --overlap-hours H ${PUBLISH_HELP}`;
    const { values } = parseCommandArgs(args, { ...STATE, 'recovery-key': { type: 'string' }, 'new-root-out': { type: 'string' }, 'overlap-hours': { type: 'string' }, ...PUBLISH }, usage);
    const statePath = required(values, 'state', usage);
    const hours = Number(required(values, 'overlap-hours', usage));
    if (!(hours >= 0 && hours <= 24 * 366)) throw new CliError(`--overlap-hours must be between 0 and 8784 (0 ends the old root's trust at once: use it when the old root key was stolen), got "${values['overlap-hours']}"`, EXIT.usage);
    const state = loadSiteState(statePath);
    const recovery = readSecretKey(required(values, 'recovery-key', usage));
    const now = Date.now();
    const newRoot = writeNewKey(required(values, 'new-root-out', usage), 'a root key');
    const rotation = { version: state.rotation.version + 1, signed: signRootRotation(recovery, { site: state.site, version: state.rotation.version + 1, issuedAt: now, newRoot: publicKeyOf(newRoot), previousRoot: state.root, overlapUntil: now + hours * 3_600_000 }) };
    // The list is signed again by the new root, so that it still counts at gates once the old root's overlap is over.
    const { version, serials } = state.revocations;
    const revocations = state.revocations.signed ? { version: version + 1, serials, signed: signRevocationList(newRoot, { site: state.site, version: version + 1, issuedAt: now, serials }) } : state.revocations;
    const next: SiteState = { ...state, root: publicKeyOf(newRoot), rotation, revocations };
    saveSiteState(statePath, next);
    io.out(`root of ${state.site} rotated to ${next.root} (rotation v${rotation.version}); the old root ${state.root} is trusted until ${new Date(now + hours * 3_600_000).toISOString()}: issue new certificates before then (\`cert list\` marks the old ones old-root)`);
    if (values.broker === undefined) io.out(`not published: run \`postern remote cert publish --state ${statePath} ${BROKER_HELP}\``);
    else await publish(values, next, io);
    return EXIT.ok;
  },
};

const recoveryVerbs: Record<string, Verb> = {
  async keygen(args, io) {
    const usage = 'postern remote recovery keygen --out FILE';
    const { values } = parseCommandArgs(args, { out: { type: 'string' } }, usage);
    io.out(publicKeyOf(writeNewKey(required(values, 'out', usage), 'a recovery key')));
    io.err("recovery key: put the public key above in every gate's cloud.siteRecovery (provisioning: --site-recovery FILE), then keep the key file offline; it alone can rotate the site root");
    return EXIT.ok;
  },
};

const guardAll = (verbs: Record<string, Verb>) => Object.fromEntries(Object.entries(verbs).map(([name, verb]) => [name, guarded(verb)]));

export const trustCommands: Record<string, Verb> = {
  cert: verbCommand('remote cert', guardAll(certVerbs)),
  root: verbCommand('remote root', guardAll(rootVerbs)),
  recovery: verbCommand('remote recovery', guardAll(recoveryVerbs)),
};
