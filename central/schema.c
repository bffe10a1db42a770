/* SPDX-License-Identifier: MIT */
/* The central PostgreSQL schema as numbered migrations (doc/central.md "Schema"). */
#include "central/schema.h"

#include "common/macro.h"

/*
 * Version 1. Tills only ever append: an event row, an order snapshot or a refund snapshot is keyed
 * by (install id, journal event sequence), so shipping the same batch twice changes nothing
 * (INSERT … ON CONFLICT DO NOTHING). The current state of an order is its snapshot with the
 * highest sequence (the views). Row-level security ties every row to the database role that
 * inserted it (db_role, filled by the server with current_user) and every till to the install ids
 * it registered: a till reads and writes its own rows only and can alter none of them but its
 * registration's progress columns. The office role reads everything and writes nothing.
 */
static const char migration_1[] =
	"DO $$ BEGIN"
	" IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" CENTRAL_ROLE_TILL "') THEN"
	"  CREATE ROLE " CENTRAL_ROLE_TILL " NOLOGIN;"
	" END IF;"
	" IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" CENTRAL_ROLE_OFFICE "') THEN"
	"  CREATE ROLE " CENTRAL_ROLE_OFFICE " NOLOGIN;"
	" END IF;"
	"END $$;"
	"CREATE TABLE f2fpay.tills ("
	" install_id text PRIMARY KEY CHECK (install_id ~ '^[a-z2-7]{8}$'),"
	" db_role name NOT NULL DEFAULT current_user,"
	" terminal_id text NOT NULL CHECK (terminal_id ~ '^[A-Za-z0-9_]{1,32}$'),"
	" store_id text NOT NULL DEFAULT '',"
	" app_id text NOT NULL DEFAULT '',"
	" first_seen timestamptz NOT NULL DEFAULT now(),"
	" last_seen timestamptz NOT NULL DEFAULT now(),"
	" journal_seq bigint NOT NULL DEFAULT 0 CHECK (journal_seq >= 0),"
	" shipped_seq bigint NOT NULL DEFAULT 0 CHECK (shipped_seq >= 0),"
	" oldest_unshipped timestamptz);"
	"CREATE TABLE f2fpay.events ("
	" install_id text NOT NULL REFERENCES f2fpay.tills,"
	" seq bigint NOT NULL CHECK (seq > 0),"
	" order_id text NOT NULL,"
	" at timestamptz NOT NULL,"
	" what text NOT NULL,"
	" from_state text NOT NULL,"
	" to_state text NOT NULL,"
	" request text NOT NULL DEFAULT '',"
	" db_role name NOT NULL DEFAULT current_user,"
	" received_at timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (install_id, seq));"
	"CREATE TABLE f2fpay.order_rows ("
	" install_id text NOT NULL REFERENCES f2fpay.tills,"
	" order_id text NOT NULL,"
	" seq bigint NOT NULL CHECK (seq > 0),"
	" terminal_id text NOT NULL,"
	" kind text NOT NULL,"
	" state text NOT NULL,"
	" amount_fen bigint NOT NULL CHECK (amount_fen > 0),"
	" refunded_fen bigint NOT NULL CHECK (refunded_fen >= 0),"
	" pending_refund_fen bigint NOT NULL CHECK (pending_refund_fen >= 0),"
	" subject text NOT NULL DEFAULT '',"
	" pos_ref text NOT NULL DEFAULT '',"
	" trade_no text NOT NULL DEFAULT '',"
	" created_at timestamptz NOT NULL,"
	" state_since timestamptz NOT NULL,"
	" db_role name NOT NULL DEFAULT current_user,"
	" PRIMARY KEY (install_id, order_id, seq));"
	"CREATE INDEX order_rows_order ON f2fpay.order_rows (order_id);"
	"CREATE INDEX order_rows_created ON f2fpay.order_rows (created_at);"
	"CREATE INDEX order_rows_since ON f2fpay.order_rows (state_since);"
	"CREATE INDEX order_rows_pos_ref ON f2fpay.order_rows (pos_ref) WHERE pos_ref <> '';"
	"CREATE TABLE f2fpay.refund_rows ("
	" install_id text NOT NULL REFERENCES f2fpay.tills,"
	" refund_id text NOT NULL,"
	" seq bigint NOT NULL CHECK (seq > 0),"
	" order_id text NOT NULL,"
	" state text NOT NULL,"
	" amount_fen bigint NOT NULL CHECK (amount_fen > 0),"
	" reason text NOT NULL DEFAULT '',"
	" created_at timestamptz NOT NULL,"
	" state_since timestamptz NOT NULL,"
	" db_role name NOT NULL DEFAULT current_user,"
	" PRIMARY KEY (install_id, refund_id, seq));"
	"CREATE INDEX refund_rows_order ON f2fpay.refund_rows (order_id);"
	"CREATE INDEX refund_rows_since ON f2fpay.refund_rows (state_since);"
	/* security_invoker: a view reads with the reader's rights, so the policies below hold. */
	"CREATE VIEW f2fpay.orders WITH (security_invoker = true) AS"
	" SELECT DISTINCT ON (install_id, order_id) * FROM f2fpay.order_rows"
	" ORDER BY install_id, order_id, seq DESC;"
	"CREATE VIEW f2fpay.refunds WITH (security_invoker = true) AS"
	" SELECT DISTINCT ON (install_id, refund_id) * FROM f2fpay.refund_rows"
	" ORDER BY install_id, refund_id, seq DESC;"
	"ALTER TABLE f2fpay.tills ENABLE ROW LEVEL SECURITY;"
	"ALTER TABLE f2fpay.events ENABLE ROW LEVEL SECURITY;"
	"ALTER TABLE f2fpay.order_rows ENABLE ROW LEVEL SECURITY;"
	"ALTER TABLE f2fpay.refund_rows ENABLE ROW LEVEL SECURITY;"
	"CREATE POLICY till_own ON f2fpay.tills TO " CENTRAL_ROLE_TILL
	" USING (db_role = current_user) WITH CHECK (db_role = current_user);"
	"CREATE POLICY till_own ON f2fpay.events TO " CENTRAL_ROLE_TILL
	" USING (db_role = current_user) WITH CHECK (db_role = current_user AND EXISTS"
	" (SELECT FROM f2fpay.tills t WHERE t.install_id = events.install_id"
	"  AND t.db_role = current_user));"
	"CREATE POLICY till_own ON f2fpay.order_rows TO " CENTRAL_ROLE_TILL
	" USING (db_role = current_user) WITH CHECK (db_role = current_user AND EXISTS"
	" (SELECT FROM f2fpay.tills t WHERE t.install_id = order_rows.install_id"
	"  AND t.db_role = current_user));"
	"CREATE POLICY till_own ON f2fpay.refund_rows TO " CENTRAL_ROLE_TILL
	" USING (db_role = current_user) WITH CHECK (db_role = current_user AND EXISTS"
	" (SELECT FROM f2fpay.tills t WHERE t.install_id = refund_rows.install_id"
	"  AND t.db_role = current_user));"
	"CREATE POLICY office_read ON f2fpay.tills FOR SELECT TO " CENTRAL_ROLE_OFFICE
	" USING (true);"
	"CREATE POLICY office_read ON f2fpay.events FOR SELECT TO " CENTRAL_ROLE_OFFICE
	" USING (true);"
	"CREATE POLICY office_read ON f2fpay.order_rows FOR SELECT TO " CENTRAL_ROLE_OFFICE
	" USING (true);"
	"CREATE POLICY office_read ON f2fpay.refund_rows FOR SELECT TO " CENTRAL_ROLE_OFFICE
	" USING (true);"
	"GRANT USAGE ON SCHEMA f2fpay TO " CENTRAL_ROLE_TILL ", " CENTRAL_ROLE_OFFICE ";"
	"GRANT SELECT, INSERT ON f2fpay.events, f2fpay.order_rows, f2fpay.refund_rows "
	"TO " CENTRAL_ROLE_TILL ";"
	"GRANT SELECT, INSERT ON f2fpay.tills TO " CENTRAL_ROLE_TILL ";"
	/* The progress a till reports about itself; nothing else of a row is ever rewritten. */
	"GRANT UPDATE (last_seen, journal_seq, shipped_seq, oldest_unshipped) ON f2fpay.tills "
	"TO " CENTRAL_ROLE_TILL ";"
	"GRANT SELECT ON f2fpay.orders, f2fpay.refunds TO " CENTRAL_ROLE_TILL ";"
	"GRANT SELECT ON ALL TABLES IN SCHEMA f2fpay TO " CENTRAL_ROLE_OFFICE ";";

