#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Figures for the whole f2fpayd (engine, journal, PTY scanner, PNG display) against the sandbox:
# start to READY, RSS and wake-ups when idle, scan-to-wire latency (last scanner byte written →
# the pay request's first byte reaching the gateway, through a timestamping relay), and RSS
# after N orders (BENCH_ORDERS, default 10000). Prints numbers; asserts nothing about them.
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Sandbox, tmpdir  # noqa: E402


class Relay:
    """A TCP relay in front of the sandbox that notes when each pay request arrives."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.pay_arrivals = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.lsock.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(self, c):
        first = c.recv(65536)
        t = time.monotonic()
        if b"alipay.trade.pay" in first:
            with self.lock:
                self.pay_arrivals.append(t)
        u = socket.create_connection(self.target)
        u.sendall(first)
        threading.Thread(target=self.pipe, args=(u, c), daemon=True).start()
        self.pipe(c, u)


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    build = sys.argv[1]
    n_orders = int(os.environ.get("BENCH_ORDERS", "10000"))
    tmp = tmpdir("f2fpay-bench.")
    sb = Sandbox(build)
    relay = Relay(sb.host, sb.port)
    real_url = sb.url
    sb.url = f"http://127.0.0.1:{relay.port}"
    d = Daemon(build, sb, tmp)
    sb.url = real_url
    try:
        d.start()
        pid = d.proc.pid
        ready_ms = (d.t_ready - d.t_start) * 1000
        time.sleep(1)
        rss_idle = status(pid, "VmRSS")
        c0 = status(pid, "voluntary_ctxt_switches") + status(pid, "nonvoluntary_ctxt_switches")
        time.sleep(5)
        c1 = status(pid, "voluntary_ctxt_switches") + status(pid, "nonvoluntary_ctxt_switches")
        wakeups = (c1 - c0) / 5

        lat = []
        for i in range(200):
            st, o = d.api("POST", "/v1/orders", {"amount": "1.00"})
            assert st == 201, (st, o)
            before = len(relay.pay_arrivals)
            # The sandbox takes each payment code once: a fresh one per order.
            os.write(d.scanner.master, f"28{i + 1:015d}0\r".encode())
            t = time.monotonic()
            while len(relay.pay_arrivals) == before:
                time.sleep(0.0005)
            lat.append((relay.pay_arrivals[before] - t) * 1e6)
            d.wait_state(o["id"], "PAID")

        start = time.monotonic()
        for i in range(n_orders):
            st, o = d.api("POST", "/v1/orders", {"amount": "0.01",
                                                 "auth_code": f"29{i + 1:015d}0"})
            assert st == 201, (st, o)
        while d.api("GET", "/v1/status")[1]["active_orders"] > 0:
            time.sleep(0.1)
        took = time.monotonic() - start
        rss_after = status(pid, "VmRSS")
        d.stop()
    finally:
        d.close()
        sb.stop()
    print(f"start to READY:          {ready_ms:.1f} ms (journal created, keys loaded)")
    print(f"RSS idle:                {rss_idle} kB")
    print(f"wake-ups idle:           {wakeups:.1f} /s (context switches over 5 s)")
    print(f"scan-to-wire latency:    p50 {pct(lat, 0.5):.0f} us, p99 {pct(lat, 0.99):.0f} us "
          f"({len(lat)} scans, last byte into the PTY → pay request at the gateway)")
    print(f"RSS after {n_orders} orders: {rss_after} kB ({took:.1f} s, "
          f"{n_orders / took:.0f} orders/s, each paid at the sandbox)")
    os.system(f"rm -rf {tmp}")


if __name__ == "__main__":
    main()
