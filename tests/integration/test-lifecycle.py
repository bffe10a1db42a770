#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# f2fpayd's lifecycle as an operator meets it: exit statuses systemd can tell apart, drop-ins,
# keys found and checked the way the service finds and checks them (credentials, swapped keys,
# permissions, missing files named in /etc terms), key rotation by a synchronous reload, device
# warnings, and the [terminal] operator_id and [display] language keys doing what they say.
# Usage: test-lifecycle.py BUILD_DIR SCENARIO
import grp
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KEYS, Daemon, Sandbox, check, free_port, paycode,  # noqa: E402
                     run_scenario)

EXIT_CONFIG = 78
# The stand-in f2fpayd.service gives a key file systemd could not load (config/config.h).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                       "config.h"), encoding="utf-8") as _h:
    NOT_LOADED = re.search(r'#define CONFIG_CREDENTIAL_NOT_LOADED "([^"]+)"', _h.read()).group(1)


def run(*args, env=None, timeout=60):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def write(path, data, mode=0o644):
    with open(path, "w") as f:
        f.write(data)
    os.chmod(path, mode)


def read(path):
    with open(path) as f:
        return f.read()


def edit(path, old, new):
    text = read(path)
    check(old in text, f"{old!r} not in {path}")
    write(path, text.replace(old, new))


def use_credentials(d, tmp, private=None, public=None):
    """Keys as f2fpayd.service passes them: credential names, the files beside the config."""
    text = read(d.conf)
    lines = []
    for line in text.split("\n"):
        if line.startswith("app_private_key = "):
            line = "app_private_key_credential = app_private_key"
        elif line.startswith("alipay_public_key = "):
            line = "alipay_public_key_credential = alipay_public_key"
        lines.append(line)
    write(d.conf, "\n".join(lines))
    write(os.path.join(tmp, "app_private_key"),
          read(private or os.path.join(KEYS, "app-private.pem")), 0o600)
    write(os.path.join(tmp, "alipay_public_key"),
          read(public or os.path.join(KEYS, "alipay-public.pem")))


def credentials_dir(tmp, **files):
    """What systemd makes of LoadCredential=: root-only copies in a directory of their own."""
    creds = os.path.join(tmp, "creds")
    shutil.rmtree(creds, ignore_errors=True)
    os.mkdir(creds, 0o700)
    for name, data in files.items():
        write(os.path.join(creds, name), data, 0o400)
    return creds


def start_and_exit(d, env=None):
    """Runs the daemon until it exits on its own (it must not become ready)."""
    r = run(d.f2fpayd, "--config", d.conf, env=env, timeout=30)
    return r.returncode, r.stderr


def new_key_pair(tmp):
    priv, pub = os.path.join(tmp, "new-private.pem"), os.path.join(tmp, "new-public.pem")
    r = run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", priv)
    check(r.returncode == 0, f"openssl genpkey: {r.stderr}")
    r = run("openssl", "pkey", "-in", priv, "-pubout", "-out", pub)
    check(r.returncode == 0, f"openssl pkey: {r.stderr}")
    return priv, pub


def test_exit_status(build, tmp):
    """A configuration error exits 78 (no restart); a runtime failure exits 1 (restart)."""
    sb = Sandbox(build)
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        edit(d.conf, "[terminal]", "[terminal]\ncolour = blue")
        rc, err = start_and_exit(d)
        check(rc == EXIT_CONFIG and "unknown key 'colour' in [terminal]" in err,
              f"config error: {rc} {err!r}")
        # Keys that do not fit together are a configuration error too, found before starting.
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        edit(d.conf, os.path.join(KEYS, "alipay-public.pem"),
             os.path.join(KEYS, "app-public.pem"))
        rc, err = start_and_exit(d)
        check(rc == EXIT_CONFIG and "app's own public key" in err, f"swapped: {rc} {err!r}")
        # A journal that cannot be opened is not the configuration's fault: exit 1.
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        os.mkdir(os.path.join(tmp, "ro"), 0o500)
        edit(d.conf, f"path = {os.path.join(tmp, 'journal.db')}",
             f"path = {os.path.join(tmp, 'ro', 'sub', 'journal.db')}")
        rc, err = start_and_exit(d)
        check(rc == 1, f"runtime failure: {rc} {err!r}")
        # The shipped unit restarts on 1 and not on 78.
        unit = read(os.path.join(build, "systemd", "f2fpayd.service"))
        check("Restart=on-failure" in unit and "RestartPreventExitStatus=78" in unit,
              "f2fpayd.service restarts on configuration errors")
    finally:
        sb.stop()


