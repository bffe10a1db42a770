# SPDX-License-Identifier: MIT
# A store for the central tests: one PostgreSQL cluster migrated by f2fpay-central, one sandbox,
# tills T01… (real f2fpayd) that ship to it, and the comparisons that judge them.
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import pgcluster  # noqa: E402
from harness import (Daemon, Sandbox, TestFailure, UnixHTTPConnection, check,  # noqa: E402
                     free_port)

DEADLINE = 60.0
_seq = random.randrange(10**9)


def code(digit=0):
    """A fresh sandbox payment code: 0 pays at once, 2 never confirms."""
    global _seq
    _seq += 1
    return f"28{_seq:015d}{digit}"


class Store:
    def __init__(self, build, tmp, tills=("T01", "T02", "T03"), central_extra=None):
        self.build, self.tmp = build, tmp
        self.tool = os.path.join(build, "central", "f2fpay-central")
        self.pg = pgcluster.Cluster()
        self.pg.start()
        self.secrets = os.path.join(tmp, "secrets")
        os.makedirs(self.secrets)
        self.admin_pw = pgcluster.write_secret(self.secrets, "postgres", pgcluster.SUPERPASS)
        self.run_tool("migrate")
        self.sb = Sandbox(build)
        self.tills = {}
        for t in tills:
            role = t.lower()
            pw = pgcluster.write_secret(self.secrets, role, role + "-pw")
            self.run_tool("add-role", "till", role, "--role-password-file", pw)
            folder = os.path.join(tmp, t)
            os.makedirs(folder)
            d = Daemon(build, self.sb, folder, scanner=False, display=None)
            with open(d.conf) as f:
                text = f.read().replace("terminal_id = T01", f"terminal_id = {t}")
            keys = {"poll_interval": "100ms", "retry_interval": "300ms", "timeout": "10s"}
            keys.update(central_extra or {})
            d.metrics_port = free_port()
            text += "\n".join(["", "[metrics]", f"listen = 127.0.0.1:{d.metrics_port}", ""])
            text += "\n".join(["", "[central]", f"url = {self.pg.url(role)}",
                               f"password_file = {pw}",
                               *(f"{k} = {v}" for k, v in keys.items()), ""])
            with open(d.conf, "w") as f:
                f.write(text)
            d.role = role
            self.tills[t] = d

    def run_tool(self, *args, expect=0):
        r = subprocess.run([self.tool, "--url", self.pg.url(), "--password-file", self.admin_pw,
                            *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(r.returncode == expect, f"f2fpay-central {args}: {r.returncode}: {r.stderr}")
        return r.stdout

    def sql(self, query):
        """Rows of query as the superuser: a list of tuples of strings."""
        _, out, _ = self.pg.psql(query)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def close(self):
        for d in self.tills.values():
            d.close()
        self.sb.stop()
        self.pg.close()


def post(d, path, body):
    c = UnixHTTPConnection(d.sock)
    c.request("POST", path, body=json.dumps(body).encode(),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, (json.loads(text) if text else None)


def pay(d, amount, digit=0, want="PAID"):
    st, o = post(d, "/v1/orders", {"amount": amount, "auth_code": code(digit)})
    check(st == 201, f"create {amount}: {st} {o}")
    d.drain_notify()
    return d.wait_state(o["id"], want)


def status(d):
    st, j = d.api("GET", "/v1/status")
    check(st == 200, f"status: {st}")
    return j


def central(d):
    c = status(d).get("central")
    check(c is not None, "no central in /v1/status")
    return c


def metrics(d):
    """The till's /metrics as {name: value} for unlabelled series."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", d.metrics_port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    check(r.status == 200, f"/metrics: {r.status}")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, _, value = line.partition(" ")
            out[name] = value
    return out


def wait_caught_up(d, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c = central(d)
        if c["backlog"] == 0 and c["shipped_seq_confirmed"] and c["state"] == "connected":
            return c
        time.sleep(0.1)
    raise TestFailure(f"till did not catch up: {c}")


def journal_events(d):
    db = sqlite3.connect(f"file:{os.path.join(d.tmp, 'journal.db')}?mode=ro", uri=True)
    try:
        return [tuple(str(x) for x in r) for r in db.execute(
            "SELECT seq, order_id, at_usec, what, from_state, to_state, request FROM events "
            "ORDER BY seq")]
    finally:
        db.close()


def journal_orders(d):
    db = sqlite3.connect(f"file:{os.path.join(d.tmp, 'journal.db')}?mode=ro", uri=True)
    try:
        return sorted(tuple(str(x) for x in r) for r in db.execute(
            "SELECT id, state, amount_fen, refunded_fen, pos_ref FROM orders "
            "WHERE id IN (SELECT order_id FROM events)"))
    finally:
        db.close()


def central_events(store, install_id):
    return store.sql(
        "SELECT seq, order_id, (extract(epoch FROM at) * 1000000)::bigint, what, from_state, "
        "to_state, request FROM f2fpay.events "
        f"WHERE install_id = '{install_id}' ORDER BY seq")


def central_orders(store, install_id):
    return sorted(store.sql(
        "SELECT order_id, state, amount_fen, refunded_fen, coalesce(nullif(pos_ref, ''), 'None') "
        f"FROM f2fpay.orders WHERE install_id = '{install_id}'"))


def check_same(store, d):
    """The central database holds exactly the till's journal: nothing lost, nothing twice."""
    iid = central(d)["install_id"]
    je, ce = journal_events(d), central_events(store, iid)
    check(len(je) > 0, "an empty journal proves nothing")
    check(ce == je, f"{iid}: central events differ from the journal: "
          f"{len(ce)} vs {len(je)}; first difference "
          f"{next(((a, b) for a, b in zip(ce, je) if a != b), None)}")
    jo, co = journal_orders(d), central_orders(store, iid)
    check(co == jo, f"{iid}: central orders differ: {co} vs {jo}")
    return len(je)


def run_store_scenario(prefix, tests):
    """main() of a scenario script: argv = BUILD_DIR NAME; tests maps NAME to (fn, tills,
    [central] keys). fn(store) runs on a new store; every till must then stop cleanly."""
    build, name = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix=f"{prefix}-{name}-")
    fn, tills, extra = tests[name]
    store = Store(build, tmp, tills, central_extra=extra)
    try:
        fn(store)
        for d in store.tills.values():
            check(d.stop() in (0, None), "f2fpayd did not exit cleanly")
        print("ok")
    except TestFailure:
        for d in store.tills.values():
            if d.proc and d.proc.poll() is None:
                print(f"--- {d.tmp}: {status(d)}", file=sys.stderr)
        raise
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)
