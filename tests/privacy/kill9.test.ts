import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import nacl from 'tweetnacl';
import { GateStore } from '../../firmware/store/store';

const WRITER = resolve(__dirname, '..', '..', 'dist', 'tests', 'privacy', 'fixtures', 'store-writer.js');
const ITERATIONS = 200;

/**
 * Starts the writer, lets it confirm `afterCommits` writes and then write on for a random moment, kills it
 * with SIGKILL; returns the last write it confirmed. Counting confirmed writes, not milliseconds, keeps the
 * store growing however slowly a busy machine lets the writer run.
 */
async function runAndKill(dir: string, key: string, afterCommits: number, killAfterMs: number): Promise<number> {
  const child = spawn(process.execPath, [WRITER, dir, key], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let confirmed = -1;
  let commits = 0;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolveReady, reject) => {
    const killSoon = () =>
      setTimeout(() => {
        child.kill('SIGKILL');
        resolveReady();
      }, killAfterMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') {
        if (afterCommits === 0) killSoon();
      } else if (line.startsWith('committed ')) {
        confirmed = Number(line.slice(10));
        if (++commits === afterCommits) killSoon();
      }
    });
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code}): ${stderr}`));
    });
  });
  await exited;
  return confirmed;
}

test(`kill -9 during store writes, ${ITERATIONS} times, never leaves an unreadable or partial store`, async () => {
  expect(existsSync(WRITER)).toBe(true); // built by `npm run build` (npm test runs it first)
  const dir = mkdtempSync(join(tmpdir(), 'postern-kill9-'));
  const key = nacl.randomBytes(32);
  const keyB64 = Buffer.from(key).toString('base64');
  let lastCount = 0;
  let killedMidWrite = 0;
  try {
    for (let i = 0; i < ITERATIONS; i += 1) {
      const confirmed = await runAndKill(dir, keyB64, Math.floor(Math.random() * 4), Math.floor(Math.random() * 25));
      if (readdirSync(dir).some((f) => f.endsWith('.tmp'))) killedMidWrite += 1;
      const store = GateStore.open({ dir, templateKey: key }); // throws on any unreadable or invalid file
      const ids = store.listResidents().map((r) => r.id);
      const count = ids.length;
      // A gap-free prefix of the writer's sequence: nothing half-written, nothing confirmed lost.
      expect(ids).toEqual(Array.from({ length: count }, (_, k) => `w-${k}`));
      expect(count).toBeGreaterThanOrEqual(confirmed + 1);
      expect(count).toBeGreaterThanOrEqual(lastCount);
      for (const t of store.loadTemplates()) expect(t.embedding.length).toBe(512);
      for (const r of store.listResidents()) expect(r.face !== null).toBe(store.hasTemplate(r.id));
      lastCount = count;
      store.close(); // the next writer takes the lock over from a dead process, not from this live one
    }
    expect(lastCount).toBeGreaterThan(ITERATIONS); // 1.5 confirmed writes a run on average, and more while the kill is on its way
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The kills must actually land inside writes for the test to mean anything.
  expect(killedMidWrite).toBeGreaterThan(ITERATIONS / 10);
  // 200 Node processes started and killed: over a minute on an idle 2-core machine, up to ten on a busy one.
}, 900_000);

test('only one process writes the store: a second opener is refused while the writer lives, and takes over once it is killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-lock-'));
  const key = nacl.randomBytes(32);
  const child = spawn(process.execPath, [WRITER, dir, Buffer.from(key).toString('base64')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((r) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => line.startsWith('committed ') && r());
    });
    expect(() => GateStore.open({ dir, templateKey: key })).toThrow(new RegExp(`in use by another Postern process \\(pid ${child.pid}\\)`));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const store = GateStore.open({ dir, templateKey: key });
    expect(store.listResidents().length).toBeGreaterThan(0);
    store.close();
    expect(readdirSync(dir)).not.toContain('store.lock');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
