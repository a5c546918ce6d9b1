import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ProvisionError, type Executor } from './executor';

export const APP_DIR = '/opt/postern';
const ROOT_OWNER = { user: 'root', group: 'root' };
/** Compiled tests are not part of the gate. */
const SKIPPED = new Set(['dist/tests']);
const DEPS_STAMP = '.production-deps.sha256';

function walk(dir: string, base: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = relative(base, full);
    if (SKIPPED.has(rel)) continue;
    if (statSync(full).isDirectory()) walk(full, base, out);
    else out.push(rel);
  }
}

/**
 * The production manifest: the repo's package.json without devDependencies. `npm ci --omit=dev`
 * still checks the whole lock against package.json, and the lock cannot list the platform builds of
 * dev tools (@swc/core-darwin-*, ...) that the registry here does not serve; without the dev section
 * only the runtime tree is checked.
 */
export function productionManifest(packageJson: string): string {
  const pkg = JSON.parse(packageJson) as Record<string, unknown>;
  delete pkg.devDependencies;
  return JSON.stringify(pkg, null, 2) + '\n';
}

/**
 * The trees copied to the gate: the built code, and the model files `npm run models` fetched (packages
 * that are not npm dependencies, so `npm ci` on the gate would not bring them).
 */
const APP_TREES = ['dist', 'models/npm'];

/** Refuses, before anything is changed, a source tree that is not built or lacks the fetched model files. */
export function checkSourceTree(source: string): void {
  if (!existsSync(join(source, 'dist', 'firmware', 'main.js'))) {
    throw new ProvisionError(`${join(source, 'dist')}/firmware/main.js is missing: build the source first (npm ci && npm run build)`);
  }
  if (!existsSync(join(source, 'models', 'npm'))) {
    throw new ProvisionError(`${join(source, 'models', 'npm')} is missing: fetch the model files first (npm run models)`);
  }
}

/** Copies the built app (root-owned, so the service cannot rewrite its own code) and installs production dependencies; checkSourceTree first. */
export function installApp(ex: Executor, source: string, opts: { installDeps: boolean }): void {
  ex.ensureDir(APP_DIR, 0o755, ROOT_OWNER);

  for (const tree of APP_TREES) {
    const files: string[] = [];
    walk(join(source, tree), source, files);
    const wanted = new Set(files);
    const dirs = new Set<string>([tree]);
    for (const f of files) {
      const parts = f.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    for (const d of [...dirs].sort()) ex.ensureDir(`${APP_DIR}/${d}`, 0o755, ROOT_OWNER);
    for (const f of files) ex.ensureFile(`${APP_DIR}/${f}`, readFileSync(join(source, f)), 0o644, ROOT_OWNER);
    // Files of an older version would otherwise still be loadable.
    const installedTree = ex.at(`${APP_DIR}/${tree}`);
    if (existsSync(installedTree)) {
      const installed: string[] = [];
      walk(installedTree, ex.at(APP_DIR), installed);
      for (const f of installed) if (!wanted.has(f)) ex.remove(`${APP_DIR}/${f}`);
    }
  }

  // The unit's Documentation= points here.
  ex.ensureDir(`${APP_DIR}/docs`, 0o755, ROOT_OWNER);
  ex.ensureFile(`${APP_DIR}/docs/INSTALL.md`, readFileSync(join(source, 'docs', 'INSTALL.md')), 0o644, ROOT_OWNER);

  const manifest = productionManifest(readFileSync(join(source, 'package.json'), 'utf8'));
  const lock = readFileSync(join(source, 'package-lock.json'));
  ex.ensureFile(`${APP_DIR}/package.json`, manifest, 0o644, ROOT_OWNER);
  ex.ensureFile(`${APP_DIR}/package-lock.json`, lock, 0o644, ROOT_OWNER);

  if (!opts.installDeps) {
    ex.note(`production dependencies not installed (--skip-deps): run npm ci --omit=dev in ${APP_DIR}`);
    return;
  }
  const digest = createHash('sha256').update(manifest).update(lock).digest('hex') + '\n';
  const stamp = ex.at(`${APP_DIR}/${DEPS_STAMP}`);
  const current = existsSync(stamp) && existsSync(ex.at(`${APP_DIR}/node_modules`)) ? readFileSync(stamp, 'utf8') : '';
  if (current === digest) return;
  // npm 11 runs install scripts only for packages that package.json's allowScripts approves (i2c-bus, epoll).
  ex.run('install production dependencies', 'npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], ex.at(APP_DIR));
  ex.ensureFile(`${APP_DIR}/${DEPS_STAMP}`, digest, 0o644, ROOT_OWNER);
}
