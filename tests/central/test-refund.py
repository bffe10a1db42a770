#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Refunds at any till with real processes: tills T01-T03 shipping to their own PostgreSQL, one
# sandbox. An order paid at one till is refunded at another by id or pos_ref; two tills refunding
# one order at once never exceed what was paid; a missing database is a clear refusal; a till
# killed mid-refund settles it after its restart. One scenario per run:
# test-refund.py BUILD_DIR NAME. The judge: the API's answers, the sandbox's ledger and the
# central reservations.
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from central_harness import (DEADLINE, Daemon, TestFailure, check, code,  # noqa: E402
                             run_store_scenario, status, wait_caught_up)


def create(d, amount, pos_ref=None):
    body = {"amount": amount, "auth_code": code(0)}
    if pos_ref:
        body["pos_ref"] = pos_ref
    st, o = d.api("POST", "/v1/orders", body)
    check(st == 201, f"create {amount}: {st} {o}")
    d.drain_notify()
    return d.wait_state(o["id"], "PAID")


def refund(d, path, amount, key=None):
    """POST a refund; (status, body)."""
    return d.api("POST", path, {"amount": amount},
                 headers={"Idempotency-Key": key} if key else None, timeout=60)


def wait_refund(d, order_id, refund_id, state="REFUNDED"):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        st, rf = d.api("GET", f"/v1/orders/{order_id}/refunds/{refund_id}")
        check(st == 200, f"GET refund {refund_id} at {d.role}: {st} {rf}")
        if rf["state"] == state:
            return rf
        time.sleep(0.1)
    raise TestFailure(f"refund {refund_id} is {rf['state']}, not {state}")


def fen(amount):
    yuan, _, cents = amount.partition(".")
    return int(yuan) * 100 + int((cents + "00")[:2])


def ledger(store, order_id):
    """The sandbox's refunds of a trade: {out_request_no: fen}, and its refund_fee in fen."""
    t = store.sb.trade(order_id)
    check(t is not None, f"the sandbox has no trade {order_id}")
    return ({r["out_request_no"]: fen(r["refund_amount"]) for r in t["refunds"]},
            fen(t["refund_fee"]))


def reservations(store, order_id):
    """{refund_id: (amount_fen, state)} of the central reservations against an order."""
    return {r[0]: (int(r[1]), r[2]) for r in store.sql(
        "SELECT refund_id, amount_fen, state FROM f2fpay.refund_reservation_states "
        f"WHERE order_id = '{order_id}'")}


def wait_reservations_settled(store, order_id):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        rs = reservations(store, order_id)
        if all(s != "held" for _, s in rs.values()):
            return rs
        time.sleep(0.1)
    raise TestFailure(f"reservations of {order_id} still held: {rs}")


def start_all(store):
    for d in store.tills.values():
        d.start()
    for d in store.tills.values():
        wait_caught_up(d)


