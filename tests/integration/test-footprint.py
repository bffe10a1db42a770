#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# What f2fpayd costs a till: a till without a customer display maps no graphics library, font
# or display module, and no till maps libarchive and what it brings; with a display, the module
# is loaded, draws, and `--check` loads it; a pay answered quickly costs one frame, not two, and
# orders paid faster than the frame interval share frames; an idle till holds no font and no
# malloc arena beside the main one (doc/performance.md "Memory").
# Usage: test-footprint.py BUILD_DIR SCENARIO
import ctypes
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DISPLAY_FILES, Daemon, Sandbox, check, mapped_files, paycode,  # noqa: E402
                     paycode_block, run_scenario)

# What reading the bill's zip with libarchive would bring (payment/bill/unzip.h uses zlib).
NEVER = ("libarchive", "libxml2", "libicu", "libstdc++")


def display_files(paths):
    return sorted(p for p in paths if any(k in p for k in DISPLAY_FILES))


def never_files(paths):
    # A sanitizer's runtime brings libstdc++ itself.
    never = [k for k in NEVER if k != "libstdc++" or not any("libasan" in p for p in paths)]
    return sorted(p for p in paths if any(k in p for k in never))


# <sys/inotify.h>. The PNG display writes each frame to a temporary file beside the PNG and
# renames it into place: one IN_MOVED_FROM per frame, each with a name of its own (identical
# consecutive events, such as the IN_MOVED_TO onto the PNG's name, are merged by the kernel).
IN_MOVED_FROM = 0x40


def frames_watch(folder):
    """An inotify descriptor that sees every frame renamed into place in folder."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    check(fd >= 0, f"inotify_init1: {os.strerror(ctypes.get_errno())}")
    check(libc.inotify_add_watch(fd, folder.encode(), IN_MOVED_FROM) >= 0,
          f"inotify_add_watch: {os.strerror(ctypes.get_errno())}")
    return fd


def frames_count(fd, name):
    """How many frames were renamed onto name since the last call."""
    n = 0
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return n
        off = 0
        while off < len(data):
            _, _, _, length = struct.unpack_from("iIII", data, off)
            if data[off + 16:off + 16 + length].rstrip(b"\0").decode().startswith(name + "."):
                n += 1
            off += 16 + length


def test_one_frame_per_pay(build, tmp):
    """A pay answered before the "processing" screen is due draws the result only."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    fd = -1
    try:
        d.start()
        ev = d.follow()
        fd = frames_watch(tmp)
        quick = 0
        for i in range(5):
            amount = f"{i + 1}.00"
            st, o = d.api("POST", "/v1/orders", {"amount": amount, "subject": "Tea"})
            check(st == 201, f"create: {st} {o}")
            d.wait_screen("show-code", amount=amount, subject="Tea")
            frames_count(fd, "screen.png")
            t0 = time.monotonic()
            d.scanner.scan(paycode(0))
            ev.wait(lambda e: e["event"] == "order" and e["data"]["state"] == "PAID", "PAID")
            took = time.monotonic() - t0
            d.wait_screen("paid", amount=amount, subject="Tea")
            time.sleep(0.5)  # a processing frame, had one been due, is drawn by now
            n = frames_count(fd, "screen.png")
            if took < 0.1:
                check(n == 1, f"a pay answered in {took * 1000:.0f} ms drew {n} frames")
                quick += 1
        check(quick > 0, "no pay was answered within 100 ms")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        if fd >= 0:
            os.close(fd)
        d.close()
        sb.stop()