def test_dropins(build, tmp):
    """f2fpayd.conf.d/*.conf in name order: later files override, errors name the drop-in."""
    sb = Sandbox(build)
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        dd = d.conf + ".d"
        os.mkdir(dd)
        write(os.path.join(dd, "20-name.conf"), "[terminal]\nstore_name = Late Shop\n")
        write(os.path.join(dd, "10-name.conf"), "[terminal]\nstore_name = Early Shop\n"
              "operator_id = cashier-7\n")
        write(os.path.join(dd, "README"), "not a configuration file\n")
        write(os.path.join(dd, "15-timing.conf"), "[timing]\nquery_count = 9\n")
        r = run(d.f2fpayd, "-c", d.conf, "--dump-config")
        check(r.returncode == 0, f"dump: {r.returncode} {r.stderr}")
        out = r.stdout
        check("store_name = Late Shop\n" in out and "operator_id = cashier-7\n" in out and
              "query_count = 9\n" in out, f"drop-ins not applied in order:\n{out}")
        write(os.path.join(dd, "30-bad.conf"), "[terminal]\nstore_name = A\nstore_name = B\n")
        r = run(d.f2fpayd, "-c", d.conf, "--check-config")
        want = f"{dd}/30-bad.conf:3: duplicate key 'store_name' (first at line 2)"
        check(r.returncode == EXIT_CONFIG and want in r.stderr, f"bad drop-in: {r.stderr!r}")
        os.unlink(os.path.join(dd, "30-bad.conf"))
        # The daemon reads them too, and a reload picks up a new one.
        d.start()
        st, s = d.api("GET", "/v1/status")
        check(s["store_name"] == "Late Shop", f"daemon ignored the drop-ins: {s}")
        write(os.path.join(dd, "40-name.conf"), "[terminal]\nstore_name = Reloaded Shop\n")
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("configuration reloaded")
        st, s = d.api("GET", "/v1/status")
        check(s["store_name"] == "Reloaded Shop", f"reload ignored the new drop-in: {s}")
    finally:
        d.close()
        sb.stop()


def test_keys(build, tmp):
    """--check-config and the service find and check the keys alike, naming the /etc files."""
    sb = Sandbox(build)
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        use_credentials(d, tmp)
        origin_priv = os.path.join(tmp, "app_private_key")
        origin_pub = os.path.join(tmp, "alipay_public_key")
        env = {"CREDENTIALS_DIRECTORY": ""}
        # Credentials found beside the configuration without $CREDENTIALS_DIRECTORY.
        r = run(d.f2fpayd, "-c", d.conf, "--check-config", env=env)
        check(r.returncode == 0 and "configuration OK" in r.stdout,
              f"check-config without CREDENTIALS_DIRECTORY: {r.returncode} {r.stderr!r}")

        # The app's public key where Alipay's belongs.
        write(origin_pub, read(os.path.join(KEYS, "app-public.pem")))
        r = run(d.f2fpayd, "-c", d.conf, "--check-config", env=env)
        check(r.returncode == EXIT_CONFIG and f"{origin_pub} holds the app's own public key"
              in r.stderr and "Alipay public key shown in the Alipay open platform" in r.stderr,
              f"swapped keys: {r.returncode} {r.stderr!r}")

        # A private key where the Alipay public key belongs, through a credential copy: the
        # message names the file in the configuration folder, never the copy.
        write(origin_pub, read(os.path.join(KEYS, "app-private.pem")))
        creds = credentials_dir(tmp, app_private_key=read(origin_priv),
                                alipay_public_key=read(origin_pub))
        rc, err = start_and_exit(d, env={"CREDENTIALS_DIRECTORY": creds})
        check(rc == EXIT_CONFIG and "The Alipay public key is a private key" in err and
              f"{origin_pub}: put the Alipay public key shown in the Alipay open platform" in err
              and creds not in err, f"private key as public: {rc} {err!r}")
        write(origin_pub, read(os.path.join(KEYS, "alipay-public.pem")))

        # A key file readable by others is refused by the service itself, though systemd's
        # copy is 0400: the message names the original.
        os.chmod(origin_priv, 0o644)
        creds = credentials_dir(tmp, app_private_key=read(origin_priv),
                                alipay_public_key=read(origin_pub))
        rc, err = start_and_exit(d, env={"CREDENTIALS_DIRECTORY": creds})
        check(rc == EXIT_CONFIG and
              f"{origin_priv} is accessible by group or others (mode 0644)" in err and
              f"chmod 600 {origin_priv}" in err, f"0644 key: {rc} {err!r}")
        os.chmod(origin_priv, 0o600)

        # A missing key: systemd hands over the unit's stand-in (SetCredential= fallback).
        os.rename(origin_priv, origin_priv + ".away")
        creds = credentials_dir(tmp, app_private_key=NOT_LOADED,
                                alipay_public_key=read(origin_pub))
        rc, err = start_and_exit(d, env={"CREDENTIALS_DIRECTORY": creds})
        check(rc == EXIT_CONFIG and
              f"the app private key is missing: put it in {origin_priv} (owner root, mode "
              "0600)" in err, f"missing key: {rc} {err!r}")
        r = run(d.f2fpayd, "-c", d.conf, "--check-config", env=env)
        check(r.returncode == EXIT_CONFIG and f"the app private key is missing: put it in "
              f"{origin_priv}" in r.stderr, f"missing key, check-config: {r.stderr!r}")
        unit = read(os.path.join(build, "systemd", "f2fpayd.service"))
        check(f"SetCredential=app_private_key:{NOT_LOADED}\n" in unit and
              f"SetCredential=alipay_public_key:{NOT_LOADED}\n" in unit,
              "f2fpayd.service fails a missing key with 243/CREDENTIALS")
    finally:
        sb.stop()