def test_elsewhere(store):
    """An order paid at T01 is refunded at T02 by order id and by pos_ref and at T03 by pos_ref,
    each with a number of its own till; more than is left is refused at once; the gateway holds
    exactly the refunds the tills made and the reservations are settled as done."""
    start_all(store)
    t01, t02, t03 = (store.tills[t] for t in ("T01", "T02", "T03"))
    o = create(t01, "10.00", pos_ref="R-100")
    oid = o["id"]
    wait_caught_up(t01)
    made = {}

    st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "3.00", key="K-1")
    check(st == 201, f"refund at T02 by id: {st} {rf}")
    check(rf["order_id"] == oid and rf["id"].startswith("T02_") and rf["id"].endswith("_f")
          and len(rf["id"]) <= 64, f"refund at T02: {rf}")
    made[rf["id"]] = 300
    # The same key again: that refund, not a second one.
    st2, again = refund(t02, f"/v1/orders/{oid}/refunds", "3.00", key="K-1")
    check(st2 == 200 and again["id"] == rf["id"], f"replayed key: {st2} {again}")
    st2, again = refund(t02, f"/v1/orders/{oid}/refunds", "3.50", key="K-1")
    check(st2 == 409 and again["error"]["code"] == "idempotency_mismatch",
          f"key with another amount: {st2} {again}")
    wait_refund(t02, oid, rf["id"])

    # Retries with one key sent while the first is still in flight: one refund, one reservation.
    answers = []
    go = threading.Barrier(3)

    def retry():
        go.wait()
        answers.append(refund(t02, "/v1/orders/by-pos-ref/R-100/refunds", "1.00", key="K-2"))
    ts = [threading.Thread(target=retry) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ids = {body.get("id") for _, body in answers}
    check(sorted(st for st, _ in answers) == [200, 200, 201] and len(ids) == 1,
          f"retries with one key: {answers}")
    made[ids.pop()] = 100
    check(len(reservations(store, oid)) == 2, f"reservations: {reservations(store, oid)}")

    st, rf = refund(t02, "/v1/orders/by-pos-ref/R-100/refunds", "1.00")
    check(st == 201 and rf["order_id"] == oid, f"refund at T02 by pos_ref: {st} {rf}")
    made[rf["id"]] = 100
    st, rf = refund(t03, "/v1/orders/by-pos-ref/R-100/refunds", "5.01")
    check(st == 409 and rf["error"]["code"] == "refund_exceeds_paid"
          and "10.00" in rf["error"]["message"], f"over the paid amount at T03: {st} {rf}")
    st, rf = refund(t03, "/v1/orders/by-pos-ref/R-100/refunds", "5.00")
    check(st == 201 and rf["order_id"] == oid, f"refund at T03 by pos_ref: {st} {rf}")
    made[rf["id"]] = 500
    for d in (t02, t03):
        for r in d.api("GET", f"/v1/orders/{oid}/refunds")[1]["refunds"]:
            wait_refund(d, oid, r["id"])
    st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "0.01")
    check(st == 409 and rf["error"]["code"] == "refund_exceeds_paid", f"nothing left: {st} {rf}")

    refunds, fee = ledger(store, oid)
    check(refunds == made and fee == 1000, f"the gateway holds {refunds} ({fee}), not {made}")
    rs = wait_reservations_settled(store, oid)
    check(rs == {k: (v, "done") for k, v in made.items()}, f"reservations: {rs}")
    # The order stays T01's in the database: the tills that refunded it ship only their refunds.
    rows = store.sql(f"SELECT DISTINCT terminal_id FROM f2fpay.order_rows WHERE order_id = '{oid}'")
    check(rows == [("T01",)], f"the order was shipped by other tills: {rows}")
    refund_rows = store.sql("SELECT t.terminal_id, r.refund_id, r.state FROM f2fpay.refunds r "
                            "JOIN f2fpay.tills t USING (install_id) "
                            f"WHERE r.order_id = '{oid}' ORDER BY 2")
    check(sorted(r[1] for r in refund_rows) == sorted(made)
          and all(r[2] == "refunded" and r[1].startswith(r[0] + "_") for r in refund_rows),
          f"refund rows: {refund_rows}")

    # The back office sees the order refunded, wherever it was.
    rows = [o for o in json.loads(store.run_tool("orders", "--json")) if o["id"] == oid]
    check(len(rows) == 1 and rows[0]["terminal"] == "T01" and rows[0]["refunded"] == "10.00",
          f"f2fpay-central orders: {rows}")

    # The store-wide reconciliation matches the refunds made away from the order's till.
    for d in (t01, t02, t03):
        wait_caught_up(d)
    time.sleep(3)  # every till's heartbeat after the bill's last trade
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    rep = json.loads(store.run_tool("reconcile", today, "--config", t01.conf, "--json"))
    matched = {(r["type"], r["out_request_no"]): r["bill_amount"] for r in rep["rows"]
               if r["status"] == "matched" and r["out_trade_no"] == oid}
    want = {("refund", rid): f"-{f // 100}.{f % 100:02d}" for rid, f in made.items()}
    want[("trade", "")] = "10.00"
    check(rep["state"] == "ok" and matched == want,
          f"store-wide reconciliation: {rep['state']} {matched} vs {want}: {rep['summary']}")

    # Unknown orders, and a pos_ref two tills used.
    st, rf = refund(t02, "/v1/orders/T09_20261206_aaaaaaaa_aaaa_1/refunds", "1.00")
    check(st == 404 and rf["error"]["code"] == "order_not_found", f"unknown order: {st} {rf}")
    a, b = create(t01, "1.00", pos_ref="DUP"), create(t03, "1.00", pos_ref="DUP")
    wait_caught_up(t01)
    wait_caught_up(t03)
    st, rf = refund(t02, "/v1/orders/by-pos-ref/DUP/refunds", "1.00")
    check(st == 409 and rf["error"]["code"] == "pos_ref_ambiguous"
          and a["id"] in rf["error"]["message"] and b["id"] in rf["error"]["message"],
          f"ambiguous pos_ref: {st} {rf}")
    # At the till that has it, its own order is meant.
    st, rf = refund(t03, "/v1/orders/by-pos-ref/DUP/refunds", "1.00")
    check(st == 201 and rf["order_id"] == b["id"], f"own pos_ref: {st} {rf}")

    # A reservation nothing will settle (its till stopped between reserving and journaling):
    # listed as held; released by hand only once its till has shipped everything well after it.
    iid = status(t02)["central"]["install_id"]
    _, out, _ = store.pg.psql("SELECT r_outcome FROM f2fpay.refund_reserve("
                              f"'{iid}', 'T02_lost_f', '{a['id']}', NULL, 100)",
                              role=t02.role, password=t02.role + "-pw")
    check(out == "reserved", f"the lost reservation: {out}")
    held = store.run_tool("reservations", "--state", "held", "--csv")
    check("T02_lost_f" in held and all(rid not in held for rid in made), f"held: {held}")
    store.run_tool("release", "T02_lost_f", expect=1)
    store.sql("UPDATE f2fpay.refund_reservations SET reserved_at = now() - interval '1 hour' "
              "WHERE refund_id IN ('T02_lost_f', " + ", ".join(f"'{r}'" for r in made) + ")")
    time.sleep(2.5)  # a heartbeat of T02 with nothing left to ship
    wait_caught_up(t02)
    store.run_tool("release", next(iter(made)), expect=1)  # it has a refund: settled by it
    store.run_tool("release", "T02_lost_f")
    check("T02_lost_f" not in store.run_tool("reservations"), "the lost reservation stays")
    store.run_tool("release", "T02_lost_f", expect=1)


