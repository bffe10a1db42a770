#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Figures for the store's central database (doc/central.md): shipping throughput (a synthetic
# journal of BENCH_SHIP_ORDERS orders, default 20000, caught up from scratch), the lag and backlog
# while three tills take payments as fast as the sandbox answers (BENCH_LOAD_SECONDS, default
# 20), and the store-wide reconciliation of BENCH_RECONCILE_ORDERS orders
# (default 100000) over 50 synthetic tills. Prints numbers; asserts nothing about them.
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgcluster  # noqa: E402
from central_harness import Store, central, pay, wait_caught_up  # noqa: E402

BUILD = sys.argv[1]


def fill_journal(path, n_orders, terminal="T01"):
    """Appends n paid orders (created + start + pay_result events each) to a stopped till's
    journal, as the engine would have written them."""
    db = sqlite3.connect(path)
    install = db.execute("SELECT value FROM meta WHERE name = 'install_id'").fetchone()[0]
    t0 = int(time.time() * 1e6) - n_orders * 1000
    with db:
        for i in range(n_orders):
            oid = f"{terminal}_20261206_{install}_bench_{i + 1}"
            at = t0 + i * 1000
            db.execute(
                "INSERT INTO orders (id, kind, amount_fen, subject, state, state_since_usec, "
                "trade_no, created_usec, updated_usec) VALUES (?, 'scan', ?, 'bench', 'paid', "
                "?, ?, ?, ?)", (oid, 100 + i % 9000, at, f"2026{i:020d}", at, at))
            for what, frm, to, req in (("created", "", "new", ""),
                                       ("start", "new", "paying", "pay"),
                                       ("pay_result", "paying", "paid", "")):
                db.execute("INSERT INTO events (order_id, at_usec, what, from_state, to_state, "
                           "request) VALUES (?, ?, ?, ?, ?, ?)", (oid, at, what, frm, to, req))
    n = db.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    return n


def bench_throughput(build, n_orders):
    tmp = tempfile.mkdtemp(prefix="f2fpay-bench-central-")
    store = Store(build, tmp, ("T01",), central_extra={"poll_interval": "1s"})
    d = store.tills["T01"]
    try:
        # A journal made by f2fpayd itself, then grown while no till runs.
        with open(d.conf) as f:
            conf = f.read()
        url_line = [line + "\n" for line in conf.splitlines() if line.startswith("url = ")][0]
        with open(d.conf, "w") as f:
            f.write(conf.replace(url_line, "url = postgresql:///none?host=/nonexistent\n"))
        d.start()
        d.stop()
        n_events = fill_journal(os.path.join(d.tmp, "journal.db"), n_orders)
        for batch in ("500", "5000"):
            store.sql("TRUNCATE f2fpay.events, f2fpay.order_rows, f2fpay.refund_rows, "
                      "f2fpay.tills")
            hint = os.path.join(d.tmp, "journal.db.central-seq")
            if os.path.exists(hint):
                os.unlink(hint)
            conf_b = conf.replace("[central]\n", f"[central]\nbatch_size = {batch}\n")
            with open(d.conf, "w") as f:
                f.write(conf_b)
            d.start()
            t0 = time.monotonic()
            wait_caught_up(d, timeout=1800)
            dt = time.monotonic() - t0
            d.stop()
            print(f"shipping: {n_events} events ({n_orders} orders) caught up in {dt:.2f} s "
                  f"with batch_size {batch}: {n_events / dt:.0f} events/s")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_lag(build, seconds):
    tmp = tempfile.mkdtemp(prefix="f2fpay-bench-central-")
    store = Store(build, tmp, ("T01", "T02", "T03"), central_extra={"poll_interval": "1s"})
    try:
        for d in store.tills.values():
            d.start()
        samples, paid = [], [0]
        stop = time.monotonic() + seconds

        def load(d):
            while time.monotonic() < stop:
                pay(d, "1.00")
                paid[0] += 1
        threads = [threading.Thread(target=load, args=(d,)) for d in store.tills.values()]
        for t in threads:
            t.start()
        while time.monotonic() < stop:
            for d in store.tills.values():
                c = central(d)
                samples.append((c["backlog"], c["lag_seconds"]))
            time.sleep(0.2)
        for t in threads:
            t.join()
        t0 = time.monotonic()
        for d in store.tills.values():
            wait_caught_up(d)
        drain = time.monotonic() - t0
        backlogs = sorted(s[0] for s in samples)
        lags = sorted(s[1] for s in samples)
        print(f"lag under load: {paid[0]} payments on 3 tills in {seconds} s "
              f"({paid[0] / seconds:.1f}/s), poll_interval 1s: backlog median "
              f"{backlogs[len(backlogs) // 2]} events, max {backlogs[-1]}; lag max "
              f"{lags[-1]} s; caught up {drain:.2f} s after the load stopped")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_reconcile(build, n_orders, n_tills=50, date="2026-11-26"):
    """n_orders paid orders over n_tills synthetic tills, all in the bill: the time of
    central_reconcile_build() (tests/central/bench-reconcile.c)."""
    tmp = tempfile.mkdtemp(prefix="f2fpay-bench-central-")
    store = Store(build, tmp, ())
    try:
        t0 = time.monotonic()
        store.sql(
            "INSERT INTO f2fpay.tills (install_id, terminal_id, store_id, app_id) "
            "SELECT 'tillaa' || chr(97 + i / 26) || chr(97 + i % 26), 'T' || lpad(i::text, 2, '0'),"
            " 'S01', '2021000000000001' "
            f"FROM generate_series(0, {n_tills - 1}) AS i")
        store.sql(
            "INSERT INTO f2fpay.order_rows (install_id, order_id, seq, terminal_id, kind, state, "
            "amount_fen, refunded_fen, pending_refund_fen, trade_no, created_at, state_since) "
            "SELECT t.install_id, t.terminal_id || '_20261126_' || t.install_id || '_bnch_' || n,"
            " n, t.terminal_id, 'scan', 'paid', 100 + n % 9000, 0, 0,"
            " '2026' || lpad(n::text, 24, '0'), ts, ts "
            "FROM (SELECT n, timestamptz '" + date + " 00:00:00+08' + n * interval '0.5 s' AS ts,"
            f" 'tillaa' || chr(97 + (n % {n_tills}) / 26) || chr(97 + (n % {n_tills}) % 26)"
            f" AS iid FROM generate_series(1, {n_orders}) AS n) AS g "
            "JOIN f2fpay.tills t ON t.install_id = g.iid")
        store.sql("ANALYZE")
        fill = time.monotonic() - t0
        r = subprocess.run([os.path.join(build, "tests", "central", "bench-reconcile"),
                            store.pg.url(), "2021000000000001", date],
                           env=dict(os.environ, PGPASSWORD=pgcluster.SUPERPASS),
                           capture_output=True, text=True, timeout=1800)
        print(r.stdout.strip() + f" ({n_tills} tills; filling the database took {fill:.1f} s)")
        if r.returncode != 0:
            print(f"bench-reconcile failed: {r.stderr}")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    bench_throughput(BUILD, int(os.environ.get("BENCH_SHIP_ORDERS", "20000")))
    bench_lag(BUILD, int(os.environ.get("BENCH_LOAD_SECONDS", "20")))
    bench_reconcile(BUILD, int(os.environ.get("BENCH_RECONCILE_ORDERS", "100000")))


if __name__ == "__main__":
    main()
