import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { certificateBody, withCertificate } from '../../firmware/cloud/certificates';
import { commandBodyFor, MAX_VALIDITY_MS } from '../../firmware/cloud/commands';
import { envelopeFields, openEnvelope, parseBody, sign, type Envelope } from '../../firmware/cloud/envelope';
import { HA_PAYLOAD_COMMANDS, haCommandTopic } from '../../firmware/cloud/homeassistant';
import { gateTopics, type GateIdentity } from '../../firmware/cloud/topics';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { asksForHelp } from './admin-client';
import { publicKeyOf, readSecretKey, writeNewKey } from './operator-keys';
import { BROKER_OPTIONS, connectBroker } from './remote-broker';
import type { CliIo } from './registry';
import { trustCommands } from './remote-trust';

/** Operator side of docs/PROTOCOL.md: keys, signed commands, credential sets hashed locally, the HA bridge; certificates and the site root in remote-trust.ts. */

/**
 * An operator certificate file (`postern remote cert issue --out`), checked to certify `secretKey`'s
 * public key, so a mismatched pair is caught here rather than refused by every gate.
 */
export function readCertificate(path: string, secretKey: Uint8Array): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read certificate ${path}: ${(err as Error).message}`);
  }
  const shaped = envelopeFields(value, 'certificate');
  if (!shaped.ok) throw new Error(`${path}: ${shaped.detail}`);
  const body = parseBody(shaped.fields, 'operator-cert', certificateBody);
  if (!body.ok) throw new Error(`${path}: ${body.detail}`);
  if (body.body.operatorKey !== publicKeyOf(secretKey)) throw new Error(`certificate ${path} (serial ${body.body.serial}) certifies key ${body.body.operatorKey}, not this key ${publicKeyOf(secretKey)}`);
  return value as Envelope;
}

/** `cert`: the signer's operator certificate, for a key the gates know through the site root rather than `cloud.operatorKeys`. */
export function signCommand(secretKey: Uint8Array, gate: GateIdentity, cmd: string, args: Record<string, unknown>, ttlSeconds = 30, nowMs = Date.now(), cert?: Envelope): Envelope {
  const nonce = randomBytes(18).toString('base64url');
  return withCertificate(sign('cmd', commandBodyFor(gate, cmd, args, nowMs, ttlSeconds * 1000, nonce), secretKey), cert);
}

export interface CardAssignment {
  uid: string;
  residentId: string;
}

/** Hashes every UID with the site key here, on the operator's machine: the broker only ever sees hashes. */
export function signCredentialSet(secretKey: Uint8Array, siteKey: Uint8Array, gate: GateIdentity, version: number, cards: CardAssignment[], nowMs = Date.now()): Envelope {
  const credentials = cards.map((c) => ({ cardHash: hashCardUid(siteKey, c.uid), residentId: c.residentId }));
  return sign('credentials', { kind: 'credentials', site: gate.site, gate: gate.gate, issuedAt: nowMs, type: 'full', version, credentials }, secretKey);
}

export function signCredentialDelta(
  secretKey: Uint8Array,
  siteKey: Uint8Array,
  gate: GateIdentity,
  from: number,
  to: number,
  add: CardAssignment[],
  removeUids: string[],
  nowMs = Date.now(),
): Envelope {
  return sign(
    'credentials',
    {
      kind: 'credentials',
      site: gate.site,
      gate: gate.gate,
      issuedAt: nowMs,
      type: 'delta',
      from,
      to,
      add: add.map((c) => ({ cardHash: hashCardUid(siteKey, c.uid), residentId: c.residentId })),
      remove: removeUids.map((uid) => hashCardUid(siteKey, uid)),
    },
    secretKey,
  );
}

export interface GateAnswer {
  /** The gate's answer body (kind "result"). */
  body: Record<string, unknown>;
  /** The gate key that signed it, base64; check it against the gate's provisioned public key. */
  key: string;
}

/** Publishes a command with MQTT 5 correlation data and waits for the gate's signed answer to it. */
export async function sendCommand(client: MqttClient, gate: GateIdentity, envelope: Envelope, timeoutMs = 10_000, gateKey?: string): Promise<GateAnswer> {
  const topics = gateTopics(gate);
  const correlation = randomBytes(16);
  await client.subscribeAsync(topics.cmdResult, { qos: 1 });
  const answer = new Promise<GateAnswer>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no answer from ${gate.site}/${gate.gate} within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(topic: string, payload: Buffer, packet: { properties?: { correlationData?: Buffer } }) {
      if (topic !== topics.cmdResult || !packet.properties?.correlationData?.equals(correlation)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      const outer = JSON.parse(payload.toString()) as Envelope;
      const opened = openEnvelope(payload, 'result', new Set([gateKey ?? outer.key]), 1 << 20);
      if (!opened.ok) reject(new Error(`gate answer failed verification: ${opened.reason} (${opened.detail})`));
      else resolve({ body: opened.body as Record<string, unknown>, key: opened.key });
    }
    client.on('message', onMessage);
  });
  await client.publishAsync(topics.cmd, JSON.stringify(envelope), { qos: 1, properties: { responseTopic: topics.cmdResult, correlationData: correlation } });
  return answer;
}

/**
 * Home Assistant's lock entity publishes plain LOCK/UNLOCK/OPEN on the bridge topic; only this bridge,
 * holding an operator key, turns them into signed commands. Give it a certificate with the `door-open`
 * scope only (docs/PROTOCOL.md §8): then OPEN and LOCK work and nothing else it could sign would.
 * Returns a function that stops it.
 */
export async function runHaBridge(client: MqttClient, secretKey: Uint8Array, commandTopicRoot: string, log: (line: string) => void, cert?: Envelope): Promise<() => void> {
  const filter = `${commandTopicRoot}/+/+/set`;
  await client.subscribeAsync(filter, { qos: 1 });
  const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
    const [site, gate] = topic.slice(commandTopicRoot.length + 1).split('/');
    if (!site || !gate || topic !== haCommandTopic(commandTopicRoot, { site, gate })) return;
    const mapped = HA_PAYLOAD_COMMANDS[payload.toString().trim()];
    if (!mapped || packet.retain) {
      log(`ignored ${packet.retain ? 'retained ' : ''}payload on ${topic}`);
      return;
    }
    const envelope = signCommand(secretKey, { site, gate }, mapped.cmd, mapped.args, 15, Date.now(), cert);
    void sendCommand(client, { site, gate }, envelope).then(
      (a) => log(`${site}/${gate} ${mapped.cmd}: ${a.body.ok ? 'ok' : `refused (${String(a.body.reason)})`}`),
      (err: Error) => log(`${site}/${gate} ${mapped.cmd}: ${err.message}`),
    );
  };
  client.on('message', onMessage);
  return () => client.off('message', onMessage);
}

/** A card file: CSV lines `UID,residentId` (`#` comments), or a JSON array of {"uid","residentId"}. */
function parseCards(path: string): CardAssignment[] {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.json')) {
    const rows = JSON.parse(text) as unknown;
    if (!Array.isArray(rows)) throw new Error(`${path}: expected a JSON array of {"uid","residentId"}`);
    return rows.map((r, i) => {
      const { uid, residentId } = (r ?? {}) as Record<string, unknown>;
      if (typeof uid !== 'string' || typeof residentId !== 'string') throw new Error(`${path}[${i}]: needs string "uid" and "residentId"`);
      return { uid, residentId };
    });
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((line, i) => {
      const [uid, residentId] = line.split(',').map((s) => s.trim());
      if (!uid || !residentId) throw new Error(`${path} line ${i + 1}: expected "UID,residentId"`);
      return { uid, residentId };
    });
}

