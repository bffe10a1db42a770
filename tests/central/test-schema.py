#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The central schema on a real PostgreSQL: f2fpay-central migrate creates and re-runs it, add-role
# makes till and office logins, and row-level security keeps every till to its own rows.
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgcluster  # noqa: E402

BUILD = sys.argv[1]
TOOL = os.path.join(BUILD, "central", "f2fpay-central")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def tool(cluster, secrets, *args, expect=0):
    r = subprocess.run([TOOL, "--url", cluster.url(), "--password-file",
                        secrets["postgres"], *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(r.returncode == expect,
          f"f2fpay-central {' '.join(args)}: rc {r.returncode}, wanted {expect}: {r.stderr}")
    return r.stdout, r.stderr


def refused(cluster, role, sql, needle):
    rc, _, err = cluster.psql(sql, role=role, password=role + "-pw", check=False)
    check(rc != 0, f"{role} was allowed: {sql}")
    check(needle in err, f"{role}: {sql}: wanted {needle!r}, got {err!r}")


def main():
    c = pgcluster.Cluster()
    tmp = tempfile.mkdtemp(prefix="f2fpay-central-secrets-")
    try:
        c.start()
        secrets = {"postgres": pgcluster.write_secret(tmp, "postgres", pgcluster.SUPERPASS)}
        for role in ("t01", "t02", "office1"):
            secrets[role] = pgcluster.write_secret(tmp, role, role + "-pw")

        # Two runs at once on an empty database: the advisory lock makes one wait for the other.
        outs = [None, None]

        def run(i):
            outs[i] = subprocess.run([TOOL, "--url", c.url(), "--password-file",
                                      secrets["postgres"], "migrate"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(all(o.returncode == 0 for o in outs), f"concurrent migrate: {outs}")
        check(sorted(o.stdout.strip() for o in outs)
              == ["schema version 2 (was 0)", "schema version 2 (was 2)"],
              f"concurrent migrate output: {[o.stdout for o in outs]}")
        out, _ = tool(c, secrets, "migrate")
        check(out.strip() == "schema version 2 (was 2)", f"re-run: {out!r}")
        out, _ = tool(c, secrets, "version")
        check(out.strip() == "2", f"version: {out!r}")
        _, rows, _ = c.psql("SELECT count(*) FROM f2fpay.schema_version")
        check(rows == "2", f"schema_version rows: {rows}")

        # Roles: a bad name is refused; the password never reaches the server in clear.
        tool(c, secrets, "add-role", "till", "T01; DROP", "--role-password-file", secrets["t01"],
             expect=1)
        tool(c, secrets, "add-role", "till", "t01", "--role-password-file", secrets["t01"])
        tool(c, secrets, "add-role", "till", "t02", "--role-password-file", secrets["t02"])
        tool(c, secrets, "add-role", "office", "office1", "--role-password-file",
             secrets["office1"])
        _, rows, _ = c.psql("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
                            "WHERE rolname = 't01'")
        check(rows == "t", f"t01's password is not a SCRAM verifier: {rows}")
        rc, _, _ = c.psql("SELECT 1", role="t01", password="wrong", check=False)
        check(rc != 0, "a wrong password was accepted")

        def as_role(role, sql):
            return c.psql(sql, role=role, password=role + "-pw")[1]

        # Each till registers its install id and appends rows; a re-send changes nothing.
        as_role("t01", "INSERT INTO f2fpay.tills (install_id, terminal_id) VALUES "
                "('aaaaaaaa', 'T01')")
        as_role("t02", "INSERT INTO f2fpay.tills (install_id, terminal_id) VALUES "
                "('bbbbbbbb', 'T02')")
        ev = ("INSERT INTO f2fpay.events (install_id, seq, order_id, at, what, from_state, "
              "to_state) VALUES ('{i}', {s}, 'T0_x', now(), 'created', '', 'new') "
              "ON CONFLICT DO NOTHING")
        for s in (1, 2, 2, 1):
            as_role("t01", ev.format(i="aaaaaaaa", s=s))
        as_role("t02", ev.format(i="bbbbbbbb", s=1))
        check(as_role("t01", "SELECT count(*) FROM f2fpay.events") == "2", "t01's own rows")
        check(as_role("t02", "SELECT count(*) FROM f2fpay.events") == "1",
              "t02 sees another till's rows")

        # A till cannot write under another till's install id, nor claim another role, nor
        # change or delete anything but its own progress columns.
        refused(c, "t02", ev.format(i="aaaaaaaa", s=3), "row-level security")
        refused(c, "t02", "INSERT INTO f2fpay.tills (install_id, terminal_id, db_role) VALUES "
                "('cccccccc', 'T03', 't01')", "row-level security")
        refused(c, "t02", "INSERT INTO f2fpay.tills (install_id, terminal_id) VALUES "
                "('aaaaaaaa', 'T02')", "duplicate key")
        refused(c, "t02", "UPDATE f2fpay.events SET what = 'x'", "permission denied")
        refused(c, "t02", "DELETE FROM f2fpay.events", "permission denied")
        refused(c, "t01", "DELETE FROM f2fpay.tills", "permission denied")
        refused(c, "t01", "UPDATE f2fpay.tills SET terminal_id = 'T09'", "permission denied")
        refused(c, "t01", "DROP TABLE f2fpay.events", "must be owner")
        out = as_role("t02", "UPDATE f2fpay.tills SET shipped_seq = 99 "
                      "WHERE install_id = 'aaaaaaaa' RETURNING 1")
        check(out == "", "t02 moved t01's progress")
        check(as_role("t01", "UPDATE f2fpay.tills SET shipped_seq = 2 RETURNING install_id")
              == "aaaaaaaa", "t01 cannot report its own progress")

        # Refunds at any till: t02 reserves against t01's paid order through the function only,
        # never over what was paid, and can neither write reservations or locks itself nor
        # reserve in t01's name.
        as_role("t01", "INSERT INTO f2fpay.order_rows (install_id, order_id, seq, terminal_id, "
                "kind, state, amount_fen, refunded_fen, pending_refund_fen, pos_ref, created_at, "
                "state_since) VALUES ('aaaaaaaa', 'T0_x', 2, 'T01', 'scan', 'paid', 1000, 0, 0, "
                "'R-1', now(), now())")
        check(as_role("t02", "SELECT count(*) FROM f2fpay.order_rows") == "0",
              "t02 reads t01's orders")
        reserve = "SELECT r_outcome, r_order_id, r_committed_fen FROM f2fpay.refund_reserve({})"
        check(as_role("t02", reserve.format("'bbbbbbbb', 'T02_f1', NULL, 'R-1', 600"))
              == "reserved|T0_x|0", "t02 cannot reserve by pos_ref")
        check(as_role("t02", reserve.format("'bbbbbbbb', 'T02_f2', 'T0_x', NULL, 600"))
              == "exceeds|T0_x|600", "a reservation went over the paid amount")
        check(as_role("t02", reserve.format("'bbbbbbbb', 'T02_f3', 'T0_y', NULL, 1"))
              == "not_found||", "an unknown order was found")
        refused(c, "t02", reserve.format("'aaaaaaaa', 'T02_f4', 'T0_x', NULL, 1"),
                "not registered by role t02")
        refused(c, "t02", "INSERT INTO f2fpay.refund_reservations (refund_id, install_id, "
                "order_install_id, order_id, amount_fen, db_role) VALUES ('x', 'bbbbbbbb', "
                "'aaaaaaaa', 'T0_x', 1, 't02')", "permission denied")
        refused(c, "t02", "UPDATE f2fpay.refund_reservations SET amount_fen = 1",
                "permission denied")
        refused(c, "t02", "DELETE FROM f2fpay.refund_reservations", "permission denied")
        refused(c, "t02", "SELECT * FROM f2fpay.refund_locks FOR UPDATE", "permission denied")
        refused(c, "t02", "SELECT f2fpay.refund_committed('aaaaaaaa', 'T0_x')",
                "permission denied")
        refused(c, "t02", "SELECT * FROM f2fpay.refund_find('T0_x', NULL)", "permission denied")
        check(as_role("t02", "SELECT refund_id, state FROM f2fpay.refund_reservation_states")
              == "T02_f1|held", "t02's own reservation")
        check(as_role("t01", "SELECT count(*) FROM f2fpay.refund_reservations") == "0",
              "t01 reads t02's reservations")
        # The reservation is settled by the refund rows its till ships: failed releases it.
        as_role("t02", "INSERT INTO f2fpay.refund_rows (install_id, refund_id, seq, order_id, "
                "state, amount_fen, created_at, state_since) VALUES ('bbbbbbbb', 'T02_f1', 2, "
                "'T0_x', 'failed', 600, now(), now())")
        check(as_role("t02", reserve.format("'bbbbbbbb', 'T02_f5', 'T0_x', NULL, 1000"))
              == "reserved|T0_x|0", "a failed refund's reservation was not released")
        check(as_role("office1", "SELECT string_agg(refund_id || ':' || state, ',' ORDER BY "
                      "refund_id) FROM f2fpay.refund_reservation_states")
              == "T02_f1:released,T02_f5:held", "the office's view of the reservations")
        # The same refund id again, before any refund row stands for it: the new amount
        # replaces the old (a refund reserved but never journaled, whose number came again).
        check(as_role("t02", reserve.format("'bbbbbbbb', 'T02_f5', 'T0_x', NULL, 400"))
              == "reserved|T0_x|0", "a reservation was not replaced")
        check(as_role("t02", "SELECT amount_fen FROM f2fpay.refund_reservations "
                      "WHERE refund_id = 'T02_f5'") == "400", "the replaced amount")
        check(as_role("t02", reserve.format("'bbbbbbbb', 'T02_f6', 'T0_x', NULL, 601"))
              == "exceeds|T0_x|400", "the replaced amount is not counted")
        refused(c, "t02", reserve.format("'bbbbbbbb', 'T02_f1', 'T0_x', NULL, 1"),
                "reserved already")

        # The office reads every till and writes nothing.
        check(as_role("office1", "SELECT count(*) FROM f2fpay.events") == "3", "office reads all")
        check(as_role("office1", "SELECT count(*) FROM f2fpay.tills") == "2", "office tills")
        refused(c, "office1", reserve.format("'bbbbbbbb', 'T02_f6', 'T0_x', NULL, 1"),
                "permission denied")
        refused(c, "office1", ev.format(i="aaaaaaaa", s=9), "permission denied")
        refused(c, "office1", "UPDATE f2fpay.tills SET shipped_seq = 0", "permission denied")

        # A database from a newer f2fpay-central is left alone.
        c.psql("INSERT INTO f2fpay.schema_version (version, summary) VALUES (99, 'future')")
        _, err = tool(c, secrets, "migrate", expect=1)
        check("newer than this f2fpay-central" in err, f"newer schema: {err!r}")
        _, rows, _ = c.psql("SELECT max(version) FROM f2fpay.schema_version")
        check(rows == "99", "the newer database was touched")

        # No database: a clear message and its own exit status.
        r = subprocess.run([TOOL, "--url", f"postgresql:///x?host={tmp}", "version"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(r.returncode == 3 and "Cannot connect" in r.stderr, f"unreachable: {r}")
        print("ok")
    finally:
        c.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
