#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The client examples of doc/examples/ run as a POS developer would run them, against the real
# daemon and f2fpay-sandbox. One example per run: test-examples.py BUILD_DIR NAME.
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, Daemon, Sandbox, check, run_scenario  # noqa: E402

EXAMPLES = os.path.join(SRC, "doc", "examples")
CODE_PAID = "287654321098765430"


def run(d, argv, timeout=120):
    env = dict(os.environ, F2FPAY_SOCKET=d.sock)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       cwd=EXAMPLES)
    check(r.returncode == 0, f"{' '.join(argv)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout.splitlines()


def with_daemon(build, tmp, fn):
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        fn(d, sb)
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_shell(build, tmp):
    """doc/examples/pay.sh: curl on the socket, a scan payment, a lookup and a refund."""
    def go(d, sb):
        out = run(d, ["sh", "pay.sh", CODE_PAID, "SH-1"])
        oid = out[0].split()[1]
        check(out[1:3] == ["state PAID", "found by pos_ref"] and
              out[3].startswith(f"refund {oid}_r") and out[3].endswith("REQUESTED"),
              f"pay.sh: {out}")
        d.wait_state(oid, "PAID")
        st, rl = d.api("GET", f"/v1/orders/{oid}/refunds")
        check([r["amount"] for r in rl["refunds"]] == ["1.00"], f"refunds: {rl}")
        # Run again: the same pos_ref charges nothing twice, the refund key refunds once.
        out2 = run(d, ["sh", "pay.sh", CODE_PAID, "SH-1"])
        check(out2[0] == out[0], f"again: {out2}")
        t = sb.trade(oid)
        check(t["pay_requests"] == 1 and t["refund_fee"] == "1.00", f"sandbox: {t}")
    with_daemon(build, tmp, go)


def test_python(build, tmp):
    """doc/examples/pay.py: a QR order with ?wait=qr, followed on the event stream."""
    def go(d, sb):
        out = []
        t = threading.Thread(target=lambda: out.extend(run(d, [sys.executable, "pay.py",
                                                                 "PY-1"])))
        t.start()
        # Play the buyer once the QR is out.
        end = time.monotonic() + 30
        qr = None
        while qr is None and time.monotonic() < end:
            st, j = d.api("GET", "/v1/orders?pos_ref=PY-1")
            if j["orders"] and "qr_code" in j["orders"][0]:
                qr = j["orders"][0]["qr_code"]
            time.sleep(0.1)
        check(qr, "no QR order from pay.py")
        st, _ = sb.scan_qr(qr)
        check(st == 200, f"scan-qr: {st}")
        t.join(90)
        check(not t.is_alive(), "pay.py did not finish")
        check(len(out) == 4 and out[0].endswith(" SHOWING_QR") and
              out[1] == f"qr_code {qr}" and out[2] == "state PAID" and
              out[3].startswith("today ") and out[3].endswith("1 with pos_ref PY-1"),
              f"pay.py: {out}")
    with_daemon(build, tmp, go)


def test_node(build, tmp):
    """doc/examples/pay.mjs: a scan payment reversed by a refund of the whole amount."""
    node = shutil.which("node") or shutil.which("nodejs")
    check(node, "node is not installed (tests/install-deps installs it)")

    def go(d, sb):
        out = run(d, [node, "pay.mjs", CODE_PAID, "NODE-1"])
        oid = out[0].split()[1]
        check(out[1:4] == ["state PAID", "found by pos_ref true", "cancel refused: true"] and
              out[4] == f"refund {oid}_r1 3.30", f"pay.mjs: {out}")
        end = time.monotonic() + 20
        while d.order(oid).get("refunded") != "3.30" and time.monotonic() < end:
            time.sleep(0.1)
        check(d.order(oid).get("refunded") == "3.30", f"not reversed: {d.order(oid)}")
    with_daemon(build, tmp, go)


TESTS = {"shell": test_shell, "python": test_python, "node": test_node}

if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-examples"))
