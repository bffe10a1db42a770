#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd end to end: the real daemon against f2fpay-sandbox, a PTY scanner, a PNG display, the
# API on its unix socket, notifications over HTTP. One scenario per run: test-integration.py
# BUILD_DIR NAME.
import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KEYS, Daemon, Relay, Sandbox, check, form, paycode,  # noqa: E402
                     run_scenario, sign_notification)

# doc/design.md §11.1: the last digit of an 18-digit code starting 28 picks the buyer.
CODE_PAID = "287654321098765430"
CODE_CONFIRMS = "287654321098765431"
CODE_NEVER = "287654321098765432"


def png_digest(path):
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    return hashlib.sha256(data).hexdigest()


def is_display(state):
    return lambda e: e["event"] == "display" and e["data"].get("screen") == state


def test_pos_flow(build, tmp):
    """POS: order over the API, a code on the scanner, PAID on SSE and the display, ctl agrees."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    log = os.path.join(tmp, "f2fpayd.log")
    try:
        with open(log, "w") as err:
            d.start(stderr=err)
        ev = d.follow()
        d.wait_screen("idle")
        idle = png_digest(d.png)
        st, o = d.api("POST", "/v1/orders", {"amount": "88.88", "subject": "Tea"})
        check(st == 201 and o["state"] == "WAITING_FOR_CODE", f"create: {st} {o}")
        ev.wait(is_display("show-code"), "show-code screen")
        d.wait_screen("show-code", amount="88.88", subject="Tea")
        show = png_digest(d.png)
        check(show != idle, "the display did not change for the waiting order")
        d.scanner.scan(CODE_PAID)
        paid = ev.wait(lambda e: e["event"] == "order" and e["data"]["state"] == "PAID",
                       "order PAID")["data"]
        ev.wait(is_display("paid"), "paid screen")
        check(paid["amount"] == "88.88" and paid["subject"] == "Tea", f"paid: {paid}")
        # The event comes first, the frame after it (drawn at idle priority): wait for it. The
        # comparison tells screens apart: the same picture is no other screen or amount.
        d.wait_screen("paid", amount="88.88", subject="Tea", not_like=[
            dict(kind="canceled", amount="88.88", subject="Tea"),
            dict(kind="failed", amount="88.88", subject="Tea"),
            dict(kind="paid", amount="88.89", subject="Tea")])
        check(png_digest(d.png) not in (idle, show), "the PNG does not show a new screen")
        check("283" not in paid.get("auth_code", "") and "*" in paid["auth_code"],
              "the payment code is not masked")
        # The waiting id keeps answering with the engine's order.
        check(d.order(o["id"])["id"] == paid["id"], "the waiting id does not lead to the order")
        st, s = d.api("GET", "/v1/status")
        check(s["gateway_last_answer"] == "success" and s["scanners"][0]["state"] == "present"
              and s["display"]["up"], f"status: {s}")
        r = d.ctl("status", paid["id"], "--json", check_rc=0)
        check('"state": "PAID"' in r.stdout or '"state":"PAID"' in r.stdout,
              f"f2fpayctl status: {r.stdout}")
        t = sb.trade(paid["id"])
        check(t and t["trade_status"] == "TRADE_SUCCESS" and t["pay_requests"] == 1,
              f"sandbox: {t}")
        # A product barcode goes to the POS, never to an order.
        d.scanner.scan("4006381333931")
        scan = ev.wait(lambda e: e["event"] == "scan", "scan event")["data"]
        check(scan["code"] == "4006381333931" and scan["class"] == "barcode", f"scan: {scan}")
        # A payment code with no order waiting is only a scan event, and only masked.
        d.scanner.scan(CODE_PAID)
        scan = ev.wait(lambda e: e["event"] == "scan", "scan event")["data"]
        check(scan["class"] == "alipay" and scan["code"] == "28************5430"
              and scan["masked"] is True, f"scan: {scan}")
        st, lst = d.api("GET", "/v1/orders")
        check(st == 200 and len(lst["orders"]) == 1, f"orders: {lst}")
        # Another wallet's code: "not supported" on the display, and a scan event.
        st, o2 = d.api("POST", "/v1/orders", {"amount": "1.00"})
        check(st == 201, f"create: {st} {o2}")
        d.scanner.scan("134567890123456789")
        scan = ev.wait(lambda e: e["event"] == "scan", "scan event")["data"]
        check(scan["class"] == "other-wallet" and scan["code"] == "13************6789",
              f"scan: {scan}")
        ev.wait(lambda e: e["event"] == "display" and
                e["data"].get("reason") == "F2FPAY.CODE_NOT_SUPPORTED", "not supported")
        d.wait_screen("failed", amount="1.00", reason="F2FPAY.CODE_NOT_SUPPORTED", not_like=[
            dict(kind="failed", amount="1.00", reason="F2FPAY.QR_EXPIRED")])
        check(d.order(o2["id"])["state"] == "WAITING_FOR_CODE", "another wallet's code moved it")
        # The event stream never carried a payment code unmasked (ours or another wallet's).
        time.sleep(0.3)
        for code in (CODE_PAID, "134567890123456789"):
            check(code.encode() not in ev.raw, f"{code} went out on the event stream")
        check(b"4006381333931" in ev.raw, "the product barcode did not go out")
        # Nor the API's order list, nor the log (which does show the masked form).
        st, lst = d.api("GET", "/v1/orders")
        check(CODE_PAID not in json.dumps(lst), "a payment code in GET /v1/orders")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        with open(log) as f:
            text = f.read()
        check(CODE_PAID not in text and "134567890123456789" not in text,
              "a payment code in the log")
        check("28************5430" in text, "the masked code is not in the log")
    finally:
        d.close()
        sb.stop()


def qr_flow(build, tmp, notify):
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, notify=notify)
    # With the listener up, polling is too slow to win: the notification settles the order.
    if notify:
        with open(d.conf) as f:
            conf = f.read().replace("query_interval = 300ms", "query_interval = 60s")
        with open(d.conf, "w") as f:
            f.write(conf)
    try:
        d.start()
        ev = d.follow()
        r = d.ctl("qr", "12.34", "--json", check_rc=0)
        oid = [ln for ln in r.stdout.splitlines() if '"id"' in ln][0].split('"')[3]
        o = d.wait_state(oid, "SHOWING_QR")
        ev.wait(is_display("qr"), "QR screen")
        check(o["qr_code"].startswith("https://qr.alipay.com/"), f"qr: {o}")
        # What the buyer's phone reads off the display is the precreate qr_code, byte for byte.
        shown = d.wait_qr()
        check(shown == o["qr_code"].encode(), f"the display's QR says {shown!r}, not "
              f"{o['qr_code']!r}")
        st, text = sb.scan_qr(o["qr_code"], True)
        check(st == 200, f"scan-qr: {st} {text}")
        paid = d.events.wait_order(oid, "PAID")["data"]
        if notify:
            check(paid["event"] == "notify", f"settled by {paid['event']}, not the notification")
        else:
            check(paid["event"] != "notify", "a notification arrived with the listener down")
        ev.wait(is_display("paid"), "paid screen")
        d.wait_screen("paid", amount="12.34", subject=o["subject"], not_like=[
            dict(kind="canceled", amount="12.34", subject=o["subject"])])
        t = sb.trade(oid)
        check(t["trade_status"] == "TRADE_SUCCESS", f"sandbox: {t}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_qr_notify(build, tmp):
    """QR: precreate, the buyer scans and pays, the notification makes it PAID."""
    qr_flow(build, tmp, True)


def test_qr_polling(build, tmp):
    """QR with the notify listener down: polling makes it PAID."""
    qr_flow(build, tmp, False)


def test_refund(build, tmp):
    """Refund through f2fpayctl; more than paid is refused."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        ev = d.follow()
        st, o = d.api("POST", "/v1/orders", {"amount": "20.00", "auth_code": CODE_PAID})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "PAID")
        r = d.ctl("refund", o["id"], "25.00")
        check(r.returncode != 0 and "refund_exceeds_paid" in r.stderr, f"over-refund: {r.stderr}")
        r = d.ctl("refund", o["id"], "8.88", "--json", check_rc=0)
        ev.wait(lambda e: e["event"] == "refund" and e["data"]["state"] == "REFUNDED",
                "refund REFUNDED")
        o = d.order(o["id"])
        check(o["refunded"] == "8.88", f"order after refund: {o}")
        t = sb.trade(o["id"])
        check(t["refund_fee"] == "8.88", f"sandbox refund: {t}")
        r = d.ctl("refund", o["id"], "11.13")
        check(r.returncode != 0 and "refund_exceeds_paid" in r.stderr, f"over-refund: {r.stderr}")
        st, j = d.api("POST", "/v1/orders/T01_19990101_1/refunds", {"amount": "1.00"})
        check(st == 404, f"refund of an unknown order: {st} {j}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_cancel(build, tmp):
    """The cashier cancels while the buyer has not confirmed (scenario digit 2)."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False)
    try:
        d.start()
        ev = d.follow()
        st, o = d.api("POST", "/v1/orders", {"amount": "5.00", "auth_code": CODE_NEVER})
        check(st == 201, f"create: {st} {o}")
        o = d.wait_state(o["id"], "WAITING")
        ev.wait(is_display("confirm"), "confirm screen")
        d.wait_screen("confirm", amount="5.00", subject=o["subject"])
        d.wait_notify("STATUS=Running, 1 order in progress")
        d.ctl("cancel", o["id"], check_rc=0)
        d.events.wait_order(o["id"], "CANCELED")
        d.wait_notify("STATUS=Running, 0 orders in progress")
        ev.wait(is_display("canceled"), "canceled screen")
        d.wait_screen("canceled", amount="5.00", subject=o["subject"], not_like=[
            dict(kind="paid", amount="5.00", subject=o["subject"])])
        t = sb.trade(o["id"])
        check(t["trade_status"] in ("TRADE_CLOSED", "NOT_EXIST") and t["cancel_requests"] >= 1,
              f"sandbox: {t}")
        r = d.ctl("cancel", o["id"])
        check(r.returncode != 0 and "not_cancelable" in r.stderr, f"second cancel: {r.stderr}")
        # A waiting scan order is canceled locally: nothing was ever sent.
        st, w = d.api("POST", "/v1/orders", {"amount": "2.00"})
        st, c = d.api("POST", f"/v1/orders/{w['id']}/cancel")
        check(st == 202 and c["state"] == "CANCELED", f"cancel waiting: {st} {c}")
        check(d.order(w["id"])["state"] == "CANCELED", "the waiting order is not CANCELED")
        # Redrawn for the waiting order: its amount, and no subject (nothing was sent).
        d.wait_screen("canceled", amount="2.00")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_idempotency(build, tmp):
    """The same pos_ref twice while the first is in flight: one order, one pay."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        body = {"amount": "3.00", "auth_code": CODE_CONFIRMS, "pos_ref": "R-42"}
        out = [None, None]

        def post(i):
            out[i] = d.api("POST", "/v1/orders", body)
        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(all(o and o[0] in (200, 201) for o in out), f"answers: {out}")
        check(out[0][1]["id"] == out[1][1]["id"], f"two orders: {out}")
        oid = out[0][1]["id"]
        d.wait_state(oid, "PAID")
        st, again = d.api("POST", "/v1/orders", body)
        check(st == 200 and again["id"] == oid, f"replay: {st} {again}")
        st, mism = d.api("POST", "/v1/orders", dict(body, amount="4.00"))
        check(st == 409, f"same pos_ref, other amount: {st} {mism}")
        st, lst = d.api("GET", "/v1/orders")
        check(len(lst["orders"]) == 1, f"orders: {lst}")
        t = sb.trade(oid)
        check(t["pay_requests"] == 1, f"pays at the sandbox: {t}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_bad_input(build, tmp):
    """Malformed, oversize and invalid requests get 4xx and change nothing."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        st, w = d.api("POST", "/v1/orders", {"amount": "1.00"})
        check(st == 201, f"create: {st}")
        cases = [
            (b'{"amount":"1.00"', 400, "malformed_json"),
            (b'{"amount":"1.00","x":' + b'"a' * 3000 + b'"}', 413, "body_too_large"),
            (b'{"amount":"-1"}', 400, "invalid_amount"),
            (b'{"amount":"1e3"}', 400, "invalid_amount"),
            (b'{"amount":"0.001"}', 400, "invalid_amount"),
            (b'{"amount":"abc"}', 400, "invalid_amount"),
            (b'{"amount":1}', 400, "invalid_amount"),
            (b'{"amount":"1.00","mode":"scan"}', 409, "scan_order_waiting"),
            (b'{"amount":"1.00","auth_code":"123"}', 400, None),
            # Strict JSON: json-c alone would pay 2.00, or take these subjects.
            (b'{"amount":"1.00","mode":"qr","amount":"2.00"}', 400, "duplicate_key"),
            (b'{"amount":"1.00","mode":"qr","subject":"a\xc0\xae"}', 400, "malformed_json"),
            (b'{"amount":"1.00","mode":"qr","subject":"\\ud800"}', 400, "malformed_json"),
            (b'{"amount":"1.00","mode":"qr","subject":"\xed\xa0\x80"}', 400,
             "malformed_json"),
        ]
        for raw, status, code in cases:
            st, j = d.api_raw("POST", "/v1/orders", raw)
            check(st == status, f"{raw[:40]!r}: {st} {j}")
            if code:
                check(j["error"]["code"] == code, f"{raw[:40]!r}: {j}")
            if code == "duplicate_key":
                check('"amount"' in j["error"]["message"], f"the key is not named: {j}")
        for path in ("/v1/orders/T01_20200101_99", "/v1/orders/nope"):
            st, j = d.api("GET", path)
            check(st == 404 and j["error"]["code"] == "order_not_found", f"{path}: {st} {j}")
        st, j = d.api("POST", "/v1/orders/T01_20200101_99/cancel")
        check(st == 404, f"cancel unknown: {st} {j}")
        st, lst = d.api("GET", "/v1/orders")
        check(st == 200 and [o["id"] for o in lst["orders"]] == [w["id"]],
              f"something changed: {lst}")
        check(sb.request("GET", "/sim/trades")[1].count("out_trade_no") == 0,
              "a request reached the gateway")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_notifications(build, tmp):
    """Forged, tampered, mismatched and unknown notifications fail; a replay applies once."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    with open(d.conf) as f:
        conf = f.read().replace("query_interval = 300ms", "query_interval = 60s")
    with open(d.conf, "w") as f:
        f.write(conf)
    try:
        d.start()
        ev = d.follow()
        st, o = d.api("POST", "/v1/orders", {"amount": "6.60", "mode": "qr"})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "SHOWING_QR")
        base = {"notify_type": "trade_status_sync", "notify_id": "n1",
                "notify_time": "2026-11-26 10:00:00", "app_id": "2021000000000001",
                "charset": "utf-8", "version": "1.0", "trade_no": "2026112622000000000000009999",
                "out_trade_no": o["id"], "trade_status": "TRADE_SUCCESS",
                "total_amount": "6.60", "seller_id": "2088000000000001"}
        genuine = sign_notification(base, tmp)
        forged = dict(genuine, sign=base64.b64encode(b"\x01" * 256).decode())
        tampered = dict(genuine, total_amount="0.01")
        mismatch = sign_notification(dict(base, total_amount="0.01"), tmp)
        unknown = sign_notification(dict(base, out_trade_no="T01_20200101_77"), tmp)
        other_app = sign_notification(dict(base, app_id="2021000000000002"), tmp)
        for name, n in (("forged", forged), ("tampered", tampered), ("amount", mismatch),
                        ("unknown", unknown), ("app_id", other_app)):
            answer = d.notify_post(form(n))
            check(answer == "failure", f"{name}: {answer!r}")
            check(d.order(o["id"])["state"] == "SHOWING_QR", f"{name} changed the order")
        check(d.notify_post(form(genuine)) == "success", "genuine refused")
        ev.wait(lambda e: e["event"] == "order" and e["data"]["state"] == "PAID",
                "PAID by notification")
        check(d.notify_post(form(genuine)) == "success", "replay refused")
        time.sleep(0.3)
        extra = [e for e in list(ev.q.queue) if e["event"] == "order"]
        check(not extra, f"the replay changed something: {extra}")
        check(d.order(o["id"])["state"] == "PAID", "not PAID")
        rows = subprocess.run(["sqlite3", os.path.join(tmp, "journal.db"),
                               "SELECT verified, outcome, notify_key IS NOT NULL, body_codec, "
                               "length(body) < body_size FROM notifications ORDER BY rowid"],
                              capture_output=True, text=True, check=True).stdout.splitlines()
        # The forged and the tampered one do not verify: counted, never written. The replay of
        # the genuine one is answered from the journal: no second row (doc/engine.md
        # "Notifications"); bodies are kept packed (codec 2: the signature's raw bytes).
        check(len(rows) == 4 and all(r.startswith("1|") and r.endswith("|1|2|1") for r in rows)
              and rows[-1] == "1|TRADE_SUCCESS|1|2|1", f"journal notifications: {rows}")
        st, status = d.api("GET", "/v1/status")
        check(st == 200 and status["notifications_forged"] == 2, f"status: {status}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_crash(build, tmp):
    """SIGKILL while the buyer confirms, restart: recovery queries and the order is PAID."""
    sb = Sandbox(build, ["--confirm-after", "3"])
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "7.77", "auth_code": CODE_CONFIRMS})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "WAITING")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.start()
        o = d.wait_state(o["id"], "PAID")
        t = sb.trade(o["id"])
        check(t["trade_status"] == "TRADE_SUCCESS" and t["pay_requests"] == 1,
              f"sandbox: {t}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        # A SIGTERM leaves an order in flight for the next start, too.
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "1.11", "auth_code": paycode(1)})
        d.wait_state(o["id"], "WAITING")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        d.start()
        d.wait_state(o["id"], "PAID")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_reload(build, tmp):
    """SIGHUP between orders applies; a bad file keeps the old configuration."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    try:
        d.start()
        with open(d.conf) as f:
            good = f.read()
        with open(d.conf, "w") as f:
            f.write(good.replace("store_name = Demo Store", "store_name = Corner Shop"))
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("configuration reloaded")
        st, s = d.api("GET", "/v1/status")
        check(s["store_name"] == "Corner Shop", f"not applied: {s}")
        with open(d.conf, "w") as f:
            f.write(good.replace("[terminal]", "[terminal]\ncolour = blue"))
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("reload failed")
        st, s = d.api("GET", "/v1/status")
        check(st == 200 and s["store_name"] == "Corner Shop", f"old config lost: {s}")
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": CODE_PAID})
        check(st == 201, f"create after reload: {st} {o}")
        d.wait_state(o["id"], "PAID")
        # With an order in progress the new configuration waits until it is settled.
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": CODE_NEVER})
        d.wait_state(o["id"], "WAITING")
        with open(d.conf, "w") as f:
            f.write(good.replace("store_name = Demo Store", "store_name = Late Shop"))
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("configuration reloaded")
        st, s = d.api("GET", "/v1/status")
        check(s["store_name"] == "Corner Shop" and s["config_reload_pending"],
              f"applied during an order: {s}")
        d.ctl("cancel", o["id"], check_rc=0)
        d.wait_state(o["id"], "CANCELED")
        for _ in range(100):
            st, s = d.api("GET", "/v1/status")
            if s["store_name"] == "Late Shop":
                break
            time.sleep(0.1)
        check(s["store_name"] == "Late Shop" and not s["config_reload_pending"],
              f"not applied once idle: {s}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_refusals(build, tmp):
    """Start-up refuses the app public key as Alipay's and a group-readable private key."""
    class NoGateway:
        url = "http://127.0.0.1:9"
    d = Daemon(build, NoGateway(), tmp, scanner=False, display=None)
    with open(d.conf) as f:
        good = f.read()
    try:
        with open(d.conf, "w") as f:
            f.write(good.replace("alipay-public.pem", "app-public.pem"))
        r = subprocess.run([d.f2fpayd, "--config", d.conf], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 78 and "app's own public key" in r.stderr,
              f"app public key as Alipay's: {r.returncode} {r.stderr}")
        check(not os.path.exists(d.sock), "the API was served anyway")
        with open(d.conf, "w") as f:
            f.write(good)
        os.chmod(os.path.join(tmp, "app.key"), 0o640)
        r = subprocess.run([d.f2fpayd, "--config", d.conf], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 78 and "group or others" in r.stderr,
              f"group-readable key: {r.returncode} {r.stderr}")
        os.chmod(os.path.join(tmp, "app.key"), 0o600)
        d.start()
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()


