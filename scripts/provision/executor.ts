import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Owner {
  user: string;
  group: string;
}

/** Turns account names into numeric ids, inside the staging root or on the host. */
export interface IdLookup {
  uid(user: string): number | undefined;
  gid(group: string): number | undefined;
}

export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

/**
 * The installer's only way to change anything. Each method compares what is there with what should be
 * and acts only on a difference, which makes a re-run a no-op; with `dryRun` it prints what it would do
 * and touches nothing. Paths are absolute target paths (`/etc/postern/...`), placed under `root`.
 */
export class Executor {
  readonly changes: string[] = [];

  constructor(
    readonly root: string,
    readonly dryRun: boolean,
    private readonly ids: IdLookup,
    private readonly out: (line: string) => void,
  ) {}

  /** Where a target path lives on this machine's disk. */
  at(target: string): string {
    return this.root === '/' ? target : join(this.root, target);
  }

  private change(what: string, act: () => void): void {
    this.changes.push(what);
    this.out(this.dryRun ? `would ${what}` : `${what}`);
    if (!this.dryRun) act();
  }

  note(line: string): void {
    this.out(`  ${line}`);
  }

  private ownerIds(owner: Owner): { uid: number; gid: number } {
    const uid = this.ids.uid(owner.user);
    const gid = this.ids.gid(owner.group);
    if (uid === undefined) throw new ProvisionError(`user ${owner.user} does not exist`);
    if (gid === undefined) throw new ProvisionError(`group ${owner.group} does not exist`);
    return { uid, gid };
  }

  /** Mode and owner of an existing path; in a dry run an owner that does not exist yet counts as different. */
  private fixAttributes(target: string, mode: number, owner: Owner): void {
    const path = this.at(target);
    const st = lstatSync(path);
    if ((st.mode & 0o7777) !== mode) {
      this.change(`chmod ${mode.toString(8).padStart(4, '0')} ${target}`, () => chmodSync(path, mode));
    }
    const uid = this.ids.uid(owner.user);
    const gid = this.ids.gid(owner.group);
    if (uid !== st.uid || gid !== st.gid) {
      this.change(`chown ${owner.user}:${owner.group} ${target}`, () => {
        const ids = this.ownerIds(owner);
        chownSync(path, ids.uid, ids.gid);
      });
    }
  }

  ensureDir(target: string, mode: number, owner: Owner): void {
    const path = this.at(target);
    if (!existsSync(path)) {
      this.change(`create directory ${target} (${mode.toString(8).padStart(4, '0')} ${owner.user}:${owner.group})`, () => {
        mkdirSync(path, { recursive: true });
        const ids = this.ownerIds(owner);
        chmodSync(path, mode);
        chownSync(path, ids.uid, ids.gid);
      });
      return;
    }
    if (!lstatSync(path).isDirectory()) throw new ProvisionError(`${path} exists and is not a directory`);
    this.fixAttributes(target, mode, owner);
  }

  /** Writes the file when its content differs (atomically: temp file, then rename), then fixes mode and owner. */
  ensureFile(target: string, content: string | Buffer, mode: number, owner: Owner, describe = target): void {
    const path = this.at(target);
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    const current = existsSync(path) ? readFileSync(path) : undefined;
    if (current === undefined || !current.equals(bytes)) {
      const verb = current === undefined ? 'write' : 'update';
      this.change(`${verb} ${describe} (${mode.toString(8).padStart(4, '0')} ${owner.user}:${owner.group})`, () => {
        mkdirSync(dirname(path), { recursive: true });
        const ids = this.ownerIds(owner);
        const tmp = `${path}.provision-tmp`;
        writeFileSync(tmp, bytes, { mode });
        chmodSync(tmp, mode);
        chownSync(tmp, ids.uid, ids.gid);
        renameSync(tmp, path);
      });
      return;
    }
    this.fixAttributes(target, mode, owner);
  }

  /**
   * For files that must never be replaced once they exist (keys): `create` writes it when absent;
   * an existing file only gets its mode and owner fixed.
   */
  ensureCreatedOnce(target: string, describe: string, create: (path: string) => void, mode: number, owner: Owner): void {
    const path = this.at(target);
    if (!existsSync(path)) {
      this.change(`${describe} ${target} (${mode.toString(8).padStart(4, '0')} ${owner.user}:${owner.group})`, () => {
        create(path);
        const ids = this.ownerIds(owner);
        chmodSync(path, mode);
        chownSync(path, ids.uid, ids.gid);
      });
      return;
    }
    this.fixAttributes(target, mode, owner);
  }

  ensureSymlink(target: string, pointsTo: string): void {
    const path = this.at(target);
    let current: string | undefined;
    try {
      current = readlinkSync(path);
    } catch {
      current = undefined;
    }
    if (current === pointsTo) return;
    this.change(`link ${target} -> ${pointsTo}`, () => {
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { force: true });
      symlinkSync(pointsTo, path);
    });
  }

  remove(target: string): void {
    const path = this.at(target);
    if (!existsSync(path)) return;
    this.change(`remove ${target}`, () => rmSync(path, { recursive: true, force: true }));
  }

  /** Runs a command that changes the system; `why` is what the log says it does. */
  run(why: string, cmd: string, args: string[], cwd?: string): void {
    this.change(`${why}: ${[cmd, ...args].join(' ')}`, () => {
      const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.error) throw new ProvisionError(`${cmd} could not run: ${r.error.message}`);
      if (r.status !== 0) throw new ProvisionError(`${[cmd, ...args].join(' ')} failed with exit status ${r.status ?? r.signal}`);
    });
  }
}

/** Runs a read-only query (getent, systemctl is-enabled, raspi-config get_*); never changes anything. */
export function query(cmd: string, args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.error) return { status: null, stdout: '' };
  return { status: r.status, stdout: r.stdout };
}