def test_concurrent(store):
    """T02 and T03 refund the same orders at the same moment, amounts that would exceed what was
    paid if both went through: the row lock lets exactly one through each time, the other is
    refused before anything is sent, and the gateway holds exactly the refunds accepted."""
    start_all(store)
    t01, t02, t03 = (store.tills[t] for t in ("T01", "T02", "T03"))
    orders = [create(t01, "10.00")["id"] for _ in range(12)]
    wait_caught_up(t01)
    accepted = {oid: {} for oid in orders}
    refused = 0
    for oid in orders:
        answers = {}
        go = threading.Barrier(2)

        def run(d, amount, oid=oid, answers=answers, go=go):
            go.wait()
            answers[d.role] = (amount, *refund(d, f"/v1/orders/{oid}/refunds", amount))
        ts = [threading.Thread(target=run, args=(t02, "6.00")),
              threading.Thread(target=run, args=(t03, "5.00"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for role, (amount, st, body) in answers.items():
            if st == 201:
                accepted[oid][body["id"]] = (store.tills[role.upper()], fen(amount))
            else:
                check(st == 409 and body["error"]["code"] == "refund_exceeds_paid",
                      f"{role} {oid}: {st} {body}")
                refused += 1
        check(len(accepted[oid]) == 1, f"{oid}: {len(accepted[oid])} refunds accepted: {answers}")
    check(refused == len(orders), f"{refused} refused")
    # Many small refunds of one order from both tills at once: 8 x 1.50 asked, 10.00 paid.
    big = create(t01, "10.00")["id"]
    wait_caught_up(t01)
    orders.append(big)
    accepted[big] = {}
    answers = []
    go = threading.Barrier(8)

    def small(d):
        go.wait()
        answers.append((d, *refund(d, f"/v1/orders/{big}/refunds", "1.50")))
    ts = [threading.Thread(target=small, args=(d,)) for d in (t02, t03) * 4]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for d, st, body in answers:
        if st == 201:
            accepted[big][body["id"]] = (d, 150)
        else:
            check(st == 409 and body["error"]["code"] == "refund_exceeds_paid",
                  f"{d.role} {big}: {st} {body}")
    check(len(accepted[big]) == 6, f"{len(accepted[big])} of 8 refunds of 1.50 accepted")
    for oid in orders:
        for rid, (d, _) in accepted[oid].items():
            wait_refund(d, oid, rid)
        refunds, fee = ledger(store, oid)
        want = {rid: f for rid, (_, f) in accepted[oid].items()}
        check(refunds == want and fee <= 1000, f"{oid}: the gateway holds {refunds}, not {want}")
        rs = wait_reservations_settled(store, oid)
        check(rs == {rid: (f, "done") for rid, f in want.items()}, f"{oid}: reservations {rs}")


def test_owner(store):
    """The owning till reserves its own refunds too while the database is there: T01 cannot
    refund what T02 already refunded of T01's order (refused before anything is sent, not failed
    at the gateway), and the three tills refunding one order at once never exceed it."""
    start_all(store)
    t01, t02, t03 = (store.tills[t] for t in ("T01", "T02", "T03"))
    oid = create(t01, "10.00")["id"]
    wait_caught_up(t01)
    st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "6.00")
    check(st == 201, f"refund at T02: {st} {rf}")
    made = {rf["id"]: 600}
    st, rf = refund(t01, f"/v1/orders/{oid}/refunds", "4.01")
    check(st == 409 and rf["error"]["code"] == "refund_exceeds_paid"
          and "6.00" in rf["error"]["message"], f"T01 over what T02 left: {st} {rf}")
    st, rf = refund(t01, f"/v1/orders/{oid}/refunds", "4.00")
    check(st == 201 and rf["id"] == f"{oid}_r1", f"T01's own refund: {st} {rf}")
    made[rf["id"]] = 400
    wait_refund(t01, oid, rf["id"])
    for rid in made:
        wait_refund(t02 if rid.endswith("_f") else t01, oid, rid)
    check(ledger(store, oid) == (made, 1000), f"the gateway: {ledger(store, oid)}")
    rs = wait_reservations_settled(store, oid)
    check(rs == {k: (v, "done") for k, v in made.items()}, f"reservations: {rs}")

    # Several own refunds of one order at once: reserved one after the other, each under the
    # number the journal then gives it.
    oid = create(t01, "10.00")["id"]
    wait_caught_up(t01)
    answers = []
    go = threading.Barrier(4)

    def own():
        go.wait()
        answers.append(refund(t01, f"/v1/orders/{oid}/refunds", "3.00"))
    ts = [threading.Thread(target=own) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ids = sorted(b["id"] for st, b in answers if st == 201)
    check(ids == [f"{oid}_r{i}" for i in (1, 2, 3)]
          and [b["error"]["code"] for st, b in answers if st != 201] == ["refund_exceeds_paid"],
          f"own refunds at once: {answers}")
    for rid in ids:
        wait_refund(t01, oid, rid)
    rs = wait_reservations_settled(store, oid)
    check(rs == {rid: (300, "done") for rid in ids}, f"own reservations: {rs}")

    # Retries of an own refund with one key while the first waits: one refund, one reservation.
    oid = create(t01, "10.00")["id"]
    wait_caught_up(t01)
    answers = []
    go = threading.Barrier(3)

    def retry():
        go.wait()
        answers.append(refund(t01, f"/v1/orders/{oid}/refunds", "2.00", key="K-own"))
    ts = [threading.Thread(target=retry) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(sorted(st for st, _ in answers) == [200, 200, 201]
          and {b["id"] for _, b in answers} == {f"{oid}_r1"}, f"own retries: {answers}")
    wait_refund(t01, oid, f"{oid}_r1")
    rs = wait_reservations_settled(store, oid)
    check(rs == {f"{oid}_r1": (200, "done")}, f"own retries' reservations: {rs}")

    # All three tills at once, 4.00 each of 10.00, several times.
    for _ in range(4):
        oid = create(t01, "10.00")["id"]
        wait_caught_up(t01)
        answers = []
        go = threading.Barrier(3)

        def run(d, oid=oid, answers=answers, go=go):
            go.wait()
            answers.append((d, *refund(d, f"/v1/orders/{oid}/refunds", "4.00")))
        ts = [threading.Thread(target=run, args=(d,)) for d in (t01, t02, t03)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ok = {body["id"]: d for d, st, body in answers if st == 201}
        bad = [(d.role, st, body) for d, st, body in answers if st != 201]
        check(len(ok) == 2 and all(st == 409 and b["error"]["code"] == "refund_exceeds_paid"
                                   for _, st, b in bad), f"{oid}: {answers}")
        for rid, d in ok.items():
            wait_refund(d, oid, rid)
        check(ledger(store, oid) == ({rid: 400 for rid in ok}, 800),
              f"{oid}: the gateway {ledger(store, oid)}")


def test_window(store):
    """The window, shown: T01 cannot reach the database and refunds most of its own order (from
    its journal alone); T02, not knowing, reserves more than is left and the gateway refuses that
    refund: it ends FAILED and its reservation is released, not held. A refund whose outcome is
    unknown (the gateway hung) keeps its reservation held until it settles."""
    start_all(store)
    t01, t02 = store.tills["T01"], store.tills["T02"]
    oid = create(t01, "10.00")["id"]
    wait_caught_up(t01)
    store.sql("ALTER ROLE t01 NOLOGIN")
    store.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 't01'")
    end = time.monotonic() + DEADLINE
    while status(t01)["central"]["state"] == "connected" and time.monotonic() < end:
        time.sleep(0.1)
    st, rf = refund(t01, f"/v1/orders/{oid}/refunds", "8.00")
    check(st == 201, f"T01's own refund without the database: {st} {rf}")
    wait_refund(t01, oid, rf["id"])
    st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "5.00")
    check(st == 201, f"T02 cannot know T01's refund yet: {st} {rf}")
    failed = wait_refund(t02, oid, rf["id"], "FAILED")
    check(failed.get("sub_code") == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", f"refused how: {failed}")
    rs = wait_reservations_settled(store, oid)
    check(rs == {rf["id"]: (500, "released")}, f"the failed refund's reservation: {rs}")
    check(ledger(store, oid)[1] == 800, f"the gateway: {ledger(store, oid)}")
    store.sql("ALTER ROLE t01 LOGIN")
    wait_caught_up(t01)
    st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "2.01")
    check(st == 409 and rf["error"]["code"] == "refund_exceeds_paid", f"once shipped: {st} {rf}")

    # The gateway hangs: the refund's outcome is unknown, its reservation stays held.
    oid = create(t01, "3.00")["id"]
    wait_caught_up(t01)
    store.sb.proc.send_signal(signal.SIGSTOP)
    try:
        st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "3.00")
        check(st == 201, f"refund with the gateway hung: {st} {rf}")
        time.sleep(8)  # past total_timeout: unknown, retried with the same number
        _, now = t02.api("GET", f"/v1/orders/{oid}/refunds/{rf['id']}")
        check(now["state"] in ("WAIT", "REQUESTED", "QUERYING"), f"unknown refund: {now}")
        wait_caught_up(t02)
        check(reservations(store, oid) == {rf["id"]: (300, "held")},
              f"unknown outcome: {reservations(store, oid)}")
    finally:
        store.sb.proc.send_signal(signal.SIGCONT)
    wait_refund(t02, oid, rf["id"])
    check(wait_reservations_settled(store, oid) == {rf["id"]: (300, "done")},
          f"settled: {reservations(store, oid)}")
    check(ledger(store, oid) == ({rf["id"]: 300}, 300), f"the gateway: {ledger(store, oid)}")


def test_db_down(store):
    """Without the database a refund of another till's order is refused with a clear error and
    nothing is sent; the till's own orders pay and refund as before; once the database is back
    the same refund goes through."""
    start_all(store)
    t01, t02 = store.tills["T01"], store.tills["T02"]
    oid = create(t01, "4.00", pos_ref="R-200")["id"]
    wait_caught_up(t01)
    store.pg.stop()
    for path in (f"/v1/orders/{oid}/refunds", "/v1/orders/by-pos-ref/R-200/refunds"):
        t0 = time.monotonic()
        st, rf = refund(t02, path, "1.00")
        check(st == 503 and rf["error"]["code"] == "central_unavailable"
              and "central database" in rf["error"]["message"], f"{path}: {st} {rf}")
        check(time.monotonic() - t0 < 30, "the refusal waited too long")
    refunds, _ = ledger(store, oid)
    check(refunds == {}, f"a refund was sent without a reservation: {refunds}")
    own = create(t02, "2.00")["id"]
    st, rf = refund(t02, f"/v1/orders/{own}/refunds", "2.00")
    check(st == 201, f"own refund without the database: {st} {rf}")
    wait_refund(t02, own, rf["id"])
    check(status(t02)["central"]["state"] != "connected", "the database is not missed")
    # A till without a central database cannot know other tills' orders, and says so.
    os.makedirs(os.path.join(store.tmp, "T09"))
    lone = Daemon(store.build, store.sb, os.path.join(store.tmp, "T09"), scanner=False,
                  display=None)
    try:
        lone.start()
        st, rf = refund(lone, f"/v1/orders/{oid}/refunds", "1.00")
        check(st == 404 and rf["error"]["code"] == "order_not_found"
              and "central database" in rf["error"]["message"], f"without [central]: {st} {rf}")
        check(lone.stop() == 0, "the till without [central] did not exit cleanly")
    finally:
        lone.close()
    store.pg.start()
    st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "1.00")
    check(st == 201, f"refund with the database back: {st} {rf}")
    wait_refund(t02, oid, rf["id"])
    check(ledger(store, oid)[0] == {rf["id"]: 100}, f"the gateway: {ledger(store, oid)}")


def test_kill(store):
    """T02 is killed (SIGKILL) in the middle of a refund of T01's order: once right after
    journaling it (write-ahead point 2: nothing sent yet), once after the gateway refunded but
    before the answer was journaled (point 3). The reservation stays held while T02 is down;
    after the restart the refund is sent again with the same out_request_no, settles once at the
    gateway, and the reservation is done."""
    t01, t02 = store.tills["T01"], store.tills["T02"]
    t01.start()
    t02.start()
    wait_caught_up(t02)
    t02.stop()
    for point, sent in ((2, False), (3, True)):
        oid = create(t01, "8.00")["id"]
        wait_caught_up(t01)
        t02.extra_env = {"F2FPAY_CRASH_AT": str(point)}
        t02.start()
        rid = None
        try:
            st, rf = refund(t02, f"/v1/orders/{oid}/refunds", "7.00")
            check(st == 201, f"refund: {st} {rf}")
            rid = rf["id"]
        except (OSError, ConnectionError):
            pass  # killed before the answer left
        t02.proc.wait(timeout=DEADLINE)
        check(t02.proc.returncode == -signal.SIGKILL,
              f"T02 was not killed at point {point}: {t02.proc.returncode}")
        t02.proc = None
        refunds, fee = ledger(store, oid)
        rs = reservations(store, oid)
        check(len(rs) == 1 and list(rs.values()) == [(700, "held")],
              f"point {point}: reservation while T02 is down: {rs}")
        rid = rid or next(iter(rs))
        check(refunds == ({rid: 700} if sent else {}), f"point {point}: the gateway: {refunds}")
        t02.extra_env = {}
        t02.start()
        wait_refund(t02, oid, rid)
        rs = wait_reservations_settled(store, oid)
        check(rs == {rid: (700, "done")}, f"point {point}: reservation after the restart: {rs}")
        refunds, fee = ledger(store, oid)
        check(refunds == {rid: 700} and fee == 700,
              f"point {point}: the gateway after the restart: {refunds} {fee}")
        st, body = refund(t02, f"/v1/orders/{oid}/refunds", "1.01")
        check(st == 409 and body["error"]["code"] == "refund_exceeds_paid", f"{st} {body}")
        check(t02.stop() == 0, "f2fpayd did not exit cleanly")


def main():
    # Every till says it is alive each second: the store-wide reconciliation needs it.
    alive = {"heartbeat": "1s"}
    run_store_scenario("f2fpay-central-refund", {
        "elsewhere": (test_elsewhere, ("T01", "T02", "T03"), alive),
        "concurrent": (test_concurrent, ("T01", "T02", "T03"), alive),
        "owner": (test_owner, ("T01", "T02", "T03"), alive),
        "window": (test_window, ("T01", "T02"), alive),
        "db-down": (test_db_down, ("T01", "T02"), alive),
        "kill": (test_kill, ("T01", "T02"), alive),
    })


if __name__ == "__main__":
    main()