def test_reload_keys(build, tmp):
    """Rotating the app key: `f2fpayd --reload` hands the new file over; errors change nothing."""
    priv, pub = new_key_pair(tmp)
    # The gateway already knows the new key (the operator uploaded it to Alipay first).
    sb = Sandbox(build, extra=("--app-public-key", pub))
    d = None
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        use_credentials(d, tmp)
        origin_priv = os.path.join(tmp, "app_private_key")
        creds = credentials_dir(tmp, app_private_key=read(origin_priv),
                                alipay_public_key=read(os.path.join(KEYS, "alipay-public.pem")))
        d.extra_env = {"CREDENTIALS_DIRECTORY": creds}
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        check(st == 201, f"create: {st} {o}")
        o = d.wait_state(o["id"], "FAILED")

        # The new key goes where the unit loads it from; systemd's copy stays the old one, so
        # a plain SIGHUP still signs with the old key.
        write(origin_priv, read(priv), 0o600)
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("configuration reloaded")
        st, o = d.api("POST", "/v1/orders", {"amount": "1.50", "auth_code": paycode(0)})
        d.wait_state(o["id"], "FAILED")
        r = run(d.f2fpayd, "--reload", "--config", d.conf, env={"CREDENTIALS_DIRECTORY": creds})
        check(r.returncode == 0 and "and the keys reloaded" in r.stderr,
              f"--reload: {r.returncode} {r.stderr!r}")
        d.wait_notify("configuration reloaded")
        st, o = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(0)})
        check(st == 201, f"create after reload: {st} {o}")
        d.wait_state(o["id"], "PAID")
        # A later SIGHUP keeps the keys handed over, not systemd's older copies.
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("configuration reloaded")
        st, o = d.api("POST", "/v1/orders", {"amount": "2.50", "auth_code": paycode(0)})
        d.wait_state(o["id"], "PAID")

        # A broken key file: refused before the daemon is asked, with the file named.
        write(origin_priv, "not a key\n", 0o600)
        r = run(d.f2fpayd, "--reload", "--config", d.conf)
        check(r.returncode == EXIT_CONFIG and f"{origin_priv}: put the app private key" in
              r.stderr and "Reload refused" in r.stderr, f"bad key: {r.returncode} {r.stderr!r}")
        # A configuration error: the same, and the daemon keeps everything it had.
        write(origin_priv, read(priv), 0o600)
        edit(d.conf, "[terminal]", "[terminal]\ncolour = blue")
        r = run(d.f2fpayd, "--reload", "--config", d.conf)
        check(r.returncode == EXIT_CONFIG, f"bad config: {r.returncode} {r.stderr!r}")
        st, o = d.api("POST", "/v1/orders", {"amount": "3.00", "auth_code": paycode(0)})
        d.wait_state(o["id"], "PAID")
        # No daemon to answer: a failure, said as such.
        edit(d.conf, "[terminal]\ncolour = blue", "[terminal]")
        d.stop()
        r = run(d.f2fpayd, "--reload", "--config", d.conf)
        check(r.returncode == 1 and "Cannot reach the daemon" in r.stderr,
              f"no daemon: {r.returncode} {r.stderr!r}")
        unit = read(os.path.join(build, "systemd", "f2fpayd.service"))
        check("ExecReload=+" in unit and "f2fpayd --reload" in unit,
              "f2fpayd.service does not reload synchronously")
    finally:
        if d:
            d.close()
        sb.stop()


