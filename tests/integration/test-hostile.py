#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd under hostile clients and faults, real processes: a flood of forged notifications and
# idle connections on the notification listener, slow and idle clients on the local API. One
# scenario per run: test-hostile.py BUILD_DIR NAME. Loopback only, bounded in count and time;
# the figures are printed, the bounds asserted are generous.
import os
import re
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sandbox, TestFailure, check, form, run_scenario,  # noqa: E402
                     sign_notification)

FORGED_QUIET = 2000  # forgeries in the first phase (no order open)
FORGED_LOUD = 20000  # at most, while the genuine notification arrives (stopped after it)
IDLE_TCP = 1000      # idle TCP connections opened at the listener during each phase
SLOW_API = 64        # API clients sending one byte a second
IDLE_API = 64        # API clients sending nothing


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def journal_bytes(tmp):
    total = 0
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(tmp, "journal.db" + suffix)
        if os.path.exists(p):
            total += os.path.getsize(p)
    return total


def sql(tmp, query):
    return subprocess.run(["sqlite3", os.path.join(tmp, "journal.db"), query],
                          capture_output=True, text=True, check=True).stdout.strip()


class IdleFlood(threading.Thread):
    """Opens `count` TCP connections that never send a byte, holding them until stop()."""

    def __init__(self, port, count):
        super().__init__(daemon=True)
        self.port, self.count = port, count
        self.socks, self.opened, self.refused = [], 0, 0
        self.done, self.all_open = threading.Event(), threading.Event()

    def run(self):
        for _ in range(self.count):
            if self.done.is_set():
                break
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect_ex(("127.0.0.1", self.port))
                self.socks.append(s)
                self.opened += 1
            except OSError:
                self.refused += 1
                s.close()
        self.all_open.set()
        self.done.wait()
        for s in self.socks:
            s.close()

    def stop(self):
        self.done.set()
        self.join(timeout=30)


