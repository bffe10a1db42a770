#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd as a process: configuration check and dump, sd_notify READY/RELOADING/STOPPING, the API
# socket (bound or passed by socket activation), SIGHUP reload keeping the old configuration on
# errors, and a clean SIGTERM.
import grp
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

f2fpayd, f2fpayctl = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="f2fpayd-test.")
group = grp.getgrgid(os.getgid()).gr_name


def write(path, text, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, text.encode())
    os.fchmod(fd, mode)
    os.close(fd)


def config(extra=""):
    return f"""[alipay]
gateway_url = http://127.0.0.1:9/gateway.do
app_id = 2021000000000001
app_private_key = {tmp}/app.key
alipay_public_key = {tmp}/alipay.pub

[terminal]
terminal_id = T01
{extra}
[api]
socket = {tmp}/api.sock
socket_group = {group}

[journal]
path = {tmp}/journal.db
"""


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def ctl(*args, sock=None):
    return subprocess.run([f2fpayctl, "--socket", sock or f"{tmp}/api.sock", *args],
                          capture_output=True, text=True, timeout=60)


keys = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sandbox", "keys")
with open(os.path.join(keys, "app-private.pem")) as f:
    write(f"{tmp}/app.key", f.read(), 0o600)
with open(os.path.join(keys, "alipay-public.pem")) as f:
    write(f"{tmp}/alipay.pub", f.read())
conf = f"{tmp}/f2fpayd.conf"
write(conf, config())

# --check-config and --dump-config.
r = subprocess.run([f2fpayd, "--config", conf, "--check-config"], capture_output=True, text=True)
if r.returncode != 0 or "configuration OK" not in r.stdout:
    fail(f"check-config: {r.returncode} {r.stdout} {r.stderr}")
r = subprocess.run([f2fpayd, "-c", conf, "--dump-config"], capture_output=True, text=True)
if r.returncode != 0 or f"socket = {tmp}/api.sock\n" not in r.stdout:
    fail(f"dump-config: {r.stdout} {r.stderr}")
bad = f"{tmp}/bad.conf"
write(bad, config("colour = blue\n"))
r = subprocess.run([f2fpayd, "-c", bad, "--check-config"], capture_output=True, text=True)
if r.returncode != 78 or r.stderr.strip() != f"{bad}:9: unknown key 'colour' in [terminal]":
    fail(f"bad config: {r.returncode} {r.stderr!r}")
os.chmod(f"{tmp}/app.key", 0o640)
r = subprocess.run([f2fpayd, "-c", conf, "--check-config"], capture_output=True, text=True)
if r.returncode != 78 or "accessible by group or others" not in r.stderr:
    fail(f"group-readable key accepted: {r.stderr!r}")
os.chmod(f"{tmp}/app.key", 0o600)

# The daemon, with a notify socket of our own.
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(f"{tmp}/notify")
notify.settimeout(30)
env = dict(os.environ, NOTIFY_SOCKET=f"{tmp}/notify")
proc = subprocess.Popen([f2fpayd, "--config", conf], env=env)


def expect_notify(*needles):
    while True:
        msg = notify.recv(4096).decode()
        if all(n in msg for n in needles):
            return msg


try:
    expect_notify("READY=1")
    st = os.stat(f"{tmp}/api.sock")
    if not stat.S_ISSOCK(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o660:
        fail(f"socket mode {oct(st.st_mode)}")
    r = ctl("status", "--json")
    if r.returncode != 0 or '"engine":"running"' not in r.stdout.replace(" ", ""):
        fail(f"status: {r.returncode} {r.stdout} {r.stderr}")
    r = ctl("pay", "1.00")
    if r.returncode != 0 or "WAITING_FOR_CODE" not in r.stdout:
        fail(f"pay waiting for the scanner: {r.returncode} {r.stdout} {r.stderr}")
    r = ctl("pay", "1e3")
    if r.returncode != 1 or "invalid_amount" not in r.stderr:
        fail(f"bad amount: {r.stderr}")

    # SIGHUP with a broken file keeps the old configuration and keeps serving.
    write(conf, config("colour = blue\n"))
    proc.send_signal(signal.SIGHUP)
    expect_notify("RELOADING=1")
    expect_notify("READY=1", "reload failed")
    if ctl("status").returncode != 0:
        fail("not serving after a failed reload")
    write(conf, config("store_name = Corner Shop\n"))
    proc.send_signal(signal.SIGHUP)
    expect_notify("READY=1", "configuration reloaded")

    proc.send_signal(signal.SIGTERM)
    expect_notify("STOPPING=1")
    if proc.wait(timeout=30) != 0:
        fail(f"exit status {proc.returncode}")
    if os.path.exists(f"{tmp}/api.sock"):
        fail("the socket was left behind")
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()

# Socket activation: the API is served on the passed socket, not on [api] socket.
act = f"{tmp}/activated.sock"
proc = subprocess.Popen(["systemd-socket-activate", "-l", act, f2fpayd, "--config", conf],
                        stderr=subprocess.PIPE, text=True)
try:
    for _ in range(600):
        if os.path.exists(act):
            break
        time.sleep(0.05)
    r = ctl("status", "--json", sock=act)
    if r.returncode != 0 or '"terminal_id":"T01"' not in r.stdout.replace(" ", ""):
        fail(f"socket activation: {r.returncode} {r.stdout} {r.stderr}")
    if os.path.exists(f"{tmp}/api.sock"):
        fail("bound its own socket despite socket activation")
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=30) != 0:
        fail(f"activated daemon exit status {proc.returncode}")
    if "passed by systemd" not in proc.stderr.read():
        fail("the daemon did not say it uses the passed socket")
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
subprocess.run(["rm", "-rf", tmp])
print("f2fpayd: all passed")
