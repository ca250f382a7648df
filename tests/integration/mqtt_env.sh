# mqtt_env.sh -- sourced by the MQTT integration tests: a temp folder with the demo
# ACL, a password file with fresh random passwords (operator, foresight, viewer), and
# a CA with a server and a client certificate made by openssl; exports FS_MQTT_*.
# Removes the folder and every broker it started (pid files) on exit.
need() {
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p not installed"; exit 77; }
  done
}
need mosquitto mosquitto_passwd openssl

FS_MQTT_DIR=$(mktemp -d /tmp/fs-mqtt.XXXXXX)
export FS_MQTT_DIR
fs_mqtt_cleanup() {
  for f in "$FS_MQTT_DIR"/*.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  rm -rf "$FS_MQTT_DIR"
}
trap fs_mqtt_cleanup EXIT

newpass() { head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
FS_MQTT_OPERATOR_PW=$(newpass); FS_MQTT_DAEMON_PW=$(newpass); FS_MQTT_VIEWER_PW=$(newpass)
export FS_MQTT_OPERATOR_PW FS_MQTT_DAEMON_PW FS_MQTT_VIEWER_PW
touch "$FS_MQTT_DIR/passwd"; chmod 600 "$FS_MQTT_DIR/passwd"
mosquitto_passwd -b "$FS_MQTT_DIR/passwd" operator "$FS_MQTT_OPERATOR_PW"
mosquitto_passwd -b "$FS_MQTT_DIR/passwd" foresight "$FS_MQTT_DAEMON_PW"
mosquitto_passwd -b "$FS_MQTT_DIR/passwd" viewer "$FS_MQTT_VIEWER_PW"
export FS_MQTT_ACL="$srcdir/conf/mosquitto-demo.acl"

# A CA, a server certificate for 127.0.0.1/localhost and a client certificate.
(
  cd "$FS_MQTT_DIR" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=foresight test CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key \
    -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.crt 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=operator" -keyout client.key \
    -out client.csr 2>/dev/null
  openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -out client.crt 2>/dev/null
  chmod 644 ./*.key
) || { echo "FAIL: openssl could not make the test certificates"; exit 1; }

# A free loopback port (the kernel's choice; a small race until the broker binds).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_broker NAME PORT [LINES]: the demo config on PORT (with LINES, more mosquitto
# options, appended), in the background; waits until it accepts connections (5 s at
# most). Called again with the same NAME, it starts the broker of the same config.
start_broker() {
  local name=$1 port=$2
  sed -e "s|@PORT@|$port|" -e "s|@DIR@|$FS_MQTT_DIR|" -e "s|@ACL@|$FS_MQTT_ACL|" \
    "$srcdir/conf/mosquitto-demo.conf" > "$FS_MQTT_DIR/$name.conf"
  echo "user $(id -un)" >> "$FS_MQTT_DIR/$name.conf"
  [ -n "${3:-}" ] && printf '%s\n' "$3" >> "$FS_MQTT_DIR/$name.conf"
  mosquitto -c "$FS_MQTT_DIR/$name.conf" >> "$FS_MQTT_DIR/$name.log" 2>&1 &
  echo $! > "$FS_MQTT_DIR/$name.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "FAIL: mosquitto did not start on port $port:"; cat "$FS_MQTT_DIR/$name.log"
  return 1
}
