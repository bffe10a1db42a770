/* SPDX-License-Identifier: MIT */
/* One shipment of a till's journal to the central database (doc/central.md "Shipping"). */
#include "central/batch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A journal time (µs since the epoch) as a timestamptz, exactly. */
#define TS(x) "timestamptz 'epoch' + " x " * interval '1 microsecond'"

/* SQL reads best one clause a line. */
/* clang-format off */
const char central_register_sql[] =
	"WITH ins AS (INSERT INTO f2fpay.tills (install_id, terminal_id, store_id, app_id)"
	" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING shipped_seq),"
	" t AS (SELECT shipped_seq FROM ins UNION ALL"
	" SELECT shipped_seq FROM f2fpay.tills WHERE install_id = $1)"
	" SELECT t.shipped_seq, e.order_id, (extract(epoch FROM e.at) * 1000000)::bigint"
	" FROM t LEFT JOIN f2fpay.events e ON e.install_id = $1 AND e.seq = t.shipped_seq";

const char central_batch_sql[] =
	"WITH t AS (UPDATE f2fpay.tills SET last_seen = now(), journal_seq = $2::bigint,"
	" shipped_seq = greatest(shipped_seq, $3::bigint),"
	" oldest_unshipped = CASE WHEN $4::bigint IS NULL THEN NULL"
	" ELSE " TS("$4::bigint") " END"
	" WHERE install_id = $1 RETURNING shipped_seq),"
	" e AS (INSERT INTO f2fpay.events"
	" (install_id, seq, order_id, at, what, from_state, to_state, request)"
	" SELECT $1, u.seq, u.order_id, " TS("u.at") ","
	" u.what, u.from_state, u.to_state, u.request"
	" FROM unnest($5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::text[],"
	" $10::text[], $11::text[])"
	" AS u(seq, order_id, at, what, from_state, to_state, request)"
	" ON CONFLICT DO NOTHING RETURNING 1),"
	" o AS (INSERT INTO f2fpay.order_rows"
	" (install_id, order_id, seq, terminal_id, kind, state, amount_fen, refunded_fen,"
	" pending_refund_fen, subject, pos_ref, trade_no, created_at, state_since)"
	" SELECT $1, u.order_id, u.seq, u.terminal_id, u.kind, u.state, u.amount, u.refunded,"
	" u.pending, u.subject, u.pos_ref, u.trade_no,"
	" " TS("u.created") ", " TS("u.since")
	" FROM unnest($12::text[], $13::bigint[], $14::text[], $15::text[], $16::text[],"
	" $17::bigint[], $18::bigint[], $19::bigint[], $20::text[], $21::text[], $22::text[],"
	" $23::bigint[], $24::bigint[])"
	" AS u(order_id, seq, terminal_id, kind, state, amount, refunded, pending, subject,"
	" pos_ref, trade_no, created, since)"
	" ON CONFLICT DO NOTHING RETURNING 1),"
	" r AS (INSERT INTO f2fpay.refund_rows"
	" (install_id, refund_id, seq, order_id, state, amount_fen, reason, created_at,"
	" state_since)"
	" SELECT $1, u.refund_id, u.seq, u.order_id, u.state, u.amount, u.reason,"
	" " TS("u.created") ", " TS("u.since")
	" FROM unnest($25::text[], $26::bigint[], $27::text[], $28::text[], $29::bigint[],"
	" $30::text[], $31::bigint[], $32::bigint[])"
	" AS u(refund_id, seq, order_id, state, amount, reason, created, since)"
	" ON CONFLICT DO NOTHING RETURNING 1)"
	" SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM o), (SELECT count(*) FROM r),"
	" (SELECT shipped_seq FROM t)";
/* clang-format on */

void
central_batch_init(struct central_batch *b)
{
	for (size_t i = 0; i < _CENTRAL_COL_MAX; i++) {
		buf_free(&b->col[i]);
		b->col[i] = BUF_INIT(CENTRAL_BATCH_MAX + 1); /* + the closing brace */
	}
	b->n_events = b->n_orders = b->n_refunds = 0;
	b->last_seq = 0;
	b->closed = false;
}

void
central_batch_done(struct central_batch *b)
{
	for (size_t i = 0; i < _CENTRAL_COL_MAX; i++)
		buf_free(&b->col[i]);
}

/* The length of the valid UTF-8 sequence at s, 0 when it is not one. */
static size_t
utf8_valid_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static int
array_begin(struct buf *col)
{
	return buf_putc(col, col->len == 0 ? '{' : ',');
}

