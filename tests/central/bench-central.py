#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Figures for the store's central database (doc/central.md): shipping throughput (a synthetic
# journal of BENCH_SHIP_ORDERS orders, default 20000, caught up from scratch), the lag and backlog
# while three tills take payments as fast as the sandbox answers (BENCH_LOAD_SECONDS, default
# 20), and the store-wide reconciliation of BENCH_RECONCILE_ORDERS orders
# (default 100000) over 50 synthetic tills; the time of refunds at any till (BENCH_REFUNDS,
# default 100: a refund at T02 of T01's order, one of T01's own, and T02 and T03 refunding one
# order at once). BENCH_CENTRAL_ONLY=ship|lag|reconcile|refund runs one part. Prints numbers;
# asserts nothing about them.
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
from central_harness import Store, central, pay, post, wait_caught_up  # noqa: E402

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
            # Schema 6: events name their order by its key (doc/engine.md "Schema and
            # migrations").
            db.execute(
                "INSERT INTO orders (id, kind, amount_fen, subject, state, state_since_usec, "
                "trade_no, created_usec, updated_usec, order_key) VALUES (?, 'scan', ?, "
                "'bench', 'paid', ?, ?, ?, ?, "
                "(SELECT COALESCE(MAX(order_key), 0) + 1 FROM orders))",
                (oid, 100 + i % 9000, at, f"2026{i:020d}", at, at))
            for what, frm, to, req in (("created", "", "new", ""),
                                       ("start", "new", "paying", "pay"),
                                       ("pay_result", "paying", "paid", "")):
                db.execute("INSERT INTO event_rows (order_key, at_usec, what, from_state, "
                           "to_state, request) SELECT order_key, ?, ?, ?, ?, ? FROM orders "
                           "WHERE id = ?", (at, what, frm, to, req, oid))
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
                      "f2fpay.refund_locks, f2fpay.refund_reservations, f2fpay.tills")
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


def percentiles(ms):
    ms = sorted(ms)
    return (f"median {ms[len(ms) // 2]:.1f} ms, 95th {ms[int(len(ms) * 0.95)]:.1f} ms, "
            f"max {ms[-1]:.1f} ms")


def bench_refund(build, n):
    """Wall time of POST …/refunds until the 201: reservation in the database (a connection of
    its own each time), journal, start. The gateway's answer follows later and is not timed."""
    tmp = tempfile.mkdtemp(prefix="f2fpay-bench-central-")
    store = Store(build, tmp, ("T01", "T02", "T03"))
    try:
        for d in store.tills.values():
            d.start()
        t01, t02, t03 = (store.tills[t] for t in ("T01", "T02", "T03"))
        orders = [pay(t01, "100.00")["id"] for _ in range(n)]
        wait_caught_up(t01)

        def timed(d, oid, amount):
            t0 = time.monotonic()
            st, body = post(d, f"/v1/orders/{oid}/refunds", {"amount": amount})
            if st != 201:
                raise RuntimeError(f"refund: {st} {body}")
            return (time.monotonic() - t0) * 1000
        elsewhere = [timed(t02, oid, "1.00") for oid in orders]
        own = [timed(t01, oid, "1.00") for oid in orders]
        one = orders[0]
        got = [0]

        def hammer(d):
            for _ in range(n // 2):
                st, _ = post(d, f"/v1/orders/{one}/refunds", {"amount": "0.01"})
                got[0] += st == 201
        t0 = time.monotonic()
        ts = [threading.Thread(target=hammer, args=(d,)) for d in (t02, t03)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = time.monotonic() - t0
        print(f"refund at another till: {n} refunds, {percentiles(elsewhere)}")
        print(f"refund at the order's till (reserved too): {n} refunds, {percentiles(own)}")
        print(f"one order refunded from 2 tills at once: {got[0]} refunds in {dt:.2f} s "
              f"({got[0] / dt:.1f}/s through its row lock)")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    only = os.environ.get("BENCH_CENTRAL_ONLY")
    if only in (None, "ship"):
        bench_throughput(BUILD, int(os.environ.get("BENCH_SHIP_ORDERS", "20000")))
    if only in (None, "lag"):
        bench_lag(BUILD, int(os.environ.get("BENCH_LOAD_SECONDS", "20")))
    if only in (None, "reconcile"):
        bench_reconcile(BUILD, int(os.environ.get("BENCH_RECONCILE_ORDERS", "100000")))
    if only in (None, "refund"):
        bench_refund(BUILD, int(os.environ.get("BENCH_REFUNDS", "100")))


if __name__ == "__main__":
    main()
