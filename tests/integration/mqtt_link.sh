#!/usr/bin/env bash
# The broker link (libfsmqtt) against a real mosquitto: see mqtt_link_test.c for the
# cases. This script prepares accounts and certificates; the program starts and kills
# its own brokers (one per case, each on a fresh loopback port).
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$(cd "$(dirname "$0")" && pwd)
. "$srcdir/tests/integration/mqtt_env.sh"
export FS_MQTT_CONF_TEMPLATE="$srcdir/conf/mosquitto-demo.conf"
# Run in its own process group, so nothing it started outlives it.
setsid "${FS_BUILDDIR:-.}/tests/integration/mqtt_link_test" &
pid=$!
trap 'kill -- -$pid 2>/dev/null; fs_mqtt_cleanup' EXIT
wait $pid
