#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The POS application's API (doc/api.md) end to end: the real daemon against f2fpay-sandbox,
# queried over its unix socket. One scenario per run: test-api.py BUILD_DIR NAME.
import http.client
import json
import os
import queue
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Events, Sandbox, check, free_port, paycode,  # noqa: E402
                     run_scenario)

# doc/design.md §11.1: the last digit of an 18-digit code starting 28 picks the buyer.


def edit_conf(d, old, new):
    """Replaces the first `old` in the daemon's configuration file with `new`."""
    with open(d.conf) as f:
        conf = f.read()
    check(old in conf, f"{old!r} is not in the configuration")
    with open(d.conf, "w") as f:
        f.write(conf.replace(old, new, 1))


def metrics_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body


def test_version(build, tmp):
    """GET /v1/version answers what the metrics listener's /version answers."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        port = free_port()
        edit_conf(d, "[api]", f"[metrics]\nlisten = 127.0.0.1:{port}\n\n[api]")
        d.start()
        st, v = d.api("GET", "/v1/version")
        check(st == 200, f"GET /v1/version: {st} {v}")
        st, s = d.api("GET", "/v1/status")
        check(v == {"name": "f2fpayd", "version": s["version"], "terminal_id": "T01"},
              f"/v1/version: {v}")
        st, text = metrics_get(port, "/version")
        check(st == 200 and json.loads(text) == v, f"/version {st} {text} differs from {v}")
        st, j = d.api("POST", "/v1/version", {})
        check(st == 405 and j["error"]["code"] == "method_not_allowed", f"POST: {st} {j}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def beijing_today(offset_days=0):
    t = time.time() + 8 * 3600 + offset_days * 86400
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def ids(d, query):
    st, j = d.api("GET", "/v1/orders" + query)
    check(st == 200, f"GET /v1/orders{query}: {st} {j}")
    return [o["id"] for o in j["orders"]]


def refused(d, query, code, names):
    st, j = d.api("GET", "/v1/orders" + query)
    check(st == 400 and j["error"]["code"] == code and names in j["error"]["message"],
          f"GET /v1/orders{query}: {st} {j}, expected 400 {code} naming {names!r}")


def test_queries(build, tmp):
    """Filters on pos_ref, state, mode and dates; bad parameters are refused by name; an
    order's refunds; orders by pos_ref."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        st, a = d.api("POST", "/v1/orders", {"amount": "10.00", "auth_code": paycode(0),
                                            "pos_ref": "R-0001"})
        check(st == 201, f"create: {st} {a}")
        st, b = d.api("POST", "/v1/orders", {"amount": "4.00", "auth_code": paycode(0),
                                            "pos_ref": "R-0004"})
        st, q = d.api("POST", "/v1/orders", {"amount": "3.00", "mode": "qr",
                                            "pos_ref": "R-0005"})
        check(st == 201, f"create qr: {st} {q}")
        d.wait_state(a["id"], "PAID")
        d.wait_state(b["id"], "PAID")
        d.wait_state(q["id"], "SHOWING_QR")

        check(ids(d, "?pos_ref=R-0004") == [b["id"]], "pos_ref filter")
        check(ids(d, "?pos_ref=R-9999") == [], "unknown pos_ref lists orders")
        check(ids(d, "?state=PAID") == [a["id"], b["id"]], "state filter")
        check(ids(d, "?mode=qr") == [q["id"]], "mode filter")
        check(ids(d, "?mode=scan&state=PAID&pos_ref=R-0001") == [a["id"]], "combined filters")
        today, yesterday = beijing_today(), beijing_today(-1)
        check(ids(d, f"?date={today}") == [a["id"], b["id"], q["id"]], "date filter")
        check(ids(d, f"?date={yesterday}") == [], "yesterday lists today's orders")
        check(ids(d, f"?from={yesterday}&to={today}") == [a["id"], b["id"], q["id"]],
              "from/to")
        check(ids(d, f"?from={beijing_today(1)}") == [], "from tomorrow")
        check(ids(d, f"?to={yesterday}") == [], "to yesterday")

        # Every parameter is known and well formed, or the answer names it.
        refused(d, "?pos_rf=R-0004", "unknown_parameter", "'pos_rf'")
        refused(d, "?state=paid", "invalid_state", "'state'")
        refused(d, "?state=NOPE", "invalid_state", "'state'")
        refused(d, "?mode=card", "invalid_parameter", "'mode'")
        refused(d, "?date=2026-13-01", "invalid_date", "'date'")
        refused(d, "?from=yesterday", "invalid_date", "'from'")
        refused(d, f"?from={today}&to={yesterday}", "invalid_parameter", "'from'")
        refused(d, f"?date={today}&from={today}", "invalid_parameter", "'date'")
        refused(d, "?limit=0", "invalid_parameter", "'limit'")
        refused(d, "?limit=1001", "invalid_parameter", "'limit'")
        refused(d, "?limit=ten", "invalid_parameter", "'limit'")
        refused(d, "?cursor=abc", "invalid_parameter", "'cursor'")
        refused(d, "?state=PAID&state=FAILED", "invalid_parameter", "'state'")

        # Pages: a limit, a cursor, no next_cursor on the last page.
        st, p1 = d.api("GET", "/v1/orders?limit=2")
        check(st == 200 and len(p1["orders"]) == 2 and "next_cursor" in p1, f"page 1: {p1}")
        st, p2 = d.api("GET", "/v1/orders?limit=2&cursor=" + p1["next_cursor"])
        check(st == 200 and [o["id"] for o in p2["orders"]] == [q["id"]] and
              "next_cursor" not in p2, f"page 2: {p2}")

        # An order's refunds, and one refund.
        st, r1 = d.api("POST", f"/v1/orders/{a['id']}/refunds", {"amount": "1.00"})
        check(st == 201, f"refund: {st} {r1}")
        st, r2 = d.api("POST", f"/v1/orders/{a['id']}/refunds", {"amount": "2.00",
                                                               "reason": "cup"})
        st, rl = d.api("GET", f"/v1/orders/{a['id']}/refunds")
        check(st == 200 and [r["id"] for r in rl["refunds"]] == [r1["id"], r2["id"]],
              f"refund list: {st} {rl}")
        st, rl = d.api("GET", f"/v1/orders/{b['id']}/refunds")
        check(st == 200 and rl == {"refunds": []}, f"no refunds: {st} {rl}")
        st, one = d.api("GET", f"/v1/orders/{a['id']}/refunds/{r2['id']}")
        check(st == 200 and one["id"] == r2["id"] and one["amount"] == "2.00" and
              one["reason"] == "cup", f"one refund: {st} {one}")
        st, j = d.api("GET", f"/v1/orders/{b['id']}/refunds/{r2['id']}")
        check(st == 404 and j["error"]["code"] == "refund_not_found",
              f"another order's refund: {st} {j}")
        st, j = d.api("GET", "/v1/orders/T01_19990101_1/refunds")
        check(st == 404 and j["error"]["code"] == "order_not_found", f"refunds: {st} {j}")

        # Orders by pos_ref: read and cancel.
        st, j = d.api("GET", "/v1/orders/by-pos-ref/R-0004")
        check(st == 200 and j["id"] == b["id"], f"by pos_ref: {st} {j}")
        st, j = d.api("GET", "/v1/orders/by-pos-ref/R-9999")
        check(st == 404 and j["error"]["code"] == "order_not_found", f"by pos_ref: {st} {j}")
        st, j = d.api("POST", "/v1/orders/by-pos-ref/R-0004")
        check(st == 405, f"POST by pos_ref: {st} {j}")
        st, j = d.api("POST", "/v1/orders/by-pos-ref/R-0005/cancel")
        check(st == 202 and j["id"] == q["id"], f"cancel by pos_ref: {st} {j}")
        d.wait_state(q["id"], "CANCELED")
        st, j = d.api("POST", "/v1/orders/by-pos-ref/R-0005/cancel")
        check(st == 409 and j["error"]["code"] == "not_cancelable", f"again: {st} {j}")
        # A scan order waiting for its code is found by its pos_ref too, and canceled.
        st, w = d.api("POST", "/v1/orders", {"amount": "2.00", "pos_ref": "R-0006"})
        check(st == 201 and w["state"] == "WAITING_FOR_CODE", f"waiting: {st} {w}")
        check(ids(d, "?state=WAITING_FOR_CODE") == [w["id"]], "waiting listed")
        st, j = d.api("GET", "/v1/orders/by-pos-ref/R-0006")
        check(st == 200 and j["id"] == w["id"], f"waiting by pos_ref: {st} {j}")
        st, j = d.api("POST", "/v1/orders/by-pos-ref/R-0006/cancel")
        check(st == 202 and j["state"] == "CANCELED", f"cancel waiting: {st} {j}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_paging(build, tmp):
    """Paging through 1,000 orders returns each exactly once while new orders arrive."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        d.start()
        before = set()
        lock = threading.Lock()

        def create(n, into):
            for _ in range(n):
                st, o = d.api("POST", "/v1/orders", {"amount": "0.01", "auth_code": paycode(0)})
                check(st == 201, f"create: {st} {o}")
                with lock:
                    into.add(o["id"])

        workers = [threading.Thread(target=create, args=(250, before)) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        check(len(before) == 1000, f"{len(before)} orders made")

        during, stop, errors = set(), threading.Event(), []

        def arrive():
            try:
                while not stop.is_set():
                    create(1, during)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        t = threading.Thread(target=arrive)
        t.start()
        seen, cursor, pages = [], None, 0
        try:
            while True:
                q = "?limit=37" + (f"&cursor={cursor}" if cursor else "")
                st, j = d.api("GET", "/v1/orders" + q)
                check(st == 200, f"page {pages}: {st} {j}")
                seen += [o["id"] for o in j["orders"]]
                pages += 1
                cursor = j.get("next_cursor")
                if not cursor:
                    break
                time.sleep(0.01)
        finally:
            stop.set()
            t.join()
        check(not errors, f"creating while paging: {errors}")
        check(len(seen) == len(set(seen)), "an order came twice")
        check(before <= set(seen), f"{len(before - set(seen))} orders never came")
        check(set(seen) <= before | during, "an order came from nowhere")
        check(len(during) > 0, "no order arrived while paging")
        # The tail: what arrived after the last page comes after the last order seen.
        tail, cursor = [], None
        while True:
            st, j = d.api("GET", "/v1/orders?limit=1000" + (f"&cursor={cursor}" if cursor
                                                            else ""))
            tail += [o["id"] for o in j["orders"]]
            cursor = j.get("next_cursor")
            if not cursor:
                break
        check(tail[:len(seen)] == seen and set(tail) == before | during,
              "the journal order is not stable")
        print(f"{pages} pages, {len(seen)} orders, {len(during)} arrived while paging")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def drain(ev, quiet=1.0):
    """Every event that arrives until none came for `quiet` seconds (without the harness's
    arrival times, so that two streams compare)."""
    out = []
    while True:
        try:
            e = ev.q.get(timeout=quiet)
        except queue.Empty:
            return out
        e.pop("t", None)
        out.append(e)


def id_key(i):
    seq, _, k = i.partition(".")
    return int(seq), int(k or 0)


def test_events(build, tmp):
    """Every event carries an id; a stream dropped and resumed with Last-Event-ID (header or
    parameter) loses no event; one resumed from too far back is told to resync."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        edit_conf(d, "[api]\n", "[api]\nsse_queue_limit = 8\n")
        d.start()
        ctrl = Events(d.sock)  # stays connected: what every client should have seen
        a = Events(d.sock)
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        a.wait_order(o["id"], "PAID")
        seen = drain(a)
        a.close()
        # Dropped. Orders go on: one paid, one refund, a scan order waiting for its code (not
        # journaled: its events get ids of their own) and canceled.
        st, o2 = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(0)})
        d.wait_state(o2["id"], "PAID")
        st, r = d.api("POST", f"/v1/orders/{o2['id']}/refunds", {"amount": "0.50"})
        check(st == 201, f"refund: {st} {r}")
        st, w = d.api("POST", "/v1/orders", {"amount": "3.00"})
        st, j = d.api("POST", f"/v1/orders/{w['id']}/cancel")
        check(st == 202, f"cancel waiting: {st} {j}")
        everything = drain(ctrl)
        check(all("id" in e for e in everything), f"an event without id: {everything}")
        ids = [id_key(e["id"]) for e in everything]
        check(ids == sorted(ids) and len(set(ids)) == len(ids), f"ids not increasing: {ids}")
        check(any(e["event"] == "refund" for e in everything), "no refund event")
        # Transitions carry the journal's event sequence itself.
        check(all("." not in e["id"] for e in everything if e["event"] == "refund" or
                  "event" in e["data"]), f"ids: {everything}")
        check(any("." in e["id"] for e in everything), f"no event outside the journal: {ids}")
        last = seen[-1]["id"]
        missed = everything[[e["id"] for e in everything].index(last) + 1:]
        check(len(missed) > 7, f"too few events to test: {missed}")
        # Within the history (7 events here), a resume replays exactly what was missed.
        cut = everything[-6]["id"]
        for how in ("header", "parameter"):
            b = (Events(d.sock, headers={"Last-Event-ID": cut}) if how == "header" else
                 Events(d.sock, path=f"/v1/events?last_event_id={cut}"))
            got = drain(b)
            b.close()
            check(got == everything[-5:], f"resume by {how} after {cut}: {got} != "
                  f"{everything[-5:]}")
        # The newest id: nothing to replay.
        b = Events(d.sock, headers={"Last-Event-ID": everything[-1]["id"]})
        check(drain(b) == [], "events replayed after the newest one")
        b.close()
        # Too far back: a resync event with the newest id, then the live stream.
        b = Events(d.sock, headers={"Last-Event-ID": last})
        got = drain(b)
        check(len(got) == 1 and got[0]["event"] == "resync" and
              got[0]["data"]["reason"] == "too_old" and got[0]["id"] == everything[-1]["id"],
              f"too old: {got}")
        st, o3 = d.api("POST", "/v1/orders", {"amount": "3.00", "auth_code": paycode(0)})
        b.wait_order(o3["id"], "PAID")
        b.close()
        b = Events(d.sock, headers={"Last-Event-ID": "999999"})
        got = drain(b)
        check(len(got) == 1 and got[0]["event"] == "resync" and
              got[0]["data"]["reason"] == "unknown", f"future id: {got}")
        b.close()
        for q, code in (("?last_event_id=x", "invalid_parameter"),
                        ("?since=1", "unknown_parameter")):
            st, j = d.api("GET", "/v1/events" + q)
            check(st == 400 and j["error"]["code"] == code, f"/v1/events{q}: {st} {j}")
        st, j = d.api("GET", "/v1/events", headers={"Last-Event-ID": "1.x"})
        check(st == 400 and "Last-Event-ID" in j["error"]["message"], f"bad header: {st} {j}")
        ctrl.close()
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_events_restart(build, tmp):
    """After a restart the ids go on from the journal: a client resuming from the last id it
    saw misses nothing and gets no resync."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        d.start()
        a = d.follow()
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        a.wait_order(o["id"], "PAID")
        last = drain(a)[-1]["id"]
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        d.start()
        b = Events(d.sock, headers={"Last-Event-ID": last})
        got = drain(b)
        check(got == [], f"a resume across a restart replayed or resynced: {got}")
        st, o2 = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        e = b.wait_order(o2["id"], "PAID")
        check(id_key(e["id"]) > id_key(last), f"id {e['id']} after {last}")
        b.close()
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_wait_qr(build, tmp):
    """POST /v1/orders?wait=qr answers with the QR once precreate answered, and no later than
    its bound when the gateway is silent."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    silent = socket.socket()
    try:
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "mode": "qr"})
        check(st == 201 and o["state"] == "PRECREATING" and "qr_code" not in o,
              f"without wait: {st} {o}")
        st, o = d.api("POST", "/v1/orders?wait=qr", {"amount": "2.00", "mode": "qr",
                                                    "pos_ref": "Q-1"})
        check(st == 201 and o["state"] == "SHOWING_QR" and o["qr_code"].startswith("http"),
              f"wait=qr: {st} {o}")
        # A retry of the same pos_ref is answered at once, with the QR.
        st, again = d.api("POST", "/v1/orders?wait=qr", {"amount": "2.00", "mode": "qr",
                                                        "pos_ref": "Q-1"})
        check(st == 200 and again["qr_code"] == o["qr_code"], f"replay: {st} {again}")
        for q, body, code in (("?wait=qr", {"amount": "1.00", "auth_code": paycode(0)},
                               "invalid_parameter"),
                              ("?wait=yes", {"amount": "1.00", "mode": "qr"},
                               "invalid_parameter"),
                              ("?wiat=qr", {"amount": "1.00", "mode": "qr"},
                               "unknown_parameter")):
            st, j = d.api("POST", "/v1/orders" + q, body)
            check(st == 400 and j["error"]["code"] == code, f"POST /v1/orders{q}: {st} {j}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")

        # A gateway that accepts and never answers, and a client timeout past the bound.
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        with open(d.conf) as f:
            conf = f.read()
        conf = conf.replace(sb.url, f"http://127.0.0.1:{silent.getsockname()[1]}")
        conf = conf.replace("total_timeout = 3s", "total_timeout = 60s")
        with open(d.conf, "w") as f:
            f.write(conf)
        d.start()
        t0 = time.monotonic()
        st, o = d.api("POST", "/v1/orders?wait=qr", {"amount": "3.00", "mode": "qr"},
                      timeout=60)
        took = time.monotonic() - t0
        check(st == 201 and o["state"] == "PRECREATING" and "qr_code" not in o,
              f"silent gateway: {st} {o}")
        check(13 <= took <= 40, f"answered after {took:.1f} s, the bound is 15 s")
        d.stop(signal.SIGKILL)
    finally:
        silent.close()
        d.close()
        sb.stop()


