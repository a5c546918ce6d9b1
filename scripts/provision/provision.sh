#!/usr/bin/env bash
# Postern installer entry point. It checks for a new enough Node.js before any of the installer's own
# JavaScript runs (an old Node could not even parse it), builds the source tree if it has not been
# built, then hands over to dist/scripts/provision/main.js. See docs/INSTALL.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"

if ! command -v node >/dev/null 2>&1; then
  echo "provision: Node.js is not installed; Postern needs 20.19 or newer (see docs/INSTALL.md)" >&2
  exit 2
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "provision: Node.js $(node -v) is too old; Postern needs 20.19 or newer (see docs/INSTALL.md)" >&2
  exit 2
fi

main="$source_dir/dist/scripts/provision/main.js"
built=1
[ -f "$main" ] && [ -f "$source_dir/dist/firmware/main.js" ] && [ -d "$source_dir/models/npm" ] || built=0
skip_deps=0 dry_run=0 help=0
for arg in "$@"; do
  case "$arg" in --skip-deps) skip_deps=1 ;; --dry-run) dry_run=1 ;; -h|--help) help=1 ;; esac
done
if [ "$help" = 0 ] && { [ "$built" = 0 ] || { [ "$skip_deps" = 0 ] && [ "$dry_run" = 0 ]; }; }; then
  # npm runs here. NodeSource's Node 20 brings npm 10, which ignores package.json's allowScripts (so every
  # dependency's install script would run) and reads npm 11's lock with warnings only.
  npm_version="$(npm -v 2>/dev/null || echo none)"
  if [ "${npm_version%%.*}" != 11 ]; then
    echo "provision: npm $npm_version found; Postern installs with npm 11 (sudo npm install -g npm@11, see docs/INSTALL.md)" >&2
    exit 2
  fi
  # i2c-bus and epoll (for onoff) ship no binaries: npm compiles them on this machine, and without a
  # compiler it fails deep inside node-gyp's output.
  missing=()
  for tool in g++ make python3; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "provision: npm builds i2c-bus and epoll from source here and needs ${missing[*]}: sudo apt-get install g++ make python3 (see docs/INSTALL.md)" >&2
    exit 2
  fi
fi

if [ "$built" = 0 ]; then
  # npm install, not npm ci: the lock cannot list the platform builds of the dev tools (@swc/core-*) for
  # every OS, and npm ci refuses such a lock. The gate's own dependencies are installed later with
  # npm ci --omit=dev from the same lock.
  # npm run models fetches the model packages that are not dependencies (models/fetch.ts).
  echo "building $source_dir (npm install && npm run build && npm run models) ..."
  (cd "$source_dir" && npm install --no-audit --no-fund && npm run build && npm run models)
fi
exec node "$main" "$@"
