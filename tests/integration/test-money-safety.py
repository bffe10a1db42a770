#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Money safety across restarts, clones and lost files: the real f2fpayd against f2fpay-sandbox,
# one scenario per run: test-money-safety.py BUILD_DIR NAME. What the gateway holds
# (GET /sim/trades) is the judge: no second pay or refund, no number used twice, no order
# reported PAID with a trade its journal never sent.
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Sandbox, TestFailure, check, tmpdir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "journal-v1")
_seq = random.randrange(10**9)


def code(digit):
    """A fresh 18-digit sandbox payment code (starts 28; the last digit picks the buyer:
    0 pays at once, 2 never confirms). Payment codes are single-use: never one twice."""
    global _seq
    _seq += 1
    return f"28{_seq:015d}{digit}"


def trades(sb):
    st, text = sb.request("GET", "/sim/trades")
    check(st == 200, f"/sim/trades: {st}")
    return json.loads(text)["trades"]


def post(d, path, body, headers=None):
    """POST over the API: (status, json, Idempotent-Replayed header)."""
    from harness import UnixHTTPConnection
    d.drain_notify()
    c = UnixHTTPConnection(d.sock)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request("POST", path, body=json.dumps(body).encode(), headers=h)
    r = c.getresponse()
    text = r.read().decode()
    replayed = r.getheader("Idempotent-Replayed")
    c.close()
    return r.status, (json.loads(text) if text else None), replayed


def pay(d, amount, digit=0, want="PAID", headers=None):
    st, o, _ = post(d, "/v1/orders", {"amount": amount, "auth_code": code(digit)}, headers)
    check(st == 201, f"create {amount}: {st} {o}")
    d.drain_notify()
    return d.wait_state(o["id"], want)


