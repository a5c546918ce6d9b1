import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { acquireWriterLock, LOCK_FILE } from '../../firmware/store/writer-lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statFields = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/**
 * A process that exits while its parent never reaps it, as a daemon killed with -9 stays until its
 * supervisor collects it: `sleep 0.3` is started in the background, then its shell becomes `sleep 60`,
 * which never waits for children.
 */
async function makeZombie(): Promise<{ zombie: number; parent: number; kill: () => void }> {
  const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const zombie = await new Promise<number>((resolve) => createInterface({ input: parent.stdout! }).once('line', (l) => resolve(Number(l))));
  const deadline = Date.now() + 30_000;
  while (statFields(zombie)[0] !== 'Z') {
    if (Date.now() > deadline) throw new Error(`pid ${zombie} never became a zombie`);
    await sleep(50);
  }
  return { zombie, parent: parent.pid!, kill: () => parent.kill('SIGKILL') };
}

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'postern-lock-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a lock held by an unreaped zombie is taken over; one held by a live process is refused', async () => {
  const { zombie, parent, kill } = await makeZombie();
  try {
    writeFileSync(join(dir, LOCK_FILE), `${parent} ${statFields(parent)[19]}`);
    expect(() => acquireWriterLock(dir)).toThrow(new RegExp(`in use by another Postern process \\(pid ${parent}\\)`));

    writeFileSync(join(dir, LOCK_FILE), `${zombie} ${statFields(zombie)[19]}`);
    const release = acquireWriterLock(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    release();
  } finally {
    kill();
  }
});
