#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Figures for f2fpayd as it stands (API layer, no order engine): time from start to READY=1,
# RSS when idle, wake-ups per second when idle, and GET /v1/status latency over the unix socket.
# Prints numbers; asserts nothing about them (the machine is shared and noisy).
import grp
import os
import socket
import subprocess
import sys
import tempfile
import time

f2fpayd = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="f2fpayd-bench.")
keys = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sandbox", "keys")
fd = os.open(f"{tmp}/app.key", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, open(os.path.join(keys, "app-private.pem"), "rb").read())
os.close(fd)
open(f"{tmp}/alipay.pub", "w").write(open(os.path.join(keys, "alipay-public.pem")).read())
group = grp.getgrgid(os.getgid()).gr_name
open(f"{tmp}/f2fpayd.conf", "w").write(f"""[alipay]
gateway_url = http://127.0.0.1:9/gateway.do
app_id = 2021000000000001
app_private_key = {tmp}/app.key
alipay_public_key = {tmp}/alipay.pub
[terminal]
terminal_id = T01
[api]
socket = {tmp}/api.sock
socket_group = {group}
[journal]
path = {tmp}/journal.db
""")

notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(f"{tmp}/notify")
notify.settimeout(30)
start = time.monotonic()
proc = subprocess.Popen([f2fpayd, "-c", f"{tmp}/f2fpayd.conf"],
                        env=dict(os.environ, NOTIFY_SOCKET=f"{tmp}/notify"),
                        stderr=subprocess.DEVNULL)
while b"READY=1" not in notify.recv(4096):
    pass
ready_ms = (time.monotonic() - start) * 1000


def proc_status(key):
    for line in open(f"/proc/{proc.pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


time.sleep(1)
rss_kb = proc_status("VmRSS")
c0 = proc_status("voluntary_ctxt_switches") + proc_status("nonvoluntary_ctxt_switches")
time.sleep(5)
c1 = proc_status("voluntary_ctxt_switches") + proc_status("nonvoluntary_ctxt_switches")
wakeups = (c1 - c0) / 5

lat = []
for _ in range(1000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    t = time.monotonic()
    s.connect(f"{tmp}/api.sock")
    s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    lat.append((time.monotonic() - t) * 1e6)
    s.close()
    assert data.startswith(b"HTTP/1.1 200")
lat.sort()
rss_after_kb = proc_status("VmRSS")
proc.terminate()
proc.wait()
subprocess.run(["rm", "-rf", tmp])
print(f"start to READY:        {ready_ms:.1f} ms")
print(f"RSS idle:              {rss_kb} kB")
print(f"wake-ups idle:         {wakeups:.1f} /s (context switches over 5 s)")
print(f"GET /v1/status:        p50 {lat[len(lat) // 2]:.0f} us, p99 {lat[int(len(lat) * 0.99)]:.0f} us "
      f"(1000 requests, new connection each)")
print(f"RSS after 1000 calls:  {rss_after_kb} kB")