def test_devices(build, tmp):
    """A missing scanner says which rule found nothing and what to do; language = en."""
    sb = Sandbox(build)
    d = None
    try:
        d = Daemon(build, sb, tmp, scanner=False, display="tty", notify=False)
        missing = os.path.join(tmp, "ttyNOPE")
        edit(d.conf, "[display]", f"[scanner counter]\nkind = serial\ndevice = {missing}\n\n"
             "[display]")
        r = run(d.f2fpayd, "-c", d.conf, "--check-config")
        want = (f"Scanner counter: missing: no serial scanner matching device {missing} is "
                "plugged in. Plug it in, or compare [scanner counter] with what "
                "`f2fpayd --list-scanners` shows")
        check(r.returncode == 0 and want in r.stderr, f"check-config: {r.stderr!r}")
        edit(d.conf, "backend = tty", "backend = tty\nlanguage = en")
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        out = open(os.path.join(tmp, "screen.txt"), "w+")
        d.proc = subprocess.Popen([d.f2fpayd, "--config", d.conf], stdout=out, stderr=log,
                                  env=dict(os.environ, NOTIFY_SOCKET=""))
        end = time.monotonic() + 20
        while time.monotonic() < end and ("Welcome" not in read(out.name) or
                                          want not in read(log.name)):
            time.sleep(0.1)
        screen, logged = read(out.name), read(log.name)
        check(want in logged, f"daemon log: {logged!r}")
        check("Welcome" in screen and "欢迎光临" not in screen,
              f"language = en shows: {screen!r}")
    finally:
        if d:
            d.close()
        sb.stop()


def test_operator(build, tmp):
    """[terminal] operator_id reaches Alipay with every pay."""
    sb = Sandbox(build)
    d = None
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        edit(d.conf, "[terminal]", "[terminal]\noperator_id = cashier-7")
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        check(st == 201, f"create: {st} {o}")
        d.wait_state(o["id"], "PAID")
        t = sb.trade(o["id"])
        check(t and t.get("operator_id") == "cashier-7", f"trade at the gateway: {t}")
    finally:
        if d:
            d.close()
        sb.stop()


def as_outsider(args):
    """args run by a user who is not in the API socket's group (nobody, when we are root)."""
    if os.geteuid() == 0:
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]
    return list(args)


