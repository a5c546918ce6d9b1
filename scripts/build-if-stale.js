#!/usr/bin/env node
// Runs the TypeScript build only when a source changed since the last successful one, so that a second
// `npm start` reaches the banner in a few seconds instead of waiting for a full `tsc` (~20 s on a small
// machine; ~7 s even incremental). Plain JavaScript because it runs before anything is compiled.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const stampFile = join(root, 'dist', '.source-fingerprint');
const SOURCE_DIRS = ['firmware', 'drivers', 'models', 'scripts', 'tests'];
const SOURCE_FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'npm') yield* walk(path);
    } else if (/\.(ts|json)$/.test(entry.name)) yield path;
  }
}

/** Path, size and mtime of every input of the build: a deleted, added or touched file changes it. */
function fingerprint() {
  const hash = createHash('sha256');
  const files = SOURCE_DIRS.flatMap((d) => (existsSync(join(root, d)) ? [...walk(join(root, d))] : []));
  for (const f of SOURCE_FILES) if (existsSync(join(root, f))) files.push(join(root, f));
  for (const f of files.sort()) {
    const s = statSync(f);
    hash.update(`${relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

const current = fingerprint();
const previous = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
if (current === previous && existsSync(join(root, 'dist', 'firmware', 'main.js'))) process.exit(0);

const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(stampFile, `${current}\n`);
