import { existsSync, readFileSync } from 'node:fs';
import { query, type Executor, type IdLookup } from './executor';

export const SERVICE_USER = 'postern';
/** gpio: /dev/gpiochip* and /sys/class/gpio; i2c: /dev/i2c-*; video: /dev/video*, /dev/media*, /dev/dma_heap/*. */
export const DEVICE_GROUPS = ['gpio', 'i2c', 'video'] as const;

export interface Accounts extends IdLookup {
  /** Makes sure the device groups and the service user (with its own group, in the device groups) exist. */
  ensure(ex: Executor): void;
}

/** On the gate itself: getent to look, groupadd/useradd/usermod to change. */
export class HostAccounts implements Accounts {
  uid(user: string): number | undefined {
    const r = query('getent', ['passwd', user]);
    return r.status === 0 ? Number(r.stdout.split(':')[2]) : undefined;
  }

  gid(group: string): number | undefined {
    const r = query('getent', ['group', group]);
    return r.status === 0 ? Number(r.stdout.split(':')[2]) : undefined;
  }

  ensure(ex: Executor): void {
    for (const group of DEVICE_GROUPS) {
      if (this.gid(group) === undefined) ex.run(`create group ${group}`, 'groupadd', ['--system', group]);
    }
    if (this.uid(SERVICE_USER) === undefined) {
      ex.run(`create system user ${SERVICE_USER}`, 'useradd', [
        '--system', '--user-group', '--home-dir', '/var/lib/postern', '--no-create-home',
        '--shell', '/usr/sbin/nologin', '--groups', DEVICE_GROUPS.join(','), SERVICE_USER,
      ]);
      return;
    }
    const member = query('id', ['-nG', SERVICE_USER]).stdout.trim().split(/\s+/);
    const missing = DEVICE_GROUPS.filter((g) => !member.includes(g));
    if (missing.length > 0) ex.run(`add ${SERVICE_USER} to ${missing.join(', ')}`, 'usermod', ['--append', '--groups', missing.join(','), SERVICE_USER]);
  }
}

interface Entry {
  fields: string[];
}

/**
 * In a staging root (`--root`): edits DIR/etc/passwd and DIR/etc/group directly, the way useradd
 * would, instead of chrooting into a tree that may not be runnable here. Ids come from the system
 * range 100-999, highest free first, as useradd --system picks them. root is 0 in every tree.
 */
export class StagedAccounts implements Accounts {
  constructor(private readonly root: string) {}

  private read(file: 'passwd' | 'group'): Entry[] {
    const path = `${this.root}/etc/${file}`;
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => ({ fields: l.split(':') }));
  }

  private idOf(file: 'passwd' | 'group', name: string): number | undefined {
    if (name === 'root') return 0;
    const e = this.read(file).find((x) => x.fields[0] === name);
    return e ? Number(e.fields[2]) : undefined;
  }

  uid(user: string): number | undefined {
    return this.idOf('passwd', user);
  }

  gid(group: string): number | undefined {
    return this.idOf('group', group);
  }

  ensure(ex: Executor): void {
    const passwd = this.read('passwd');
    const groups = this.read('group');
    const freeId = (taken: Set<number>): number => {
      for (let id = 999; id >= 100; id--) if (!taken.has(id)) return id;
      throw new Error('no free system id between 100 and 999 in the staging root');
    };
    const gids = new Set(groups.map((g) => Number(g.fields[2])));
    const uids = new Set(passwd.map((p) => Number(p.fields[2])));

    const ensureGroup = (name: string, id?: number): Entry => {
      let g = groups.find((x) => x.fields[0] === name);
      if (!g) {
        const gid = id !== undefined && !gids.has(id) ? id : freeId(gids);
        gids.add(gid);
        g = { fields: [name, 'x', String(gid), ''] };
        groups.push(g);
      }
      return g;
    };
    for (const name of DEVICE_GROUPS) {
      const g = ensureGroup(name);
      const members = (g.fields[3] ?? '').split(',').filter(Boolean);
      if (!members.includes(SERVICE_USER)) g.fields[3] = [...members, SERVICE_USER].join(',');
    }
    if (!passwd.some((p) => p.fields[0] === SERVICE_USER)) {
      const uid = freeId(uids);
      const own = ensureGroup(SERVICE_USER, uid);
      passwd.push({ fields: [SERVICE_USER, 'x', String(uid), own.fields[2]!, 'Postern gate controller', '/var/lib/postern', '/usr/sbin/nologin'] });
    }
    const text = (entries: Entry[]) => entries.map((e) => e.fields.join(':')).join('\n') + '\n';
    const root = { user: 'root', group: 'root' };
    ex.ensureFile('/etc/group', text(groups), 0o644, root, `/etc/group (groups ${DEVICE_GROUPS.join(', ')}, ${SERVICE_USER})`);
    ex.ensureFile('/etc/passwd', text(passwd), 0o644, root, `/etc/passwd (system user ${SERVICE_USER})`);
  }
}