def test_operator_messages(build, tmp):
    """f2fpayctl and the display say what to change, not just what failed."""
    sb = Sandbox(build)
    d = None
    try:
        png_dir = os.path.join(tmp, "kiosk")
        os.mkdir(png_dir)
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        edit(d.conf, "[api]", f"[display]\nbackend = png:{png_dir}/screen.png\n\n[api]")
        # The folder is read-only to the daemon, as outside ReadWritePaths= of the unit: a
        # read-only bind mount in a mount namespace of its own (as root, or in a user
        # namespace where root is not available, e.g. a container).
        script = (f"mount --bind -o ro {png_dir} {png_dir} && "
                  f"exec {d.f2fpayd} -c {d.conf} --check-config")
        for unshare in (["unshare", "-m"], ["unshare", "-rm"]):
            r = run(*unshare, "sh", "-c", script)
            if "mount:" not in r.stderr and "unshare:" not in r.stderr:
                break
        check("mount:" not in r.stderr and "unshare:" not in r.stderr,
              f"no read-only mount could be made for the test: {r.stderr!r}")
        want = (f"Display png:{png_dir}/screen.png: cannot write there: read-only file system. "
                "f2fpayd.service writes only to its own folders (/var/lib/f2fpay, /run/f2fpay): "
                "put the PNG under /run/f2fpay, or allow its folder with `systemctl edit "
                "f2fpayd` and [Service] ReadWritePaths=")
        check(want in r.stderr, f"read-only PNG folder: {r.returncode} {r.stderr!r}")

        d.start()
        # A POS user outside the socket's group (or its folder's).
        if os.geteuid() != 0:
            os.chmod(tmp, 0)
        # The outsider must be able to run f2fpayctl itself, wherever the build tree lies.
        bindir = tempfile.mkdtemp(prefix="f2fpayctl-bin.")
        os.chmod(bindir, 0o755)
        ctl = os.path.join(bindir, "f2fpayctl")
        shutil.copy(d.f2fpayctl, ctl)
        os.chmod(ctl, 0o755)
        try:
            r = run(*as_outsider([ctl, "--socket", d.sock, "status"]))
        finally:
            os.chmod(tmp, 0o700)
            shutil.rmtree(bindir)
        group = grp.getgrgid(os.stat(tmp).st_gid).gr_name
        want = (f"f2fpayctl: permission denied on {d.sock}: add the user to group {group} "
                f"(sudo usermod -aG {group} $USER), then log in again")
        check(r.returncode == 3 and want in r.stderr, f"outsider: {r.returncode} {r.stderr!r}")
        d.stop()
        r = run(d.f2fpayctl, "--socket", d.sock, "status")
        check(r.returncode == 3 and f"no API socket at {d.sock}: is f2fpayd installed and "
              "started?" in r.stderr, f"no daemon: {r.stderr!r}")
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(d.sock)
        r = run(d.f2fpayctl, "--socket", d.sock, "status")
        dead.close()
        check(r.returncode == 3 and f"nothing answers on {d.sock}: f2fpayd is not running" in
              r.stderr, f"stale socket: {r.stderr!r}")
    finally:
        if d:
            d.close()
        sb.stop()


def http_get(port, path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type"), body


def test_monitoring(build, tmp):
    """STATUS= names the problems; /metrics, /health and /version tell a monitoring system."""
    sb = Sandbox(build)
    d = None
    try:
        port = free_port()
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        missing = os.path.join(tmp, "ttyNOPE")
        edit(d.conf, "[api]", f"[scanner counter]\nkind = serial\ndevice = {missing}\n\n"
             f"[display]\nbackend = png:{tmp}/no-such-dir/screen.png\n\n"
             f"[metrics]\nlisten = 127.0.0.1:{port}\n\n[api]")
        d.start()
        msg = d.wait_notify("scanner missing: counter")
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        d.wait_state(o["id"], "PAID")
        # The display may already have failed on its first screen, in the same status line:
        # the status is sent when it changes, so no later line would repeat it.
        if "display down" not in msg:
            msg = d.wait_notify("display down")
        check("scanner missing: counter" in msg, f"STATUS: {msg!r}")
        st, o = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(3)})
        d.wait_state(o["id"], "FAILED")

        st, ctype, text = http_get(port, "/metrics")
        check(st == 200 and ctype.startswith("text/plain; version=0.0.4"), f"/metrics {st}")
        for want in ['f2fpayd_orders_total{state="paid"} 1\n',
                     'f2fpayd_orders_total{state="failed"} 1\n',
                     'f2fpayd_gateway_answers_total{call="pay",class="success"} 1\n',
                     'f2fpayd_gateway_answers_total{call="pay",class="failed"} 1\n',
                     'f2fpayd_gateway_latency_seconds_count{call="pay"} 2\n',
                     'f2fpayd_gateway_latency_seconds_bucket{call="pay",le="+Inf"} 2\n',
                     'f2fpayd_device_up{kind="scanner",name="counter"} 0\n',
                     'f2fpayd_device_up{kind="display",name="customer"} 0\n',
                     'f2fpayd_condition{name="scanner_missing"} 1\n']:
            check(want in text, f"/metrics lacks {want!r}:\n{text}")
        jb = [ln for ln in text.split("\n") if ln.startswith("f2fpayd_journal_bytes ")]
        check(jb and int(jb[0].split()[1]) > 0, "no journal size")
        st, ctype, text = http_get(port, "/health")
        h = json.loads(text)
        names = {c["name"] for c in h["conditions"]}
        check(st == 503 and h["status"] == "degraded" and
              names == {"scanner_missing", "display_down"}, f"/health: {st} {text}")
        st, s = d.api("GET", "/v1/status")
        check({c["name"] for c in s["conditions"]} == {"scanner_missing", "display_down"},
              f"/v1/status conditions: {s['conditions']}")
        st, ctype, text = http_get(port, "/version")
        check(st == 200 and json.loads(text)["version"], f"/version: {st} {text}")
        st, _, _ = http_get(port, "/metrics", method="POST")
        check(st == 405, f"POST /metrics: {st}")
        st, _, _ = http_get(port, "/v1/orders")
        check(st == 404, f"the API on the metrics port: {st}")

        # The gateway goes away: the next pay gets no answer, and STATUS says so.
        sb.stop()
        st, o = d.api("POST", "/v1/orders", {"amount": "3.00", "auth_code": paycode(0)})
        d.wait_notify("gateway unreachable")
        st, ctype, text = http_get(port, "/health")
        check("gateway_unreachable" in text, f"/health: {text}")
    finally:
        if d:
            d.close()
        sb.stop()