/*
 * Version 2: refunds at any till (doc/central.md "Refunds at any till"). A till refunding another
 * till's order reserves the amount first, through f2fpay.refund_reserve(): it finds the order by
 * its id or pos_ref, locks the order's row in refund_locks (SELECT … FOR UPDATE: two tills
 * reserving against one order take turns), counts what is already refunded or reserved anywhere,
 * and records the reservation, or says why not. The function runs with its owner's rights
 * (SECURITY DEFINER), so a till reaches another till's order only through it, by an exact id or
 * pos_ref, and alters none of that till's rows; tills have no other right on the new tables than
 * reading their own reservations. A reservation is settled by the refund's own rows, which the
 * refunding till ships like any refund: failed releases it, refunded makes it done, anything else
 * (an outcome not known yet) keeps it held.
 */
static const char migration_2[] =
	"CREATE TABLE f2fpay.refund_locks ("
	" order_install_id text NOT NULL,"
	" order_id text NOT NULL,"
	" first_reserved_at timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (order_install_id, order_id));"
	"CREATE TABLE f2fpay.refund_reservations ("
	" refund_id text PRIMARY KEY CHECK (length(refund_id) BETWEEN 1 AND 64),"
	" install_id text NOT NULL REFERENCES f2fpay.tills,"
	" order_install_id text NOT NULL REFERENCES f2fpay.tills (install_id),"
	" order_id text NOT NULL,"
	" amount_fen bigint NOT NULL CHECK (amount_fen > 0),"
	" db_role name NOT NULL,"
	" reserved_at timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX refund_reservations_order ON f2fpay.refund_reservations"
	" (order_install_id, order_id);"
	"CREATE VIEW f2fpay.refund_reservation_states WITH (security_invoker = true) AS"
	" SELECT v.*, coalesce(f.state, '') AS refund_state,"
	" CASE f.state WHEN 'refunded' THEN 'done' WHEN 'failed' THEN 'released' ELSE 'held' END"
	" AS state"
	" FROM f2fpay.refund_reservations v LEFT JOIN f2fpay.refunds f"
	" ON f.install_id = v.install_id AND f.refund_id = v.refund_id;"
	"ALTER TABLE f2fpay.refund_locks ENABLE ROW LEVEL SECURITY;"
	"ALTER TABLE f2fpay.refund_reservations ENABLE ROW LEVEL SECURITY;"
	"CREATE POLICY till_own ON f2fpay.refund_reservations FOR SELECT TO " CENTRAL_ROLE_TILL
	" USING (db_role = current_user);"
	"CREATE POLICY office_read ON f2fpay.refund_reservations FOR SELECT TO " CENTRAL_ROLE_OFFICE
	" USING (true);"
	"CREATE POLICY office_read ON f2fpay.refund_locks FOR SELECT TO " CENTRAL_ROLE_OFFICE
	" USING (true);"
	/* The latest snapshot of each order with that id or pos_ref: read through the indexes on
	 * order_id and pos_ref, not the whole store's orders as the view would. */
	"CREATE FUNCTION f2fpay.refund_find(p_order_id text, p_pos_ref text)"
	" RETURNS SETOF f2fpay.order_rows LANGUAGE sql VOLATILE"
	" SET search_path = pg_catalog, pg_temp AS $f$"
	" SELECT DISTINCT ON (x.install_id, x.order_id) x.* FROM f2fpay.order_rows x"
	" WHERE x.order_id = p_order_id OR (x.pos_ref <> '' AND x.pos_ref = p_pos_ref)"
	" ORDER BY x.install_id, x.order_id, x.seq DESC $f$;"
	/* What an order has refunded or reserved: held or done reservations (not released by a
	 * failed refund), and the refunds tills shipped that no reservation stands for (the owning
	 * till's own). Only the order's rows are read. Called after the lock. */
	"CREATE FUNCTION f2fpay.refund_committed(p_install_id text, p_order_id text)"
	" RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $f$"
	" WITH latest AS (SELECT DISTINCT ON (f.install_id, f.refund_id) f.install_id,"
	"  f.refund_id, f.state, f.amount_fen FROM f2fpay.refund_rows f"
	"  WHERE f.order_id = p_order_id ORDER BY f.install_id, f.refund_id, f.seq DESC)"
	" SELECT coalesce(sum(x.amount_fen), 0)::bigint FROM ("
	"  SELECT v.amount_fen FROM f2fpay.refund_reservations v LEFT JOIN latest l"
	"  ON l.install_id = v.install_id AND l.refund_id = v.refund_id"
	"  WHERE v.order_install_id = p_install_id AND v.order_id = p_order_id"
	"  AND coalesce(l.state, '') <> 'failed'"
	"  UNION ALL"
	"  SELECT l.amount_fen FROM latest l WHERE l.state <> 'failed'"
	"  AND NOT EXISTS (SELECT FROM f2fpay.refund_reservations v"
	"  WHERE v.refund_id = l.refund_id)) x $f$;"
	"CREATE FUNCTION f2fpay.refund_reserve(p_install_id text, p_refund_id text,"
	" p_order_id text, p_pos_ref text, p_amount_fen bigint)"
	" RETURNS TABLE (r_outcome text, r_order_install_id text, r_order_id text,"
	" r_terminal_id text, r_kind text, r_state text, r_amount_fen bigint,"
	" r_committed_fen bigint, r_subject text, r_pos_ref text, r_trade_no text,"
	" r_created_us bigint)"
	" LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
	" AS $f$"
	" DECLARE o record; n integer; prior record;"
	" BEGIN"
	/* Every statement below must see what committed before it: above all the sum after the
	 * lock. */
	"  IF current_setting('transaction_isolation') <> 'read committed' THEN"
	"   RAISE EXCEPTION 'f2fpay.refund_reserve needs READ COMMITTED';"
	"  END IF;"
	"  IF NOT EXISTS (SELECT FROM f2fpay.tills t WHERE t.install_id = p_install_id"
	"   AND t.db_role = session_user) THEN"
	"   RAISE EXCEPTION 'install id % is not registered by role %', p_install_id,"
	"    session_user USING ERRCODE = 'insufficient_privilege';"
	"  END IF;"
	"  IF p_amount_fen IS NULL OR p_amount_fen <= 0 OR p_refund_id IS NULL"
	"   OR (p_order_id IS NULL) = (p_pos_ref IS NULL) THEN"
	"   RAISE EXCEPTION 'a refund id, a positive amount and an order id or a pos_ref'"
	"    USING ERRCODE = 'invalid_parameter_value';"
	"  END IF;"
	"  SELECT count(*) INTO n FROM f2fpay.refund_find(p_order_id, p_pos_ref);"
	"  IF n <> 1 THEN"
	"   r_outcome := CASE n WHEN 0 THEN 'not_found' ELSE 'ambiguous' END;"
	"   FOR o IN SELECT x.install_id, x.order_id, x.terminal_id"
	"    FROM f2fpay.refund_find(p_order_id, p_pos_ref) x ORDER BY x.created_at LOOP"
	"    r_order_install_id := o.install_id; r_order_id := o.order_id;"
	"    r_terminal_id := o.terminal_id; RETURN NEXT;"
	"   END LOOP;"
	"   IF n = 0 THEN RETURN NEXT; END IF;"
	"   RETURN;"
	"  END IF;"
	"  SELECT * INTO o FROM f2fpay.refund_find(p_order_id, p_pos_ref);"
	"  INSERT INTO f2fpay.refund_locks (order_install_id, order_id)"
	"   VALUES (o.install_id, o.order_id) ON CONFLICT DO NOTHING;"
	"  PERFORM FROM f2fpay.refund_locks l WHERE l.order_install_id = o.install_id"
	"   AND l.order_id = o.order_id FOR UPDATE;"
	"  r_order_install_id := o.install_id; r_order_id := o.order_id;"
	"  r_terminal_id := o.terminal_id; r_kind := o.kind; r_state := o.state;"
	"  r_amount_fen := o.amount_fen; r_subject := o.subject; r_pos_ref := o.pos_ref;"
	"  r_trade_no := o.trade_no;"
	"  r_created_us := (extract(epoch FROM o.created_at) * 1000000)::bigint;"
	"  r_committed_fen := f2fpay.refund_committed(o.install_id, o.order_id);"
	/* The same refund id again (the till reserved it but could not journal the refund, and
	 * its next refund of the order got that number): the new amount replaces the old, as
	 * long as no refund row stands for it yet. */
	"  SELECT * INTO prior FROM f2fpay.refund_reservations v WHERE v.refund_id = p_refund_id;"
	"  IF FOUND THEN"
	"   IF prior.install_id <> p_install_id OR prior.order_install_id <> o.install_id"
	"    OR prior.order_id <> o.order_id OR EXISTS (SELECT FROM f2fpay.refund_rows f"
	"    WHERE f.install_id = prior.install_id AND f.refund_id = p_refund_id) THEN"
	"    RAISE EXCEPTION 'refund id % is reserved already', p_refund_id"
	"     USING ERRCODE = 'unique_violation';"
	"   END IF;"
	"   r_committed_fen := r_committed_fen - prior.amount_fen;"
	"  END IF;"
	"  IF o.state <> 'paid' THEN"
	"   r_outcome := 'not_paid';"
	"  ELSIF p_amount_fen > o.amount_fen - r_committed_fen THEN"
	"   r_outcome := 'exceeds';"
	"  ELSE"
	"   INSERT INTO f2fpay.refund_reservations (refund_id, install_id, order_install_id,"
	"    order_id, amount_fen, db_role)"
	"    VALUES (p_refund_id, p_install_id, o.install_id, o.order_id, p_amount_fen,"
	"    session_user) ON CONFLICT (refund_id) DO UPDATE"
	"    SET amount_fen = excluded.amount_fen, reserved_at = now();"
	"   r_outcome := 'reserved';"
	"  END IF;"
	"  RETURN NEXT;"
	" END $f$;"
	"REVOKE ALL ON FUNCTION f2fpay.refund_find(text, text) FROM PUBLIC;"
	"REVOKE ALL ON FUNCTION f2fpay.refund_committed(text, text) FROM PUBLIC;"
	"REVOKE ALL ON FUNCTION f2fpay.refund_reserve(text, text, text, text, bigint) FROM PUBLIC;"
	"GRANT EXECUTE ON FUNCTION f2fpay.refund_reserve(text, text, text, text, bigint) "
	"TO " CENTRAL_ROLE_TILL ";"
	"GRANT SELECT ON f2fpay.refund_reservations, f2fpay.refund_reservation_states "
	"TO " CENTRAL_ROLE_TILL ";"
	"GRANT SELECT ON f2fpay.refund_locks, f2fpay.refund_reservations,"
	" f2fpay.refund_reservation_states TO " CENTRAL_ROLE_OFFICE ";";

static const struct central_migration migrations[] = {
	{1, "tills, events, order and refund snapshots, roles and row-level security", migration_1},
	{2, "refund reservations: refunds at any till", migration_2},
};

const struct central_migration *
central_migrations(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(migrations);
	return migrations;
}
