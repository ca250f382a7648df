#!/usr/bin/env python3
"""mqtt_fuzz.py -- sends malformed requests to foresight's inbound topics and checks the
answers (used by mqtt_api.sh).

  mqtt_fuzz.py HOST PORT USER PASSWORD PREFIX SET VM COUNT SEED

Generates COUNT messages for <PREFIX>/<SET>/policy/set and <PREFIX>/<SET>/<VM>/command:
truncations and byte flips of valid requests (kept only when they no longer parse),
wrong types, unknown fields, out-of-range values, deep nesting, payloads over the
64 KiB inbound limit, non-UTF-8 bytes and non-objects. Every one is invalid by
construction, so none may be accepted.

It talks MQTT 3.1.1 over a plain socket (no client library needed): subscribes to
<PREFIX>/reply/#, publishes each message at QoS 1 (waiting for the PUBACK), in batches
that wait for the batch's replies, so the daemon's request queue never overflows.

Expected: a message that is a JSON object with a valid request_id (1 to 64 characters
A-Z a-z 0-9 . _ -) and at most 64 KiB is answered on reply/<id> with ok false. Prints
one line of counts ("sent N expected E answered A oversize O") and exits 1 when an
expected reply is missing or any reply says ok true.
"""
import json
import random
import re
import socket
import struct
import sys
import time

MAX_BYTES = 64 * 1024
ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# ------------------------------------------------------------------ minimal MQTT 3.1.1

def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


