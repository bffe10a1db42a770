#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd with [central] and no database to reach: it starts, takes no time over it, and warns
# when the URL names a host that libpq would have to look up (doc/central.md "Shipping").
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from harness import Daemon, Sandbox, check  # noqa: E402

CASES = [
    ("postgresql://till@db.invalid/store", True),
    ("postgresql://till@db.invalid/store?hostaddr=127.0.0.1", False),
    ("postgresql://till@127.0.0.1:1/store", False),
    ("postgresql://till@[::1]:1/store", False),
    ("postgresql:///store?host=/nonexistent", False),
]


def main():
    build = sys.argv[1]
    sb = Sandbox(build)
    try:
        for url, warns in CASES:
            tmp = tempfile.mkdtemp(prefix="f2fpay-central-config-")
            d = Daemon(build, sb, tmp, scanner=False, display=None)
            with open(d.conf, "a") as f:
                f.write(f"\n[central]\nurl = {url}\nretry_interval = 1h\n")
            err = os.path.join(tmp, "stderr")
            with open(err, "w") as f:
                d.start(stderr=f)
            st, j = d.api("GET", "/v1/status")
            check(st == 200 and j["central"]["state"] in ("connecting", "unreachable"),
                  f"{url}: {j.get('central')}")
            check(d.stop() == 0, "f2fpayd did not exit cleanly")
            with open(err) as f:
                text = f.read()
            check(("is a host name" in text) == warns, f"{url}: warning {not warns}: {text}")
            d.close()
            shutil.rmtree(tmp, ignore_errors=True)
        print("ok")
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
