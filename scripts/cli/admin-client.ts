import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../../firmware/config/load';
import type { CliIo } from './registry';

/** Exit codes shared by the admin subcommands. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

/** A failure to report on stderr with its exit code; thrown by helpers, caught once in `runCommand`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export type AdminTarget = { kind: 'socket'; path: string } | { kind: 'bench'; url: string };

/** Options every admin subcommand takes: where the gate's admin API is. */
export const CONNECTION_OPTIONS = {
  socket: { type: 'string' },
  bench: { type: 'string' },
  config: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const CONNECTION_HELP = '[--socket PATH | --bench URL | --config FILE]';

/** Where the installer puts the config; selftest and the admin commands look there first. */
export const INSTALLED_CONFIG = '/etc/postern/config.json';

/**
 * `--bench URL` (sim mode), else `--socket PATH`, else POSTERN_ADMIN_SOCKET, else the socket named by the
 * gate config (`--config FILE`, or POSTERN_CONFIG, or /etc/postern/config.json on a gate), else the
 * simulated gate that `npm start` runs from this checkout (its default data directory).
 */
export function resolveTarget(
  values: { socket?: string | undefined; bench?: string | undefined; config?: string | undefined },
  env: NodeJS.ProcessEnv,
  installedConfig = INSTALLED_CONFIG,
): AdminTarget {
  if (values.bench !== undefined && values.socket !== undefined) throw new CliError('give either --bench or --socket, not both', EXIT.usage);
  if (values.bench !== undefined) {
    let url: URL;
    try {
      url = new URL(values.bench);
    } catch {
      throw new CliError(`--bench "${values.bench}" is not a URL (e.g. http://127.0.0.1:8080)`, EXIT.usage);
    }
    if (url.protocol !== 'http:') throw new CliError(`--bench "${values.bench}" must be an http:// URL`, EXIT.usage);
    return { kind: 'bench', url: url.origin };
  }
  if (values.socket !== undefined) return { kind: 'socket', path: values.socket };
  if (env.POSTERN_ADMIN_SOCKET) return { kind: 'socket', path: env.POSTERN_ADMIN_SOCKET };
  const configPath = values.config ?? env.POSTERN_CONFIG ?? (existsSync(installedConfig) ? installedConfig : undefined);
  try {
    return { kind: 'socket', path: loadConfig(configPath).adminSocket };
  } catch (err) {
    throw new CliError(`cannot find the admin socket: ${(err as Error).message}\n(give --socket PATH, or --bench URL for a simulated gate)`, EXIT.usage);
  }
}

/** One admin API call. Resolves with the JSON body of a 2xx answer; otherwise throws a CliError with the gate's message. */
export function adminCall(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<any> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const fullPath = `/api/admin${path}`;
  const where = target.kind === 'socket' ? `socket ${target.path}` : target.url;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...(target.kind === 'socket' ? { socketPath: target.path } : { host: new URL(target.url).hostname, port: new URL(target.url).port }),
        path: fullPath,
        method,
        timeout: timeoutMs,
        headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: any;
          try {
            parsed = JSON.parse(raw);
          } catch {
            reject(new CliError(`the gate at ${where} answered ${res.statusCode} with something that is not JSON`, EXIT.unreachable));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) reject(new CliError(`the gate refused: ${parsed?.error ?? `HTTP ${res.statusCode}`}`, EXIT.refused));
          else resolve(parsed);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EACCES' ? ' (are you in the postern group?)' : err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is the gate daemon running? `npm start` runs a simulated gate from this checkout)' : '';
      reject(new CliError(`cannot reach the gate admin API at ${where}: ${err.message}${hint}`, EXIT.unreachable));
    });
    if (text !== undefined) req.write(text);
    req.end();
  });
}

/** `--help` or `-h` anywhere before `--`: the command prints its usage on stdout and succeeds. */
export class CliHelp extends Error {
  constructor(readonly usage: string) {
    super(usage);
  }
}

export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** node:util parseArgs, with its errors turned into usage errors that show the command's usage line. */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: string) {
  if (asksForHelp(args)) throw new CliHelp(usage);
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nusage: ${usage}`, EXIT.usage);
  }
}

/** Exactly `names.length` positional arguments, else a usage error naming what is missing or extra. */
export function positionals(given: string[], names: string[], usage: string): string[] {
  if (given.length < names.length) throw new CliError(`missing ${names.slice(given.length).join(' and ')}\nusage: ${usage}`, EXIT.usage);
  if (given.length > names.length) throw new CliError(`unexpected argument "${given[names.length]}"\nusage: ${usage}`, EXIT.usage);
  return given;
}

/** Runs a subcommand body, printing a CliError on stderr and returning its exit code. */
export async function runCommand(io: { out: (line: string) => void; err: (line: string) => void }, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CliHelp) {
      io.out(`usage: ${err.usage}`);
      return EXIT.ok;
    }
    if (err instanceof CliError) {
      io.err(`postern: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

export type Verb = (args: string[], io: CliIo) => Promise<number>;

/**
 * A subcommand made of verbs (`postern card enrol ...`): dispatches `<verb> ...` to one of `verbs`,
 * with a usage error listing them when the verb is unknown.
 */
export function verbCommand(command: string, verbs: Record<string, Verb>): Verb {
  return (args, io) =>
    runCommand(io, async () => {
      const [name, ...rest] = args;
      if (name === 'help' || (name !== undefined && asksForHelp([name]))) {
        throw new CliHelp(`postern ${command} <${Object.keys(verbs).join('|')}> [arguments]\n(postern ${command} VERB --help shows that verb's usage)`);
      }
      const verb = name === undefined ? undefined : verbs[name];
      if (verb === undefined) {
        const known = Object.keys(verbs).join(', ');
        throw new CliError(name === undefined ? `"${command}" needs one of: ${known}` : `unknown "${command} ${name}"; known: ${known}`, EXIT.usage);
      }
      return verb(rest, io);
    });
}

/** A verb whose only argument is RESIDENT_ID and which POSTs to `/residents/<id>/<action>`, printing the answer. */
export function residentAction(usagePrefix: string, action: string): Verb {
  return async (args, io) => {
    const usage = `${usagePrefix} RESIDENT_ID ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, CONNECTION_OPTIONS, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    printJson(io.out, await adminCall(resolveTarget(values, io.env), 'POST', `/residents/${encodeURIComponent(id!)}/${action}`, {}));
    return EXIT.ok;
  };
}

export const printJson = (out: (line: string) => void, value: unknown) => out(JSON.stringify(value, null, 2));
