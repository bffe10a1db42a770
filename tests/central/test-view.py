#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The back office's view: f2fpay-central status and orders, as the office role, in text, JSON and
# CSV, over real tills that shipped to a real PostgreSQL.
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
from central_harness import Store, check, pay, wait_caught_up  # noqa: E402


def main():
    build = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="f2fpay-central-view-")
    store = Store(build, tmp, ("T01", "T02"), central_extra={"heartbeat": "1s"})
    try:
        pw = pgcluster.write_secret(store.secrets, "office1", "office1-pw")
        store.run_tool("add-role", "office", "office1", "--role-password-file", pw)

        def office(*args, expect=0):
            r = subprocess.run([store.tool, "--url", store.pg.url("office1"), "--password-file",
                                pw, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
            check(r.returncode == expect, f"{args}: {r.returncode} {r.stderr}")
            return r.stdout

        t1, t2 = store.tills["T01"], store.tills["T02"]
        t1.start()
        t2.start()
        paid = [pay(t1, "1.10"), pay(t1, "2.20"), pay(t2, "3.30")]
        pay(t2, "4.40", digit=3, want="FAILED")
        for d in (t1, t2):
            wait_caught_up(d)
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))

        # One till's order stuck in ATTENTION (as the database would hold it).
        iid2 = store.sql("SELECT install_id FROM f2fpay.tills WHERE terminal_id = 'T02'")[0][0]
        store.sql("INSERT INTO f2fpay.order_rows (install_id, order_id, seq, terminal_id, kind, "
                  "state, amount_fen, refunded_fen, pending_refund_fen, created_at, state_since, "
                  f"db_role) VALUES ('{iid2}', 'T02_stuck', 1000000, 'T02', 'scan', 'attention', "
                  "500, 0, 0, now(), now(), 't02')")

        st = json.loads(office("status", "--json"))
        check([t["terminal"] for t in st] == ["T01", "T02"], f"status: {st}")
        for t in st:
            check(t["backlog"] == 0 and t["lag_seconds"] == 0, f"status row: {t}")
            check(t["seen_seconds_ago"] <= 5, f"not seen lately: {t}")
        check(st[0]["attention"] == 0 and st[1]["attention"] == 1
              and st[1]["attention_orders"] == "T02_stuck", f"attention: {st}")
        text = office("status")
        check(text.splitlines()[0].split()[:4] == ["TERMINAL", "INSTALL_ID", "STORE", "ROLE"],
              f"status table: {text}")
        check("T02_stuck" in text, f"status table: {text}")

        # A quiet till is still seen (heartbeat), caught up; a stopped one falls behind.
        time.sleep(3)
        st = json.loads(office("status", "--json"))
        check(all(t["seen_seconds_ago"] <= 2 and t["backlog"] == 0 and t["lag_seconds"] == 0
                  for t in st), f"no heartbeat, or one that reports a lag: {st}")
        check(t2.stop() == 0, "f2fpayd did not exit cleanly")
        time.sleep(3)
        st = json.loads(office("status", "--json"))
        check(st[0]["seen_seconds_ago"] <= 2 and st[1]["seen_seconds_ago"] >= 3,
              f"a stopped till looks alive: {st}")

        orders = json.loads(office("orders", "--date", today, "--json"))
        ids = sorted(o["id"] for o in orders)
        check(len(orders) == 5 and all(p["id"] in ids for p in paid), f"orders: {orders}")
        one = next(o for o in orders if o["id"] == paid[2]["id"])
        check(one["terminal"] == "T02" and one["state"] == "PAID" and one["amount"] == "3.30"
              and one["refunded"] == "0.00" and one["trade_no"], f"order row: {one}")
        got = json.loads(office("orders", "--state", "paid", "--json"))
        check(sorted(o["id"] for o in got) == sorted(p["id"] for p in paid), f"paid: {got}")
        got = json.loads(office("orders", "--terminal", "T01", "--json"))
        check({o["terminal"] for o in got} == {"T01"} and len(got) == 2, f"T01: {got}")
        check(json.loads(office("orders", "--date", "2001-01-01", "--json")) == [],
              "another day's orders")
        rows = list(csv.reader(io.StringIO(office("orders", "--state", "attention", "--csv"))))
        check(rows[0][:3] == ["terminal", "id", "state"] and len(rows) == 2
              and rows[1][1] == "T02_stuck", f"csv: {rows}")
        office("orders", "--date", "tomorrow", expect=2)
        office("status", "--state", "paid", expect=2)
        # A till's role reads only its own orders.
        r = subprocess.run([store.tool, "--url", store.pg.url("t01"), "--password-file",
                            os.path.join(store.secrets, "t01"), "orders", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(r.returncode == 0 and {o["terminal"] for o in json.loads(r.stdout)} == {"T01"},
              f"a till sees other tills' orders: {r.stdout} {r.stderr}")
        print("ok")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