def kill9(d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None


def journal_files(tmp):
    j = os.path.join(tmp, "journal.db")
    return [j, j + "-wal", j + "-shm"]


def check_gateway_truth(sb, daemons):
    """Every trade at the gateway had one pay and belongs to exactly one order that agrees."""
    seen = {}
    for t in trades(sb):
        check(t["pay_requests"] <= 1, f"a trade with {t['pay_requests']} pays: {t}")
        seen[t["out_trade_no"]] = t
    for d in daemons:
        st, lst = d.api("GET", "/v1/orders")
        check(st == 200, f"list: {st}")
        for o in lst["orders"]:
            t = seen.get(o["id"])
            if o["state"] == "PAID":
                check(t and t["trade_status"] in ("TRADE_SUCCESS", "TRADE_FINISHED") and
                      t["total_amount"] == o["amount"] and t.get("trade_no") == o["trade_no"],
                      f"order {o} is PAID but the gateway holds {t}")


def test_order_key_restart(build, tmp):
    """An order with an Idempotency-Key header (no pos_ref), SIGKILL, restart, the same POST:
    the same order, no second pay, Idempotent-Replayed: true; another body under the key: 409."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        body = {"amount": "9.99", "auth_code": code(0)}
        key = {"Idempotency-Key": "till-7-sale-1001"}
        st, o, rep = post(d, "/v1/orders", body, key)
        check(st == 201 and rep is None, f"create: {st} {o} {rep}")
        d.wait_state(o["id"], "PAID")
        st, again, rep = post(d, "/v1/orders", body, key)
        check(st == 200 and again["id"] == o["id"] and rep == "true",
              f"replay before the restart: {st} {again} {rep}")
        kill9(d)
        d.start()
        st, again, rep = post(d, "/v1/orders", body, key)
        check(st == 200 and again["id"] == o["id"] and again["state"] == "PAID" and
              rep == "true", f"replay after the restart: {st} {again} {rep}")
        st, mism, _ = post(d, "/v1/orders", dict(body, amount="19.99"), key)
        check(st == 409 and mism["error"]["code"] == "idempotency_mismatch",
              f"same key, other amount: {st} {mism}")
        ts = trades(sb)
        check(len(ts) == 1 and ts[0]["pay_requests"] == 1, f"pays at the sandbox: {ts}")
        st, lst = d.api("GET", "/v1/orders")
        check(len(lst["orders"]) == 1, f"orders: {lst}")
        # The longest subject fits with its key.
        st, big, _ = post(d, "/v1/orders", {"amount": "1.00", "subject": "s" * 256,
                                            "auth_code": code(0)}, {"Idempotency-Key": "big"})
        check(st == 201, f"a 256-byte subject with a key: {st} {big}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_refund_key_restart(build, tmp):
    """A refund with an Idempotency-Key, SIGKILL, restart, the same refund: no second refund at
    the gateway, Idempotent-Replayed: true; the key with another amount: 409."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        o = pay(d, "30.00")
        path = f"/v1/orders/{o['id']}/refunds"
        key = {"Idempotency-Key": "refund-55"}
        st, rf, rep = post(d, path, {"amount": "10.00"}, key)
        check(st == 201 and rep is None, f"refund: {st} {rf} {rep}")
        for _ in range(200):
            if d.order(o["id"]).get("refunded") == "10.00":
                break
            time.sleep(0.05)
        check(d.order(o["id"]).get("refunded") == "10.00", "the refund did not finish")
        st, again, rep = post(d, path, {"amount": "10.00"}, key)
        check(st == 200 and again["id"] == rf["id"] and rep == "true",
              f"replay before the restart: {st} {again} {rep}")
        kill9(d)
        d.start()
        st, again, rep = post(d, path, {"amount": "10.00"}, key)
        check(st == 200 and again["id"] == rf["id"] and rep == "true",
              f"replay after the restart: {st} {again} {rep}")
        st, mism, _ = post(d, path, {"amount": "12.00"}, key)
        check(st == 409 and mism["error"]["code"] == "idempotency_mismatch",
              f"same key, other amount: {st} {mism}")
        t = sb.trade(o["id"])
        check(len(t["refunds"]) == 1 and t["refund_fee"] == "10.00",
              f"refunds at the sandbox: {t}")
        check(d.order(o["id"])["refunded"] == "10.00", "the order's refunded amount changed")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_two_tills(build, tmp):
    """Two tills cloned from one image (both T01, separate journals) pay at one gateway: every
    trade distinct, every order's state true."""
    sb = Sandbox(build)
    ta, tb = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    os.makedirs(ta)
    os.makedirs(tb)
    a = Daemon(build, sb, ta, scanner=False, display=None)
    b = Daemon(build, sb, tb, scanner=False, display=None)
    try:
        a.start()
        b.start()
        ids = []
        for i in range(3):
            ids.append(pay(a, f"{i + 1}.00")["id"])
            # The second till's orders never confirm: none of them may become PAID.
            ids.append(pay(b, f"{i + 1}.50", digit=2, want="WAITING")["id"])
        check(len(set(ids)) == len(ids), f"an order number used twice: {ids}")
        check(len({t["out_trade_no"] for t in trades(sb)}) == len(ids),
              f"the gateway holds {len(trades(sb))} trades for {len(ids)} orders")
        check_gateway_truth(sb, [a, b])
        st, lst = b.api("GET", "/v1/orders")
        check(all(o["state"] != "PAID" for o in lst["orders"]), f"till b: {lst}")
        check(a.stop() == 0 and b.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        a.close()
        b.close()
        sb.stop()


def test_restored_backup(build, tmp):
    """The journal copied aside, more orders paid, the copy restored, more orders: no number
    used again, never a stranger's trade."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    backup = os.path.join(tmp, "backup")
    os.makedirs(backup)
    try:
        d.start()
        first = [pay(d, "8.88")["id"] for _ in range(2)]
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        for f in journal_files(tmp):
            if os.path.exists(f):
                shutil.copy(f, backup)
        d.start()
        later = [pay(d, "8.88")["id"] for _ in range(3)]
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        for f in journal_files(tmp):
            if os.path.exists(f):
                os.unlink(f)
            saved = os.path.join(backup, os.path.basename(f))
            if os.path.exists(saved):
                shutil.copy(saved, f)
        d.start()
        # Never-confirming codes: if a number were reused, the gateway would answer with the
        # paid trade of an earlier customer.
        after = [pay(d, "8.88", digit=2, want="WAITING")["id"] for _ in range(3)]
        used = set(first + later)
        check(not used & set(after), f"numbers used again: {used & set(after)}")
        for oid in after:
            check(d.order(oid)["state"] != "PAID", f"{oid} PAID with nobody charged")
            t = sb.trade(oid)
            check(t and t["pay_requests"] == 1 and t["trade_status"] == "WAIT_BUYER_PAY",
                  f"the gateway's trade of {oid}: {t}")
        check_gateway_truth(sb, [d])
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def run_f2fpayd(d, conf=None, timeout=20):
    """Runs f2fpayd expecting it to refuse and exit; one that keeps running is stopped."""
    try:
        return subprocess.run([d.f2fpayd, "--config", conf or d.conf], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return subprocess.CompletedProcess(e.cmd, 0, "", err + "\n(still running: stopped)")


def test_lost_journal(build, tmp):
    """The journal is gone (moved aside): refused with how to start anew; on purpose, a new
    journal starts a new numbering space."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        old = [pay(d, "8.88")["id"] for _ in range(3)]
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        aside = os.path.join(tmp, "aside")
        os.makedirs(aside)
        for f in journal_files(tmp):
            if os.path.exists(f):
                shutil.move(f, aside)
        r = run_f2fpayd(d)
        marker = os.path.join(tmp, "journal.db.install-id")
        check(r.returncode != 0 and "missing" in r.stderr and marker in r.stderr,
              f"a missing journal: {r.returncode} {r.stderr[-600:]}")
        check(not os.path.exists(os.path.join(tmp, "journal.db")), "a journal was created")
        check(not os.path.exists(d.sock), "the API was served anyway")
        os.unlink(marker)
        d.start()
        new = [pay(d, "8.88", digit=2, want="WAITING")["id"] for _ in range(3)]
        check(not set(old) & set(new), f"numbers used again: {set(old) & set(new)}")
        for oid in new:
            t = sb.trade(oid)
            check(t and t["pay_requests"] == 1 and t["trade_status"] == "WAIT_BUYER_PAY",
                  f"{oid}: {t}")
        check_gateway_truth(sb, [d])
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_lost_wal(build, tmp):
    """SIGKILL, then the write-ahead file is lost: SQLite opens the journal as it was at the last
    checkpoint (the recent orders and counter are gone, and nothing says so); the numbers of the
    next run are new ones anyway, so nobody is reported PAID with an earlier trade."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        old = [pay(d, "8.88")["id"] for _ in range(3)]
        kill9(d)
        j = os.path.join(tmp, "journal.db")
        check(os.path.getsize(j + "-wal") > 0, "no write-ahead file to lose")
        os.unlink(j + "-wal")
        if os.path.exists(j + "-shm"):
            os.unlink(j + "-shm")
        d.start()
        new = [pay(d, "8.88", digit=2, want="WAITING")["id"] for _ in range(3)]
        check(not set(old) & set(new), f"numbers used again: {set(old) & set(new)}")
        for oid in new:
            check(d.order(oid)["state"] != "PAID", f"{oid} PAID with nobody charged")
            t = sb.trade(oid)
            check(t and t["pay_requests"] == 1, f"{oid}: {t}")
        check_gateway_truth(sb, [d])
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_second_instance(build, tmp):
    """A second f2fpayd on the same journal exits naming the first one's pid; the first keeps
    its socket and its orders."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        st, o, _ = post(d, "/v1/orders", {"amount": "4.44", "auth_code": code(2)})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "WAITING")
        ino = os.stat(d.sock).st_ino
        r = run_f2fpayd(d)
        check(r.returncode != 0 and f"pid {d.proc.pid}" in r.stderr,
              f"second instance: {r.returncode} {r.stderr[-600:]}")
        check("Resuming" not in r.stderr and o["id"] not in r.stderr,
              f"the second instance touched the orders: {r.stderr[-600:]}")
        # Another socket, the same journal: refused just the same.
        other = d.conf + ".other"
        with open(d.conf) as f:
            text = f.read()
        with open(other, "w") as f:
            f.write(text.replace(d.sock, d.sock + ".2"))
        r2 = run_f2fpayd(d, other)
        check(r2.returncode != 0 and f"pid {d.proc.pid}" in r2.stderr,
              f"second instance, own socket: {r2.returncode} {r2.stderr[-600:]}")
        check(os.path.exists(d.sock) and os.stat(d.sock).st_ino == ino,
              "the first instance's socket was replaced")
        st, s = d.api("GET", "/v1/status")
        check(st == 200, f"the first instance is unreachable: {st}")
        st, c = d.api("POST", f"/v1/orders/{o['id']}/cancel")
        check(st == 202, f"cancel: {st} {c}")
        d.wait_state(o["id"], "CANCELED")
        t = sb.trade(o["id"])
        check(t["pay_requests"] == 1 and t["cancel_requests"] == 1, f"sandbox: {t}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_waiting_restart(build, tmp):
    """A scan order waiting for the scanner is journaled: it survives a SIGKILL and the code read
    after the restart pays it."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, display=None)
    try:
        d.start()
        st, w, _ = post(d, "/v1/orders", {"amount": "6.66", "subject": "Tea"},
                        {"Idempotency-Key": "wait-1"})
        check(st == 201 and w["state"] == "WAITING_FOR_CODE", f"create: {st} {w}")
        kill9(d)
        d.start()
        got = d.order(w["id"])
        check(got["state"] == "WAITING_FOR_CODE" and got["amount"] == "6.66",
              f"after the restart: {got}")
        st, s = d.api("GET", "/v1/status")
        check(s["waiting_for_code"] == w["id"], f"status: {s}")
        st, again, rep = post(d, "/v1/orders", {"amount": "6.66", "subject": "Tea"},
                              {"Idempotency-Key": "wait-1"})
        check(st == 200 and again["id"] == w["id"] and rep == "true", f"replay: {st} {again}")
        st, other, _ = post(d, "/v1/orders", {"amount": "1.00"})
        check(st == 409 and other["error"]["code"] == "scan_order_waiting", f"{st} {other}")
        d.scanner.scan(code(0))
        paid = d.wait_state(w["id"], "PAID")
        check(paid["subject"] == "Tea" and "*" in paid["auth_code"], f"paid: {paid}")
        t = sb.trade(w["id"])
        check(t["pay_requests"] == 1 and t["total_amount"] == "6.66", f"sandbox: {t}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_migration(build, tmp):
    """The schema-1 journal written by the schema-1 f2fpayd (fixtures/journal-v1, see
    make-journal-fixture.py) is migrated in place at start: every order, event and refund kept;
    the orders in flight recover against the gateway's ledger of that day."""
    j = os.path.join(tmp, "journal.db")
    state = os.path.join(tmp, "sandbox-state.json")
    shutil.copy(os.path.join(FIXTURE, "journal.db"), j)
    shutil.copy(os.path.join(FIXTURE, "sandbox-state.json"), state)
    with open(os.path.join(FIXTURE, "MANIFEST.json")) as f:
        manifest = json.load(f)

    def dump():
        db = sqlite3.connect(j)
        out = {
            "version": db.execute("PRAGMA user_version").fetchone()[0],
            "orders": db.execute("SELECT id, kind, amount_fen, refunded_fen, subject, "
                                 "COALESCE(pos_ref, ''), created_usec FROM orders "
                                 "ORDER BY id").fetchall(),
            "events": db.execute("SELECT seq, order_id, what, from_state, to_state, request "
                                 "FROM events ORDER BY seq").fetchall(),
            "refunds": db.execute("SELECT id, order_id, amount_fen, state FROM refunds "
                                  "ORDER BY id").fetchall(),
            "seq": db.execute("SELECT value FROM counters WHERE name = "
                              "'out_trade_no_seq'").fetchone()[0],
            "notifications": db.execute("SELECT seq, out_trade_no, verified, outcome, body "
                                        "FROM notifications ORDER BY seq").fetchall(),
        }
        db.close()
        return out
    # The buyer of FIX-CONFIRMS confirmed on the phone while the till was down.
    with open(state) as f:
        ledger = json.load(f)
    for t in ledger["trades"]:
        if t["out_trade_no"] == manifest["orders"][5]["id"]:
            check(t["trade_status"] == "WAIT_BUYER_PAY" and t["confirm_usec"] > 0, f"{t}")
            t["confirm_usec"] = 1
    with open(state, "w") as f:
        json.dump(ledger, f)
    before = dump()
    check(before["version"] == 1 and len(before["orders"]) == len(manifest["orders"]),
          f"the fixture: {before['version']} {len(before['orders'])}")
    sb = Sandbox(build, ["--state", state])
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        want = {"SHOWING_QR": ("CANCELED",), "WAITING": ("PAID", "CANCELED")}
        for o in manifest["orders"]:
            end = want.get(o["state_written"], (o["state_written"],))
            for _ in range(300):
                got = d.order(o["id"])
                if got["final"]:
                    break
                d.drain_notify()
                time.sleep(0.1)
            check(got["state"] in end and got["amount"] == o["amount"],
                  f"{o['id']} written {o['state_written']} is now {got}")
            t = sb.trade(o["id"])
            if got["state"] == "PAID":
                check(t["trade_status"] == "TRADE_SUCCESS" and t["pay_requests"] == 1,
                      f"{o['id']}: {t}")
            if t:
                check(t["pay_requests"] <= 1, f"{o['id']} paid twice: {t}")
        # The buyer of FIX-CONFIRMS confirmed: PAID after recovery, with its one pay.
        check(d.order(manifest["orders"][5]["id"])["state"] == "PAID", "FIX-CONFIRMS")
        check(d.order(manifest["orders"][1]["id"])["refunded"] == "5.00", "the refund is lost")
        # Paid before receipts were journaled: no receipt; paid by the recovery's query: one.
        check("receipt" not in d.order(manifest["orders"][0]["id"]), "an invented receipt")
        check(d.order(manifest["orders"][5]["id"])["receipt"]["receipt_amount"] ==
              d.order(manifest["orders"][5]["id"])["amount"], "no receipt from the query")
        # A schema-1 pos_ref still replays; new numbers carry the install id.
        st, again, rep = post(d, "/v1/orders", {"amount": "12.34", "auth_code": code(0),
                                                "pos_ref": "FIX-PAID"})
        check(st == 200 and again["id"] == manifest["orders"][0]["id"] and rep == "true",
              f"schema-1 pos_ref: {st} {again} {rep}")
        n = pay(d, "1.00")
        with open(j + ".install-id") as f:
            install = f.read().strip()
        check(len(install) == 8 and f"_{install}_" in n["id"], f"new order {n['id']} {install}")
        st, status = d.api("GET", "/v1/status")
        check(status.get("install_id") == install, f"status: {status}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        after = dump()
        check(after["version"] == 6, f"schema {after['version']}")
        # The bodies received under schema 1 are kept byte for byte (doc/engine.md
        # "Notifications").
        check(after["notifications"][:len(before["notifications"])] == before["notifications"]
              and len(before["notifications"]) >= 4, "notifications changed")
        check(after["seq"] == before["seq"] + 1, f"counter {before['seq']} → {after['seq']}")
        old_ids = {o[0] for o in before["orders"]}
        check([o for o in after["orders"] if o[0] in old_ids] == before["orders"],
              "an order changed its facts in the migration")
        check(after["events"][:len(before["events"])] == before["events"],
              "the event log changed")
        check([r for r in after["refunds"] if r[1] in old_ids] == before["refunds"],
              "refunds changed")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "order-key-restart": test_order_key_restart,
    "refund-key-restart": test_refund_key_restart,
    "two-tills": test_two_tills,
    "restored-backup": test_restored_backup,
    "lost-journal": test_lost_journal,
    "lost-wal": test_lost_wal,
    "second-instance": test_second_instance,
    "waiting-restart": test_waiting_restart,
    "migration": test_migration,
}


def main():
    build, name = sys.argv[1], sys.argv[2]
    tmp = tmpdir(f"f2fpay-safety-{name}.")
    try:
        TESTS[name](build, tmp)
    except (TestFailure, OSError, KeyError, TypeError, ValueError) as e:
        print(f"FAIL {name}: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"(files kept in {tmp})", file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print(f"{name}: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
