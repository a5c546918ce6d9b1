import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../..');

/**
 * A built source tree like the repo's, but whose production dependencies are only tweetnacl, so the
 * installer's real `npm ci --omit=dev` runs in seconds (the full tree takes about 35 s and 586 MB).
 * The lock is the repo's own, cut down to the entries that remain.
 */
export function makeSourceTree(): string {
  const src = mkdtempSync(join(tmpdir(), 'postern-src-'));
  cpSync(join(REPO, 'dist'), join(src, 'dist'), { recursive: true });
  cpSync(join(REPO, 'models', 'npm'), join(src, 'models', 'npm'), { recursive: true });
  cpSync(join(REPO, 'systemd'), join(src, 'systemd'), { recursive: true });
  cpSync(join(REPO, 'docs', 'INSTALL.md'), join(src, 'docs', 'INSTALL.md'));
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, any>;
  const tweetnacl = pkg.dependencies.tweetnacl as string;
  pkg.dependencies = { tweetnacl };
  writeFileSync(join(src, 'package.json'), JSON.stringify(pkg, null, 2));
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as Record<string, any>;
  const rootEntry = { ...lock.packages[''], dependencies: { tweetnacl } };
  lock.packages = { '': rootEntry, 'node_modules/tweetnacl': lock.packages['node_modules/tweetnacl'] };
  writeFileSync(join(src, 'package-lock.json'), JSON.stringify(lock, null, 2));
  return src;
}

/** A staging root with the bare minimum an image has: os-release, root in passwd and group, a video group. */
export function makeStagingRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'postern-root-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nvideo:x:44:\n');
  return root;
}

export interface ManifestEntry {
  type: 'file' | 'dir' | 'link';
  mode: string;
  uid: number;
  gid: number;
  /** sha256 of a file, target of a link. */
  content?: string;
}

/** Every path under `root` (node_modules summarised by its top level) with type, mode, owner and content hash. */
export function manifest(root: string): Record<string, ManifestEntry> {
  const out: Record<string, ManifestEntry> = {};
  const visit = (path: string): void => {
    const st = lstatSync(path);
    const rel = '/' + relative(root, path);
    const base = { mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) out[rel] = { type: 'link', ...base, content: readlinkSync(path) };
    else if (st.isDirectory()) {
      out[rel] = { type: 'dir', ...base };
      if (rel.endsWith('/node_modules')) return;
      for (const name of readdirSync(path)) visit(join(path, name));
    } else out[rel] = { type: 'file', ...base, content: createHash('sha256').update(readFileSync(path)).digest('hex') };
  };
  if (existsSync(root)) visit(root);
  return out;
}

/** name -> id from a staged passwd or group file. */
export function ids(root: string, file: 'passwd' | 'group'): Record<string, number> {
  return Object.fromEntries(
    readFileSync(join(root, 'etc', file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':'))
      .map((f) => [f[0]!, Number(f[2])]),
  );
}