/* An element of an array literal: quoted; '"' and '\' escaped with a backslash. */
int
central_array_add_text(struct buf *col, const char *s)
{
	size_t start = col->len;
	int r;

	r = array_begin(col);
	if (r >= 0)
		r = buf_putc(col, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); r >= 0 && *p;) {
		size_t n = utf8_valid_len(p);
		if (n == 0) {
			r = buf_puts(col, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\')
			r = buf_putc(col, '\\');
		if (r >= 0)
			r = buf_append(col, p, n);
		p += n;
	}
	if (r >= 0)
		r = buf_putc(col, '"');
	if (r < 0)
		buf_truncate(col, start);
	return r;
}

static int
array_add_int(struct buf *col, int64_t v)
{
	size_t start = col->len;
	int r;

	r = array_begin(col);
	if (r >= 0)
		r = buf_printf(col, "%" PRId64, v);
	if (r < 0)
		buf_truncate(col, start);
	return r;
}

/* Adds a row to columns [first, first + n): all or none, leaving room for the closing brace. */
static int
row_commit(struct central_batch *b, size_t first, size_t n, const size_t *before, int r)
{
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (b->col[first + i].len > CENTRAL_BATCH_MAX)
			r = -ENOBUFS;
	if (r < 0)
		for (size_t i = 0; i < n; i++)
			buf_truncate(&b->col[first + i], before[i]);
	return r;
}

#define ROW_BEGIN(first, n)                            \
	size_t before[n];                              \
	for (size_t i_ = 0; i_ < (n); i_++)            \
		before[i_] = b->col[(first) + i_].len; \
	int r = b->closed ? -EBUSY : 0

int
central_batch_add_event(struct central_batch *b, int64_t seq, const char *order_id, usec_t at_usec,
			const char *what, const char *from_state, const char *to_state,
			const char *request)
{
	ROW_BEGIN(CENTRAL_COL_EV_SEQ, 7);

	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_EV_SEQ], seq);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_EV_ORDER], order_id);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_EV_AT], (int64_t)at_usec);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_EV_WHAT], what);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_EV_FROM], from_state);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_EV_TO], to_state);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_EV_REQUEST], request);
	r = row_commit(b, CENTRAL_COL_EV_SEQ, 7, before, r);
	if (r < 0)
		return r;
	b->n_events++;
	if (seq > b->last_seq)
		b->last_seq = seq;
	return 0;
}

int
central_batch_add_order(struct central_batch *b, int64_t seq, const char *order_id,
			const char *terminal_id, const char *kind, const char *state,
			int64_t amount_fen, int64_t refunded_fen, int64_t pending_refund_fen,
			const char *subject, const char *pos_ref, const char *trade_no,
			usec_t created_usec, usec_t state_since_usec)
{
	ROW_BEGIN(CENTRAL_COL_OR_ID, 13);

	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_ID], order_id);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_OR_SEQ], seq);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_TERMINAL], terminal_id);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_KIND], kind);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_STATE], state);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_OR_AMOUNT], amount_fen);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_OR_REFUNDED], refunded_fen);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_OR_PENDING], pending_refund_fen);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_SUBJECT], subject);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_POS_REF], pos_ref);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_OR_TRADE_NO], trade_no);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_OR_CREATED], (int64_t)created_usec);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_OR_SINCE], (int64_t)state_since_usec);
	r = row_commit(b, CENTRAL_COL_OR_ID, 13, before, r);
	if (r < 0)
		return r;
	b->n_orders++;
	return 0;
}

int
central_batch_add_refund(struct central_batch *b, int64_t seq, const char *refund_id,
			 const char *order_id, const char *state, int64_t amount_fen,
			 const char *reason, usec_t created_usec, usec_t state_since_usec)
{
	ROW_BEGIN(CENTRAL_COL_RF_ID, 8);

	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_RF_ID], refund_id);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_RF_SEQ], seq);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_RF_ORDER], order_id);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_RF_STATE], state);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_RF_AMOUNT], amount_fen);
	if (r >= 0)
		r = central_array_add_text(&b->col[CENTRAL_COL_RF_REASON], reason);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_RF_CREATED], (int64_t)created_usec);
	if (r >= 0)
		r = array_add_int(&b->col[CENTRAL_COL_RF_SINCE], (int64_t)state_since_usec);
	r = row_commit(b, CENTRAL_COL_RF_ID, 8, before, r);
	if (r < 0)
		return r;
	b->n_refunds++;
	return 0;
}

void
central_batch_params(struct central_batch *b, const char *install_id, int64_t journal_seq,
		     usec_t oldest_unshipped_usec, const char *values[])
{
	snprintf(b->scalars[1], sizeof(b->scalars[1]), "%" PRId64, journal_seq);
	snprintf(b->scalars[2], sizeof(b->scalars[2]), "%" PRId64, b->last_seq);
	snprintf(b->scalars[3], sizeof(b->scalars[3]), "%" PRIu64, (uint64_t)oldest_unshipped_usec);
	values[0] = install_id;
	values[1] = b->scalars[1];
	values[2] = b->scalars[2];
	values[3] = oldest_unshipped_usec ? b->scalars[3] : NULL;
	for (size_t i = 0; i < _CENTRAL_COL_MAX; i++) {
		/* Room for the brace was kept by row_commit(): this cannot fail. */
		if (!b->closed && b->col[i].len)
			(void)buf_putc(&b->col[i], '}');
		values[CENTRAL_BATCH_SCALARS + i] = b->col[i].len ? b->col[i].data : "{}";
	}
	b->closed = true;
}
