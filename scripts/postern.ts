#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../models/fetch';
import { commands, type CliIo } from './cli/registry';

/** The `postern` command: dispatches to scripts/cli/<subcommand> through the registry. */
async function main(argv: string[]): Promise<number> {
  const io: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), env: process.env };
  const [name, ...args] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`postern ${(JSON.parse(readFileSync(join(projectRoot(__dirname), 'package.json'), 'utf8')) as { version: string }).version}`);
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const lines = await Promise.all(Object.entries(commands).map(async ([n, load]) => `  ${n.padEnd(10)} ${(await load()).summary}`));
    (name === undefined ? io.err : io.out)(`usage: postern <command> [arguments]\n       postern <command> --help\n       postern --version\n\ncommands:\n${lines.join('\n')}`);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    io.err(`postern: unknown command "${name}"; known: ${Object.keys(commands).join(', ')}`);
    return 2;
  }
  return (await load()).run(args, io);
}

// `postern events | head` closes the pipe early: that is the reader's choice, not a failure to report.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`postern: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
