# SPDX-License-Identifier: MIT
# Runs f2fpay-sandbox and f2fpayd as real processes for the integration tests and the demo:
# temporary keys and config, a PTY serial scanner, the API over its unix socket, SSE events.
import base64
import fcntl
import grp
import http.client
import json
import os
import pty
import queue
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import tty
import urllib.parse

import openapi_check

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
KEYS = os.path.join(SRC, "tests", "sandbox", "keys")
DEADLINE = 20.0


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Sandbox:
    def __init__(self, build, extra=(), env=None):
        self.proc = subprocess.Popen(
            [os.path.join(build, "sandbox", "f2fpay-sandbox"), "--listen", "127.0.0.1:0",
             "--app-public-key", os.path.join(KEYS, "app-public.pem"),
             "--alipay-private-key", os.path.join(KEYS, "alipay-private.pem"),
             "--confirm-after", "1", *extra],
            stdout=subprocess.PIPE, text=True, env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline().strip()
        check(line.startswith("listening on "), f"sandbox did not start: {line!r}")
        self.url = line[len("listening on "):]
        self.host, self.port = self.url.split("//")[1].split(":")
        self.port = int(self.port)

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data,
                  headers={"Content-Type": "application/json"} if data else {})
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        return r.status, text

    def trade(self, out_trade_no):
        st, text = self.request("GET", "/sim/trades")
        check(st == 200, f"/sim/trades: {st}")
        for t in json.loads(text)["trades"]:
            if t.get("out_trade_no") == out_trade_no:
                return t
        return None

    def scan_qr(self, qr_code, pay=True):
        return self.request("POST", "/sim/scan-qr", {"qr_code": qr_code, "pay": pay})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Relay:
    """A TCP relay in front of the sandbox that notes when each pay request arrives:
    pay_arrivals in time.monotonic(), pay_arrivals_ns as the kernel stamped the request's
    packet on arrival (CLOCK_REALTIME ns, the clock of file times; no scheduling delay)."""

    SO_TIMESTAMPNS = 35  # Linux; the cmsg type is the same number

    def __init__(self, host, port):
        self.target = (host, port)
        self.lsock = socket.socket()
        # Set on the listener, inherited by every accepted socket before any data arrives.
        self.lsock.setsockopt(socket.SOL_SOCKET, self.SO_TIMESTAMPNS, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.pay_arrivals = []
        self.pay_arrivals_ns = []
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
        first, anc, _, _ = c.recvmsg(65536, 64)
        t, t_ns = time.monotonic(), time.time_ns()
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == self.SO_TIMESTAMPNS and len(data) >= 16:
                sec, nsec = struct.unpack("qq", data[:16])
                t_ns = sec * 1_000_000_000 + nsec
        if b"alipay.trade.pay" in first:
            with self.lock:
                self.pay_arrivals.append(t)
                self.pay_arrivals_ns.append(t_ns)
        u = socket.create_connection(self.target)
        u.sendall(first)
        threading.Thread(target=self.pipe, args=(u, c), daemon=True).start()
        self.pipe(c, u)


class Scanner:
    """A serial scanner: the daemon opens the PTY's slave, we type codes into the master."""

    def __init__(self, tmp):
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.path = os.path.join(tmp, "scanner")
        os.symlink(os.ttyname(slave), self.path)
        self.slave = slave

    def scan(self, code):
        os.write(self.master, code.encode() + b"\r")

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class Events:
    """Follows GET /v1/events on its own connection; events land in a queue."""

    def __init__(self, sock_path, path="/v1/events", headers=None):
        self.q = queue.Queue()
        self.raw = bytearray()  # every byte of the stream, for "never carries X" checks
        self.mismatch = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode())
        self.ready = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()
        check(self.ready.wait(10), "event stream did not open")

    def run(self):
        buf = b""
        ev = {}
        try:
            f = self.sock.makefile("rb")
            while True:
                line = f.readline()
                if not line:
                    return
                self.raw += line
                line = line.rstrip(b"\r\n")
                if line.startswith(b": f2fpayd events"):
                    self.ready.set()
                # Chunked transfer: the size lines are noise to this parser.
                if line.startswith(b"id: "):
                    ev["id"] = line[4:].decode()
                elif line.startswith(b"event: "):
                    ev["event"] = line[7:].decode()
                elif line.startswith(b"data: "):
                    ev["data"] = json.loads(line[6:].decode())
                elif line == b"" and "event" in ev and "data" in ev:
                    try:
                        openapi_check.validate_event(ev)
                    except openapi_check.Mismatch as e:
                        self.mismatch = str(e)
                        return
                    ev["t"] = time.time()  # when it arrived, for latency figures
                    self.q.put(ev)
                    ev = {}
        except (OSError, ValueError):
            return

    def wait(self, pred, what, timeout=DEADLINE):
        self.check()
        end = time.monotonic() + timeout
        seen = []
        while time.monotonic() < end:
            try:
                ev = self.q.get(timeout=max(0.05, end - time.monotonic()))
            except queue.Empty:
                break
            self.check()
            seen.append(ev)
            if pred(ev):
                return ev
        raise TestFailure(f"no event: {what}; saw {seen[-8:]}")

    def wait_order(self, order_id, state, timeout=DEADLINE):
        return self.wait(lambda e: e["event"] == "order" and e["data"].get("id") == order_id
                         and e["data"].get("state") == state,
                         f"order {order_id} {state}", timeout)

    def check(self):
        """Fails the test once an event did not match doc/openapi.yaml."""
        check(self.mismatch is None, f"event stream: {self.mismatch}")

    def close(self):
        self.check()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Daemon:
    def __init__(self, build, sandbox, tmp, notify=True, display="png", scanner=True,
                 extra_env=None, store_name="Demo Store", timing=None, display_size=(480, 320),
                 png=None):
        self.build, self.sandbox, self.tmp = build, sandbox, tmp
        self.f2fpayd = os.path.join(build, "daemon", "f2fpayd")
        self.f2fpayctl = os.path.join(build, "daemon", "f2fpayctl")
        self.sock = os.path.join(tmp, "api.sock")
        self.png = png or os.path.join(tmp, "screen.png")
        self.store_name = store_name
        self.display_check = os.path.join(build, "tests", "integration", "display-check")
        self.scanner = Scanner(tmp) if scanner else None
        key = os.path.join(tmp, "app.key")
        if not os.path.exists(key):
            shutil.copy(os.path.join(KEYS, "app-private.pem"), key)
            os.chmod(key, 0o600)
        self.notify_port = free_port() if notify else None
        lines = [
            "[alipay]",
            f"gateway_url = {sandbox.url}/gateway.do",
            "app_id = 2021000000000001",
            f"app_private_key = {key}",
            f"alipay_public_key = {os.path.join(KEYS, 'alipay-public.pem')}",
            "connect_timeout = 1s",
            "total_timeout = 3s",
        ]
        # The notify_url stays even with the listener down: Alipay's deliveries then fail.
        port = self.notify_port or free_port()
        lines.append(f"notify_url = http://127.0.0.1:{port}/alipay/notify")
        lines += ["", "[terminal]", "terminal_id = T01", "store_id = S01",
                  f"store_name = {store_name}", "",
                  "[timing]", "query_interval = 300ms", "query_count = 20",
                  "cancel_interval = 300ms", "cancel_count = 3", "attention_backoff = 1s",
                  "timeout_express = 2m", "qr_shown = 1m", ""]
        if timing:
            lines += timing
        if self.scanner:
            lines += ["[scanner pty]", "kind = serial", f"device = {self.scanner.path}",
                      "framing = cr", ""]
        if display == "png":
            lines += ["[display]", f"backend = png:{self.png}", f"width = {display_size[0]}",
                      f"height = {display_size[1]}", ""]
        elif display == "tty":
            lines += ["[display]", "backend = tty", ""]
        elif isinstance(display, list):  # the [display] section's lines as given
            lines += ["[display]", *display, ""]
        group = grp.getgrgid(os.getgid()).gr_name
        lines += ["[api]", f"socket = {self.sock}", f"socket_group = {group}",
                  "body_limit = 4096", ""]
        if notify:
            lines += ["[notify]", f"listen = 127.0.0.1:{self.notify_port}",
                      "path = /alipay/notify", ""]
        lines += ["[journal]", f"path = {os.path.join(tmp, 'journal.db')}", ""]
        self.conf = os.path.join(tmp, "f2fpayd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        self.extra_env = extra_env or {}
        self.f2fpayd_wrap = []  # e.g. setpriv to run it as another user
        self.proc = None
        self.events = None

    def start(self, stderr=None):
        nsock = os.path.join(self.tmp, "sd-notify")
        if os.path.exists(nsock):
            os.unlink(nsock)
        if getattr(self, "notify_sock", None):
            self.notify_sock.close()
        self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_sock.bind(nsock)
        os.chmod(nsock, 0o777)  # the daemon may run as another user
        self.notify_sock.settimeout(0.2)
        # Read every message as systemd does: an unread queue blocks the daemon's sd_notify().
        self.notify_q = queue.Queue()
        threading.Thread(target=self._read_notify, args=(self.notify_sock, self.notify_q),
                         daemon=True).start()
        env = dict(os.environ, NOTIFY_SOCKET=nsock, **self.extra_env)
        # ASan builds: fontconfig's lifetime allocations are not leaks of ours.
        env["LSAN_OPTIONS"] = ":".join(filter(None, [
            os.environ.get("LSAN_OPTIONS"), f"suppressions={os.path.join(HERE, 'lsan.supp')}"]))
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(self.f2fpayd_wrap + [self.f2fpayd, "--config", self.conf],
                                     env=env, stderr=stderr)
        self.ready_msg = self.wait_notify("READY=1")
        self.t_ready = time.monotonic()

    @staticmethod
    def _read_notify(sock, q):
        while True:
            try:
                q.put(sock.recv(4096).decode())
            except socket.timeout:
                continue
            except OSError:
                return

    def wait_notify(self, needle, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msg = self.notify_q.get(timeout=0.2)
            except queue.Empty:
                check(self.proc.poll() is None, f"f2fpayd exited with {self.proc.returncode}")
                continue
            if needle in msg:
                return msg
        raise TestFailure(f"no sd_notify {needle}")

    def drain_notify(self):
        """Reads the sd_notify datagrams waiting: a test that sends many orders without
        wait_notify() must, or the full queue blocks f2fpayd's sd_notify()."""
        self.notify_sock.setblocking(False)
        try:
            while self.notify_sock.recv(4096):
                pass
        except OSError:
            pass
        self.notify_sock.settimeout(0.2)

    def follow(self):
        self.events = Events(self.sock)
        return self.events

    def api(self, method, path, body=None, raw=None, headers=None, timeout=10):
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw_body = r.read()
        c.close()
        ctype = r.getheader("Content-Type")
        if ctype == "application/vnd.sqlite3":
            text = raw_body
        else:
            text = raw_body.decode()
        self.check_response(method, path, r.status, ctype, text)
        if isinstance(text, bytes):
            return r.status, text
        try:
            j = json.loads(text) if text else None
        except ValueError:
            j = text
        return r.status, j

    @staticmethod
    def check_response(method, path, status, ctype, body):
        """Every response a test receives must be one doc/openapi.yaml describes."""
        try:
            openapi_check.validate(method, path, status, ctype,
                                   body if isinstance(body, str) else "")
        except openapi_check.Mismatch as e:
            raise TestFailure(f"doc/openapi.yaml: {e}")

    def api_raw(self, method, path, body):
        """Sends a request whose body the daemon may refuse before reading it."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n".encode())
        try:
            s.sendall(body)
        except OSError:
            pass
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, text = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head else 0
        ctype = None
        for hl in head.split(b"\r\n")[1:]:
            k, _, v = hl.decode("latin-1").partition(":")
            if k.strip().lower() == "content-type":
                ctype = v.strip()
        if status:
            self.check_response(method, path, status, ctype, text.decode(errors="replace"))
        try:
            return status, json.loads(text.decode())
        except ValueError:
            return status, text.decode()

    def ctl(self, *args, check_rc=None):
        r = subprocess.run([self.f2fpayctl, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=60)
        if check_rc is not None:
            check(r.returncode == check_rc,
                  f"f2fpayctl {' '.join(args)}: {r.returncode} {r.stdout} {r.stderr}")
        return r

    def order(self, oid):
        st, j = self.api("GET", f"/v1/orders/{oid}")
        check(st == 200, f"GET {oid}: {st} {j}")
        return j

    def wait_state(self, oid, state, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            o = self.order(oid)
            if o["state"] == state:
                return o
            time.sleep(0.1)
        raise TestFailure(f"order {oid} is {o['state']}, not {state}")

    def screen_snapshot(self):
        """A copy of the PNG as it is now (the daemon replaces it atomically)."""
        with open(self.png, "rb") as f:
            data = f.read()
        check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{self.png} is not a PNG")
        snap = os.path.join(self.tmp, "snapshot.png")
        with open(snap, "wb") as f:
            f.write(data)
        return snap

    def screen_args(self, kind, amount=None, subject=None, reason=None):
        """display-check's words for a screen as f2fpayd draws it (with the store name)."""
        args = [kind]
        if self.store_name:
            args += ["--store", self.store_name]
        if amount is not None:
            args += ["--amount", str(money_fen(amount))]
        if subject is not None:
            args += ["--subject", subject]
        if reason is not None:
            args += ["--reason", reason]
        return args

    def screen_compare(self, png, *screens):
        """Compares png with a fresh render of each screen (a dict of screen_args):
        a list of True (identical pixels) / False, and display-check's explanations."""
        args = [self.display_check, "compare", png]
        for i, scr in enumerate(screens):
            args += (["--then"] if i else []) + self.screen_args(**scr)
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        verdicts = r.stdout.split()
        check(r.returncode == 0 and len(verdicts) == len(screens) and
              all(v in ("identical", "different") for v in verdicts),
              f"display-check {args[3:]}: {r.returncode} {r.stdout} {r.stderr}")
        return [v == "identical" for v in verdicts], r.stderr.strip()

    def wait_screen(self, kind, timeout=DEADLINE, not_like=(), **screen):
        """Waits until the PNG shows exactly that screen, then asserts the same picture is
        none of the not_like screens (dicts): the comparison tells screens apart."""
        end = time.monotonic() + timeout
        want = dict(screen, kind=kind)
        while True:
            snap = self.screen_snapshot()
            same, why = self.screen_compare(snap, want, *not_like)
            if same[0]:
                for other, also in zip(not_like, same[1:]):
                    check(not also, f"the {kind} screen {screen} also matches {other}")
                return snap
            if time.monotonic() >= end:
                raise TestFailure(f"the display does not show the {kind} screen {screen}: {why}")
            time.sleep(0.1)

    def wait_qr(self, timeout=DEADLINE):
        """Waits until the PNG shows a QR zbar decodes; returns its text as bytes."""
        end = time.monotonic() + timeout
        while True:
            snap = self.screen_snapshot()
            r = subprocess.run([self.display_check, "qr", snap], capture_output=True,
                               timeout=60)
            check(r.returncode in (0, 1), f"display-check qr: {r.returncode} {r.stderr}")
            if r.returncode == 0:
                return r.stdout
            if time.monotonic() >= end:
                raise TestFailure(f"no QR on the display: {r.stderr.decode()}")
            time.sleep(0.1)

    def notify_post(self, body, content_type="application/x-www-form-urlencoded; text/html; "
                    "charset=utf-8"):
        c = http.client.HTTPConnection("127.0.0.1", self.notify_port, timeout=10)
        c.request("POST", "/alipay/notify", body=body, headers={"Content-Type": content_type})
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        return text

    def stop(self, sig=signal.SIGTERM):
        if self.events:
            self.events.close()
            self.events = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=30)
            self.proc = None
            return rc
        return None

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.scanner:
            self.scanner.close()


_codes = iter(range(1, 10**15))


def paycode(digit):
    """A payment code not used before in this run: the sandbox takes each code once
    (doc/sandbox.md). 18 digits starting 28, the scenario digit last."""
    return f"28{next(_codes):015d}{digit}"


def paycode_block(n):
    """The first of n code numbers in a row not used before in this run, for a client that
    writes the codes itself as paycode() does: 28, the number in 15 digits, the scenario."""
    first = next(_codes)
    for _ in range(n - 1):
        next(_codes)
    return first


def money_fen(amount):
    """'88.88' (the API's amounts) as 8888; an int is already fen."""
    if isinstance(amount, int):
        return amount
    whole, _, frac = amount.partition(".")
    check(whole.isdigit() and len(frac) <= 2 and (frac == "" or frac.isdigit()),
          f"amount {amount!r}")
    return int(whole) * 100 + int(frac.ljust(2, "0"))


# Ports handed out by free_port(), each locked in PORT_LOCKS for as long as this process runs:
# two tests running at once (meson runs them in parallel) never get the same port, which the
# first one's server might not have bound yet when the second one checks it.
PORT_LOCKS = os.path.join(tempfile.gettempdir(), "f2fpay-test-ports")
_port_locks = []


def _lock_port(port):
    """The descriptor holding the lock of port (no other harness process has it), or None."""
    os.makedirs(PORT_LOCKS, mode=0o1777, exist_ok=True)
    fd = os.open(os.path.join(PORT_LOCKS, str(port)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def free_port():
    """A port free now, for a server the test starts next. Taken below the kernel's range of
    ephemeral ports: a port from that range (what bind to port 0 gives) can be taken in the
    meantime as the local port of any outgoing connection on the machine, and the server's bind
    then fails with EADDRINUSE. Locked for this process (PORT_LOCKS): no other test running at
    the same time is given it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        lock = _lock_port(port)
        if lock is None:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            os.close(lock)  # in use by something else: not ours to keep
            continue
        finally:
            s.close()
        _port_locks.append(lock)
        return port
    raise TestFailure("no free port below the ephemeral range")


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


# What only the customer display maps (drivers/display/display-module.h): the module, its
# libraries and the fonts.
DISPLAY_FILES = ("f2fpayd-display.so", "libcairo", "libpango", "libfontconfig", "libfreetype",
                 "libharfbuzz", "libpixman", "libpng", "libqrencode", "/fonts/")


def mapped_files(pid):
    """The files mapped into the process, by path."""
    paths = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) == 6 and fields[5].startswith("/"):
                paths.add(fields[5].strip())
    return paths


def sign_notification(fields, tmp):
    """doc/protocol.md §4 as Alipay does it: sorted k=v without sign/sign_type, RSA2."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if fields[k] != "")
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                        os.path.join(KEYS, "alipay-private.pem")],
                       input=text.encode(), capture_output=True, check=True)
    return dict(fields, sign_type="RSA2", sign=base64.b64encode(r.stdout).decode())


def form(fields):
    return urllib.parse.urlencode(fields)


def run_scenario(tests, prefix):
    """main() of a scenario script: argv = BUILD_DIR NAME; 0 when it passed, 1 when not."""
    import sys
    build, name = sys.argv[1], sys.argv[2]
    tmp = tmpdir(f"{prefix}-{name}.")
    try:
        tests[name](build, tmp)
    except TestFailure as e:
        print(f"FAIL {name}: {e}", file=sys.stderr)
        print(f"(files kept in {tmp})", file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print(f"{name}: passed")
    return 0