class Mqtt:
    def __init__(self, host, port, user, password, client_id):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        self.next_id = 1
        self.inbox = []  # (topic, payload) of PUBLISH packets received
        var = _str("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 60)
        pay = _str(client_id) + _str(user) + _str(password)
        self._send(0x10, var + pay)
        kind, body = self._packet()
        if kind != 0x20 or body[1] != 0:
            raise SystemExit("FAIL: fuzz client: connection refused (%r)" % body)

    def _send(self, head, body):
        self.sock.sendall(bytes([head]) + _varint(len(body)) + body)

    def _fill(self):
        chunk = self.sock.recv(65536)  # may time out: nothing is consumed then
        if not chunk:
            raise SystemExit("FAIL: fuzz client: the broker closed the connection")
        self.buf += chunk

    def _packet(self):
        """The next whole packet; the buffer is consumed only once it is complete."""
        while True:
            length, mult, k = 0, 1, 1
            complete = False
            while k < len(self.buf):
                b = self.buf[k]
                length += (b & 0x7F) * mult
                mult *= 128
                k += 1
                if not b & 0x80:
                    complete = len(self.buf) >= k + length
                    break
            if complete:
                head, body = self.buf[0], self.buf[k:k + length]
                self.buf = self.buf[k + length:]
                return head & 0xF0, body
            self._fill()

    def _pump(self, want_kind=None, want_id=None):
        """Reads packets until one of want_kind/want_id arrives (PUBLISHes are kept)."""
        while True:
            kind, body = self._packet()
            if kind == 0x30:
                n = struct.unpack("!H", body[:2])[0]
                topic = body[2:2 + n].decode("utf-8", "replace")
                rest = body[2 + n:]
                self.inbox.append((topic, rest))
                continue
            if kind == want_kind and (want_id is None or
                                      struct.unpack("!H", body[:2])[0] == want_id):
                return body

    def _pid(self):
        pid = self.next_id
        self.next_id = self.next_id % 65535 + 1
        return pid

    def subscribe(self, pattern):
        pid = self._pid()
        self._send(0x82, struct.pack("!H", pid) + _str(pattern) + bytes([0]))
        self._pump(0x90, pid)

    def publish(self, topic, payload):
        pid = self._pid()
        self._send(0x32, _str(topic) + struct.pack("!H", pid) + payload)
        self._pump(0x40, pid)

    def wait_inbox(self, seconds):
        """Collects PUBLISHes for up to `seconds`."""
        self.sock.settimeout(0.2)
        end = time.time() + seconds
        while time.time() < end:
            try:
                self._pump(-1)
            except (socket.timeout, TimeoutError):
                pass
        self.sock.settimeout(10)


# ------------------------------------------------------------------ the messages

def valid_policy(rid):
    return {"request_id": rid, "policy": {"Threshold": {"cpu": 0.75}, "LeadTime": 650}}


def valid_command(rid):
    return {"request_id": rid, "action": "set", "resource": "cpu", "value": 3,
            "duration": 60}


def strict_loads(data):
    """What jansson would make of data, as far as python can tell; raises on failure."""
    def no_dup(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_const(c):
        raise ValueError("constant " + c)

    def int64(text):  # jansson refuses integers beyond json_int_t
        v = int(text)
        if not -2 ** 63 <= v < 2 ** 63:
            raise ValueError("integer too big")
        return v

    return json.loads(data.decode("utf-8"), object_pairs_hook=no_dup,
                      parse_constant=no_const, parse_int=int64)


def enc(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


WRONG_VALUES = [None, True, False, 0, -1, 1e308, -1e-300, "", "x" * 300, [], [1, 2],
                {}, {"a": 1}, "3", "\u00e9\u4e2d", 2 ** 70]


def gen(rng, i, is_policy):
    """One malformed payload (bytes) with request id f<i> where the JSON allows one."""
    rid = "f%d" % i
    base = valid_policy(rid) if is_policy else valid_command(rid)
    kind = rng.randrange(11)
    if kind == 0:  # truncation of a valid request
        b = enc(base)
        return b[:rng.randrange(0, len(b) - 1)]
    if kind == 1:  # byte flips, kept only when the result no longer parses
        b = bytearray(enc(base))
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            strict_loads(bytes(b))
            return b"{" + bytes(b)  # still parsed: make sure it does not
        except (ValueError, UnicodeDecodeError, RecursionError):
            return bytes(b)
    if kind == 2:  # wrong type of a known field
        obj = dict(base)
        if is_policy:
            field = rng.choice(["policy", "Threshold", "LeadTime", "DryRun"])
            # no numbers (a scalar may be a valid value) and no objects (a patch)
            bad = rng.choice([v for v in WRONG_VALUES
                              if not isinstance(v, (dict, int, float)) or v is True])
            if field == "policy":
                obj["policy"] = bad
            else:
                obj["policy"] = {field: bad if field != "DryRun" else rng.choice(
                    [0, 1, "true", None, [], {}])}
        else:
            field = rng.choice(["action", "resource", "value", "duration"])
            # no positive number for value or duration: it might be a valid one
            obj[field] = rng.choice([v for v in WRONG_VALUES
                                     if not (field in ("value", "duration")
                                             and isinstance(v, (int, float))
                                             and not isinstance(v, bool) and v > 0)])
        return enc(obj)
    if kind == 3:  # unknown fields, at the top or inside
        obj = json.loads(enc(base))
        name = "x%d_%s" % (i, rng.choice(["foo", "Threshhold", "__proto__", "ACTION"]))
        if is_policy and rng.random() < 0.5:
            obj["policy"][name] = 1
        else:
            obj[name] = rng.choice(WRONG_VALUES)
        return enc(obj)
    if kind == 4:  # out of range
        obj = json.loads(enc(base))
        if is_policy:
            obj["policy"] = rng.choice([{"Threshold": {"cpu": 1.5}},
                                        {"Threshold": {"cpu": -0.1}},
                                        {"LeadTime": -5}, {"LeadTime": 10 ** 9},
                                        {"BorrowMax": {"cpu": 2}},
                                        {"Limit": {"cpu": [8, 1]}},
                                        {"Capacity": {"cpu": -1}}])
        else:
            obj.update(rng.choice([{"value": -3}, {"value": 0}, {"duration": -1},
                                   {"action": "explode"}, {"resource": "gpu"}]))
        return enc(obj)
    if kind == 5:  # deep nesting inside a field: still an object with a request id
        depth = rng.randint(50, 500)
        return (b'{"request_id":"' + rid.encode() + b'","' +
                (b"policy" if is_policy else b"value") + b'":' +
                b'{"a":' * depth + b"1" + b"}" * depth + b"}")
    if kind == 6:  # nesting beyond any parser's depth limit
        depth = rng.randint(3000, 20000)
        return b"[" * depth + b"]" * depth
    if kind == 7:  # over the 64 KiB limit (a valid request padded with a long field)
        pad = "y" * (MAX_BYTES + rng.randint(1, 100000))
        obj = dict(base)
        obj["pad"] = pad
        return enc(obj)
    if kind == 8:  # not UTF-8
        b = enc(base)
        k = rng.randrange(1, len(b) - 1)
        return b[:k] + rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x80"]) + b[k:]
    if kind == 9:  # not an object
        return rng.choice([b"[]", b"null", b"42", b'"request_id"', b"", b" ",
                           enc([base]), b"\x00" * rng.randint(1, 64)])
    # 10: duplicate keys, missing request id, bad request ids
    return rng.choice([
        b'{"request_id":"' + rid.encode() + b'","request_id":"' + rid.encode() + b'"}',
        enc({k: v for k, v in base.items() if k != "request_id"}),
        enc(dict(base, request_id="bad id with spaces")),
        enc(dict(base, request_id="z" * 65)),
        enc(dict(base, request_id=7)),
        enc(dict(base, request_id="f/" + rid)),
    ])


def expected_id(payload):
    """The request id the daemon can answer, or None."""
    if len(payload) > MAX_BYTES:
        return None
    try:
        obj = strict_loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    rid = obj.get("request_id")
    return rid if isinstance(rid, str) and ID_RE.match(rid) else None


def main():
    host, port, user, password, prefix, hset, vm, count, seed = sys.argv[1:10]
    port, count, seed = int(port), int(count), int(seed)
    rng = random.Random(seed)
    cl = Mqtt(host, port, user, password, "fs-fuzz-%d" % seed)
    cl.subscribe("%s/reply/#" % prefix)
    expected, oversize, batch = {}, 0, []
    start = time.time()
    for i in range(count):
        is_policy = i % 2 == 0
        payload = gen(rng, i, is_policy)
        topic = ("%s/%s/policy/set" % (prefix, hset) if is_policy
                 else "%s/%s/%s/command" % (prefix, hset, vm))
        rid = expected_id(payload)
        if rid is not None:
            expected[rid] = payload
            batch.append(rid)
        oversize += len(payload) > MAX_BYTES
        cl.publish(topic, payload)
        if len(batch) >= 40 or i == count - 1:
            # wait for this batch's replies (the daemon's queue holds 256 requests)
            deadline = time.time() + 10
            while time.time() < deadline:
                got = {t.rsplit("/", 1)[-1] for t, _ in cl.inbox}
                if all(r in got for r in batch):
                    break
                cl.wait_inbox(0.2)
            batch = []
    cl.wait_inbox(1.0)
    replies = {}
    accepted = []
    for topic, payload in cl.inbox:
        rid = topic.rsplit("/", 1)[-1]
        try:
            ans = json.loads(payload)
        except ValueError:
            print("FAIL: reply on %s is not JSON: %r" % (topic, payload[:200]))
            return 1
        replies[rid] = ans
        if ans.get("ok") is not False:
            accepted.append((rid, ans))
    missing = [r for r in expected if r not in replies]
    print("sent %d expected %d answered %d oversize %d in %.1f s (seed %d)" %
          (count, len(expected), len(replies), oversize, time.time() - start, seed))
    for rid, ans in accepted[:5]:
        print("FAIL: request %s accepted: %s" % (rid, ans))
    for rid in missing[:5]:
        print("FAIL: no reply to %s: %r" % (rid, expected[rid][:200]))
    return 1 if accepted or missing else 0


if __name__ == "__main__":
    sys.exit(main())
