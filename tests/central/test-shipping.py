#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Shipping journals to the store's PostgreSQL with real processes: three tills and a sandbox,
# the database stopped and restarted, a till killed while it ships. One scenario per run:
# test-shipping.py BUILD_DIR NAME. The judge: the central rows equal each till's journal.
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from central_harness import (DEADLINE, central, check, central_events,  # noqa: E402
                             check_same, journal_events, metrics, pay, run_store_scenario,
                             wait_caught_up)


def test_three_tills(store):
    """Orders on every till reach the database; each till sees only its own rows there."""
    for d in store.tills.values():
        d.start()
    for i in range(3):
        for d in store.tills.values():
            pay(d, f"{i + 1}.{len(d.role)}0")
    for t, d in store.tills.items():
        wait_caught_up(d)
        n = check_same(store, d)
        c = central(d)
        check(c["journal_seq"] == c["shipped_seq"] and c["lag_seconds"] == 0, f"{t}: {c}")
        check(c["events_shipped"] >= n, f"{t}: shipped {c['events_shipped']} of {n}")
    rows = store.sql("SELECT terminal_id, count(*) FROM f2fpay.orders GROUP BY 1 ORDER BY 1")
    check(rows == [("T01", "3"), ("T02", "3"), ("T03", "3")], f"orders per till: {rows}")
    own = store.tills["T02"]
    _, out, _ = store.pg.psql("SELECT count(DISTINCT install_id) FROM f2fpay.events",
                              role=own.role, password=own.role + "-pw")
    check(out == "1", f"T02 sees {out} tills' events")


def test_db_restart(store):
    """PostgreSQL stopped mid-run: payments go on, the status shows the backlog, and once the
    database is back every till catches up with nothing lost and nothing twice."""
    for d in store.tills.values():
        d.start()
    for d in store.tills.values():
        pay(d, "1.00")
        wait_caught_up(d)
    store.pg.stop()
    t0 = time.monotonic()
    for i in range(4):
        for d in store.tills.values():
            pay(d, f"2.0{i}")
    # Payments did not wait for the database (a generous margin on a loaded machine).
    check(time.monotonic() - t0 < 40, "payments slowed down by the missing database")
    time.sleep(1.5)
    for t, d in store.tills.items():
        c = central(d)
        check(c["state"] in ("unreachable", "connecting"), f"{t}: {c}")
        check(c["backlog"] > 0 and c["lag_seconds"] >= 1, f"{t}: no backlog shown: {c}")
        check("last_error" in c, f"{t}: no error shown: {c}")
        mt = metrics(d)
        check(mt.get("f2fpayd_central_connected") == "0"
              and int(mt.get("f2fpayd_central_backlog_events", "0")) > 0
              and int(mt.get("f2fpayd_central_lag_seconds", "0")) >= 1,
              f"{t}: /metrics does not show the backlog: {mt}")
    store.pg.start()
    for t, d in store.tills.items():
        wait_caught_up(d)
        check_same(store, d)
        check("last_error" not in central(d), f"{t}: error kept: {central(d)}")
        mt = metrics(d)
        check(mt.get("f2fpayd_central_connected") == "1"
              and mt.get("f2fpayd_central_backlog_events") == "0", f"{t}: /metrics: {mt}")


def test_db_hung(store):
    """A database that accepts connections but never answers (its processes stopped): payments
    and the local API go on as before, the till gives up on each attempt after `timeout` and
    says so, and it catches up once the database answers again."""
    for d in store.tills.values():
        d.start()
    for d in store.tills.values():
        pay(d, "1.00")
        wait_caught_up(d)
    store.pg.freeze()
    try:
        for i in range(3):
            for d in store.tills.values():
                t0 = time.monotonic()
                pay(d, f"2.0{i}")
                check(time.monotonic() - t0 < 10, "a payment waited for the hung database")
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            cs = [central(d) for d in store.tills.values()]
            if all("no answer within" in c.get("last_error", "") for c in cs):
                break
            time.sleep(0.2)
        check(all(c["backlog"] > 0 and c["state"] != "connected" for c in cs),
              f"the hung database is not shown: {cs}")
        check(all("no answer within" in c.get("last_error", "") for c in cs),
              f"no timeout said: {cs}")
    finally:
        store.pg.thaw()
    for d in store.tills.values():
        wait_caught_up(d)
        check_same(store, d)


