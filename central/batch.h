/* SPDX-License-Identifier: MIT */
/* One shipment of a till's journal to the central database: its statement and its parameters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/time-util.h"

/*
 * doc/central.md "Shipping". A batch is one statement (so one transaction): it appends events,
 * order snapshots and refund snapshots and moves the till's progress, every row keyed by (install
 * id, journal sequence) and inserted with ON CONFLICT DO NOTHING, so a batch sent twice changes
 * nothing. Columns travel as PostgreSQL array literals in statement parameters: no journal text
 * is ever spliced into SQL.
 */

/* $1 install id, $2 terminal, $3 store, $4 app_id → shipped_seq, and the central's event at it. */
extern const char central_register_sql[];
#define CENTRAL_REGISTER_PARAMS 4

/* Result columns: events, orders, refunds inserted (new rows only), the till's shipped_seq. */
extern const char central_batch_sql[];

enum {
	CENTRAL_COL_EV_SEQ,
	CENTRAL_COL_EV_ORDER,
	CENTRAL_COL_EV_AT,
	CENTRAL_COL_EV_WHAT,
	CENTRAL_COL_EV_FROM,
	CENTRAL_COL_EV_TO,
	CENTRAL_COL_EV_REQUEST,
	CENTRAL_COL_OR_ID,
	CENTRAL_COL_OR_SEQ,
	CENTRAL_COL_OR_TERMINAL,
	CENTRAL_COL_OR_KIND,
	CENTRAL_COL_OR_STATE,
	CENTRAL_COL_OR_AMOUNT,
	CENTRAL_COL_OR_REFUNDED,
	CENTRAL_COL_OR_PENDING,
	CENTRAL_COL_OR_SUBJECT,
	CENTRAL_COL_OR_POS_REF,
	CENTRAL_COL_OR_TRADE_NO,
	CENTRAL_COL_OR_CREATED,
	CENTRAL_COL_OR_SINCE,
	CENTRAL_COL_RF_ID,
	CENTRAL_COL_RF_SEQ,
	CENTRAL_COL_RF_ORDER,
	CENTRAL_COL_RF_STATE,
	CENTRAL_COL_RF_AMOUNT,
	CENTRAL_COL_RF_REASON,
	CENTRAL_COL_RF_CREATED,
	CENTRAL_COL_RF_SINCE,
	_CENTRAL_COL_MAX,
};

#define CENTRAL_BATCH_SCALARS 4 /* install id, journal_seq, shipped_seq, oldest unshipped */
#define CENTRAL_BATCH_PARAMS  (CENTRAL_BATCH_SCALARS + _CENTRAL_COL_MAX)
#define CENTRAL_BATCH_MAX     (8u << 20) /* bytes per column: a batch never grows past this */

struct central_batch {
	struct buf col[_CENTRAL_COL_MAX];
	unsigned n_events, n_orders, n_refunds;
	int64_t last_seq; /* the highest event sequence added */
	bool closed;      /* central_batch_params() ran: no more rows (-EBUSY) */
	char scalars[CENTRAL_BATCH_SCALARS][32];
};

/* Starts an empty batch (or empties one; zero it before the first use); central_batch_done()
 * frees it. */
void central_batch_init(struct central_batch *b);
void central_batch_done(struct central_batch *b);

/* Strings are copied (invalid UTF-8 replaced by U+FFFD); -ENOBUFS past CENTRAL_BATCH_MAX. */
int central_batch_add_event(struct central_batch *b, int64_t seq, const char *order_id,
			    usec_t at_usec, const char *what, const char *from_state,
			    const char *to_state, const char *request);
int central_batch_add_order(struct central_batch *b, int64_t seq, const char *order_id,
			    const char *terminal_id, const char *kind, const char *state,
			    int64_t amount_fen, int64_t refunded_fen, int64_t pending_refund_fen,
			    const char *subject, const char *pos_ref, const char *trade_no,
			    usec_t created_usec, usec_t state_since_usec);
int central_batch_add_refund(struct central_batch *b, int64_t seq, const char *refund_id,
			     const char *order_id, const char *state, int64_t amount_fen,
			     const char *reason, usec_t created_usec, usec_t state_since_usec);

/*
 * Fills values[CENTRAL_BATCH_PARAMS] for central_batch_sql (borrowed from b and install_id,
 * valid until b changes). oldest_unshipped_usec 0 means nothing is left after this batch.
 */
void central_batch_params(struct central_batch *b, const char *install_id, int64_t journal_seq,
			  usec_t oldest_unshipped_usec, const char *values[]);

/* Appends s to an array literal as one quoted element (exposed for the tests). */
int central_array_add_text(struct buf *col, const char *s);
