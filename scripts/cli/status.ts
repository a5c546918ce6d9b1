import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, resolveTarget, runCommand } from './admin-client';
import type { CliIo } from './registry';

export const summary = "what the gate is doing: mode, door, alarms, methods, cloud link, outbox, store counts, public key, last events (--json for the raw answer)";

/** The parts of the admin API's GET /status and GET /events that a person at the gate reads. */
export interface GateStatus {
  gate: { site: string; id: string; publicKey?: string };
  door: { relay: string; contact: string; mode: string; alarms: string[] };
  methods: Record<string, string>;
  store: { residents: number; active: number; cards: number; templates: number; credentialVersion: number };
  lastEventSeq: number;
}
/** GET /cloud: the link's health and how many events wait in the on-disk outbox. */
export interface CloudStatus {
  link: string;
  outboxDepth: number;
}
export interface StatusEvent {
  seq: number;
  ts: string;
  type: string;
  reason: string;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The status as lines of text: the door first, then what may need attention, then the recent events. */
export function formatStatus(s: GateStatus, cloud: CloudStatus, events: readonly StatusEvent[]): string[] {
  const methods = Object.entries(s.methods)
    .filter(([name]) => name !== 'cloud')
    .map(([name, state]) => `${name} ${state}`)
    .join(', ');
  const { store } = s;
  return [
    `gate      ${s.gate.site}/${s.gate.id}`,
    `mode      ${s.door.mode}`,
    `door      relay ${s.door.relay}, door ${s.door.contact}`,
    `alarms    ${s.door.alarms.length === 0 ? 'none' : s.door.alarms.join(', ')}`,
    `methods   ${methods || 'none reported'}`,
    `cloud     ${cloud.link}, ${plural(cloud.outboxDepth, 'event')} waiting to be sent`,
    `store     ${plural(store.residents, 'resident')} (${store.active} active), ${plural(store.cards, 'card')}, ${plural(store.templates, 'face template')}, credentials v${store.credentialVersion}`,
    ...(s.gate.publicKey ? [`key       ${s.gate.publicKey}`] : []),
    events.length === 0 ? 'events    none yet' : `events    last ${events.length}:`,
    ...events.map((e) => `  ${e.ts}  ${e.type}  ${e.reason}`),
  ];
}

export function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(io, async () => {
    const usage = `postern status [--events N] [--json] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, events: { type: 'string' }, json: { type: 'boolean' } }, usage);
    positionals(rest, [], usage);
    const count = values.events === undefined ? 10 : Number(values.events);
    if (!Number.isInteger(count) || count < 0 || count > 1000) throw new CliError(`--events "${values.events}" must be a whole number from 0 to 1000`, EXIT.usage);
    const target = resolveTarget(values, io.env);
    const status = (await adminCall(target, 'GET', '/status')) as GateStatus;
    const cloud = (await adminCall(target, 'GET', '/cloud')) as CloudStatus;
    const since = Math.max(0, status.lastEventSeq - count);
    const events = count === 0 ? [] : ((await adminCall(target, 'GET', `/events?since=${since}`)) as { events: StatusEvent[] }).events.slice(-count);
    if (values.json) {
      printJson(io.out, { ...status, cloud, events });
      return EXIT.ok;
    }
    for (const line of formatStatus(status, cloud, events)) io.out(line);
    return EXIT.ok;
  });
}
