#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The POS application's API (doc/api.md) end to end: the real daemon against f2fpay-sandbox,
# queried over its unix socket. One scenario per run: test-api.py BUILD_DIR NAME.
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Sandbox, check, free_port, run_scenario  # noqa: E402

# doc/design.md §11.1: the last digit of an 18-digit code starting 28 picks the buyer.
CODE_PAID = "287654321098765430"
CODE_NEVER = "287654321098765432"


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
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace("[api]", f"[metrics]\nlisten = 127.0.0.1:{port}\n\n[api]", 1))
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


TESTS = {
    "version": test_version,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-api"))
