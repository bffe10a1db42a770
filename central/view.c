/* SPDX-License-Identifier: MIT */
/* The back office's view of the store (doc/central.md "Back office"). */
#include "central/view.h"

#include <errno.h>

#include "central/pg.h"
#include "common/log.h"
#include "common/macro.h"

/* Times as the daemon shows them: UTC+8, "yyyy-MM-dd HH:mm:ss". */
#define BEIJING(x) \
	"to_char((" x ") AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM-DD HH24:MI:SS')"
#define YUAN(x) "to_char((" x ")::numeric / 100, 'FM999999999990.00')"

/* SQL reads best one clause a line. */
/* clang-format off */
static const char status_sql[] =
	"SELECT t.terminal_id AS terminal, t.install_id, t.store_id AS store, t.db_role AS role,"
	" " BEIJING("t.last_seen") " AS last_seen,"
	" extract(epoch FROM now() - t.last_seen)::bigint AS seen_seconds_ago,"
	" greatest(t.journal_seq - t.shipped_seq, 0) AS backlog,"
	" CASE WHEN t.oldest_unshipped IS NULL THEN 0"
	" ELSE extract(epoch FROM now() - t.oldest_unshipped)::bigint END AS lag_seconds,"
	" (SELECT count(*) FROM f2fpay.orders o WHERE o.install_id = t.install_id"
	"  AND o.state = 'attention') AS attention,"
	" (SELECT string_agg(o.order_id, ' ' ORDER BY o.order_id) FROM f2fpay.orders o"
	"  WHERE o.install_id = t.install_id AND o.state = 'attention') AS attention_orders"
	" FROM f2fpay.tills t ORDER BY t.terminal_id, t.install_id";

/* refunded: the order's till's refunds, and those other tills made of it (doc/central.md
 * "Refunds at any till"), each refund's latest snapshot. */
static const char orders_sql[] =
	"SELECT terminal_id AS terminal, order_id AS id, upper(state) AS state,"
	" " YUAN("amount_fen") " AS amount,"
	" " YUAN("refunded_fen + (SELECT coalesce(sum(x.amount_fen), 0) FROM"
		 " (SELECT DISTINCT ON (r.install_id, r.refund_id) r.amount_fen, r.state"
		 " FROM f2fpay.refund_rows r WHERE r.order_id = o.order_id"
		 " AND r.install_id <> o.install_id"
		 " ORDER BY r.install_id, r.refund_id, r.seq DESC) x"
		 " WHERE x.state = 'refunded')") " AS refunded,"
	" nullif(pos_ref, '') AS pos_ref, nullif(trade_no, '') AS trade_no,"
	" " BEIJING("created_at") " AS created_at, install_id"
	" FROM f2fpay.orders o"
	" WHERE ($1 = '' OR (created_at AT TIME ZONE 'UTC' + interval '8 hours')::date"
	" = nullif($1, '')::date)"
	" AND ($2 = '' OR state = lower($2)) AND ($3 = '' OR terminal_id = $3)"
	" ORDER BY created_at, order_id";

/* doc/central.md "Refunds at any till": who reserved what against whose order, and its state. */
static const char reservations_sql[] =
	"SELECT t.terminal_id AS terminal, v.refund_id, v.order_id,"
	" o.terminal_id AS order_terminal, " YUAN("v.amount_fen") " AS amount,"
	" upper(v.state) AS state, nullif(upper(v.refund_state), '') AS refund_state,"
	" " BEIJING("v.reserved_at") " AS reserved_at"
	" FROM f2fpay.refund_reservation_states v"
	" JOIN f2fpay.tills t ON t.install_id = v.install_id"
	" JOIN f2fpay.tills o ON o.install_id = v.order_install_id"
	" WHERE ($1 = '' OR v.state = lower($1)) AND ($2 = '' OR t.terminal_id = $2)"
	" ORDER BY v.reserved_at, v.refund_id";
/* clang-format on */

