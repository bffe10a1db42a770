#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The pay's connection opened before the scan (doc/engine.md "A connection opened before the
# scan"): the real daemon, f2fpay-sandbox serving HTTPS, and a relay in between that keeps what
# went over each TCP connection. One scenario per run: test-preconnect.py BUILD_DIR NAME.
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, Daemon, Sandbox, check, run_scenario  # noqa: E402

CERTS = os.path.join(SRC, "tests", "sandbox", "certs")
CA = os.path.join(CERTS, "tls-ca.pem")
CODE_PAID = "287654321098765430"
CODE_DROPPED = "287654321098765436"  # paid, the connection closed before any answer
# More than the client's side of a TLS handshake (about 600 bytes, resumed or not), less than a
# signed pay request (about 1070 bytes with TLS's framing).
PAY_BYTES = 900


class ConnRelay:
    """A TCP relay in front of the sandbox: per connection, the bytes each way and whether the
    client closed it. kill() closes every open connection from the server's side."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.lock = threading.Lock()
        self.conns = []
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.lsock.accept()
            u = socket.create_connection(self.target)
            rec = {"up": 0, "down": 0, "client_closed": False, "socks": (c, u)}
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self.pipe, args=(c, u, rec, "up"), daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, rec, "down"), daemon=True).start()

    def pipe(self, a, b, rec, key):
        while True:
            try:
                data = a.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    if key == "up":
                        rec["client_closed"] = True
                try:
                    b.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                rec[key] += len(data)
            try:
                b.sendall(data)
            except OSError:
                return

    def kill(self):
        with self.lock:
            for rec in self.conns:
                for s in rec["socks"]:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def snapshot(self):
        with self.lock:
            return [{k: r[k] for k in ("up", "down", "client_closed")} for r in self.conns]


def wait_for(pred, what, timeout=20):
    end = time.monotonic() + timeout
    while not pred():
        check(time.monotonic() < end, f"timed out waiting for {what}")
        time.sleep(0.02)


def setup(build, tmp, notify=True):
    sb = Sandbox(build, extra=("--tls-cert", os.path.join(CERTS, "tls-server.pem"),
                               "--tls-key", os.path.join(CERTS, "tls-server.key")))
    relay = ConnRelay(sb.host, sb.port)

    class Gateway:
        url = f"https://127.0.0.1:{relay.port}"

    d = Daemon(build, Gateway, tmp, display=None, notify=notify)
    with open(d.conf) as f:
        conf = f.read()
    with open(d.conf, "w") as f:
        f.write(conf.replace("[alipay]\n", f"[alipay]\nca_file = {CA}\n", 1))
    return sb, relay, d


def ledger(sb, oid):
    c = http.client.HTTPSConnection(sb.host, sb.port, timeout=10,
                                    context=ssl.create_default_context(cafile=CA))
    c.request("GET", "/sim/trades")
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    check(r.status == 200, f"/sim/trades: {r.status}")
    for t in json.loads(body)["trades"]:
        if t.get("out_trade_no") == oid:
            return t
    raise AssertionError(f"no trade {oid} at the sandbox")


def wait_preopened(d, relay):
    """Creates a scan order and waits for its pay's connection: handshaken, nothing more sent."""
    time.sleep(0.5)
    check(relay.snapshot() == [], f"connections with no order waiting: {relay.snapshot()}")
    st, o = d.api("POST", "/v1/orders", {"amount": "1.00"})
    check(st == 201, f"create: {st} {o}")
    wait_for(lambda: len(relay.snapshot()) == 1 and relay.snapshot()[0]["up"] > 0 and
             relay.snapshot()[0]["down"] > 0, "the connection opened while the order waits")
    time.sleep(0.5)
    conns = relay.snapshot()
    check(len(conns) == 1, f"one connection before the scan: {conns}")
    check(conns[0]["up"] < PAY_BYTES, f"a request before the scan? {conns}")
    check(not conns[0]["client_closed"], f"closed before the scan: {conns}")
    return o, conns[0]