def test_attention(build, tmp):
    """An order in ATTENTION is a condition while it lasts, and no longer once it ends."""
    sb = Sandbox(build)
    d = None
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        edit(d.conf, "query_count = 20", "query_count = 2")
        edit(d.conf, "cancel_count = 3", "cancel_count = 1")
        edit(d.conf, "attention_backoff = 1s", "attention_backoff = 3s")
        d.start()
        st, paid = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        d.wait_state(paid["id"], "PAID")
        st, s = d.api("GET", "/v1/status")
        check("attention" not in {c["name"] for c in s["conditions"]}, f"status: {s}")
        # Scenario 2: the buyer never confirms; the gateway then goes away, so the cancels
        # get no answer and the order needs an operator.
        st, o = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(2)})
        d.wait_state(o["id"], "WAITING")
        port = sb.port
        sb.stop()
        d.wait_state(o["id"], "ATTENTION", timeout=20)
        st, s = d.api("GET", "/v1/status")
        att = [c for c in s["conditions"] if c["name"] == "attention"]
        check(att and att[0]["count"] == 1 and [a["id"] for a in s["attention"]] == [o["id"]],
              f"status: {s}")
        d.wait_notify("1 order needs an operator")
        # Back on the same address: the next cancel is answered, the order and the condition
        # end together.
        sb = Sandbox(build, extra=("--listen", f"127.0.0.1:{port}"))
        d.wait_state(o["id"], "CANCELED", timeout=20)
        st, s = d.api("GET", "/v1/status")
        check("attention" not in {c["name"] for c in s["conditions"]} and s["attention"] == [],
              f"status: {s}")
        while "ATTENTION" in d.wait_notify("Running"):
            pass
    finally:
        if d:
            d.close()
        sb.stop()


def test_journal_fields(build, tmp):
    """Order transitions reach journald as entries with ORDER= and STATE= fields."""
    sb = Sandbox(build)
    d = None
    path = os.path.join(tmp, "journal.sock")
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(path)
    journal.settimeout(20)
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False,
                   extra_env={"F2FPAY_JOURNAL_SOCKET": path})
        d.start()
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        d.wait_state(o["id"], "PAID")
        entries = []
        while True:
            fields = dict(line.split("=", 1) for line in
                          journal.recv(65536).decode().split("\n") if "=" in line)
            entries.append(fields)
            if fields.get("STATE") == "paid":
                break
        paid = entries[-1]
        check(paid.get("ORDER") == o["id"] and paid.get("PREVIOUS_STATE") == "paying" and
              paid.get("EVENT") == "pay_result" and paid.get("PRIORITY") == "6" and
              paid.get("SYSLOG_IDENTIFIER") == "f2fpayd" and
              paid.get("MESSAGE", "").endswith("paying → pay_result → paid"),
              f"entry: {paid}")
        check(any(e.get("ORDER") == o["id"] and e.get("STATE") == "paying" for e in entries),
              f"no entry for paying: {entries}")
    finally:
        journal.close()
        if d:
            d.close()
        sb.stop()


