#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The response check the integration harness applies (openapi_check.py) fails what it must:
# undocumented statuses, paths, content types, fields and events, and bodies of the wrong shape.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
from openapi_check import Mismatch, validate, validate_event  # noqa: E402

J = "application/json"
ORDER = ('{"id":"T01_20261126_1","amount":"1.00","subject":"Tea","mode":"scan",'
         '"state":"PAID","final":true,"created_at":"2026-11-26 10:00:00"}')
failures = []


def ok(*args, event=None):
    try:
        validate_event(event) if event else validate(*args)
    except Mismatch as e:
        failures.append(f"refused a good response {args or event}: {e}")


def bad(*args, event=None):
    try:
        validate_event(event) if event else validate(*args)
    except Mismatch:
        return
    failures.append(f"accepted a bad response {args or event}")


ok("GET", "/v1/orders/T01_20261126_1", 200, J, ORDER)
ok("GET", "/v1/orders/by-pos-ref/R-1", 200, J, ORDER)
ok("GET", "/v1/orders?state=PAID", 200, J, '{"orders":[' + ORDER + '],"next_cursor":"c1"}')
ok("GET", "/v1/nope", 404, J, '{"error":{"code":"not_found","message":"no such resource"}}')
ok("PUT", "/v1/orders", 405, J,
   '{"error":{"code":"method_not_allowed","message":"use GET, POST"}}')
bad("GET", "/v1/orders/T01_20261126_1", 200, J, ORDER.replace('"state":"PAID",', ""))
bad("GET", "/v1/orders/T01_20261126_1", 200, J, ORDER.replace('"1.00"', '1.0'))
bad("GET", "/v1/orders/T01_20261126_1", 200, J, ORDER[:-1] + ',"surprise":1}')
bad("GET", "/v1/orders/T01_20261126_1", 200, J, ORDER.replace("PAID", "PAYED"))
bad("GET", "/v1/orders/T01_20261126_1", 201, J, ORDER)
bad("GET", "/v1/orders/T01_20261126_1", 200, "text/plain", ORDER)
bad("GET", "/v1/orders/T01_20261126_1", 200, J, "{not json")
bad("GET", "/v1/orders", 200, J, '{"orders":[' + ORDER + '],"cursor":"c1"}')
bad("POST", "/v1/orders", 400, J, '{"error":{"code":"oops","message":"x"}}')
bad("GET", "/v2/orders", 200, J, ORDER)
ok(event={"id": "17.2", "event": "order", "data": openapi_check.json.loads(ORDER)})
bad(event={"id": "17.2", "event": "payment", "data": {}})
bad(event={"event": "order", "data": openapi_check.json.loads(ORDER)})
bad(event={"id": "x", "event": "order", "data": openapi_check.json.loads(ORDER)})
bad(event={"id": "3", "event": "display", "data": {"screen": "dancing", "up": True}})

for f in failures:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
