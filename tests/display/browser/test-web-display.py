#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The web customer display in a real browser: f2fpayd (with f2fpay-sandbox) serves the page to
# Debian's chromium (headless, through playwright-core); every screen is checked from the DOM,
# the QR from a screenshot decoded by zbar, the latency from the order's transition to the page
# printed; the page survives a daemon restart without a reload and asks nothing of any other
# origin; idle viewers do not slow a payment; a pole display on a PTY follows the same orders.
#   test-web-display.py BUILD_DIR [--screens DIR]   (DIR: write the layout pictures there)
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from harness import (Daemon, Sandbox, TestFailure, check, free_port, paycode,  # noqa: E402
                     tmpdir)

STORE = "便利店 No.3 · Corner Shop"
CODE_PAID = "287654321098765430"
CODE_NEVER = "287654321098765432"
CODE_BALANCE = "287654321098765433"
CODE_SLOW = "287654321098765439"
LAYOUTS = [(800, 480), (1024, 600), (1920, 1080), (1080, 1920)]


class Viewer:
    """viewer.js: chromium under playwright-core, one JSON command per line."""

    def __init__(self):
        check(shutil.which("chromium"), "chromium is not installed (tests/install-deps)")
        check(os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")),
              "playwright-core is missing: run tests/install-deps (npm ci)")
        self.p = subprocess.Popen(["node", os.path.join(HERE, "viewer.js")], cwd=HERE,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cmd(self, **m):
        self.p.stdin.write(json.dumps(m) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        check(line, f"viewer.js died on {m}")
        r = json.loads(line)
        check("error" not in r, f"viewer {m['cmd']}: {r}")
        return r

    def close(self):
        try:
            self.cmd(cmd="close")
            self.p.stdin.close()
            self.p.wait(timeout=20)
        except Exception:
            self.p.kill()


class Pole:
    """A pole display's serial port: we read what the daemon writes to the PTY."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.data = b""

    def wait_for(self, frame, timeout=20):
        end = time.monotonic() + timeout
        while frame not in self.data:
            left = end - time.monotonic()
            check(left > 0, f"pole: no {frame!r} in {self.data[-200:]!r}")
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                self.data += os.read(self.master, 4096)
        self.data = self.data[self.data.index(frame) + len(frame):]


class Stream:
    """A raw reader of the page's event stream: everything the listener ever hands out."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.s.setblocking(False)
        self.data = b""

    def drain(self):
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                self.data += chunk
        except BlockingIOError:
            pass
        return self.data


def zbar(path):
    r = subprocess.run(["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", path],
                       capture_output=True, timeout=60)
    check(r.returncode == 0, f"zbarimg found no QR in {path}: {r.returncode} {r.stderr}")
    out = r.stdout
    check(out.endswith(b"\n"), f"zbarimg output {out!r}")
    return out[:-1]


def http_status(port, raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n", 1)[0].decode()


def start(d):
    """Starts the daemon, then keeps reading its sd_notify socket as systemd would: a
    datagram queue left full would block the daemon in sd_notify()."""
    d.start()
    sock = d.notify_sock

    def drain():
        while True:
            try:
                sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()


class Run:
    def __init__(self, build, screens_dir):
        self.build, self.screens_dir = build, screens_dir
        self.figures = []

    def shown(self, v, screen, after, event=None, what=None, since=None, **want):
        """Waits for screen on the page; checks its texts; prints the latency from the API
        event of the same transition (event) to the page applying it."""
        s = v.cmd(cmd="wait", screen=screen, after_seq=after, timeout_ms=25000)
        for k, val in want.items():
            got = s["texts"].get(k)
            ok = got.startswith(val[:-1]) if val.endswith("*") and got else got == val
            check(ok, f"{screen}: {k} is {got!r}, expected {val!r}; page: {s['texts']}")
        if event is not None:
            ms = s["shown_at"] - event["t"] * 1000
            self.figures.append((what or screen, ms))
            print(f"latency {what or screen}: the page applied it {ms:+.0f} ms from the API "
                  "event of the same transition", flush=True)
        if since is not None:
            ms = s["shown_at"] - since * 1000
            print(f"latency {what or screen}: on the page {ms:.0f} ms after the request that "
                  "caused it", flush=True)
        return s

    def main(self):
        sb = Sandbox(self.build, extra=["--slow-delay", "2"])
        tmp = tmpdir("web-display")
        pole = Pole()
        port = free_port()
        d = Daemon(self.build, sb, tmp, store_name=STORE, display=[
            f"backend = web:127.0.0.1:{port} png:{os.path.join(tmp, 'screen.png')} "
            f"pole:{pole.path}",
            "width = 480", "height = 320", "pole_baud = 9600", "pole_protocol = led8n"])
        v = None
        try:
            start(d)
            ev = d.follow()
            raw = Stream(port)
            v = Viewer()
            url = f"http://127.0.0.1:{port}/"
            v.cmd(cmd="open", url=url, width=1024, height=600)
            s = self.shown(v, "idle", -1, title_zh="欢迎光临", title_en="Welcome", store=STORE,
                           sub_zh="支持支付宝付款", sub_en="Alipay accepted here")
            check("amount" not in s["texts"], "idle shows an amount")
            pole.wait_for(b"\x02L0000\x0c")

            # Scan to pay: the QR from a screenshot is the order's qr_code, byte for byte.
            t0 = time.time()
            st, o = d.api("POST", "/v1/orders", {"amount": "88.88", "subject": "午餐套餐 Lunch set",
                                                  "mode": "qr"})
            check(st in (200, 201, 202), f"create QR order: {st} {o}")
            e = ev.wait_order(o["id"], "SHOWING_QR")
            qr_code = d.order(o["id"])["qr_code"]
            s = self.shown(v, "qr", s["seq"], e, "qr", t0, title_zh="请使用支付宝扫码付款",
                           title_en="Scan with Alipay to pay", amount="¥88.88",
                           subject="午餐套餐 Lunch set", countdown="剩余 *")
            check(s["has_svg"], "no QR symbol on the page")
            shot = os.path.join(tmp, "qr.png")
            v.cmd(cmd="screenshot", path=shot)
            check(zbar(shot) == qr_code.encode(), f"the page's QR is not {qr_code}")
            html = v.cmd(cmd="html")["html"]
            check(qr_code not in html and o["id"] not in html,
                  "the page holds the payment link or the order id as text")
            pole.wait_for(b"\x1bs2\x1bQA88.88\r")
            # The renderer's CJK font, from the system: the Chinese title is drawn with it.
            fonts = v.cmd(cmd="fonts", selector="#title_zh")["fonts"]
            check(any(f in fonts for f in ("WenQuanYi Micro Hei", "Noto Sans CJK SC",
                                           "Source Han Sans SC")), f"fonts: {fonts}")
            print(f"fonts of the Chinese title: {', '.join(fonts)}", flush=True)
            self.layouts(v, tmp, qr_code)
            v.cmd(cmd="resize", width=1024, height=600)

            t0 = time.time()
            st, _ = sb.scan_qr(qr_code, pay=True)
            check(st == 200, f"sandbox scan-qr: {st}")
            e = ev.wait_order(o["id"], "PAID")
            s = self.shown(v, "paid", s["seq"], e, "paid", t0, title_zh="支付成功",
                           title_en="Payment successful", amount="¥88.88", sub_zh="谢谢惠顾")
            pole.wait_for(b"\x1bs3\x1bQA88.88\r")

            # The cashier scans the customer's code: show-code, processing, confirm, canceled.
            st, w = d.api("POST", "/v1/orders", {"amount": "12.34"})
            check(st in (200, 201, 202), f"create order: {st} {w}")
            s = self.shown(v, "show-code", s["seq"], None, title_zh="请出示付款码",
                           title_en="Please show your payment code", amount="¥12.34")
            pole.wait_for(b"\x1bs2\x1bQA12.34\r")
            d.scanner.scan(CODE_SLOW)  # the gateway holds its answer 2 s, then "confirm"
            e = ev.wait(lambda e: e["event"] == "order" and e["data"]["state"] == "PAYING",
                        "an order paying")
            oid = e["data"]["id"]
            s = self.shown(v, "processing", s["seq"], e, "processing",
                           title_zh="正在付款…", title_en="Processing payment…",
                           amount="¥12.34")
            e = ev.wait_order(oid, "WAITING")
            s = self.shown(v, "confirm", s["seq"], e, "confirm", title_zh="请在手机上确认付款",
                           title_en="Please confirm on your phone", amount="¥12.34")
            st, _ = d.api("POST", f"/v1/orders/{oid}/cancel")
            check(st in (200, 202), f"cancel: {st}")
            e = ev.wait_order(oid, "CANCELED")
            s = self.shown(v, "canceled", s["seq"], e, "canceled", title_zh="交易已取消",
                           title_en="Payment canceled", sub_zh="未扣款")
            pole.wait_for(b"\x02L0000\x0c")

            # Failed, with the reason in plain words.
            st, f = d.api("POST", "/v1/orders", {"amount": "3.00", "auth_code": CODE_BALANCE})
            check(st in (200, 201, 202), f"create order: {st} {f}")
            e = ev.wait_order(f["id"], "FAILED")
            s = self.shown(v, "failed", s["seq"], e, "failed", title_zh="支付失败",
                           title_en="Payment failed", reason_zh="余额不足",
                           reason_en="Balance not enough",
                           reason_code="ACQ.BUYER_BALANCE_NOT_ENOUGH", amount="¥3.00")
            if self.screens_dir:
                v.cmd(cmd="screenshot", path=os.path.join(self.screens_dir,
                                                          "web-failed-1024x600.png"))

            self.listener_refusals(port)
            self.idle_viewers(d, ev, port)

            # A daemon restart: the page goes blank, then follows the new daemon by itself.
            v.cmd(cmd="mark")
            ev.close()
            d.stop()
            self.shown(v, "offline", -1)
            start(d)
            ev = d.follow()
            s = self.shown(v, "idle", -1, title_zh="欢迎光临", store=STORE)
            check(v.cmd(cmd="marked")["mark"] == "still here", "the page was reloaded")
            st, o = d.api("POST", "/v1/orders", {"amount": "6.60", "mode": "qr"})
            e = ev.wait_order(o["id"], "SHOWING_QR")
            qr_code = d.order(o["id"])["qr_code"]
            s = self.shown(v, "qr", s["seq"], e, "qr after restart", amount="¥6.60")
            v.cmd(cmd="screenshot", path=shot)
            check(zbar(shot) == qr_code.encode(), "after the restart the QR is wrong")

            self.kiosk(url, tmp)

            # Only its own origin, only its page, assets and stream; one navigation.
            r = v.cmd(cmd="requests")
            for u in r["requests"]:
                check(u.startswith(url), f"the page asked for {u}")
            paths = sorted({u[len(url) - 1:] for u in r["requests"]})
            check(paths == ["/", "/display.css", "/display.js", "/events"],
                  f"requests: {paths}")
            check(r["navigations"] == 1, f"{r['navigations']} navigations")

            # What the listener handed out never held a code, an order id or the QR text.
            data = raw.drain().decode("utf-8", "replace")
            check("data: {" in data, "the raw stream saw no event")
            for secret in (CODE_PAID, CODE_BALANCE, CODE_SLOW, o["id"], oid, qr_code):
                check(secret not in data, f"the event stream holds {secret}")
            worst = max(ms for _, ms in self.figures)
            print(f"latency worst: {worst:+.0f} ms from the API event, over "
                  f"{len(self.figures)} transitions")
            check(worst < 5000, f"the page lagged {worst:.0f} ms behind a transition")
        finally:
            if v:
                v.close()
            d.stop()
            d.close()
            sb.stop()
            os.close(pole.master)
            os.close(pole.slave)

    def kiosk(self, url, tmp):
        """The kiosk recipe's command line (doc/display.md §4), run headless: its window shows
        the page at the size asked, following the daemon."""
        env = dict(os.environ, F2FPAY_DISPLAY_URL=url, F2FPAY_DISPLAY_POSITION="1920,0",
                   F2FPAY_DISPLAY_SIZE="1024,600",
                   F2FPAY_DISPLAY_PROFILE=os.path.join(tmp, "kiosk-profile"))
        env.pop("XDG_SESSION_TYPE", None)
        argv = subprocess.run([os.path.join(SRC, "doc", "kiosk", "f2fpay-display-kiosk"),
                               "--print"], env=env, capture_output=True, text=True,
                              check=True).stdout.splitlines()
        for want in ("--kiosk", f"--app={url}", "--window-position=1920,0",
                     "--window-size=1024,600", "--no-first-run"):
            check(want in argv, f"the kiosk command lacks {want}: {argv}")
        # Headless chromium has no app windows: the --app URL becomes the page to open.
        argv = [a for a in argv if not a.startswith("--app=")]
        cdp = free_port()
        proc = subprocess.Popen(argv + ["--headless", "--no-sandbox", "--disable-gpu",
                                        f"--remote-debugging-port={cdp}", url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        k = Viewer()
        try:
            for _ in range(100):  # until its DevTools port answers
                try:
                    socket.create_connection(("127.0.0.1", cdp), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            k.cmd(cmd="attach", cdp=f"http://127.0.0.1:{cdp}", url=url)
            s = k.cmd(cmd="wait", screen="qr", after_seq=-1, timeout_ms=20000)
            check(s["texts"].get("title_zh") == "请使用支付宝扫码付款" and s["has_svg"],
                  f"the kiosk browser shows {s}")
            lay = k.cmd(cmd="layout")
            # --kiosk: the window fills its screen (headless has one screen of its own).
            check((lay["width"], lay["height"]) == (lay["screen_width"], lay["screen_height"])
                  and not lay["problems"], f"the kiosk window: {lay}")
        finally:
            k.p.stdin.close()
            k.p.wait(timeout=20)
            proc.terminate()
            proc.wait(timeout=20)
        print(f"kiosk command line: a full-screen {lay['width']}x{lay['height']} window on the "
              "page, showing the current screen", flush=True)

    def layouts(self, v, tmp, qr_code):
        for w, h in LAYOUTS:
            v.cmd(cmd="resize", width=w, height=h)
            lay = v.cmd(cmd="layout")
            check(not lay["problems"], f"{w}x{h}: {lay['problems']}")
            px = lay["module_px"]
            check(px >= 3 and abs(px - round(px)) < 0.01, f"{w}x{h}: {px} px per module")
            shot = os.path.join(self.screens_dir or tmp, f"web-qr-{w}x{h}.png")
            v.cmd(cmd="screenshot", path=shot)
            check(zbar(shot) == qr_code.encode(), f"{w}x{h}: the QR does not scan back")
            print(f"layout {w}x{h}: {round(px)} px per module, QR scans", flush=True)

    def listener_refusals(self, port):
        for raw, want in [
            (b"GET /v1/status HTTP/1.1\r\n\r\n", "404"),
            (b"GET /v1/orders HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n", "404"),
            (b"POST /v1/orders HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "405"),
            (b"GET /screen.png HTTP/1.1\r\n\r\n", "404"),
            (b"GET / HTTP/1.1\r\nX: " + b"a" * 4000 + b"\r\n\r\n", "431"),
        ]:
            got = http_status(port, raw)
            check(got.split(" ")[1] == want, f"{raw[:30]!r}: {got}")
        # A request that never finishes is dropped without an answer.
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        s.sendall(b"GET / HTTP/1.1\r\n")
        t0 = time.monotonic()
        check(s.recv(100) == b"", "a slow request got an answer")
        print(f"slow request cut after {time.monotonic() - t0:.1f} s", flush=True)
        s.close()

    def pay_seconds(self, d, ev, amount):
        t0 = time.monotonic()
        # The sandbox takes each payment code once: a fresh one per timed payment.
        st, o = d.api("POST", "/v1/orders", {"amount": amount, "auth_code": paycode(0)})
        check(st in (200, 201, 202), f"create order: {st} {o}")
        ev.wait_order(o["id"], "PAID")
        return time.monotonic() - t0

    def idle_viewers(self, d, ev, port):
        base = min(self.pay_seconds(d, ev, "0.10") for _ in range(3))
        crowd = []
        for i in range(60):  # more than the listener takes: the rest are refused
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            if i % 2:
                s.sendall(b"GET /events HTTP/1.1\r\n\r\n")  # a viewer that never reads
            else:
                s.sendall(b"GET / HTTP/1.1\r\n")  # a request that never ends
            crowd.append(s)
        loaded = min(self.pay_seconds(d, ev, "0.20") for _ in range(3))
        print(f"payment: {base * 1000:.0f} ms with no idle viewers, {loaded * 1000:.0f} ms "
              "with 60 idle connections on the display's listener", flush=True)
        check(loaded < base + 2.0, "idle viewers slowed a payment")
        st, j = d.api("GET", "/v1/status")
        check(st == 200 and all(x["up"] for x in j["display"]["outputs"]),
              f"status: {j.get('display')}")
        for s in crowd:
            s.close()


def main():
    build = sys.argv[1]
    screens = None
    if len(sys.argv) == 4 and sys.argv[2] == "--screens":
        screens = os.path.abspath(sys.argv[3])
    try:
        Run(build, screens).main()
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