def post_raw(sock, body):
    """One keep-alive POST on an open socket; returns the answer's body (or None if closed)."""
    sock.sendall(b"POST /alipay/notify HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        rest += chunk
    return rest[:length].decode()


def forge_flood(port, bodies, workers=8, stop=None):
    """Posts the bodies (keep-alive, reconnecting when shed) until they or `stop` run out;
    returns (answers, seconds)."""
    answers = {"failure": 0, "other": 0, "dropped": 0}
    lock = threading.Lock()
    it = iter(bodies)

    def work():
        s = None
        while True:
            with lock:
                body = next(it, None)
            if body is None or (stop and stop.is_set()):
                break
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", port), timeout=15)
                a = post_raw(s, body)
            except OSError:
                a = None
            with lock:
                if a is None:
                    answers["dropped"] += 1
                else:
                    answers["failure" if a == "failure" else "other"] += 1
            if a is None and s:
                s.close()
                s = None
        if s:
            s.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    return answers, time.monotonic() - t0


def forged_bodies(n, order_id):
    # Well-formed forms with a signature that cannot verify: the cost is one RSA check each.
    return [form({"notify_id": f"f{i}", "notify_type": "trade_status_sync",
                  "app_id": "2021000000000001", "out_trade_no": order_id,
                  "trade_status": "TRADE_SUCCESS", "total_amount": "6.60",
                  "sign_type": "RSA2", "sign": "A" * 344}).encode() for i in range(n)]


def test_notify_flood(build, tmp):
    """Forgeries cost no journal byte; a genuine notification is answered during a flood."""
    raise_fd_limit()
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    with open(d.conf) as f:
        conf = f.read().replace("query_interval = 300ms", "query_interval = 60s")
    with open(d.conf, "w") as f:
        f.write(conf)
    log = open(os.path.join(tmp, "f2fpayd.log"), "w+")
    try:
        d.start(stderr=log)
        # Phase 1: nothing open, a flood of forgeries and idle connections.
        before, rows = journal_bytes(tmp), sql(tmp, "SELECT count(*) FROM notifications")
        idle = IdleFlood(d.notify_port, IDLE_TCP)
        idle.start()
        check(idle.all_open.wait(60), "the idle connections did not open")
        answers, secs = forge_flood(d.notify_port, forged_bodies(FORGED_QUIET, "T01_1"))
        idle.stop()
        print(f"phase 1: {FORGED_QUIET} forgeries in {secs:.2f} s "
              f"({FORGED_QUIET / secs:.0f}/s) beside {idle.opened} idle connections: "
              f"{answers}")
        after = journal_bytes(tmp)
        print(f"journal: {before} bytes before, {after} after; "
              f"notification rows {rows} → {sql(tmp, 'SELECT count(*) FROM notifications')}")
        check(after == before, f"the journal grew from {before} to {after} bytes")
        check(sql(tmp, "SELECT count(*) FROM notifications") == rows,
              "forgeries were written to the journal")
        check(answers["other"] == 0, f"a forgery was not answered 'failure': {answers}")
        st, status = d.api("GET", "/v1/status")
        check(st == 200 and status["notifications_forged"] == answers["failure"],
              f"forgeries counted {status.get('notifications_forged')}, answered {answers}")
        log.flush()
        log.seek(0)
        lines = [line for line in log if "Forged notification" in line]
        print(f"log: {len(lines)} lines about forgeries")
        check(len(lines) <= secs / 10 + 2, f"{len(lines)} log lines for {secs:.1f} s of flood")

        # Phase 2: an order, the flood again, and Alipay's genuine notification in the middle.
        st, o = d.api("POST", "/v1/orders", {"amount": "6.60", "mode": "qr"})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "SHOWING_QR")
        genuine = sign_notification({
            "notify_type": "trade_status_sync", "notify_id": "n1",
            "notify_time": "2026-11-26 10:00:00", "app_id": "2021000000000001",
            "charset": "utf-8", "version": "1.0", "trade_no": "2026112622000000000000009999",
            "out_trade_no": o["id"], "trade_status": "TRADE_SUCCESS", "total_amount": "6.60",
            "seller_id": "2088000000000001"}, tmp)
        idle = IdleFlood(d.notify_port, IDLE_TCP)
        idle.start()
        check(idle.all_open.wait(60), "the idle connections did not open")
        result, stop, bodies = {}, threading.Event(), forged_bodies(FORGED_LOUD, o["id"])
        flood = threading.Thread(target=lambda: result.update(
            answers=forge_flood(d.notify_port, bodies, stop=stop)), daemon=True)
        flood.start()
        end = time.monotonic() + 30
        while d.api("GET", "/v1/status")[1]["notifications_forged"] < FORGED_QUIET + 500:
            check(time.monotonic() < end, "the second flood does not start")
            time.sleep(0.02)
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", d.notify_port), timeout=10) as s:
                answer = post_raw(s, form(genuine).encode())
        except OSError as e:
            answer = f"error {e}"
        took = time.monotonic() - t0
        t1 = time.monotonic()
        st, o2 = d.api("POST", "/v1/orders", {"amount": "1.00", "mode": "qr"})
        order_ms = (time.monotonic() - t1) * 1000
        still = flood.is_alive()
        stop.set()
        flood.join(timeout=120)
        idle.stop()
        print(f"phase 2: genuine notification answered {answer!r} in {took * 1000:.0f} ms "
              f"during a flood of forgeries and {idle.opened} idle connections "
              f"({result.get('answers')}); an order's 201 took {order_ms:.0f} ms")
        check(still, "the flood was over before the genuine notification was answered")
        check(answer == "success", f"the genuine notification got {answer!r}")
        check(took < 5.0, f"the genuine notification took {took:.1f} s")
        check(st == 201, f"an order during the flood: {st} {o2}")
        d.wait_state(o["id"], "PAID")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()
        log.close()