def test_kill_while_shipping(store):
    """A till killed with SIGKILL halfway through a catch-up ships the rest after its restart:
    the re-sent batch changes nothing."""
    d = store.tills["T01"]
    d.start()
    pay(d, "1.00")
    wait_caught_up(d)
    store.pg.stop()
    for i in range(30):
        pay(d, f"3.{i:02d}")
    iid = central(d)["install_id"]
    store.pg.start()
    # batch_size = 5: the catch-up takes many round trips; kill the till in the middle.
    end = time.monotonic() + DEADLINE
    shipped = 0
    while time.monotonic() < end:
        shipped = len(central_events(store, iid))
        if shipped > 10:
            break
        time.sleep(0.02)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    total = len(journal_events(d))
    check(10 < shipped < total, f"not killed while shipping: {shipped} of {total} shipped")
    d.start()
    wait_caught_up(d)
    check_same(store, d)
    # Everything re-sent from event 4 on: the database keeps the rows it had, unchanged.
    check(d.stop() == 0, "f2fpayd did not exit cleanly")
    before = store.sql("SELECT count(*), max(received_at) FROM f2fpay.events")
    store.sql(f"UPDATE f2fpay.tills SET shipped_seq = 3 WHERE install_id = '{iid}'")
    os.unlink(os.path.join(d.tmp, "journal.db.central-seq"))
    d.start()
    wait_caught_up(d)
    check(central(d)["events_shipped"] >= total - 3, f"nothing re-sent: {central(d)}")
    check(store.sql("SELECT count(*), max(received_at) FROM f2fpay.events") == before,
          "a re-sent batch changed the database")
    check_same(store, d)


def test_restored_journal(store):
    """A journal restored from an older backup under the same install id would hand out event
    numbers the database already holds for other events: shipping stops, saying why, and
    payments go on."""
    d = store.tills["T01"]
    d.start()
    pay(d, "1.00")
    wait_caught_up(d)
    check(d.stop() == 0, "f2fpayd did not exit cleanly")
    backup = os.path.join(store.tmp, "backup")
    os.makedirs(backup)
    names = ["journal.db", "journal.db-wal", "journal.db-shm"]
    for n in names:
        if os.path.exists(os.path.join(d.tmp, n)):
            shutil.copy(os.path.join(d.tmp, n), backup)
    d.start()
    pay(d, "2.00")
    wait_caught_up(d)
    check(d.stop() == 0, "f2fpayd did not exit cleanly")
    iid_rows = store.sql("SELECT install_id, shipped_seq FROM f2fpay.tills")
    for n in names:
        p = os.path.join(d.tmp, n)
        if os.path.exists(p):
            os.unlink(p)
        if os.path.exists(os.path.join(backup, n)):
            shutil.copy(os.path.join(backup, n), p)
    d.start()
    pay(d, "3.00")  # more events than the database saw after the backup
    pay(d, "4.00")
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end and central(d)["state"] != "stopped":
        time.sleep(0.1)
    c = central(d)
    check(c["state"] == "stopped" and "not this journal's" in c.get("last_error", ""),
          f"a restored journal was shipped over the database's events: {c}")
    check(store.sql("SELECT install_id, shipped_seq FROM f2fpay.tills") == iid_rows,
          "the database moved although the journal went back")
    pay(d, "5.00")


def main():
    run_store_scenario("f2fpay-central", {
        "three-tills": (test_three_tills, ("T01", "T02", "T03"), {}),
        "db-restart": (test_db_restart, ("T01", "T02", "T03"), {}),
        "db-hung": (test_db_hung, ("T01", "T02"), {"timeout": "2s"}),
        "restored-journal": (test_restored_journal, ("T01",), {}),
        "kill-while-shipping": (test_kill_while_shipping, ("T01",),
                                {"batch_size": "5", "poll_interval": "50ms"}),
    })


if __name__ == "__main__":
    main()