def test_pay_before_pixels(build, tmp):
    """The pay request leaves before the display draws: every frame written after the scan is
    newer than the request's arrival at the gateway. A 4096x4096 PNG takes far longer to draw
    than a request takes to leave, so drawing first would show plainly."""
    sb = Sandbox(build)
    relay = Relay(sb.host, sb.port)
    real_url = sb.url
    sb.url = f"http://127.0.0.1:{relay.port}"
    d = Daemon(build, sb, tmp, display_size=(4096, 4096))
    sb.url = real_url
    frames = []
    stop = threading.Event()

    def watch():
        last = None
        while not stop.is_set():
            try:
                st = os.stat(d.png)
            except OSError:
                continue
            if st.st_ino != last:
                last = st.st_ino
                frames.append((time.time_ns(), st.st_mtime_ns))
            time.sleep(0.002)

    def wait_frames(n, what):
        end = time.monotonic() + 60
        while len(frames) < n:
            check(time.monotonic() < end, f"no frame: {what}")
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    try:
        d.start()
        t.start()
        wait_frames(1, "idle screen")
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00"})
        check(st == 201, f"create: {st} {o}")
        wait_frames(2, "show-code screen")
        time.sleep(0.5)
        before = len(frames)
        d.scanner.scan(CODE_PAID)
        d.wait_state(o["id"], "PAID", timeout=60)
        # Then the paid screen (perhaps with the processing screen before it).
        wait_frames(before + 1, "after the scan")
        time.sleep(0.5)
        stop.set()
        t.join()
        check(len(relay.pay_arrivals_ns) == 1, f"pay requests: {len(relay.pay_arrivals_ns)}")
        arrival = relay.pay_arrivals_ns[0]
        new = [mtime for _, mtime in frames[before:]]
        check(new, "no frame drawn after the scan")
        early = [(arrival - m) / 1e6 for m in new if m < arrival]
        check(not early, f"frames written {early} ms before the pay request left")
    finally:
        stop.set()
        if t.is_alive():
            t.join()
        d.close()
        sb.stop()