def test_frame_interval(build, tmp):
    """Orders paid faster than the display's frame interval (50 ms, doc/display.md): at most
    one frame in each interval, and the last order's result still drawn."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    fd = -1
    n = 60
    try:
        d.start()
        d.wait_screen("idle")
        fd = frames_watch(tmp)
        # bench-pos: a POS in C, so that the orders come as fast as the daemon pays them.
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(build, "tests", "integration", "bench-pos"), d.sock,
                            str(n), "1", str(paycode_block(n))],
                           capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
        check(r.returncode == 0, f"bench-pos: {r.stderr.strip()}")
        check(took < n * 0.05, f"{n} orders took {took * 1000:.0f} ms: too slow to tell")
        k = n - 1  # bench-pos's amount of its last order
        d.wait_screen("paid", amount=f"{1 + k % 500}.{k % 100:02d}", subject=d.store_name)
        frames = frames_count(fd, "screen.png")
        check(1 <= frames <= took / 0.05 + 2,
              f"{frames} frames for {n} orders in {took * 1000:.0f} ms: more than one in 50 ms")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        if fd >= 0:
            os.close(fd)
        d.close()
        sb.stop()


def font_files(pid):
    """The font files with pages resident in the process, and how many kB of them."""
    found, font = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:
                font = fields[5] if len(fields) > 5 and "/fonts/" in fields[5] else None
            elif font and fields[0] == "Rss:" and int(fields[1]) > 0:
                found[font] = found.get(font, 0) + int(fields[1])
    return found


def readonly_file_kb(pid):
    """Resident kB of the process's read-only private file mappings (libraries' code and
    constants, fonts, the executable) none of whose pages was copied: what the idle release
    gives back to the page cache (common/pages.h)."""
    total, cur = 0, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:
                cur = {"rss": 0} if (fields[1] in ("r--p", "r-xp") and len(fields) > 5
                                     and fields[5].startswith("/")) else None
            elif cur is not None and fields[0] == "Rss:":
                cur["rss"] = int(fields[1])
            elif cur is not None and fields[0] == "Anonymous:":
                if int(fields[1]) == 0:
                    total += cur["rss"]
                cur = None
    return total


def arenas(pid):
    """glibc's malloc arenas beside the main heap: each is an anonymous reservation of 64 MiB
    aligned on 64 MiB (its used part read-write, the rest without access)."""
    size = 64 << 20
    maps = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            maps.append((lo, hi, len(fields) == 5 or fields[5] == ""))
    found = []
    for i, (lo, hi, anon) in enumerate(maps):
        if not anon or lo % size:
            continue
        end = hi
        for lo2, hi2, anon2 in maps[i + 1:]:
            if end >= lo + size or lo2 != end or not anon2:
                break
            end = hi2
        if end == lo + size:
            found.append(f"{lo:x}-{end:x}")
    return found


def test_idle_memory(build, tmp):
    """The idle screen drawn, the display's fonts are released (none of their pages resident)
    and the libraries' read-only pages with them (under half of what an order has);
    the next order's screens load them again and look the same; threads (pango starts one to load fontconfig) leave no malloc
    arena of their own."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    try:
        d.start()
        d.wait_screen("idle")
        check(not arenas(d.proc.pid), f"malloc arenas beside the main heap: {arenas(d.proc.pid)}")
        check(not font_files(d.proc.pid), f"fonts resident at idle: {font_files(d.proc.pid)}")
        for i in range(2):
            amount = f"{i + 1}.00"
            st, o = d.api("POST", "/v1/orders", {"amount": amount, "subject": "茶 Tea"})
            check(st == 201, f"create: {st} {o}")
            d.wait_screen("show-code", amount=amount, subject="茶 Tea")
            check(font_files(d.proc.pid), "no font resident while an order is on show")
            busy = readonly_file_kb(d.proc.pid)
            d.scanner.scan(paycode(0))
            d.wait_state(o["id"], "PAID")
            d.wait_screen("paid", amount=amount, subject="茶 Tea")
            d.wait_screen("idle")
            # The idle frame is renamed into place before the fonts are let go.
            deadline = time.monotonic() + 10
            while font_files(d.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            check(not font_files(d.proc.pid),
                  f"fonts resident back at idle: {font_files(d.proc.pid)}")
            # The libraries' pages go with them: what runs at idle maps back only a little.
            idle = readonly_file_kb(d.proc.pid)
            check(idle * 2 < busy, f"read-only file pages resident at idle: {idle} kB, "
                  f"{busy} kB while an order was on show")
        check(not arenas(d.proc.pid), f"malloc arenas beside the main heap: {arenas(d.proc.pid)}")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        d.close()
        sb.stop()


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


def test_module_missing(build, tmp):
    """A display configured but its module gone (a broken installation): the daemon stops with
    the configuration status, which its unit does not restart, and says why."""
    if os.geteuid() != 0:
        print("needs root, to hide the module in a mount namespace")
        sys.exit(77)
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    try:
        module = os.path.join(build, "drivers", "display", "f2fpayd-display.so")
        check(os.path.exists(module), f"no module at {module}")
        # /dev/null over the module: dlopen() finds a file that is not a library.
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount --bind /dev/null "$1" && shift && exec "$@"', "sh", module,
                            d.f2fpayd, "--config", d.conf],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 78, f"exit {r.returncode}, not 78: {r.stderr}")
        check("display module" in r.stderr, f"the log does not say why: {r.stderr}")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "module-missing": test_module_missing,
    "no-display": test_no_display,
    "display-module": test_display_module,
    "one-frame-per-pay": test_one_frame_per_pay,
    "frame-interval": test_frame_interval,
    "idle-memory": test_idle_memory,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-fp"))