class SlowClients:
    """API clients that each send one byte a second of a request; each reconnects when cut.
    Records how long each connection lived."""

    REQUEST = (b"POST /v1/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
               b"\r\nContent-Length: 17\r\n\r\n{\"amount\":\"1.00\"}")

    def __init__(self, path, slow, idle):
        self.path = path
        self.sel = selectors.DefaultSelector()
        self.lifetimes, self.closed_idle = [], []
        self.stop_ev = threading.Event()
        self.conns, self.refused = {}, 0
        for i in range(slow + idle):
            self.open(i < slow)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def open(self, slow):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        s.setblocking(False)
        self.conns[s] = {"slow": slow, "since": time.monotonic(), "sent": 0}
        self.sel.register(s, selectors.EVENT_READ)

    def cut(self, s):
        c = self.conns.pop(s)
        self.sel.unregister(s)
        s.close()
        life = time.monotonic() - c["since"]
        (self.lifetimes if c["slow"] else self.closed_idle).append(life)
        if not self.stop_ev.is_set():
            try:
                self.open(c["slow"])
            except OSError:
                self.refused += 1  # the listen backlog is full: that client gives up

    def run(self):
        next_byte = time.monotonic()
        while not self.stop_ev.is_set():
            for key, _ in self.sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self.cut(key.fileobj)
            if time.monotonic() >= next_byte:
                next_byte += 1.0
                for s, c in list(self.conns.items()):
                    if c["slow"] and c["sent"] < len(self.REQUEST) - 1:
                        try:
                            s.send(self.REQUEST[c["sent"]:c["sent"] + 1])
                            c["sent"] += 1
                        except OSError:
                            self.cut(s)

    def stop(self):
        self.stop_ev.set()
        self.t.join(timeout=10)
        for s in list(self.conns):
            self.sel.unregister(s)
            s.close()
        self.conns = {}


def timed_order(d, amount):
    t0 = time.monotonic()
    st, o = d.api("POST", "/v1/orders", {"amount": amount, "mode": "qr"})
    ms = (time.monotonic() - t0) * 1000
    check(st == 201, f"create: {st} {o}")
    return ms


def loaded_orders(d, slow, idle, hold):
    """Orders while `slow` + `idle` clients hold connections for `hold` s; their lifetimes."""
    clients = SlowClients(d.sock, slow, idle)
    time.sleep(2.0)
    times = []
    end = time.monotonic() + hold
    while time.monotonic() < end:
        times.append(timed_order(d, "1.00"))
        time.sleep(1.0)
    clients.stop()
    return times, clients