def test_pay_before_log(build, tmp):
    """A scanned code's log lines are written after its pay request has left: their writes
    (journald's work, on a till's two cores) do not stand in the pay's way. Each line is read
    here only once written, so a line read before the request's arrival at the gateway was
    written before the request left."""
    sb = Sandbox(build)
    relay = Relay(sb.host, sb.port)
    real_url = sb.url
    sb.url = f"http://127.0.0.1:{relay.port}"
    d = Daemon(build, sb, tmp)
    sb.url = real_url
    lines = []

    def read(f):
        for raw in f:
            lines.append((time.time_ns(), raw.decode(errors="replace")))

    try:
        d.start(stderr=subprocess.PIPE)
        t = threading.Thread(target=read, args=(d.proc.stderr,), daemon=True)
        t.start()
        for k in range(5):
            st, o = d.api("POST", "/v1/orders", {"amount": "1.00"})
            check(st == 201, f"create: {st} {o}")
            time.sleep(0.2)
            d.scanner.scan(paycode(0))
            d.wait_state(o["id"], "PAID", timeout=60)
            end = time.monotonic() + 10
            while not any(": payment code " in ln and o["id"] in ln for _, ln in lines):
                check(time.monotonic() < end, f"no log line for the scan of {o['id']}")
                time.sleep(0.01)
            check(len(relay.pay_arrivals_ns) == k + 1,
                  f"pay requests: {len(relay.pay_arrivals_ns)}, expected {k + 1}")
            seen = min(t_ns for t_ns, ln in lines if ": payment code " in ln and o["id"] in ln)
            arrival = relay.pay_arrivals_ns[k]
            check(seen > arrival, f"scan {k}: its log line was read {(arrival - seen) / 1e3:.0f} "
                  "us before its pay request reached the gateway")
    finally:
        d.close()
        sb.stop()


