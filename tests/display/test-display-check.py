#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd --check-config with several displays: a pole display whose port cannot be opened is
# named with what to do; the others pass; a PNG whose folder is on a disk gets advice to keep it
# in memory, one in memory none.
#   test-display-check.py BUILD_DIR
import os
import pty
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from harness import Daemon, Sandbox, TestFailure, check, free_port, tmpdir  # noqa: E402


def fs_type(path):
    """The type of the file system path is on, as stat(1) names it (tmpfs, ext2/ext3, ...)."""
    r = subprocess.run(["stat", "-f", "-c", "%T", path],
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout.strip()


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
        check(os.ttyname(slave) not in r.stderr and "Display web" not in r.stderr,
              f"check-config blames another: {r.stderr!r}")
        # The PNG's folder works; on a disk it costs more per frame than in memory: said as
        # advice where it is on a disk, nothing where it is in memory.
        png_advice = f"Display png:{tmp}/screen.png: its folder is on a disk"
        on_disk = fs_type(tmp) not in ("tmpfs", "ramfs")
        check((png_advice in r.stderr) == on_disk,
              f"check-config, PNG in {tmp} ({fs_type(tmp)}): {r.stderr!r}")
        check(f"Display png:{tmp}/screen.png: cannot" not in r.stderr,
              f"check-config blames the PNG: {r.stderr!r}")
        shm = tempfile.mkdtemp(prefix="display-check.", dir="/dev/shm")
        try:
            d = Daemon(build, sb, tmp, scanner=False, notify=False,
                       display=[f"backend = png:{shm}/screen.png"])
            r = subprocess.run([d.f2fpayd, "-c", d.conf, "--check-config"],
                               capture_output=True, text=True, timeout=60)
            check(fs_type(shm) == "tmpfs" and "Display png" not in r.stderr,
                  f"check-config, PNG in {shm}: {r.stderr!r}")
        finally:
            shutil.rmtree(shm)
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
