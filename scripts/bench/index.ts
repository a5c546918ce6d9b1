import { runAccuracy } from './accuracy';
import { runCertBench } from './certs';
import { runIdentification } from './identification';
import { runIdle } from './idle';
import { runLatency } from './latency';
import { runLiveness } from './liveness';
import { runMatch } from './match';
import { runStoreBench } from './store';
import { runTapBench } from './tap';
import { intArg, parseArgs } from './args';

type Bench = (argv: readonly string[], log: (line: string) => void) => Promise<Record<string, unknown>>;

const BENCHES: Record<string, Bench> = {
  accuracy: runAccuracy,
  certs: runCertBench,
  identification: runIdentification,
  idle: runIdle,
  liveness: runLiveness,
  latency: runLatency,
  match: runMatch,
  store: runStoreBench,
  // The card bench is the NFC engineer's (scripts/bench/tap.ts).
  tap: async (argv, log) => {
    const args = parseArgs(argv, ['taps', 'irq', 'mode', 'card', 'random-uid']);
    const flag = (name: string): boolean => {
      const value = args.get(name) ?? 'false';
      if (value !== 'true' && value !== 'false') throw new Error(`--${name} must be true or false, got "${value}"`);
      return value === 'true';
    };
    const mode = args.get('mode') ?? 'uid';
    const card = args.get('card') ?? 'desfire';
    if (mode !== 'uid' && mode !== 'secure') throw new Error(`--mode must be uid or secure, got "${mode}"`);
    if (card !== 'desfire' && card !== 'ntag424') throw new Error(`--card must be desfire or ntag424, got "${card}"`);
    const result = await runTapBench({ taps: intArg(args, 'taps', 200), irq: flag('irq'), mode, card, randomUid: flag('random-uid') });
    const what = mode === 'uid' ? 'UID card' : `${card}${result.randomUid ? ' (random ID)' : ''}, AES authenticated`;
    log(`card tap-to-relay, ${what}, over ${result.taps} taps: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`);
    log(`  per tap (median): ${result.pn532CommandsPerTap} PN532 round trips, ${result.apdusPerTap} APDUs, ${result.i2cBytesPerTap} I2C bytes`);
    return { bench: 'tap', ...result };
  },
};

/**
 * `npm run bench -- <name> [options]`: human-readable tables on stderr, and one JSON line with the
 * figures on stdout as the last line, for scripts and CI to parse. With no name, every bench runs in
 * turn with its defaults (one table and one JSON line per area).
 */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (name === undefined) {
    for (const [each, bench] of Object.entries(BENCHES)) {
      log(`$ npm run bench -- ${each}`);
      process.stdout.write(`${JSON.stringify(await bench([], log))}\n`);
    }
    return 0;
  }
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`usage: npm run bench [-- <${Object.keys(BENCHES).join('|')}> [options]]\n`);
    return 2;
  }
  log(`$ npm run bench -- ${argv.join(' ')}`);
  process.stdout.write(`${JSON.stringify(await bench(rest, log))}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
