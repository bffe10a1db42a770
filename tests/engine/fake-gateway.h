/* SPDX-License-Identifier: MIT */
/* An in-memory gateway for engine tests: the sandbox's scenario table at the result level. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "daemon/engine/gateway.h"

/*
 * Answers arrive from the event loop after `delay_usec`. The buyer's behaviour follows the last
 * digit of the auth code as in doc/design.md §11.1 (1 confirms after confirm_usec). The
 * ledger counts every call per trade so tests can assert "exactly one pay".
 */

#define FAKE_TRADES_MAX  64
#define FAKE_REFUNDS_MAX 8
#define FAKE_LOG_MAX     256

struct fake_trade {
	char out_trade_no[ORDER_ID_MAX + 1];
	char digit;
	bool qr;
	bool scanned;
	enum order_trade_status status;
	usec_t confirm_at_usec;
	int64_t amount_fen;
	unsigned pays, queries, cancels, precreates, refund_calls, refund_queries;
	char refund_ids[FAKE_REFUNDS_MAX][REFUND_ID_MAX + 1];
	int64_t refund_amounts[FAKE_REFUNDS_MAX];
	unsigned n_refunds;
	int64_t refunded_fen;
};

struct fake_gateway {
	sd_event *event;
	usec_t delay_usec;
	usec_t confirm_usec;
	unsigned unknown_refund_answers; /* the next N refunds are applied but answered UNKNOWN */
	unsigned
		throttle_answers; /* the next N queries, cancels, refunds answer 40005, untouched */
	int64_t query_amount_fen; /* > 0: queries name a trade of this total_amount */
	const char *query_buyer;  /* non-NULL: queries name this buyer_user_id */
	/* Every call as it was submitted, with its CLOCK_MONOTONIC time. */
	enum gateway_call_kind log_kind[FAKE_LOG_MAX];
	usec_t log_usec[FAKE_LOG_MAX];
	unsigned n_log;
	unsigned throttled; /* throttled answers given */
	struct fake_trade trades[FAKE_TRADES_MAX];
	unsigned n_trades;
	unsigned in_flight;
	struct gateway gw;
};

void fake_gateway_init(struct fake_gateway *f, sd_event *event);
struct fake_trade *fake_gateway_trade(struct fake_gateway *f, const char *out_trade_no);
/* The buyer scans a QR (pay: true pays at once). Returns -ENOENT if no precreate was made. */
int fake_gateway_scan(struct fake_gateway *f, const char *out_trade_no, bool pay);