def sqlite(db, sql):
    r = run("sqlite3", db, sql)
    check(r.returncode == 0, f"sqlite3 {db} {sql!r}: {r.stderr}")
    return r.stdout.strip()


def test_backup(build, tmp):
    """f2fpayctl backup copies the journal while orders run; the documented restore works."""
    sb = Sandbox(build)
    d = None
    try:
        d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
        d.start()
        st, paid = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        d.wait_state(paid["id"], "PAID")
        # One order still in flight while the copy is made.
        st, open_ = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(2)})
        d.wait_state(open_["id"], "WAITING")
        backup = os.path.join(tmp, "backups", "journal-1.db")
        os.mkdir(os.path.dirname(backup))
        r = d.ctl("backup", backup)
        check(r.returncode == 0 and f"Backup of the journal written to {backup}" in r.stdout,
              f"backup: {r.returncode} {r.stdout} {r.stderr}")
        check(stat.S_IMODE(os.stat(backup).st_mode) == 0o600, "the backup is not 0600")
        check(sqlite(backup, "PRAGMA integrity_check") == "ok", "backup not intact")
        rows = sqlite(backup, "SELECT id, state FROM orders ORDER BY id")
        check(paid["id"] in rows and open_["id"] in rows, f"backup lacks orders: {rows}")
        check(os.listdir(os.path.dirname(backup)) == ["journal-1.db"],
              "temporary files left beside the backup")
        check(not [f for f in os.listdir(tmp) if f.startswith(".backup-")],
              "temporary files left beside the journal")
        # A destination that cannot be written: said, nothing left.
        r = d.ctl("backup", os.path.join(tmp, "nowhere", "x.db"))
        check(r.returncode == 1 and "cannot create" in r.stderr, f"bad path: {r.stderr!r}")

        # Restore as doc/operations.md says: stop, replace the journal, drop WAL and SHM, start.
        d.ctl("cancel", open_["id"], check_rc=0)
        d.wait_state(open_["id"], "CANCELED")
        st, later = d.api("POST", "/v1/orders", {"amount": "3.00", "auth_code": paycode(0)})
        d.wait_state(later["id"], "PAID")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
        journal = os.path.join(tmp, "journal.db")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(journal + suffix):
                os.unlink(journal + suffix)
        shutil.copy(backup, journal)
        d.start()
        check(d.order(paid["id"])["state"] == "PAID", "restored order lost")
        st, _ = d.api("GET", f"/v1/orders/{later['id']}")
        check(st == 404, f"an order after the backup survived the restore: {st}")
        # The order that was in flight at backup time is resumed and settled again.
        d.wait_state(open_["id"], "CANCELED", timeout=30)
    finally:
        if d:
            d.close()
        sb.stop()


def test_notify_stalled(build, tmp):
    """A service manager that stops reading its notify socket never stalls orders or SIGTERM."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    try:
        d.start()
        # From here on nobody reads the notify socket: its queue fills after a few status lines
        # (each order changes the count of orders in progress twice).
        ids = []
        for _ in range(40):
            st, o = d.api("POST", "/v1/orders", {"amount": "0.01", "auth_code": paycode(0)})
            check(st == 201, f"create: {st} {o}")
            ids.append(o["id"])
        for oid in ids:
            d.wait_state(oid, "PAID")
        st, j = d.api("GET", "/v1/status")
        check(st == 200 and j["active_orders"] == 0, f"status: {st} {j}")
        t = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(timeout=20)
        took = time.monotonic() - t
        check(rc == 0, f"exit status {rc}")
        check(took < 10, f"SIGTERM took {took:.1f} s")
        d.proc = None
    finally:
        d.close()
        sb.stop()


def wakeups(pid):
    """Context switches of all the daemon's threads: each one is a wake-up."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    n += int(line.split()[1])
    return n


