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

static const struct central_migration migrations[] = {
	{1, "tills, events, order and refund snapshots, roles and row-level security", migration_1},
};

const struct central_migration *
central_migrations(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(migrations);
	return migrations;
}
