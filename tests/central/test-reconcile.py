#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Store-wide reconciliation with real processes: three tills and the sandbox pay and refund, the
# tills ship to PostgreSQL, f2fpay-central reconcile fetches the bill once and must agree with the
# gateway's ledger; a till that cannot ship is named as behind, not reported as missing trades.
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgcluster  # noqa: E402
from central_harness import (DEADLINE, Store, check, pay, post,  # noqa: E402
                             wait_caught_up)


def reconcile(store, date, *extra, expect=0):
    """As the back office's read-only role."""
    d = store.tills["T01"]
    r = subprocess.run([store.tool, "--url", store.pg.url("office1"), "--password-file",
                        store.office_pw, "reconcile", date, "--config", d.conf, *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(r.returncode == expect, f"reconcile {extra}: rc {r.returncode}, wanted {expect}: "
          f"{r.stderr}\n{r.stdout}")
    return r.stdout


def ledger(store):
    """The gateway's money of the day: {(type, out_trade_no, out_request_no): amount}."""
    st, text = store.sb.request("GET", "/sim/trades")
    check(st == 200, f"/sim/trades: {st}")
    money = {}
    for t in json.loads(text)["trades"]:
        if t["trade_status"] in ("TRADE_SUCCESS", "TRADE_FINISHED") or \
                (t["trade_status"] == "TRADE_CLOSED" and t["refund_fee"] != "0.00"):
            money[("trade", t["out_trade_no"], "")] = t["total_amount"]
        for rf in t.get("refunds", []):
            money[("refund", t["out_trade_no"], rf["out_request_no"])] = "-" + rf["refund_amount"]
    return money


def report_money(report):
    return {(r["type"], r["out_trade_no"], r["out_request_no"]): r["bill_amount"]
            for r in report["rows"] if r["status"] == "matched"}


def main():
    build = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="f2fpay-central-reconcile-")
    # Today's bill ends with its last trade: each till says it is alive every second.
    store = Store(build, tmp, ("T01", "T02", "T03"), central_extra={"heartbeat": "1s"})
    try:
        store.office_pw = pgcluster.write_secret(store.secrets, "office1", "office1-pw")
        store.run_tool("add-role", "office", "office1", "--role-password-file", store.office_pw)
        for d in store.tills.values():
            d.start()
        t1, t2, t3 = (store.tills[t] for t in ("T01", "T02", "T03"))
        for i, d in enumerate((t1, t2, t3)):
            pay(d, f"{i + 1}.11")
            pay(d, f"{i + 1}.22")
        pay(t1, "9.99", digit=3, want="FAILED")
        o = pay(t2, "7.00")
        st, rf = post(t2, f"/v1/orders/{o['id']}/refunds", {"amount": "2.50"})
        check(st in (200, 201, 202), f"refund: {st} {rf}")
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and t2.order(o["id"]).get("refunded") != "2.50":
            time.sleep(0.1)
        check(t2.order(o["id"]).get("refunded") == "2.50", "the refund did not complete")
        for d in (t1, t2, t3):
            wait_caught_up(d)
        time.sleep(3)  # a heartbeat after the last trade
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))

        # Two configurations of one app_id: one bill, one report.
        rep = json.loads(reconcile(store, today, "--config", t2.conf, "--json"))
        check(isinstance(rep, dict) and rep["scope"] == "store"
              and rep["app_id"] == "2021000000000001", f"report: {rep}")
        check(rep["state"] == "ok", f"state {rep['state']}: {json.dumps(rep, indent=1)}")
        s = rep["summary"]
        check(s["matched"] == 8 and s["bill_only"] == s["journal_only"] ==
              s["amount_mismatch"] == s["not_caught_up"] == 0, f"summary: {s}")
        per = {t["terminal"]: t["summary"]["matched"] for t in rep["terminals"]}
        check(per == {"T01": 2, "T02": 4, "T03": 2}, f"per terminal: {rep['terminals']}")
        check(rep["tills_behind"] == [], f"behind: {rep['tills_behind']}")
        check(report_money(rep) == ledger(store),
              f"the report is not the gateway's ledger:\n{report_money(rep)}\n{ledger(store)}")
        check(all(r["terminal"] == r["out_trade_no"].split("_")[0] for r in rep["rows"]),
              "rows without their terminal")

        text = reconcile(store, today)
        check("state            ok" in text and "terminals (3):" in text
              and "rows (8):" in text, f"text report:\n{text}")
        rows = list(csv.reader(io.StringIO(reconcile(store, today, "--csv"))))
        check(rows[0][0] == "status" and rows[0][-1] == "terminal" and len(rows) == 9,
              f"csv: {rows}")

        # T03 cannot reach the database any more; it takes a payment all the same.
        store.sql("ALTER ROLE t03 NOLOGIN")
        store.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE usename = 't03'")
        late = pay(t3, "5.55")
        time.sleep(3)  # the other tills' heartbeats pass the bill's last trade
        rep = json.loads(reconcile(store, today, "--json", expect=4))
        s = rep["summary"]
        check(rep["state"] == "incomplete" and s["not_caught_up"] == 1 and s["bill_only"] == 0
              and s["matched"] == 8, f"a till behind: {s} {rep['state']}")
        behind = [r for r in rep["rows"] if r["status"] == "not_caught_up"]
        check(behind[0]["out_trade_no"] == late["id"] and "till T03" in behind[0]["note"],
              f"the row of the till behind: {behind}")
        check([t["terminal"] for t in rep["tills_behind"]] == ["T03"],
              f"tills behind: {rep['tills_behind']}")

        store.sql("ALTER ROLE t03 LOGIN")
        wait_caught_up(t3)
        time.sleep(3)
        rep = json.loads(reconcile(store, today, "--json"))
        check(rep["state"] == "ok" and rep["summary"]["matched"] == 9
              and report_money(rep) == ledger(store), f"after catching up: {rep['summary']}")

        # Bad input: no configuration, a bad date.
        r = subprocess.run([store.tool, "--url", store.pg.url(), "--password-file",
                            store.admin_pw, "reconcile", today], capture_output=True, text=True)
        check(r.returncode == 2, f"no --config: {r.returncode}")
        reconcile(store, "2026-13-01", expect=2)
        for d in store.tills.values():
            check(d.stop() == 0, "f2fpayd did not exit cleanly")
        print("ok")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