def test_unreachable(build, tmp):
    """The gateway refuses connections: FAILED at once, nothing was charged, no query storm."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False)
    try:
        sb.stop()
        d.start()
        ev = d.follow()
        t0 = time.monotonic()
        st, o = d.api("POST", "/v1/orders", {"amount": "4.00", "auth_code": paycode(0)})
        check(st == 201, f"create: {st} {o}")
        o = d.wait_state(o["id"], "FAILED")
        # Within the connect timeout (1 s here), with room for a loaded machine.
        print(f"FAILED {time.monotonic() - t0:.3f} s after the order was created")
        check(time.monotonic() - t0 < 5, f"took {time.monotonic() - t0:.1f} s")
        check(o["reason"] == "F2FPAY.GATEWAY_UNREACHABLE"
              and o["reason_text"] == "Gateway unreachable, nothing was charged", f"order: {o}")
        ev.wait(lambda e: e["event"] == "display" and
                e["data"].get("reason") == "F2FPAY.GATEWAY_UNREACHABLE", "unreachable screen")
        d.wait_screen("failed", amount="4.00", subject=o["subject"],
                      reason="F2FPAY.GATEWAY_UNREACHABLE")
        st, s = d.api("GET", "/v1/status")
        check(s["active_orders"] == 0 and s["attention"] == [], f"status: {s}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def clock_shim(build, shift_file, unsync):
    """Environment that runs a process under tests/engine/clock-shift.c (its own clock only)."""
    with open(shift_file, "w") as f:
        f.write("0")
    return {"LD_PRELOAD": os.path.join(build, "tests", "engine", "libclockshift.so"),
            "F2FPAY_TEST_CLOCK_SHIFT_FILE": shift_file,
            "F2FPAY_TEST_CLOCK_UNSYNC": unsync,
            # ASan builds: the shim is preloaded ahead of the sanitizer's runtime.
            "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                   "verify_asan_link_order=0"]))}


def test_clock(build, tmp):
    """Wall-clock steps of ±2 h keep the query interval; a wrong or unsynchronized clock is said."""
    d_shift, sb_shift = os.path.join(tmp, "shift-daemon"), os.path.join(tmp, "shift-sandbox")
    sb = Sandbox(build, env=clock_shim(build, sb_shift, "0"))
    d = Daemon(build, sb, tmp, scanner=False, extra_env=clock_shim(build, d_shift, "1"))
    log = os.path.join(tmp, "f2fpayd.log")

    def step(seconds, both=True):
        for path in (d_shift, sb_shift) if both else (d_shift,):
            with open(path, "w") as f:
                f.write(str(seconds))

    try:
        with open(log, "w") as err:
            d.start(stderr=err)
        # adjtimex() says STA_UNSYNC: at start, in the systemd STATUS and in /v1/status.
        check("clock is not synchronized" in d.ready_msg, f"STATUS: {d.ready_msg!r}")
        st, s = d.api("GET", "/v1/status")
        check(st == 200 and s["clock"] == "unsynchronized", f"status: {s}")
        with open(log) as f:
            check("clock is not synchronized" in f.read(), "nothing said at start")

        # An order waits for the buyer (queried every 300 ms, 20 times at most). The clocks of
        # both processes step +2 h, then -2 h: the queries keep coming at the same pace, not
        # stalled for two hours, not all at once.
        st, o = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": CODE_NEVER})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "WAITING")

        def queries_in(seconds):
            q0 = sb.trade(o["id"])["query_requests"]
            time.sleep(seconds)
            return sb.trade(o["id"])["query_requests"] - q0

        counts = [queries_in(1.5)]
        step(7200)
        counts.append(queries_in(1.5))
        step(-7200)
        counts.append(queries_in(1.5))
        step(0)
        # 1.5 s / 300 ms = 5; a loaded machine may lose one or two, a storm would take many.
        print(f"queries per 1.5 s at 0, +2 h, -2 h: {counts}")
        check(all(2 <= n <= 8 for n in counts), f"queries per 1.5 s (0, +2 h, -2 h): {counts}")
        st, _ = d.api("POST", f"/v1/orders/{o['id']}/cancel")
        d.wait_state(o["id"], "CANCELED")

        # The terminal's clock 20 minutes ahead of the gateway's: isv.invalid-timestamp is
        # "the terminal's clock is wrong" in the log, the API and on the display.
        ev = d.follow()
        step(1200, both=False)
        st, o = d.api("POST", "/v1/orders", {"amount": "3.00", "auth_code": paycode(0)})
        check(st == 201, f"create: {st} {o}")
        o = d.wait_state(o["id"], "FAILED")
        step(0)
        check(o.get("reason") == "isv.invalid-timestamp"
              and o.get("reason_text") == "The terminal's clock is wrong", f"order: {o}")
        ev.wait(lambda e: e["event"] == "display" and
                e["data"].get("reason") == "isv.invalid-timestamp", "clock screen")
        d.wait_screen("failed", amount="3.00", subject=o["subject"], reason="isv.invalid-timestamp")
        with open(log) as f:
            check("the terminal's clock is wrong" in f.read(), "not in the log")
        d.wait_notify("the terminal's clock is wrong")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")

        # Synchronized: no warning in the STATUS, /v1/status says so.
        d.extra_env["F2FPAY_TEST_CLOCK_UNSYNC"] = "0"
        d.start()
        check("not synchronized" not in d.ready_msg, f"STATUS: {d.ready_msg!r}")
        st, s = d.api("GET", "/v1/status")
        check(s["clock"] == "synchronized", f"status: {s}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


def test_notify_sync(build, tmp):
    """Notifications that come together share one sync of the journal, and each "success"
    leaves only after its row is on the disk (doc/engine.md "Notifications")."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None)
    n = 8
    try:
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "6.60", "mode": "qr"})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "SHOWING_QR")
        base = {"notify_type": "trade_status_sync", "notify_time": "2026-11-26 10:00:00",
                "app_id": "2021000000000001", "charset": "utf-8", "version": "1.0",
                "trade_no": "2026112622000000000000009999", "out_trade_no": o["id"],
                "trade_status": "TRADE_SUCCESS", "total_amount": "6.60",
                "seller_id": "2088000000000001"}
        check(d.notify_post(form(sign_notification(dict(base, notify_id="n0"), tmp)))
              == "success", "the first notification was refused")
        d.wait_state(o["id"], "PAID")
        bodies = [form(sign_notification(dict(base, notify_id=f"n{i + 1}"), tmp))
                  for i in range(n)]
        trace = os.path.join(tmp, "strace.out")
        st = subprocess.Popen(["strace", "-f", "-qq", "-y", "-s", "64", "-o", trace,
                               "-e", "trace=pwrite64,fdatasync,sendto,sendmsg,writev",
                               "-p", str(d.proc.pid)])
        try:
            time.sleep(1)  # attached to every thread
            # Stopped, the daemon finds all of them waiting when it goes on.
            os.kill(d.proc.pid, signal.SIGSTOP)
            answers = [None] * n

            def post(i):
                answers[i] = d.notify_post(bodies[i])
            threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            os.kill(d.proc.pid, signal.SIGCONT)
            for t in threads:
                t.join(30)
            time.sleep(0.3)
        finally:
            st.terminate()
            st.wait()
        check(answers == ["success"] * n, f"answers: {answers}")
        with open(trace) as f:
            lines = f.read().splitlines()
        syncs = [x for x in lines if "fdatasync(" in x]
        print(f"{n} notifications: {len(syncs)} fdatasync of the journal")
        check(1 <= len(syncs) <= 2, f"{len(syncs)} syncs for {n} notifications")
        # Every answer after a sync that follows the last write to the write-ahead file.
        synced, answered = True, 0
        for x in lines:
            if "pwrite64(" in x and "journal.db-wal" in x:
                synced = False
            elif "fdatasync(" in x and "journal.db-wal" in x:
                synced = True
            elif "success" in x:
                check(synced, f"answered before its row was synced: {x}")
                answered += 1
        check(answered == n, f"{answered} answers seen in the trace")
        rows = subprocess.run(["sqlite3", os.path.join(tmp, "journal.db"),
                               "SELECT count(*) FROM notifications"],
                              capture_output=True, text=True, check=True).stdout.strip()
        check(rows == str(n + 1), f"{rows} notifications kept")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "pay-before-pixels": test_pay_before_pixels,
    "pay-before-log": test_pay_before_log,
    "refusals": test_refusals,
    "pos-flow": test_pos_flow,
    "qr-notify": test_qr_notify,
    "qr-polling": test_qr_polling,
    "refund": test_refund,
    "cancel": test_cancel,
    "idempotency": test_idempotency,
    "bad-input": test_bad_input,
    "notifications": test_notifications,
    "notify-sync": test_notify_sync,
    "crash": test_crash,
    "reload": test_reload,
    "clock": test_clock,
    "unreachable": test_unreachable,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-it"))
