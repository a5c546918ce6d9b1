import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'store.lock';

/** The fields of /proc/<pid>/stat after the command name: [0] is the state, [19] the start time. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Linux start time of a process (clock ticks since boot, /proc/<pid>/stat field 22): with the pid it names
 * one process for good, so a lock left by a daemon killed before a reboot is not mistaken for a live one
 * whose pid happens to be reused.
 */
const startTimeOf = (pid: number): string | undefined => statFields(pid)?.[19];

/**
 * A zombie (Z) or dead (X) process has exited and only waits to be reaped by its parent (after a kill -9
 * under a supervisor that has not collected it yet): it can write nothing, so it holds no lock.
 */
const hasExited = (pid: number): boolean => ['Z', 'X', 'x'].includes(statFields(pid)?.[0] ?? '');

function isRunning(holder: string): boolean {
  const [pidText, start] = holder.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (hasExited(pid)) return false;
  return start === undefined || startTimeOf(pid) === start;
}

/**
 * Red line 8, enforced: one process writes the store. A second daemon on the same data directory is
 * refused (it would otherwise overwrite the first one's writes); a lock left by a crashed process is
 * taken over. Returns the release function.
 */
export function acquireWriterLock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const start = startTimeOf(process.pid);
  const me = start === undefined ? `${process.pid}` : `${process.pid} ${start}`;
  for (;;) {
    try {
      writeFileSync(path, me, { flag: 'wx', mode: 0o600 });
      return () => {
        let holder: string | undefined;
        try {
          holder = readFileSync(path, 'utf8');
        } catch {
          /* already gone */
        }
        if (holder === me) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = '';
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      continue; // released between our attempt and this read: try again
    }
    if (holder !== me && isRunning(holder)) {
      throw new Error(
        `the store in ${dir} is in use by another Postern process (pid ${holder.split(' ')[0]}); only the daemon writes the store: stop it, or use the postern CLI, which goes through its admin API`,
      );
    }
    rmSync(path, { force: true });
  }
}