def test_idle(build, tmp):
    """Idle without an event-stream client, the daemon never wakes up; with one, the stream
    gets its keepalive comment (every 25 s)."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp)
    try:
        d.start()
        time.sleep(1)
        before = wakeups(d.proc.pid)
        # Past the first keepalive's due time, counted from the start.
        time.sleep(28)
        woke = wakeups(d.proc.pid) - before
        check(woke == 0, f"the idle daemon woke up {woke} times in 28 s")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(40)
        s.connect(d.sock)
        s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        got = b""
        end = time.monotonic() + 40
        while b": keepalive" not in got and time.monotonic() < end:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        check(b": keepalive" in got, f"no keepalive on the stream: {got[-200:]!r}")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        d.close()
        sb.stop()


def test_clean_shutdown(build, tmp):
    """doc/engine.md "Integrity check": after a clean stop the next start skips the journal's
    quick_check; after SIGKILL (or a changed file) it runs it, and the killed order settles."""
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=None, notify=False)
    journal = os.path.join(tmp, "journal.db")
    checking = "was not closed cleanly (or changed since): checking it"

    def start_logged(name):
        path = os.path.join(tmp, name)
        with open(path, "w") as log:
            d.start(stderr=log)
        return path

    def log_has(path, text):
        # The check runs before READY=1: its line is written by then.
        with open(path) as f:
            return text in f.read()

    try:
        first = start_logged("first.log")
        check(log_has(first, checking), "a new journal was not checked")
        st, o = d.api("POST", "/v1/orders", {"amount": "1.00", "auth_code": paycode(0)})
        d.wait_state(o["id"], "PAID")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
        check(os.path.exists(journal + ".clean"), "no record of the clean stop")
        check(not os.path.exists(journal + "-wal"), "the write-ahead file outlived the stop")

        clean = start_logged("clean.log")
        check(not log_has(clean, checking), "checked after a clean stop")
        check(not os.path.exists(journal + ".clean"), "the record outlives the start")
        st, o = d.api("POST", "/v1/orders", {"amount": "2.00", "auth_code": paycode(2)})
        d.wait_state(o["id"], "WAITING")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.proc = None
        check(not os.path.exists(journal + ".clean"), "a record of a clean stop after SIGKILL")

        killed = start_logged("killed.log")
        check(log_has(killed, checking), "not checked after SIGKILL")
        d.wait_state(o["id"], "CANCELED", timeout=30)
        check(d.stop() == 0, "f2fpayd did not stop cleanly")

        # Changed after a clean stop (a copy put in place, an edit): checked.
        os.utime(journal)
        changed = start_logged("changed.log")
        check(log_has(changed, checking), "not checked after the file changed")
        check(d.stop() == 0, "f2fpayd did not stop cleanly")
    finally:
        d.close()
        sb.stop()


def test_reload_web_display(build, tmp):
    """A reload leaves the web display's page reachable: the old displays let go of the port
    before the new ones bind it, so the page answers as soon as the reload is done."""
    port = free_port()
    sb = Sandbox(build)
    d = Daemon(build, sb, tmp, scanner=False, display=[f"backend = web:127.0.0.1:{port}"])
    log = os.path.join(tmp, "stderr")
    try:
        with open(log, "w") as err:
            d.start(stderr=err)
        url = f"http://127.0.0.1:{port}/"
        check(urllib.request.urlopen(url, timeout=5).status == 200, "web display not up")
        for name in ("Corner Shop", "Late Shop"):
            edit(d.conf, "store_name = ", f"store_name = {name}\n# was: ")
            d.proc.send_signal(signal.SIGHUP)
            d.wait_notify("configuration reloaded")
            try:
                st = urllib.request.urlopen(url, timeout=5).status
            except OSError as e:
                st = e
            check(st == 200, f"web display after the reload: {st}")
        st, s = d.api("GET", "/v1/status")
        check(s["store_name"] == "Late Shop", f"reload not applied: {s}")
        check(d.stop() == 0, "f2fpayd did not exit cleanly")
        check("Address already in use" not in read(log), "the reload bound the port twice")
    finally:
        d.close()
        sb.stop()


TESTS = {
    "clean-shutdown": test_clean_shutdown,
    "idle": test_idle,
    "notify-stalled": test_notify_stalled,
    "backup": test_backup,
    "journal-fields": test_journal_fields,
    "monitoring": test_monitoring,
    "attention": test_attention,
    "operator-messages": test_operator_messages,
    "exit-status": test_exit_status,
    "dropins": test_dropins,
    "keys": test_keys,
    "reload-keys": test_reload_keys,
    "reload-web-display": test_reload_web_display,
    "devices": test_devices,
    "operator": test_operator,
}


if __name__ == "__main__":
    sys.exit(run_scenario(TESTS, "f2fpay-lc"))