def test_preconnect(build, tmp):
    """(a) The TLS handshake happens while the order waits; the pay goes on that connection,
    its only request, which is closed afterwards; nothing is opened once no order waits."""
    sb, relay, d = setup(build, tmp)
    try:
        d.start()
        o, before = wait_preopened(d, relay)
        d.scanner.scan(CODE_PAID)
        d.wait_state(o["id"], "PAID")
        wait_for(lambda: relay.snapshot()[0]["client_closed"], "the connection closed after it")
        conns = relay.snapshot()
        print(f"connections: {conns}")
        check(len(conns) == 1, f"the pay went on another connection: {conns}")
        check(conns[0]["up"] >= before["up"] + PAY_BYTES, f"no pay on it: {before} → {conns}")
        t = ledger(sb, o["id"])
        check(t["pay_requests"] == 1, f"pay requests at the gateway: {t['pay_requests']}")
        time.sleep(1)
        check(len(relay.snapshot()) == 1, f"a connection with no order: {relay.snapshot()}")
    finally:
        d.close()
        sb.stop()


def test_preconnect_dead(build, tmp):
    """(b) The server closes the pre-opened connection before the scan: the pay is found it dead
    before a byte is written and goes out once, on a fresh connection."""
    sb, relay, d = setup(build, tmp)
    try:
        d.start()
        o, before = wait_preopened(d, relay)
        relay.kill()
        time.sleep(0.3)
        d.scanner.scan(CODE_PAID)
        d.wait_state(o["id"], "PAID")
        conns = relay.snapshot()
        print(f"connections: {conns}")
        check(len(conns) == 2, f"connections: {conns}")
        check(conns[0]["up"] == before["up"], f"bytes on the dead connection: {before} → {conns}")
        check(conns[1]["up"] >= PAY_BYTES, f"no pay on the fresh connection: {conns}")
        t = ledger(sb, o["id"])
        check(t["pay_requests"] == 1, f"pay requests at the gateway: {t['pay_requests']}")
    finally:
        d.close()
        sb.stop()


def test_preconnect_midway(build, tmp):
    """(b) The connection dies after the pay went out on it (the gateway processed it and closed
    without answering): never re-sent, the order settles by query (no notification listener)."""
    sb, relay, d = setup(build, tmp, notify=False)
    try:
        d.start()
        o, before = wait_preopened(d, relay)
        d.scanner.scan(CODE_DROPPED)
        d.wait_state(o["id"], "PAID")
        conns = relay.snapshot()
        print(f"connections: {conns}")
        check(conns[0]["up"] >= before["up"] + PAY_BYTES, f"no pay on it: {before} → {conns}")
        t = ledger(sb, o["id"])
        check(t["pay_requests"] == 1, f"pay requests at the gateway: {t['pay_requests']}")
        check(t["query_requests"] >= 1, f"settled without a query: {t}")
    finally:
        d.close()
        sb.stop()


def test_preconnect_idle(build, tmp):
    """The connection is replaced before it idles 15 s (under the servers' idle timeouts); the
    pay goes on the new one, its one request."""
    sb, relay, d = setup(build, tmp)
    try:
        d.start()
        o, _ = wait_preopened(d, relay)
        t0 = time.monotonic()
        wait_for(lambda: len(relay.snapshot()) == 2 and relay.snapshot()[0]["client_closed"]
                 and relay.snapshot()[1]["down"] > 0, "the connection replaced", timeout=45)
        took = time.monotonic() - t0
        print(f"replaced after {took:.1f} s")
        check(took > 10, f"replaced after {took:.1f} s")
        time.sleep(0.5)
        before = relay.snapshot()
        d.scanner.scan(CODE_PAID)
        d.wait_state(o["id"], "PAID")
        conns = relay.snapshot()
        print(f"connections: {conns}")
        check(len(conns) == 2, f"connections: {conns}")
        check(conns[0]["up"] == before[0]["up"], f"bytes on the replaced one: {conns}")
        check(conns[1]["up"] >= before[1]["up"] + PAY_BYTES, f"no pay on the new one: {conns}")
        check(ledger(sb, o["id"])["pay_requests"] == 1, "pay requests at the gateway")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "preconnect-idle": test_preconnect_idle,
    "preconnect": test_preconnect,
    "preconnect-dead": test_preconnect_dead,
    "preconnect-midway": test_preconnect_midway,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-pre"))
