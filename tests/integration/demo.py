#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The demo behind tests/demo: the sandbox, f2fpayd with a PTY scanner and the terminal display,
# one order paid by scan and one by QR, the outcome from f2fpayctl. Exit 0 only if both are PAID.
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Sandbox, TestFailure, tmpdir  # noqa: E402


def say(text):
    print(f"\n==> {text}", flush=True)


def created_id(r):
    return json.loads(r.stdout)["id"]


def main():
    build = os.path.abspath(sys.argv[1])
    tmp = tmpdir("f2fpay-demo.")
    say("Starting f2fpay-sandbox (a local Alipay gateway) on a loopback port")
    sb = Sandbox(build)
    print(f"    gateway {sb.url}/gateway.do")
    d = Daemon(build, sb, tmp, display="tty", store_name="f2fpayd demo")
    paid = {}
    try:
        say(f"Starting f2fpayd (config {d.conf}, scanner on a PTY, display on this terminal)")
        d.start()

        say("Order 1, by scan: f2fpayctl pay 88.88")
        r = d.ctl("pay", "88.88", "--subject", "Jasmine tea", "--json", check_rc=0)
        first = created_id(r)
        print(f"    order {first} waits for the scanner")
        say("The buyer shows a payment code; the scanner types it into the PTY")
        d.scanner.scan("287654321098765430")
        paid[first] = d.wait_state(first, "PAID", timeout=30)["state"]

        say("Order 2, by QR: f2fpayctl qr 12.34")
        r = d.ctl("qr", "12.34", "--subject", "Mooncake", "--json", check_rc=0)
        second = created_id(r)
        qr = d.wait_state(second, "SHOWING_QR", timeout=30)
        say("The buyer scans the QR and pays (POST /sim/scan-qr)")
        st, text = sb.scan_qr(qr["qr_code"], True)
        print(f"    sandbox: {st} {text}")
        paid[second] = d.wait_state(second, "PAID", timeout=30)["state"]

        say("Outcome")
        for oid in (first, second):
            print(d.ctl("status", oid, check_rc=0).stdout, flush=True)
        print(d.ctl("orders", check_rc=0).stdout, flush=True)
    except TestFailure as e:
        print(f"demo: FAILED: {e}", file=sys.stderr)
    finally:
        say("Stopping f2fpayd and the sandbox")
        rc = d.stop()
        d.close()
        sb.stop()
    ok = len(paid) == 2 and all(s == "PAID" for s in paid.values()) and rc == 0
    if ok:
        subprocess.run(["rm", "-rf", tmp])
    print("\ndemo: both orders PAID" if ok else f"\ndemo: FAILED (files in {tmp})", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
