/* SPDX-License-Identifier: MIT */
/* The comparison of one day's Alipay bill with the journal, as a JSON report. */
#pragma once

#include <json-c/json.h>

#include "common/time-util.h"
#include "daemon/engine/journal.h"
#include "payment/bill/bill-match.h"
#include "payment/bill/bill.h"

/*
 * Row statuses of the report (the "status" of each row):
 *   matched          in the bill and paid/refunded in the journal, same amount
 *   bill_only        in the bill, ours by prefix, but the journal does not know it as paid
 *   journal_only     paid or refunded in the journal that day, missing from the bill
 *   amount_mismatch  in both, with different amounts
 * Rows of other terminals (out_trade_no without "<terminal>_") go to "other_terminals".
 */
#define RECONCILE_MATCHED         BILL_MATCH_MATCHED
#define RECONCILE_BILL_ONLY       BILL_MATCH_BILL_ONLY
#define RECONCILE_JOURNAL_ONLY    BILL_MATCH_JOURNAL_ONLY
#define RECONCILE_AMOUNT_MISMATCH BILL_MATCH_AMOUNT_MISMATCH
#define RECONCILE_OTHER_TERMINAL  BILL_MATCH_OTHER_TERMINAL

/*
 * Compares `bill` (borrowed; an empty bill for isp.bill_not_exist) with the journal (borrowed,
 * read only) for the UTF-8 day `date` ("yyyy-MM-dd", UTC+8). Journal side: orders whose state
 * is PAID or REFUNDED_BY_CANCEL since a time within that day, and refunds DONE within it.
 * Bill rows are looked up by out_trade_no (trades, and refunds without out_request_no: a
 * cancel's refund) or out_request_no (refunds). `terminal` is the out_trade_no prefix that
 * makes a row "ours". `now_usec` stamps the report. Returns 0 and a new JSON object in *ret
 * (json_object_put()), *ret_discrepancies the number of rows that are not matched; -EINVAL for
 * a bad date, or a journal error.
 */
int reconcile_report_build(struct journal *j, const struct bill *bill, const char *date,
			   const char *terminal, usec_t now_usec, struct json_object **ret,
			   unsigned *ret_discrepancies);
