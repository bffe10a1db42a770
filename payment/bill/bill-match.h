/* SPDX-License-Identifier: MIT */
/* Matching a day's bill against what a journal (or a store's journals) expects, as JSON rows. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "payment/bill/bill.h"
#include "payment/order/order-fsm.h"

/*
 * doc/protocol.md §5.8. Row statuses (each row's "status"):
 *   matched          in the bill and paid/refunded on our side, same amount
 *   bill_only        in the bill, ours, but our side does not know it as paid or refunded
 *   journal_only     paid or refunded on our side that day, missing from the bill
 *   amount_mismatch  in both, with different amounts
 *   not_caught_up    (store-wide only) in the bill, of a till whose journal has not reached the
 *                    central database yet: not a missing trade
 * Rows that are not ours go to "other_terminals" with status other_terminal.
 */
#define BILL_MATCH_MATCHED         "matched"
#define BILL_MATCH_BILL_ONLY       "bill_only"
#define BILL_MATCH_JOURNAL_ONLY    "journal_only"
#define BILL_MATCH_AMOUNT_MISMATCH "amount_mismatch"
#define BILL_MATCH_NOT_CAUGHT_UP   "not_caught_up"
#define BILL_MATCH_OTHER_TERMINAL  "other_terminal"

#define BILL_MATCH_NOTE_MAX 160

/* What our side says should be in the bill: a payment, a refund, or a cancel's refund. */
struct bill_expect {
	enum bill_row_type type;
	char order_id[ORDER_ID_MAX + 1];
	char request_no[REFUND_ID_MAX + 1]; /* "" for payments and cancel refunds */
	int64_t amount_fen;                 /* positive */
	char state[32];                     /* the API's spelling: PAID, DONE, … */
	bool used;
};

struct bill_expects {
	struct bill_expect *v;
	size_t n, cap;
};

/* Appends a copy of e: 0 or -ENOMEM. */
int bill_expects_add(struct bill_expects *x, const struct bill_expect *e);
void bill_expects_done(struct bill_expects *x);

/* What our side knows of a bill row of ours that no expectation matched. */
struct bill_unexpected {
	char state[32];
	char note[BILL_MATCH_NOTE_MAX];
	int64_t amount_fen; /* what our side counts for it (positive), or -1 when nothing */
	const char
		*status; /* with amount_fen -1: NULL for bill_only, or BILL_MATCH_NOT_CAUGHT_UP */
};

struct bill_match_ops {
	/*
	 * Whether a row of the bill is ours (else it goes to other_terminals). A refund made at
	 * another till than the order's is that till's (doc/central.md "Refunds at any till"):
	 * judge refunds with an out_request_no by it.
	 */
	bool (*ours)(const struct bill_row *br, void *userdata);
	/* Fills *ret (zeroed, amount_fen -1) for a row of ours nobody expected: 0 or -errno. */
	int (*classify)(const struct bill_row *br, struct bill_unexpected *ret, void *userdata);
	/* Optional: adds keys after the standard ones to every row (e.g. its terminal). */
	int (*decorate)(struct json_object *row, const char *out_trade_no, void *userdata);
};

struct bill_match_summary {
	unsigned matched, bill_only, journal_only, amount_mismatch, not_caught_up, other_terminals;
};

/*
 * Matches every bill row (borrowed) against x: rows of ours go to `rows`, the others to
 * `others` (both borrowed arrays), and the expectations nobody used become journal_only rows.
 * Every row has the same keys in the same order (f2fpayctl's CSV relies on it); refund amounts
 * are negative on both sides, as in the bill. Counts are added to *sum. 0, or -errno.
 */
int bill_match(const struct bill *bill, struct bill_expects *x, const struct bill_match_ops *ops,
	       void *userdata, struct json_object *rows, struct json_object *others,
	       struct bill_match_summary *sum);

/* The rows that are not matched (and not other terminals'). */
unsigned bill_match_discrepancies(const struct bill_match_summary *s);

/* Adds "bill": {account, trades, trades_total, refunds, refunds_total} to report. */
int bill_match_add_bill(struct json_object *report, const struct bill *bill);

/* Adds "summary": {matched, bill_only, journal_only, amount_mismatch[, not_caught_up],
 * other_terminals} to o; not_caught_up only when with_not_caught_up. */
int bill_match_add_summary(struct json_object *o, const struct bill_match_summary *s,
			   bool with_not_caught_up);

/* json helpers of the report: a string ("" for NULL) and an integer. 0 or -ENOMEM. */
int bill_match_add_str(struct json_object *o, const char *key, const char *value);
int bill_match_add_int(struct json_object *o, const char *key, int64_t value);
