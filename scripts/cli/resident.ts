import { parseIsoTime } from '../../firmware/store/iso-time';
import type { WeeklySchedule } from '../../firmware/store/records';
import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, residentAction, resolveTarget, type Verb, verbCommand } from './admin-client';

export const summary = 'add, revoke and list residents (pseudonymous ids only)';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const ADD_USAGE = `postern resident add [--id ID] [--valid-from TIME] [--valid-until TIME] [--under14] [--schedule "mon-fri 08:00-18:00" ...] [--utc-offset +02:00] ${CONNECTION_HELP}`;

function dayList(spec: string, window: string): number[] {
  const days = new Set<number>();
  for (const part of spec.toLowerCase().split(',')) {
    const [from, to] = part.split('-');
    const a = DAYS.indexOf(from ?? '');
    const b = to === undefined ? a : DAYS.indexOf(to);
    if (a < 0 || b < 0) throw new CliError(`--schedule "${window}": "${part}" is not a day or day range (use sun, mon, tue, wed, thu, fri, sat, e.g. mon-fri or sat,sun)`, EXIT.usage);
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

/** "mon-fri 08:00-18:00" → one schedule window; an end at or before the start runs past midnight. */
export function parseWindow(text: string): WeeklySchedule['windows'][number] {
  const m = /^\s*(\S+)\s+(\d{2}:\d{2})-(\d{2}:\d{2})\s*$/.exec(text);
  if (!m) throw new CliError(`--schedule "${text}" must look like "mon-fri 08:00-18:00" (days, then HH:MM-HH:MM)`, EXIT.usage);
  return { days: dayList(m[1]!, text), start: m[2]!, end: m[3]! };
}

export function parseUtcOffset(text: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw new CliError(`--utc-offset "${text}" must be ±HH:MM, e.g. +05:30 or -03:00`, EXIT.usage);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** Refuses an impossible or unreadable time here, before anything is sent to the gate (which checks again). */
function checkTime(flag: string, value: string | undefined): void {
  if (value === undefined) return;
  const parsed = parseIsoTime(value);
  if ('error' in parsed) throw new CliError(`${flag} "${value}" ${parsed.error}\nusage: ${ADD_USAGE}`, EXIT.usage);
}

const verbs: Record<string, Verb> = {
  async add(args, io) {
    const { values, positionals: rest } = parseCommandArgs(
      args,
      {
        ...CONNECTION_OPTIONS,
        id: { type: 'string' },
        'valid-from': { type: 'string' },
        'valid-until': { type: 'string' },
        under14: { type: 'boolean' },
        schedule: { type: 'string', multiple: true },
        'utc-offset': { type: 'string' },
      },
      ADD_USAGE,
    );
    positionals(rest, [], ADD_USAGE);
    checkTime('--valid-from', values['valid-from']);
    checkTime('--valid-until', values['valid-until']);
    if (values['utc-offset'] !== undefined && !values.schedule) throw new CliError('--utc-offset only makes sense with --schedule', EXIT.usage);
    const schedule = values.schedule ? { utcOffsetMinutes: parseUtcOffset(values['utc-offset'] ?? '+00:00'), windows: values.schedule.map(parseWindow) } : undefined;
    const body = {
      ...(values.id !== undefined ? { id: values.id } : {}),
      ...(values['valid-from'] !== undefined ? { validFrom: values['valid-from'] } : {}),
      ...(values['valid-until'] !== undefined ? { validUntil: values['valid-until'] } : {}),
      ...(values.under14 ? { under14: true } : {}),
      ...(schedule ? { schedule } : {}),
    };
    const { resident } = await adminCall(resolveTarget(values, io.env), 'POST', '/residents', body);
    printJson(io.out, resident);
    return EXIT.ok;
  },
  revoke: residentAction('postern resident revoke', 'revoke'),
  async list(args, io) {
    const usage = `postern resident list ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, CONNECTION_OPTIONS, usage);
    positionals(rest, [], usage);
    printJson(io.out, (await adminCall(resolveTarget(values, io.env), 'GET', '/residents')).residents);
    return EXIT.ok;
  },
};

export const run = verbCommand('resident', verbs);
