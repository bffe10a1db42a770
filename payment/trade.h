/* SPDX-License-Identifier: MIT */
/* Trade status and the small enumerations shared by typed calls and notifications. */
#pragma once

#include <stdint.h>

/* doc/protocol.md §4: trade_status values. */
enum alipay_trade_status {
	ALIPAY_TRADE_STATUS_NONE,           /* absent from the message */
	ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY, /* created, unpaid */
	ALIPAY_TRADE_STATUS_CLOSED,         /* TRADE_CLOSED: closed unpaid, or fully refunded */
	ALIPAY_TRADE_STATUS_SUCCESS,        /* TRADE_SUCCESS: paid, refundable */
	ALIPAY_TRADE_STATUS_FINISHED,       /* TRADE_FINISHED: paid, no longer refundable */
	ALIPAY_TRADE_STATUS_OTHER,          /* present but unknown: never "paid" */
	_ALIPAY_TRADE_STATUS_MAX,
};

/* The wire name ("TRADE_SUCCESS" …), "" for NONE, "?" for OTHER. */
const char *alipay_trade_status_to_string(enum alipay_trade_status s);
/* NULL → NONE; unknown text → OTHER. Never fails. */
enum alipay_trade_status alipay_trade_status_from_string(const char *s);
/* 1 for TRADE_SUCCESS and TRADE_FINISHED only (doc/protocol.md §4). */
int alipay_trade_status_is_paid(enum alipay_trade_status s);

/* An amount field that was absent. Real amounts are >= 0 fen. */
#define ALIPAY_AMOUNT_NONE INT64_C(-1)
