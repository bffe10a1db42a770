/* SPDX-License-Identifier: MIT */
/* Daily reconciliation (对账): fetch the bill, compare it with the journal, store the report. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include <json-c/json.h>

#include "common/time-util.h"
#include "daemon/engine/journal.h"
#include "payment/http/http.h"
#include "payment/request.h"

/*
 * doc/protocol.md §5.8. A run for a date: alipay.data.dataservice.bill.downloadurl.query, then at
 * once a GET of the zip (the URL lives 30 s; an expired one is asked for again), size-capped; the
 * zip is parsed (payment/bill), compared with the journal (reconcile-report.h), and stored under
 * <state_dir>/reconciliation/: <date>.csv.zip and <date>.json, both written to temporary
 * files and fsync'd before either is renamed (the report last), so a report on disk is always
 * complete and a failed run leaves nothing behind. isp.bill_not_exist means "not published yet"
 * before 10:00 UTC+8 the next day; later it is an empty bill for a day the journal has no money on,
 * and while the journal has money on that day it still means "not published yet" until three days
 * after the day.
 *
 * The scheduler runs the previous day at the configured time (UTC+8, default 10:00), retries a
 * failed run, and catches up (catchup_delay_usec after start-up, so a daemon that is being
 * restarted or tested does not call the gateway at once) when that day's report is missing.
 */

struct reconcile;

struct reconcile_config {
	const char *state_dir; /* reports under reconciliation/; borrowed for reconcile_new() */
	const char *terminal;  /* out_trade_no prefix; borrowed */
	const struct alipay_client_config *client; /* borrowed, must outlive the reconcile */
	unsigned schedule_minute;                  /* minutes after 00:00 UTC+8: 600 = 10:00 */
	bool schedule;                             /* arm the daily timer */
	usec_t retry_usec;                         /* after a failed scheduled run: 15 min */
	unsigned max_attempts;                     /* scheduled attempts per day: 8 */
	usec_t catchup_delay_usec; /* a missed run starts this long after start-up: 5 min */
	unsigned url_attempts;     /* URL queries per run (expired URLs): 3 */
	size_t zip_max;            /* download cap: BILL_ZIP_MAX */
	size_t unpacked_max;       /* unpacked detail cap: BILL_UNPACKED_MAX */
	usec_t timeout_usec;       /* per HTTP request: 60 s */
	unsigned keep_days;        /* stored bills and reports kept this long; 0 = for ever */
	bool allow_today;          /* tests: the sandbox serves today's bill so far */
	usec_t fetch_delay_usec;   /* tests: wait this long between the URL and its download */
};

/* Defaults as documented above; state_dir, terminal and client are left NULL. */
void reconcile_config_init(struct reconcile_config *c);

/*
 * Creates the reconciler. event, http and journal are borrowed and must outlive it; cfg is
 * copied (its strings stay borrowed). Creates <state_dir>/reconciliation/ (0750) and reads the
 * stored reports' states (for reconcile_status_add()). Arms the scheduler when cfg->schedule.
 * Returns 0 and a new object, -EINVAL for a missing field, or another -errno (logged).
 */
int reconcile_new(sd_event *event, struct http_client *http, struct journal *journal,
		  const struct reconcile_config *cfg, struct reconcile **ret);
/* Abandons runs in flight, answering their waiters with -ECANCELED, and frees. NULL-safe. */
void reconcile_free(struct reconcile *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct reconcile *, reconcile_free);

/*
 * Outcome of a run, handed to the callback: err 0 and the report (borrowed for the call), or
 * err < 0 with a message: -ENOENT the bill is not available (yet), -EBADMSG a bill that does
 * not parse, -EFBIG over a size cap, -ETIMEDOUT the URL kept expiring, -EIO the gateway or
 * transport failed, -EPROTO an answer that did not verify or was refused.
 */
typedef void (*reconcile_done_t)(int err, const char *message, struct json_object *report,
				 void *userdata);

/*
 * Runs the reconciliation of `date` ("yyyy-MM-dd"), even if a report is stored (it is
 * replaced only when the new run succeeds). Runs are serialised; asking for a date that is
 * already queued joins that run. done is called exactly once, later, from the event loop.
 * Returns 0, -EINVAL for a bad date, -ENOMEM.
 */
int reconcile_run(struct reconcile *r, const char *date, reconcile_done_t done, void *userdata);

/*
 * The stored report of `date`: 0 and a new reference in *ret, -ENOENT when there is none,
 * -EINVAL for a bad date, -EBADMSG for an unreadable file.
 */
int reconcile_report_load(struct reconcile *r, const char *date, struct json_object **ret);

/*
 * For GET /v1/status: adds "reconciliation": {"last_date":…, "last_state":…,
 * "discrepancies":["yyyy-MM-dd",…]} to `status` (borrowed). Returns 0 or -ENOMEM.
 */
int reconcile_status_add(struct reconcile *r, struct json_object *status);

/* How many runs finished (ok or not) since creation; tests. */
unsigned reconcile_runs_finished(const struct reconcile *r);

/*
 * The local API's reconciliation callback (struct api_backend.reconciliation) with
 * `userdata` = the struct reconcile: a stored report answers 200 at once; a finished day
 * without one is run and answered when done (200, 404 bill_not_available, 502
 * reconciliation_failed with the reason); today and later days answer 404 bill_not_available.
 */
struct api_call;
void reconcile_api_get(void *userdata, struct api_call *call, const char *date);