static int
print_result(PGconn *c, PGresult *res, const char *what, enum central_format fmt, FILE *f)
{
	char err[512];

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		return log_error_errno(EIO, "%s failed: %s", what,
				       central_error_line(c, err, sizeof(err)));
	return central_table_print(res, fmt, f);
}

int
central_view_status(PGconn *c, enum central_format fmt, FILE *f)
{
	_cleanup_(PQclearp) PGresult *res = PQexec(c, status_sql);

	return print_result(c, res, "Reading the tills", fmt, f);
}

int
central_view_orders(PGconn *c, const struct central_order_filter *flt, enum central_format fmt,
		    FILE *f)
{
	const char *params[3] = {strempty(flt->date), strempty(flt->state),
				 strempty(flt->terminal)};
	_cleanup_(PQclearp) PGresult *res = NULL;

	if (!isempty(flt->date) &&
	    !(strlen(flt->date) == 10 && flt->date[4] == '-' && flt->date[7] == '-'))
		return log_error_errno(EINVAL, "A date is yyyy-MM-dd, not %s", flt->date);
	res = PQexecParams(c, orders_sql, 3, NULL, params, NULL, NULL, 0);
	return print_result(c, res, "Reading the orders", fmt, f);
}

int
central_view_reservations(PGconn *c, const struct central_order_filter *flt,
			  enum central_format fmt, FILE *f)
{
	const char *params[2] = {strempty(flt->state), strempty(flt->terminal)};
	_cleanup_(PQclearp) PGresult *res = NULL;

	if (!isempty(flt->date))
		return log_error_errno(EINVAL, "reservations takes no --date");
	res = PQexecParams(c, reservations_sql, 2, NULL, params, NULL, NULL, 0);
	return print_result(c, res, "Reading the reservations", fmt, f);
}

/*
 * A reservation nothing will settle: no refund row of it was shipped, and its till has since
 * reported everything shipped, long enough after the reservation that the refund's creation,
 * journaled right after it, would be among it (doc/central.md "Refunds at any till").
 */
/* clang-format off */
static const char release_sql[] =
	"WITH v AS (SELECT r.refund_id,"
	" EXISTS (SELECT FROM f2fpay.refund_rows f WHERE f.install_id = r.install_id"
	"  AND f.refund_id = r.refund_id) AS has_rows,"
	" t.journal_seq = t.shipped_seq AND t.last_seen > r.reserved_at + interval '10 minutes'"
	"  AS caught_up"
	" FROM f2fpay.refund_reservations r JOIN f2fpay.tills t ON t.install_id = r.install_id"
	" WHERE r.refund_id = $1),"
	" d AS (DELETE FROM f2fpay.refund_reservations r USING v"
	" WHERE r.refund_id = v.refund_id AND NOT v.has_rows AND v.caught_up RETURNING 1)"
	" SELECT v.has_rows, v.caught_up, (SELECT count(*) FROM d) FROM v";
/* clang-format on */

int
central_reservation_release(PGconn *c, const char *refund_id)
{
	const char *params[1] = {refund_id};
	_cleanup_(PQclearp) PGresult *res = NULL;
	char err[512];

	res = PQexecParams(c, release_sql, 1, NULL, params, NULL, NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		return log_error_errno(EIO, "Releasing %s failed: %s", refund_id,
				       central_error_line(c, err, sizeof(err)));
	if (PQntuples(res) != 1)
		return log_error_errno(ENOENT, "No reservation %s", refund_id);
	if (STR_EQ(PQgetvalue(res, 0, 0), "t"))
		return log_error_errno(EBUSY,
				       "Reservation %s has a refund: it is settled by the refund's "
				       "state, not released by hand",
				       refund_id);
	if (!STR_EQ(PQgetvalue(res, 0, 1), "t"))
		return log_error_errno(
			EBUSY,
			"The till of reservation %s has not reported everything "
			"shipped for 10 minutes after it: its refund may still come. "
			"Try again once the till has caught up",
			refund_id);
	log_info("Released reservation %s", refund_id);
	return 0;
}
