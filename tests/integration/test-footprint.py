#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# What f2fpayd maps into memory: a till without a customer display maps no graphics library,
# font or display module, and no till maps libarchive and what it brings; with a display, the
# module is loaded, draws, and `--check` loads it.
# Usage: test-footprint.py BUILD_DIR SCENARIO
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DISPLAY_FILES, Daemon, Sandbox, check, mapped_files, paycode,  # noqa: E402
                     run_scenario)

# What reading the bill's zip with libarchive would bring (payment/bill/unzip.h uses zlib).
NEVER = ("libarchive", "libxml2", "libicu", "libstdc++")


def display_files(paths):
    return sorted(p for p in paths if any(k in p for k in DISPLAY_FILES))


def never_files(paths):
    # A sanitizer's runtime brings libstdc++ itself.
    never = [k for k in NEVER if k != "libstdc++" or not any("libasan" in p for p in paths)]
    return sorted(p for p in paths if any(k in p for k in never))


def test_no_display(build, tmp):
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, display=None)
    try:
        d.start()
        # An order paid end to end: the pay's path loads nothing of the display either.
        st, o = d.api("POST", "/v1/orders", {"amount": "0.01"})
        check(st == 201, f"create: {st} {o}")
        os.write(d.scanner.master, paycode(0).encode() + b"\r")
        d.wait_state(o["id"], "PAID")
        found = display_files(mapped_files(d.proc.pid))
        check(not found, f"display files mapped without a display: {found}")
        found = never_files(mapped_files(d.proc.pid))
        check(not found, f"libraries the daemon does not need mapped: {found}")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        d.close()
        sb.stop()


def test_display_module(build, tmp):
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    try:
        r = subprocess.run([d.f2fpayd, "--check", "--config", d.conf], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0 and "configuration OK" in r.stdout,
              f"--check: {r.returncode} {r.stdout} {r.stderr}")
        check("display module" not in r.stderr, f"--check did not load the module: {r.stderr}")
        d.start()
        deadline = time.monotonic() + 10
        while not os.path.exists(d.png) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(os.path.exists(d.png), "the PNG display drew nothing")
        found = display_files(mapped_files(d.proc.pid))
        check(any(p.endswith("/f2fpayd-display.so") for p in found),
              f"the display module is not what draws: {found}")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "no-display": test_no_display,
    "display-module": test_display_module,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-fp"))
