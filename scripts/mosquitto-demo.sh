#!/usr/bin/env bash
# Starts a demo broker for foresight on 127.0.0.1 (conf/mosquitto-demo.conf, with the
# ACL conf/mosquitto-demo.acl) and creates its password file at run time, with a fresh
# random password per account unless given in the environment. Nothing secret is ever
# committed: the passwords live in DIR only.
#
# Usage: scripts/mosquitto-demo.sh [PORT [DIR]]     (default 1883, a new temp folder)
#   FORESIGHT_OPERATOR_PASSWORD, FORESIGHT_DAEMON_PASSWORD, FORESIGHT_VIEWER_PASSWORD
#   set the passwords of the accounts operator, foresight and viewer.
# Prints the accounts and runs mosquitto in the foreground (Ctrl-C stops it).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
port=${1:-1883}
dir=${2:-$(mktemp -d /tmp/foresight-broker.XXXXXX)}
mkdir -p "$dir"
chmod 700 "$dir"

newpass() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
op=${FORESIGHT_OPERATOR_PASSWORD:-$(newpass)}
daemon=${FORESIGHT_DAEMON_PASSWORD:-$(newpass)}
viewer=${FORESIGHT_VIEWER_PASSWORD:-$(newpass)}

rm -f "$dir/passwd"
touch "$dir/passwd"
chmod 600 "$dir/passwd"
mosquitto_passwd -b "$dir/passwd" operator "$op"
mosquitto_passwd -b "$dir/passwd" foresight "$daemon"
mosquitto_passwd -b "$dir/passwd" viewer "$viewer"

sed -e "s|@PORT@|$port|" -e "s|@DIR@|$dir|" -e "s|@ACL@|$top/conf/mosquitto-demo.acl|" \
  "$top/conf/mosquitto-demo.conf" > "$dir/mosquitto.conf"
# started as root, mosquitto would switch to user "mosquitto", who cannot read $dir
echo "user $(id -un)" >> "$dir/mosquitto.conf"

cat <<INFO
foresight demo broker on 127.0.0.1:$port (config and password file in $dir)
  operator   $op     (policy/set, command: foresight-ctl -u operator -P ...)
  foresight  $daemon     (the collectd plugins)
  viewer     $viewer     (read only)
INFO
exec mosquitto -c "$dir/mosquitto.conf"