def test_api_slowloris(build, tmp):
    """64 slow, 64 idle, then 32 of each: a normal order still gets its 201 at once, and no
    byte restarts a connection's deadline."""
    raise_fd_limit()
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        base = [timed_order(d, "1.00") for _ in range(3)]
        print(f"order 201 without load: {', '.join(f'{x:.1f}' for x in base)} ms")
        runs = [("slow", SLOW_API, 0, 6.0), ("idle", 0, IDLE_API, 6.0),
                ("slow+idle", SLOW_API // 2, IDLE_API // 2, 3.0)]
        for name, slow, idle, hold in runs:
            times, c = loaded_orders(d, slow, idle, hold)
            med = statistics.median(times)
            print(f"{name}: {slow} slow and {idle} idle clients: order 201 in "
                  f"{', '.join(f'{x:.1f}' for x in times)} ms (median {med:.1f} ms); "
                  f"cut slow connections: {len(c.lifetimes)}, lived "
                  f"{min(c.lifetimes, default=0):.1f}-{max(c.lifetimes, default=0):.1f} s; "
                  f"cut idle: {len(c.closed_idle)}, lived "
                  f"{min(c.closed_idle, default=0):.1f}-{max(c.closed_idle, default=0):.1f} s")
            # 100 ms, or three times the unloaded figure on a machine too loaded for that;
            # before the deadlines and the shedding it took over a minute.
            bound = max(100.0, 3 * statistics.median(base))
            check(med < bound, f"{name}: median 201 {med:.0f} ms (bound {bound:.0f} ms)")
            check(max(times) < 2000, f"{name}: slowest 201 {max(times):.0f} ms")
            if name == "slow":
                # One byte a second would keep them forever if each byte restarted a timer:
                # the headers' deadline (5 s from the accept) cuts every one of them.
                check(len(c.lifetimes) >= slow, f"only {len(c.lifetimes)} slow ones were cut")
                check(4.0 <= min(c.lifetimes) and max(c.lifetimes) < 9.0,
                      f"slow connections lived {min(c.lifetimes):.1f}-{max(c.lifetimes):.1f} s")
            if name == "idle":
                check(len(c.closed_idle) >= idle, f"only {len(c.closed_idle)} idle ones cut")
                check(4.0 <= min(c.closed_idle) and max(c.closed_idle) < 9.0,
                      f"idle connections lived {min(c.closed_idle):.1f}-"
                      f"{max(c.closed_idle):.1f} s")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def need_root(what):
    if os.geteuid() != 0:
        print(f"SKIP: {what} needs root (CI runs as root)", file=sys.stderr)
        sys.exit(77)


def journal_at(d, path):
    with open(d.conf) as f:
        conf = f.read().replace(f"path = {os.path.join(d.tmp, 'journal.db')}", f"path = {path}")
    with open(d.conf, "w") as f:
        f.write(conf)


def fill(path, leave):
    """Fills the filesystem of `path` with one file, then frees until `leave` bytes are free."""
    chunk = b"\0" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            # Unbuffered: nothing is left to flush (and fail) at close.
            if os.write(fd, chunk) < len(chunk):
                break
    except OSError:
        pass
    os.close(fd)
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    os.truncate(path, max(0, os.path.getsize(path) - (leave - free)))
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def status_journal(d):
    st, s = d.api("GET", "/v1/status")
    check(st == 200, f"status: {st} {s}")
    return s["journal"]


def wait_for(what, cond, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise TestFailure(f"timed out waiting for {what}")


def test_journal_full(build, tmp):
    """A small filesystem filled: new orders refused with journal_full while the order in
    progress finishes; status, STATUS= and the display say so; freed, all recovers without a
    restart and the write-ahead file is truncated."""
    need_root("mounting a small tmpfs")
    mnt = os.path.join(tmp, "small")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mnt],
                   check=True)
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    journal_at(d, os.path.join(mnt, "journal.db"))
    try:
        d.start()
        pid = d.proc.pid
        ev = d.follow()
        st, a = d.api("POST", "/v1/orders", {"amount": "3.00", "mode": "qr"})
        check(st == 201, f"create: {st} {a}")
        a = d.wait_state(a["id"], "SHOWING_QR")
        # Less room than the headroom, enough for the order in progress to finish.
        free = fill(os.path.join(mnt, "filler"), 600 * 1024)
        st, b = d.api("POST", "/v1/orders", {"amount": "4.00", "mode": "qr"})
        print(f"filled: {free // 1024} KiB free; a new order got {st} {b}")
        check(st == 503 and b["error"]["code"] == "journal_full", f"new order: {st} {b}")
        j = status_journal(d)
        check(not j["writable"] and j["free_bytes"] < j["headroom_bytes"], f"status: {j}")
        d.wait_notify("journal cannot be written")
        st, s = d.api("GET", "/v1/status")
        check("journal_unwritable" in [c["name"] for c in s["conditions"]], f"status: {s}")
        # The order in progress still finishes: the buyer pays, the journal records it.
        st, text = sb.scan_qr(a["qr_code"], True)
        check(st == 200, f"scan-qr: {st} {text}")
        d.wait_state(a["id"], "PAID")
        # Between orders the customer display says payments are paused.
        ev.wait(lambda e: e["event"] == "display" and e["data"].get("screen") == "failed" and
                e["data"].get("reason") == "F2FPAY.JOURNAL", "the journal screen", timeout=20)
        # Space returns: recovery without a restart, the write-ahead file truncated.
        os.unlink(os.path.join(mnt, "filler"))
        t0 = time.monotonic()
        wait_for("the journal writable again", lambda: status_journal(d)["writable"])
        took = time.monotonic() - t0
        wait_for("STATUS= without the journal", lambda: "journal cannot" not in
                 d.wait_notify("STATUS=Running"))
        ev.wait(lambda e: e["event"] == "display" and e["data"].get("screen") == "idle",
                "the idle screen")
        wal = os.path.join(mnt, "journal.db-wal")
        wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
        st, c = d.api("POST", "/v1/orders", {"amount": "5.00", "mode": "qr"})
        print(f"freed: writable again after {took:.1f} s, write-ahead file {wal_size} bytes; "
              f"a new order got {st}")
        check(wal_size == 0, f"the write-ahead file was not truncated: {wal_size} bytes")
        check(st == 201, f"after recovery: {st} {c}")
        check(d.proc.pid == pid and d.proc.poll() is None, "f2fpayd restarted")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()
        subprocess.run(["umount", "-l", mnt])


def test_journal_readonly(build, tmp):
    """A journal the daemon's user cannot write (file 0444, or its folder 0555) is refused at
    start with a message naming it, never reported READY."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    wrap = []
    if os.geteuid() == 0:
        # Root writes whatever the mode says: run the daemon as nobody, as a store would.
        wrap = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        os.chmod(tmp, 0o755)
        # nobody may not reach the source or build tree (a clone in a 0700 folder): give it
        # its own copies of the daemon and the gateway's public key.
        pub = os.path.join(tmp, "alipay-public.pem")
        with open(d.conf) as f:
            conf = f.read()
        m = re.search(r"^alipay_public_key = (.*)$", conf, re.M)
        shutil.copy(m.group(1), pub)
        with open(d.conf, "w") as f:
            f.write(conf.replace(m.group(0), f"alipay_public_key = {pub}"))
        exe = os.path.join(tmp, "f2fpayd")
        shutil.copy(d.f2fpayd, exe)
        d.f2fpayd = exe
        for f in os.listdir(tmp):
            os.chown(os.path.join(tmp, f), 65534, 65534)
        os.chown(tmp, 65534, 65534)
        with open(d.conf) as f:
            conf = f.read().replace("socket_group = root", "socket_group = nogroup")
        with open(d.conf, "w") as f:
            f.write(conf)
    jdir = os.path.join(tmp, "jdir")
    try:
        # A journal that works first, so the file exists.
        os.mkdir(jdir)
        if wrap:
            os.chown(jdir, 65534, 65534)
        journal_at(d, os.path.join(jdir, "journal.db"))
        d.f2fpayd_wrap = wrap
        d.start()
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        for what, path, mode in (("file", os.path.join(jdir, "journal.db"), 0o444),
                                 ("folder", jdir, 0o555)):
            os.chmod(path, mode)
            r = subprocess.run(wrap + [d.f2fpayd, "--config", d.conf], capture_output=True,
                               text=True, timeout=30)
            os.chmod(path, 0o755 if path == jdir else 0o644)
            print(f"{what} {mode:o}: exit {r.returncode}: {r.stderr.strip().splitlines()[-2:]}")
            check(r.returncode != 0, f"started with a read-only journal {what}")
            check("Refusing to start" in r.stderr and "journal" in r.stderr.lower(),
                  f"no clear message: {r.stderr}")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "notify-flood": test_notify_flood,
    "api-slowloris": test_api_slowloris,
    "journal-full": test_journal_full,
    "journal-readonly": test_journal_readonly,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-hostile"))
