#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes a journal fixture of an older schema (tests/integration/fixtures/journal-v<N>/) with a
# real f2fpayd of that schema against a real f2fpay-sandbox (its ledger kept with --state).
#
# Usage: make-journal-fixture.py BUILD_DIR OUT_DIR [SCHEMA]
#   BUILD_DIR: a build of the last tree of schema SCHEMA (default 1); this script and
#   tests/integration/harness.py of this tree drive it.
#
# journal-v1 was made so, from the last schema-1 tree (commit 5a23445, before "journal: schema 2"):
#   git archive 5a23445 | tar -x -C /tmp/v1 && cd /tmp/v1 && meson setup build &&
#   ninja -C build daemon/f2fpayd daemon/f2fpayctl sandbox/f2fpay-sandbox
#   python3 tests/integration/make-journal-fixture.py /tmp/v1/build \
#       tests/integration/fixtures/journal-v1
# journal-v5 so, from the last schema-5 tree (the parent of "journal: schema 6"), built in the
# same way into /tmp/v5/build:
#   python3 tests/integration/make-journal-fixture.py /tmp/v5/build \
#       tests/integration/fixtures/journal-v5 5
#
# What the journal holds (MANIFEST.json lists each order with its state when written):
#   PAID (with pos_ref), PAID and partly refunded (one refund done), FAILED (balance),
#   CANCELED (by the cashier), and three orders in flight when f2fpayd was killed with SIGKILL:
#   a QR order on the display (SHOWING_QR), a scan order whose buyer confirms later (WAITING,
#   the sandbox's ledger pays it an hour after the fixture was made) and a scan order whose
#   buyer never confirms (WAITING). The write-ahead file is then folded into the journal by
#   the sqlite3 tool (a checkpoint: the content is what f2fpayd committed).
import json
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Sandbox, check, tmpdir  # noqa: E402


def code(n, digit):
    """An 18-digit sandbox payment code starting 28, unique per n, behaviour digit last."""
    return f"28{n:015d}{digit}"


def main():
    build, out = sys.argv[1], os.path.abspath(sys.argv[2])
    schema = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.makedirs(out, exist_ok=True)
    tmp = tmpdir(f"f2fpay-v{schema}-fixture.")
    state = os.path.join(tmp, "sandbox-state.json")
    sb = Sandbox(build, ["--state", state, "--confirm-after", "3600"])
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    orders = []
    try:
        d.start()

        def create(body, want, headers=None):
            d.drain_notify()
            st, o = d.api("POST", "/v1/orders", body, headers=headers)
            check(st == 201, f"create {body}: {st} {o}")
            o = d.wait_state(o["id"], want)
            orders.append({"id": o["id"], "state_written": want, "amount": o["amount"]})
            return o

        create({"amount": "12.34", "auth_code": code(1, 0), "pos_ref": "FIX-PAID"}, "PAID")
        o = create({"amount": "20.00", "auth_code": code(2, 0)}, "PAID")
        st, rf = d.api("POST", f"/v1/orders/{o['id']}/refunds", {"amount": "5.00"},
                       headers={"Idempotency-Key": "FIX-REFUND-1"})
        check(st == 201, f"refund: {st} {rf}")
        for _ in range(100):
            if d.order(o["id"]).get("refunded") == "5.00":
                break
            subprocess.run(["sleep", "0.1"])
        check(d.order(o["id"]).get("refunded") == "5.00", "the refund did not finish")
        create({"amount": "3.00", "auth_code": code(3, 3)}, "FAILED")
        o = create({"amount": "5.00", "auth_code": code(4, 2)}, "WAITING")
        st, c = d.api("POST", f"/v1/orders/{o['id']}/cancel")
        check(st == 202, f"cancel: {st} {c}")
        d.wait_state(o["id"], "CANCELED")
        orders[-1]["state_written"] = "CANCELED"
        create({"amount": "6.00", "mode": "qr", "pos_ref": "FIX-QR"}, "SHOWING_QR")
        create({"amount": "7.77", "auth_code": code(6, 1), "pos_ref": "FIX-CONFIRMS"}, "WAITING")
        create({"amount": "8.88", "auth_code": code(7, 2)}, "WAITING")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.proc = None
        journal = os.path.join(tmp, "journal.db")
        r = subprocess.run(["sqlite3", journal, "PRAGMA wal_checkpoint(TRUNCATE);"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"checkpoint: {r.stderr}")
        check(not os.path.exists(journal + "-wal") or
              os.path.getsize(journal + "-wal") == 0, "the write-ahead file is still there")
        sb.stop()
        shutil.copy(journal, os.path.join(out, "journal.db"))
        shutil.copy(state, os.path.join(out, "sandbox-state.json"))
        with open(os.path.join(out, "MANIFEST.json"), "w") as f:
            json.dump({"schema": schema, "terminal_id": "T01", "orders": orders}, f, indent=1)
            f.write("\n")
    finally:
        d.close()
        sb.stop()
    shutil.rmtree(tmp)
    print(f"fixture written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