/** The cards a delta removes: one UID a line (a `UID,residentId` line from a card file works too), or a JSON array of UIDs. */
function parseRemovedUids(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.json')) {
    const rows = JSON.parse(text) as unknown;
    if (!Array.isArray(rows) || !rows.every((r) => typeof r === 'string')) throw new Error(`${path}: expected a JSON array of UID strings`);
    return rows as string[];
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => line.split(',')[0]!.trim());
}

const USAGE = `usage: postern remote <keygen|pubkey|sign|send|credentials|ha-bridge|cert|root|recovery> [options]
  keygen      --out FILE                          new operator key (0600); prints the public key (for a certificate, or cloud.operatorKeys)
  pubkey      --key FILE
  sign        --key FILE [--cert FILE] --site S --gate G [--ttl SEC] CMD [ARGS_JSON]      print a signed envelope
  send        BROKER --key FILE [--cert FILE] --site S --gate G [--ttl SEC] [--gate-key B64] CMD [ARGS_JSON]
  credentials BROKER --key FILE [--cert FILE] --site-key FILE --site S --gate G --version N --cards FILE(.csv|.json)
              BROKER --key FILE [--cert FILE] --site-key FILE --site S --gate G --from N --to M [--cards FILE] [--remove FILE]
              --cards: CSV lines "UID,residentId" (# comments) or JSON [{"uid":..,"residentId":..}]
              --remove: one UID a line ("UID,residentId" lines are accepted too) or JSON ["UID", ...]
              UIDs are hex as the reader reports them; they are hashed with the site key before sending
  ha-bridge   BROKER --key FILE [--cert FILE] [--root postern-ha/v1]
  cert        issue | list | revoke | publish      operator certificates under the site root (postern remote cert --help)
  root        keygen | rotate                      the site root key (postern remote root --help)
  recovery    keygen                               the offline key that alone may rotate the root
  --cert FILE: the key's operator certificate (\`cert issue --out\`); without it the gates must list the key in cloud.operatorKeys
  BROKER = --broker URL [--username U] [--password-file F] [--ca FILE]
  commands: open, hold-unlocked, relock, lockdown {"on":true|false}, revoke-resident {"residentId":..},
            withdraw-consent {"residentId":..}, sync, status`;

