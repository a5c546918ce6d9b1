#!/bin/sh
# Creates (or rotates) the broker login of one gate: user "<site>/<gate>" with a fresh random password.
# Usage: add-gate.sh SITE GATE [PASSWORD_FILE]   (default /etc/mosquitto/postern.passwd)
# Prints the password once: put it in the gate's cloud.passwordFile (0600) and nowhere else.
set -eu
site=${1:?usage: add-gate.sh SITE GATE [PASSWORD_FILE]}
gate=${2:?usage: add-gate.sh SITE GATE [PASSWORD_FILE]}
file=${3:-/etc/mosquitto/postern.passwd}
for id in "$site" "$gate"; do
  case "$id" in
    *[!a-z0-9_-]*|[_-]*|'') echo "add-gate.sh: \"$id\" must be 1-64 of a-z 0-9 _ -, starting with a letter or digit (gate.site / gate.id; it becomes a topic level)" >&2; exit 2 ;;
  esac
done
password=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
# mosquitto 2 reads this file after dropping to its own user: root-owned, group mosquitto, 0640.
[ -f "$file" ] || { touch "$file"; chmod 0640 "$file"; chgrp mosquitto "$file" 2>/dev/null || true; }
mosquitto_passwd -b "$file" "$site/$gate" "$password"
echo "$password"
echo "added $site/$gate to $file; reload the broker: systemctl reload mosquitto" >&2