def test_reverse_paid(build, tmp):
    """A paid scan order is reversed by a refund of the whole amount (doc/protocol.md §5.3:
    Alipay's cancel is for unsettled payments): cancel answers 409 and says so."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "12.34", "auth_code": paycode(0)})
        d.wait_state(o["id"], "PAID")
        st, j = d.api("POST", f"/v1/orders/{o['id']}/cancel")
        msg = j["error"]["message"]
        check(st == 409 and j["error"]["code"] == "not_cancelable" and
              f"/v1/orders/{o['id']}/refunds" in msg and '"12.34"' in msg,
              f"cancel of a paid order: {st} {j}")
        t = sb.trade(o["id"])
        check(t["cancel_requests"] == 0 and t["trade_status"] == "TRADE_SUCCESS",
              f"the cancel reached Alipay: {t}")
        st, r = d.api("POST", f"/v1/orders/{o['id']}/refunds", {"amount": "12.34"},
                      headers={"Idempotency-Key": "reverse-1"})
        check(st == 201, f"refund of the whole amount: {st} {r}")
        end = time.monotonic() + 20
        while d.order(o["id"]).get("refunded") != "12.34" and time.monotonic() < end:
            time.sleep(0.1)
        o2 = d.order(o["id"])
        check(o2["state"] == "PAID" and o2["refunded"] == "12.34", f"after refund: {o2}")
        t = sb.trade(o["id"])
        check(t["refund_fee"] == "12.34", f"sandbox: {t}")
        st, j = d.api("POST", f"/v1/orders/{o['id']}/cancel")
        check(st == 409 and '"0.00"' in j["error"]["message"], f"cancel after: {st} {j}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_receipts(build, tmp):
    """Paid orders carry Alipay's receipt: payment time, the masked buyer account, the funds,
    what the buyer paid and the discount, from a pay answer and from a query answer."""
    sb = Sandbox(build, extra=("--discount", "0.50"))
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "10.00", "auth_code": paycode(0)})
        st, q = d.api("POST", "/v1/orders", {"amount": "0.30", "auth_code": paycode(1)})
        st, n = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(2)})
        for oid, total, paid, funds, how in (
                (o["id"], "10.00", "9.50", [("ALIPAYACCOUNT", "9.50"), ("DISCOUNT", "0.50")],
                 "pay"),
                (q["id"], "0.30", "0.30", [("ALIPAYACCOUNT", "0.30")], "query")):
            x = d.wait_state(oid, "PAID")
            t = sb.trade(oid)
            r = x.get("receipt")
            check(r, f"{how}: no receipt: {x}")
            check(r["buyer_logon_id"] == t["buyer_logon_id"] and "*" in r["buyer_logon_id"],
                  f"{how}: buyer {r} vs {t}")
            check(r["gmt_payment"][:4].isdigit() and len(r["gmt_payment"]) == 19,
                  f"{how}: gmt_payment {r}")
            check(r["receipt_amount"] == total and r["buyer_pay_amount"] == paid and
                  r["invoice_amount"] == paid and r["point_amount"] == "0.00",
                  f"{how}: amounts {r}")
            check(r.get("discount_amount") == ("0.50" if paid != total else None),
                  f"{how}: discount {r}")
            check([(f["fund_channel"], f["amount"]) for f in r["fund_bill_list"]] == funds,
                  f"{how}: funds {r}")
        # An order not paid has no receipt.
        x = d.wait_state(n["id"], "WAITING")
        check("receipt" not in x, f"unpaid with a receipt: {x}")
        # Journaled: the same after a restart.
        before = d.order(o["id"])
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        d.start()
        check(d.order(o["id"]) == before, f"after a restart: {d.order(o['id'])} != {before}")
        d.stop(signal.SIGKILL)
    finally:
        d.close()
        sb.stop()


def test_operator(build, tmp):
    """Each order names its cashier (operator_id), the configured one by default, and Alipay
    gets it with the pay and the precreate."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    try:
        edit_conf(d, "store_id = S01\n", "store_id = S01\noperator_id = DESK-1\n")
        d.start()
        st, a = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0),
                                            "operator_id": "C-007"})
        check(st == 201 and a["operator_id"] == "C-007", f"create: {st} {a}")
        st, b = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        check(st == 201 and b["operator_id"] == "DESK-1", f"default: {st} {b}")
        st, q = d.api("POST", "/v1/orders?wait=qr", {"amount": "1.00", "mode": "qr",
                                                    "operator_id": "C-008"})
        check(st == 201 and q["operator_id"] == "C-008", f"qr: {st} {q}")
        d.wait_state(a["id"], "PAID")
        d.wait_state(b["id"], "PAID")
        for oid, who in ((a["id"], "C-007"), (b["id"], "DESK-1"), (q["id"], "C-008")):
            t = sb.trade(oid) or {}
            check(t.get("operator_id") == who, f"Alipay got {t.get('operator_id')} for {oid}")
        for bad in ("", "x" * 29, "a b"):
            st, j = d.api("POST", "/v1/orders", {"amount": "1.00", "operator_id": bad})
            check(st == 400 and "operator_id" in j["error"]["message"], f"{bad!r}: {st} {j}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        d.start()
        check(d.order(a["id"])["operator_id"] == "C-007", "operator_id not journaled")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "version": test_version,
    "queries": test_queries,
    "paging": test_paging,
    "events": test_events,
    "events-restart": test_events_restart,
    "wait-qr": test_wait_qr,
    "reverse-paid": test_reverse_paid,
    "receipts": test_receipts,
    "operator": test_operator,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-api"))
