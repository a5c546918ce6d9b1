import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { APP_DIR, checkSourceTree, installApp } from '../provision/app';
import { Executor, type IdLookup } from '../provision/executor';
import type { Arm64Node } from './emulation';

/** The native addons of the production dependencies, as built into node_modules. */
export const ADDONS = ['i2c-bus/build/Release/i2c.node', 'epoll/build/Release/epoll.node'] as const;

/** Whoever runs the check owns the scratch tree; the installer's root:root ownership only matters on a gate. */
const runningUser: IdLookup = { uid: () => process.getuid!(), gid: () => process.getgid!() };

export interface InstallTree {
  /** Where the app sits, laid out as /opt/postern on a gate. */
  appDir: string;
  files: number;
  packages: number;
}

/**
 * The gate's /opt/postern under `stageRoot`, laid out by the installer's own code (dist/, models/npm/,
 * the production package.json and the lock), then `npm ci --omit=dev` as provisioning runs it, with the
 * addons compiled for aarch64 against the arm64 Node's headers.
 */
export function buildInstallTree(source: string, stageRoot: string, node: Arm64Node, log: (line: string) => void): InstallTree {
  checkSourceTree(source);
  rmSync(stageRoot, { recursive: true, force: true });
  const ex = new Executor(stageRoot, false, runningUser, () => {});
  installApp(ex, source, { installDeps: false });
  const appDir = ex.at(APP_DIR);

  const env = {
    ...process.env,
    // node-gyp takes these from npm's config: target arm64, against the headers of the Node that will load them.
    npm_config_arch: 'arm64',
    npm_config_nodedir: node.dir,
    CC: 'aarch64-linux-gnu-gcc',
    CXX: 'aarch64-linux-gnu-g++',
    LINK: 'aarch64-linux-gnu-g++',
    AR: 'aarch64-linux-gnu-ar',
  };
  const args = ['ci', '--omit=dev', '--no-audit', '--no-fund', '--os=linux', '--cpu=arm64', '--libc=glibc'];
  log(`npm ${args.join(' ')} (addons cross-compiled with aarch64-linux-gnu-g++)`);
  const r = spawnSync('npm', args, { cwd: appDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`npm ci in ${appDir} failed (${r.status ?? r.signal}):\n${(r.stderr || r.stdout).slice(-3000)}`);
  const added = /added (\d+) packages/.exec(r.stdout);
  for (const addon of ADDONS) {
    if (!existsSync(join(appDir, 'node_modules', addon))) throw new Error(`npm ci built no ${addon}`);
  }
  return { appDir, files: ex.changes.length, packages: added ? Number(added[1]) : 0 };
}

/** `file`'s one-line description of a binary ("ELF 64-bit LSB shared object, ARM aarch64, ..."). */
export function describeBinary(path: string): string {
  const r = spawnSync('file', ['-b', path], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `file failed: ${r.stderr.trim()}`;
}
