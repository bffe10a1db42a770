/* SPDX-License-Identifier: MIT */
/* Store-wide reconciliation: one app_id's bill against every till's orders in the database. */
#pragma once

#include <json-c/json.h>
#include <libpq-fe.h>

#include "common/time-util.h"
#include "payment/bill/bill.h"

/*
 * doc/central.md "Store-wide reconciliation". The expectations are the orders PAID or
 * REFUNDED_BY_CANCEL and the refunds DONE since a time within `date` (UTC+8), of every till that
 * registered `app_id`; the bill's rows are matched by payment/bill/bill-match.h, the same rules
 * and the same row format as a till's own report. A bill row of ours that the database does not
 * know is not_caught_up when its till still had a backlog when it last reported, or has not
 * reported since the bill's last trade (the till is named: it is not a missing trade), else
 * bill_only. Such tills are also listed under tills_behind.
 *
 * The report: date, state ("ok", "incomplete": only tills behind, "discrepancies"), scope
 * "store", app_id, generated_at, bill, summary (with not_caught_up), terminals (each terminal's
 * own summary), tills_behind, rows (each with its "terminal" last) and other_terminals.
 * Returns 0 and a new object in *ret, *ret_discrepancies the bill_only, journal_only and
 * amount_mismatch rows; -EINVAL for a bad date, -EIO on a server error (logged), -ENOMEM.
 */
int central_reconcile_build(PGconn *c, const struct bill *bill, const char *date,
			    const char *app_id, usec_t now_usec, struct json_object **ret,
			    unsigned *ret_discrepancies);
