#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd --check-config with several displays: a pole display whose port cannot be opened is
# named with what to do; the others pass.
#   test-display-check.py BUILD_DIR
import os
import pty
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from harness import Daemon, Sandbox, TestFailure, check, free_port, tmpdir  # noqa: E402


def main(build):
    sb = Sandbox(build)
    tmp = tmpdir("display-check")
    master, slave = pty.openpty()
    try:
        missing = os.path.join(tmp, "ttyNOPE")
        d = Daemon(build, sb, tmp, scanner=False, notify=False, display=[
            f"backend = web:127.0.0.1:{free_port()} pole:{os.ttyname(slave)} pole:{missing} "
            f"png:{tmp}/screen.png"])
        r = subprocess.run([d.f2fpayd, "-c", d.conf, "--check-config"], capture_output=True,
                           text=True, timeout=60)
        want = (f"Display pole:{missing}: cannot be opened: No such file or directory. Is it "
                "the right serial port, and is it tagged F2FPAY_DISPLAY for udev")
        check(want in r.stderr, f"check-config: {r.returncode} {r.stderr!r}")
        check(os.ttyname(slave) not in r.stderr and "Display png" not in r.stderr
              and "Display web" not in r.stderr, f"check-config blames another: {r.stderr!r}")
    finally:
        sb.stop()
        os.close(master)
        os.close(slave)


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok")
