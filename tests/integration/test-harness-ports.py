#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The harness's free_port(): two test processes running at once are never given the same port
# (each port locked by the process it was given to), so one test's server cannot find its port
# taken by another test's.
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port  # noqa: E402

HELD = 50
OTHER = 3000  # a quarter of the range: without the locks, about 12 of ours would come back


def main():
    ours = {free_port() for _ in range(HELD)}
    if len(ours) != HELD:
        print(f"FAIL: {HELD - len(ours)} ports given twice to one process")
        return 1
    r = subprocess.run([sys.executable, "-c",
                        "import sys; sys.path.insert(0, sys.argv[1]); from harness import "
                        f"free_port; print(' '.join(str(free_port()) for _ in range({OTHER})))",
                        os.path.dirname(os.path.abspath(__file__))],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print(f"FAIL: the other process: {r.stderr.strip()}")
        return 1
    theirs = {int(p) for p in r.stdout.split()}
    both = ours & theirs
    if len(theirs) != OTHER or both:
        print(f"FAIL: {len(both)} ports given to both processes: {sorted(both)[:5]}")
        return 1
    print(f"ok: {HELD} ports held here, {OTHER} given to another process, none to both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