const OPTIONS = {
  out: { type: 'string' },
  key: { type: 'string' },
  cert: { type: 'string' },
  'site-key': { type: 'string' },
  site: { type: 'string' },
  gate: { type: 'string' },
  ttl: { type: 'string' },
  'gate-key': { type: 'string' },
  ...BROKER_OPTIONS,
  version: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  cards: { type: 'string' },
  remove: { type: 'string' },
  root: { type: 'string' },
  timeout: { type: 'string' },
} as const;

function need(values: Record<string, string | undefined>, name: string): string {
  const v = values[name];
  if (!v) throw new Error(`--${name} is required`);
  return v;
}

function integer(values: Record<string, string | undefined>, name: string): number {
  const n = Number(need(values, name));
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${values[name]}"`);
  return n;
}

function commandFrom(positionals: string[]): { cmd: string; args: Record<string, unknown> } {
  const [cmd, argsText] = positionals;
  if (!cmd) throw new Error('name the command, e.g. open');
  let args: unknown = {};
  if (argsText !== undefined) {
    try {
      args = JSON.parse(argsText);
    } catch {
      throw new Error(`command arguments must be a JSON object, got ${argsText}`);
    }
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error('command arguments must be a JSON object');
  return { cmd, args: args as Record<string, unknown> };
}

export const summary = 'operator tool: keys, certificates, signed remote commands, credential sets, Home Assistant bridge';

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const trust = sub === undefined ? undefined : trustCommands[sub];
  if (trust) return trust(rest, io);
  if (sub === 'help' || asksForHelp(argv)) {
    io.out(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  const { values, positionals } = parsed;
  const gate = () => ({ site: need(values, 'site'), gate: need(values, 'gate') });
  const ttl = () => {
    const t = values.ttl === undefined ? 30 : Number(values.ttl);
    if (!(t > 0 && t * 1000 <= MAX_VALIDITY_MS)) throw new Error(`--ttl must be between 1 and ${MAX_VALIDITY_MS / 1000} seconds`);
    return t;
  };
  const signing = () => {
    const secret = readSecretKey(need(values, 'key'));
    return { secret, cert: values.cert === undefined ? undefined : readCertificate(values.cert, secret) };
  };
  try {
    switch (sub) {
      case 'keygen':
        io.out(publicKeyOf(writeNewKey(need(values, 'out'), 'an operator key')));
        return 0;
      case 'pubkey':
        io.out(publicKeyOf(readSecretKey(need(values, 'key'))));
        return 0;
      case 'sign': {
        const { cmd, args } = commandFrom(positionals);
        const { secret, cert } = signing();
        io.out(JSON.stringify(signCommand(secret, gate(), cmd, args, ttl(), Date.now(), cert)));
        return 0;
      }
      case 'send': {
        const { cmd, args } = commandFrom(positionals);
        const { secret, cert } = signing();
        const envelope = signCommand(secret, gate(), cmd, args, ttl(), Date.now(), cert);
        const client = await connectBroker(values);
        try {
          const answer = await sendCommand(client, gate(), envelope, Number(values.timeout ?? 10) * 1000, values['gate-key']);
          io.out(JSON.stringify(answer.body));
          return answer.body.ok === true ? 0 : 1;
        } finally {
          await client.endAsync();
        }
      }
      case 'credentials': {
        const { secret, cert } = signing();
        const siteKey = new Uint8Array(Buffer.from(readFileSync(need(values, 'site-key'), 'utf8').trim(), 'base64'));
        const signed =
          values.from === undefined
            ? signCredentialSet(secret, siteKey, gate(), integer(values, 'version'), parseCards(need(values, 'cards')))
            : signCredentialDelta(secret, siteKey, gate(), integer(values, 'from'), integer(values, 'to'), values.cards ? parseCards(values.cards) : [], values.remove ? parseRemovedUids(values.remove) : []);
        const envelope = withCertificate(signed, cert);
        const client = await connectBroker(values);
        try {
          await client.publishAsync(gateTopics(gate()).credentials, JSON.stringify(envelope), { qos: 1, retain: values.from === undefined });
        } finally {
          await client.endAsync();
        }
        io.out(`published ${values.from === undefined ? `full set v${values.version}` : `delta v${values.from}→v${values.to}`} to ${gate().site}/${gate().gate}`);
        return 0;
      }
      case 'ha-bridge': {
        const { secret, cert } = signing();
        const client = await connectBroker(values);
        await runHaBridge(client, secret, values.root ?? 'postern-ha/v1', io.out, cert);
        io.out('bridge running; Ctrl-C to stop');
        await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        await client.endAsync();
        return 0;
      }
      default:
        io.err(USAGE);
        return 64;
    }
  } catch (err) {
    io.err(`postern remote ${sub ?? ''}: ${(err as Error).message}`);
    return 1;
  }
}
