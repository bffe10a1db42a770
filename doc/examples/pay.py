#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A QR payment from the POS with Python's standard library only: create the order and get its
# QR code in the answer (?wait=qr), follow the event stream until it settles (resuming with
# Last-Event-ID if the stream drops), then page through today's orders.
# Usage: pay.py POS_REF   (F2FPAY_SOCKET: the API socket, default /run/f2fpay/api.sock)
import http.client
import json
import os
import socket
import sys
import time

SOCK = os.environ.get("F2FPAY_SOCKET", "/run/f2fpay/api.sock")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, timeout=30):
        super().__init__("localhost", timeout=timeout)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(SOCK)


def api(method, path, body=None, headers=None):
    c = UnixConnection()
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if data else {}
    h.update(headers or {})
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    answer = json.loads(r.read() or b"null")
    c.close()
    if r.status >= 400:
        raise SystemExit(f"{method} {path}: {r.status} {answer['error']['message']}")
    return answer


def events(last_event_id=None):
    """Yields (id, event, data) from GET /v1/events, resuming after last_event_id."""
    c = UnixConnection(timeout=60)
    c.request("GET", "/v1/events",
              headers={"Last-Event-ID": last_event_id} if last_event_id else {})
    r = c.getresponse()
    ev = {}
    for raw in r:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("id: "):
            ev["id"] = line[4:]
        elif line.startswith("event: "):
            ev["event"] = line[7:]
        elif line.startswith("data: "):
            ev["data"] = json.loads(line[6:])
        elif not line and "data" in ev:
            yield ev.get("id"), ev.get("event"), ev["data"]
            ev = {}


def main():
    ref = sys.argv[1]
    order = api("POST", "/v1/orders?wait=qr", {"amount": "5.00", "mode": "qr", "pos_ref": ref})
    print("created", order["id"], order["state"])
    print("qr_code", order["qr_code"])  # the customer display shows it too
    last = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            for eid, name, data in events(last):
                last = eid or last
                if name == "resync":  # too long away: re-read the order
                    data = api("GET", f"/v1/orders/{order['id']}")
                    name = "order"
                if name == "order" and data["id"] == order["id"] and data["final"]:
                    print("state", data["state"])
                    return page(ref)
        except (OSError, http.client.HTTPException):
            time.sleep(0.5)  # dropped: reconnect and resume after `last`
    raise SystemExit("the order did not settle")


def page(ref):
    """Every order of today (Beijing time), page by page, exactly once each."""
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    cursor, n, mine = None, 0, 0
    while True:
        q = f"/v1/orders?date={today}&limit=50" + (f"&cursor={cursor}" if cursor else "")
        p = api("GET", q)
        n += len(p["orders"])
        mine += sum(1 for o in p["orders"] if o.get("pos_ref") == ref)
        cursor = p.get("next_cursor")
        if not cursor:
            break
    print(f"today {n} orders, {mine} with pos_ref {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
