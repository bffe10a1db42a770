/* SPDX-License-Identifier: MIT */
/* Daily reconciliation (对账): fetch the bill, compare it with the journal, store the report. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file-util.h"
#include "common/log.h"
#include "daemon/api.h"
#include "daemon/reconcile/reconcile-report.h"
#include "daemon/reconcile/reconcile.h"
#include "daemon/reconcile/retention.h"
#include "payment/api.h"
#include "payment/bill/bill-fetch.h"
#include "payment/bill/bill.h"

#define DISCREPANCY_DATES_MAX 64
#define REPORT_FILE_MAX       (64u * 1024u * 1024u)
#define LOGGED_ROWS_MAX       50
#define DAY_USEC              (86400 * USEC_PER_SEC)

struct waiter {
	reconcile_done_t done;
	void *userdata;
};

struct run {
	struct run *next;
	struct reconcile *owner;
	char date[BEIJING_DATE_BUF];
	struct waiter *waiters;
	size_t n_waiters;
	struct bill_fetch *fetch;
	bool started;
	sd_event_source *kick; /* starts the run from the loop */
};

struct reconcile {
	sd_event *event;
	struct http_client *http;
	struct journal *journal;
	struct reconcile_config cfg;
	char *dir;
	struct run *queue; /* the head is the run in progress */
	sd_event_source *timer;
	unsigned sched_attempts;
	char discrepancies[DISCREPANCY_DATES_MAX][BEIJING_DATE_BUF];
	size_t n_discrepancies;
	char last_date[BEIJING_DATE_BUF];
	char last_state[16];
	unsigned finished;
};

void
reconcile_config_init(struct reconcile_config *c)
{
	*c = (struct reconcile_config){
		.schedule_minute = 10 * 60,
		.schedule = true,
		.retry_usec = 15 * 60 * USEC_PER_SEC,
		.max_attempts = 8,
		.catchup_delay_usec = 5 * 60 * USEC_PER_SEC,
		.url_attempts = 3,
		.zip_max = BILL_ZIP_MAX,
		.unpacked_max = BILL_UNPACKED_MAX,
		.timeout_usec = 60 * USEC_PER_SEC,
	};
}

static bool
date_valid(const char *date)
{
	time_t t;

	return date && strlen(date) == 10 && beijing_parse_date(date, &t) >= 0;
}

static void
today(char buf[static BEIJING_DATE_BUF])
{
	beijing_format_date((time_t)(now_usec(CLOCK_REALTIME) / USEC_PER_SEC), 1, buf);
}

/* ---- storage ---- */

/* Writes a temporary file for name in r->dir, fsync'd; *ret_tmp is its path (new). */
static int
store_prepare(struct reconcile *r, const char *name, const void *data, size_t len, char **ret_tmp)
{
	_cleanup_free_ char *tmp = NULL;
	int k;

	if (asprintf(&tmp, "%s/.%s.XXXXXX", r->dir, name) < 0)
		return -ENOMEM;
	k = file_write_temp(tmp, data, len, 0640, true);
	if (k < 0)
		return log_error_errno(k, "Failed to write a file in %s: %m", r->dir);
	*ret_tmp = TAKE_PTR(tmp);
	return 0;
}

/*
 * Stores the zip (may be NULL) and the report of date: both are written and fsync'd under
 * temporary names first, then renamed, the report last, and the directory fsync'd. A failure
 * before the renames leaves the previous files untouched and no temporary file behind.
 */
static int
store_run(struct reconcile *r, const char *date, const void *zip, size_t zip_len,
	  const char *report)
{
	_cleanup_free_ char *tmp_zip = NULL, *tmp_rep = NULL, *path_zip = NULL, *path_rep = NULL;
	_cleanup_close_ int dfd = -1;
	char name[BEIJING_DATE_BUF + 16];
	int k;

	if (asprintf(&path_zip, "%s/%s.csv.zip", r->dir, date) < 0 ||
	    asprintf(&path_rep, "%s/%s.json", r->dir, date) < 0)
		return -ENOMEM;
	if (zip) {
		snprintf(name, sizeof(name), "%s.csv.zip", date);
		k = store_prepare(r, name, zip, zip_len, &tmp_zip);
		if (k < 0)
			return k;
	}
	snprintf(name, sizeof(name), "%s.json", date);
	k = store_prepare(r, name, report, strlen(report), &tmp_rep);
	if (k < 0) {
		if (tmp_zip)
			(void)unlink(tmp_zip);
		return k;
	}
	if (tmp_zip && rename(tmp_zip, path_zip) < 0) {
		k = log_error_errno(errno, "Failed to rename into %s: %m", path_zip);
		(void)unlink(tmp_zip);
		(void)unlink(tmp_rep);
		return k;
	}
	if (rename(tmp_rep, path_rep) < 0) {
		k = log_error_errno(errno, "Failed to rename into %s: %m", path_rep);
		(void)unlink(tmp_rep);
		return k;
	}
	dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return log_error_errno(errno, "Failed to sync %s: %m", r->dir);
	return 0;
}

int
reconcile_report_load(struct reconcile *r, const char *date, struct json_object **ret)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	_cleanup_close_ int fd = -1;
	struct json_object *o;
	struct stat st;
	size_t got = 0;

	if (!date_valid(date))
		return -EINVAL;
	if (asprintf(&path, "%s/%s.json", r->dir, date) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : log_error_errno(errno, "Failed to open %s: %m", path);
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || (uint64_t)st.st_size > REPORT_FILE_MAX)
		return log_error_errno(EBADMSG, "%s is empty or too large", path);
	data = malloc((size_t)st.st_size + 1);
	if (!data)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return log_error_errno(n < 0 ? errno : EIO, "Failed to read %s: %m", path);
		got += (size_t)n;
	}
	data[got] = '\0';
	o = json_tokener_parse(data);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return log_error_errno(EBADMSG, "%s is not a report", path);
	}
	*ret = o;
	return 0;
}

static const char *
report_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* Keeps the state list for /v1/status: dates with discrepancies (newest kept) and the last. */
static void
state_note(struct reconcile *r, const char *date, const char *state)
{
	size_t i;

	for (i = 0; i < r->n_discrepancies; i++)
		if (STR_EQ(r->discrepancies[i], date))
			break;
	if (STR_EQ(state, "discrepancies")) {
		if (i == r->n_discrepancies) {
			if (r->n_discrepancies == DISCREPANCY_DATES_MAX) {
				/* drop the oldest */
				size_t oldest = 0;
				for (size_t k = 1; k < r->n_discrepancies; k++)
					if (strcmp(r->discrepancies[k], r->discrepancies[oldest]) <
					    0)
						oldest = k;
				if (strcmp(date, r->discrepancies[oldest]) < 0)
					goto last;
				i = oldest;
			} else
				r->n_discrepancies++;
			snprintf(r->discrepancies[i], BEIJING_DATE_BUF, "%s", date);
		}
	} else if (i < r->n_discrepancies) {
		r->discrepancies[i][0] = '\0';
		memmove(r->discrepancies[i], r->discrepancies[r->n_discrepancies - 1],
			BEIJING_DATE_BUF);
		r->n_discrepancies--;
	}
last:
	if (strcmp(date, r->last_date) >= 0) {
		snprintf(r->last_date, sizeof(r->last_date), "%s", date);
		snprintf(r->last_state, sizeof(r->last_state), "%s", state);
	}
}

static int
state_load(struct reconcile *r)
{
	DIR *d = opendir(r->dir);
	struct dirent *de;

	if (!d)
		return log_error_errno(errno, "Failed to open %s: %m", r->dir);
	while ((de = readdir(d))) {
		char date[BEIJING_DATE_BUF];
		struct json_object *o = NULL;

		if (strlen(de->d_name) != 15 || !STR_EQ(de->d_name + 10, ".json"))
			continue;
		memcpy(date, de->d_name, 10);
		date[10] = '\0';
		if (reconcile_report_load(r, date, &o) < 0)
			continue;
		state_note(r, date, report_str(o, "state"));
		json_object_put(o);
	}
	closedir(d);
	return 0;
}

int
reconcile_status_add(struct reconcile *r, struct json_object *status)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array();
	int k = 0;

	if (!o || !list) {
		json_object_put(o);
		json_object_put(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_discrepancies && k >= 0; i++)
		k = json_object_array_add(list, json_object_new_string(r->discrepancies[i]));
	json_object_object_add(o, "last_date",
			       *r->last_date ? json_object_new_string(r->last_date) : NULL);
	json_object_object_add(o, "last_state",
			       *r->last_date ? json_object_new_string(r->last_state) : NULL);
	json_object_object_add(o, "discrepancies", list);
	if (k < 0 || json_object_object_add(status, "reconciliation", o) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}

unsigned
reconcile_runs_finished(const struct reconcile *r)
{
	return r->finished;
}

/* ---- runs ---- */

static void run_start(struct reconcile *r);

static struct run *
run_free(struct run *run)
{
	if (!run)
		return NULL;
	bill_fetch_free(run->fetch);
	sd_event_source_disable_unref(run->kick);
	free(run->waiters);
	free(run);
	return NULL;
}

/* Logs every discrepancy at warning level (doc/design.md §5: the accountant must see them). */
static void
log_discrepancies(const char *date, struct json_object *report)
{
	struct json_object *rows;
	size_t n, logged = 0;

	if (!json_object_object_get_ex(report, "rows", &rows))
		return;
	n = json_object_array_length(rows);
	for (size_t i = 0; i < n && logged < LOGGED_ROWS_MAX; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		if (STR_EQ(report_str(row, "status"), "matched"))
			continue;
		logged++;
		log_warning("Reconciliation %s: %s %s %s%s%s bill %s journal %s (%s)", date,
			    report_str(row, "status"), report_str(row, "type"),
			    report_str(row, "out_trade_no"),
			    *report_str(row, "out_request_no") ? " " : "",
			    report_str(row, "out_request_no"), report_str(row, "bill_amount"),
			    report_str(row, "journal_amount"), report_str(row, "note"));
	}
}

/* Ends the head run: tells its waiters, then starts the next one. */
static void
run_finish(struct reconcile *r, int err, const char *message, struct json_object *report)
{
	struct run *run = r->queue;

	r->queue = run->next;
	r->finished++;
	if (err >= 0)
		state_note(r, run->date, report_str(report, "state"));
	for (size_t i = 0; i < run->n_waiters; i++)
		run->waiters[i].done(err, message, report, run->waiters[i].userdata);
	run_free(run);
	run_start(r);
}

_printf_(3, 4) static void run_fail(struct reconcile *r, int err, const char *fmt, ...)
{
	char msg[BILL_ERROR_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_full_errno(err == -ENOENT ? LOG_NOTICE : LOG_ERR, err, "Reconciliation of %s: %s",
		       r->queue->date, msg);
	run_finish(r, err, msg, NULL);
}

/* Compares, stores the zip (if any) and the report, and finishes the run. */
static void
run_complete(struct reconcile *r, const struct bill *bill, const void *zip, size_t zip_len)
{
	struct run *run = r->queue;
	struct json_object *report = NULL;
	unsigned discrepancies = 0;
	const char *text;
	int k;

	k = reconcile_report_build(r->journal, bill, run->date, r->cfg.terminal,
				   now_usec(CLOCK_REALTIME), &report, &discrepancies);
	if (k < 0)
		return run_fail(r, k, "the journal could not be read");
	if (!zip && discrepancies > 0 &&
	    !bill_fetch_empty_is_final(run->date, now_usec(CLOCK_REALTIME))) {
		json_object_put(report);
		return run_fail(r, -ENOENT,
				"Alipay has no bill yet, but the journal has money on that day");
	}
	text = json_object_to_json_string_ext(report, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	k = text ? store_run(r, run->date, zip, zip_len, text) : -ENOMEM;
	if (k < 0) {
		json_object_put(report);
		return run_fail(r, k, "the report could not be stored");
	}
	if (discrepancies > 0) {
		log_warning("Reconciliation of %s: %u discrepancies", run->date, discrepancies);
		log_discrepancies(run->date, report);
	} else
		log_info("Reconciliation of %s: every row matches", run->date);
	(void)reconcile_prune(r->dir, time(NULL), r->cfg.keep_days);
	run_finish(r, 0, "", report);
	json_object_put(report);
}

/* doc/protocol.md §5.8: the bill, fetched by payment/bill (bill-fetch.h). */
static void
on_fetched(int err, const char *message, const struct bill *bill, const void *zip, size_t zip_len,
	   void *userdata)
{
	struct reconcile *r = userdata;

	if (err < 0)
		return run_fail(r, err, "%s", message);
	run_complete(r, bill, zip, zip_len);
}

static int
on_kick(sd_event_source *s, void *userdata)
{
	struct reconcile *r = userdata;

	struct bill_fetch_config fc;
	int k;

	r->queue->kick = sd_event_source_disable_unref(r->queue->kick);
	r->queue->started = true;
	log_info("Reconciliation of %s: fetching the bill", r->queue->date);
	bill_fetch_config_init(&fc);
	fc.client = r->cfg.client;
	fc.url_attempts = r->cfg.url_attempts;
	fc.zip_max = r->cfg.zip_max;
	fc.unpacked_max = r->cfg.unpacked_max;
	fc.timeout_usec = r->cfg.timeout_usec;
	fc.fetch_delay_usec = r->cfg.fetch_delay_usec;
	k = bill_fetch_start(r->event, r->http, &fc, r->queue->date, on_fetched, r,
			     &r->queue->fetch);
	if (k < 0)
		run_fail(r, k, "the bill fetch could not be started");
	return 0;
}

/* Starts the head run from the loop, so that no callback runs inside reconcile_run(). */
static void
run_start(struct reconcile *r)
{
	int k;

	if (!r->queue || r->queue->kick || r->queue->started)
		return;
	k = sd_event_add_defer(r->event, &r->queue->kick, on_kick, r);
	if (k < 0)
		run_fail(r, k, "the run could not be started");
}

int
reconcile_run(struct reconcile *r, const char *date, reconcile_done_t done, void *userdata)
{
	struct run **tail = &r->queue, *run;
	struct waiter *w;

	if (!date_valid(date))
		return -EINVAL;
	for (run = r->queue; run; run = run->next)
		if (STR_EQ(run->date, date))
			break;
	if (!run) {
		run = calloc(1, sizeof(*run));
		if (!run)
			return -ENOMEM;
		run->owner = r;
		snprintf(run->date, sizeof(run->date), "%s", date);
		while (*tail)
			tail = &(*tail)->next;
		*tail = run;
	}
	w = reallocarray(run->waiters, run->n_waiters + 1, sizeof(*w));
	if (!w)
		return -ENOMEM; /* an empty run still finishes and is freed */
	run->waiters = w;
	run->waiters[run->n_waiters++] = (struct waiter){.done = done, .userdata = userdata};
	run_start(r);
	return 0;
}

/* ---- the daily schedule ---- */

static int sched_arm(struct reconcile *r, usec_t at_usec);

/* Today's scheduled time (schedule_minute after 00:00 UTC+8 of now's day). */
static usec_t
sched_today(const struct reconcile *r, usec_t now)
{
	char d[BEIJING_DATE_BUF];
	time_t day;

	(void)beijing_parse_date(beijing_format_date((time_t)(now / USEC_PER_SEC), 1, d), &day);
	return (usec_t)day * USEC_PER_SEC + (usec_t)r->cfg.schedule_minute * 60 * USEC_PER_SEC;
}

/* The next scheduled time after now: today's or tomorrow's. */
static usec_t
sched_next(const struct reconcile *r, usec_t now)
{
	usec_t at = sched_today(r, now);

	return at > now ? at : at + DAY_USEC;
}

static void
yesterday(char buf[static BEIJING_DATE_BUF])
{
	beijing_format_date((time_t)(now_usec(CLOCK_REALTIME) / USEC_PER_SEC) - 86400, 1, buf);
}

static void
sched_done(int err, const char *message, struct json_object *report, void *userdata)
{
	struct reconcile *r = userdata;
	usec_t now = now_usec(CLOCK_REALTIME);

	if (err == -ECANCELED)
		return;
	if (err >= 0) {
		r->sched_attempts = 0;
		(void)sched_arm(r, sched_next(r, now));
		return;
	}
	if (++r->sched_attempts < r->cfg.max_attempts) {
		log_notice("Reconciliation: attempt %u failed (%s), retrying later",
			   r->sched_attempts, message);
		(void)sched_arm(r, now + r->cfg.retry_usec);
		return;
	}
	log_error("Reconciliation: giving up after %u attempts: %s", r->sched_attempts, message);
	r->sched_attempts = 0;
	(void)sched_arm(r, sched_next(r, now));
}

static int
on_sched(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct reconcile *r = userdata;
	char date[BEIJING_DATE_BUF];
	int k;

	yesterday(date);
	k = reconcile_run(r, date, sched_done, r);
	if (k < 0) {
		log_error_errno(k, "Reconciliation of %s could not be queued: %m", date);
		(void)sched_arm(r, now_usec(CLOCK_REALTIME) + r->cfg.retry_usec);
	}
	return 0;
}

static int
sched_arm(struct reconcile *r, usec_t at_usec)
{
	int k;

	if (!r->timer)
		k = sd_event_add_time(r->event, &r->timer, CLOCK_REALTIME, at_usec, USEC_PER_SEC,
				      on_sched, r);
	else {
		k = sd_event_source_set_time(r->timer, at_usec);
		if (k >= 0)
			k = sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
	}
	if (k < 0)
		return log_error_errno(k, "Failed to arm the reconciliation timer: %m");
	return 0;
}

/* ---- the local API ---- */

static void
api_done(int err, const char *message, struct json_object *report, void *userdata)
{
	struct api_call *call = userdata;

	if (err >= 0)
		api_call_reply(call, 200, json_object_get(report));
	else if (err == -ENOENT)
		api_call_fail(call, 404, "bill_not_available", "%s", message);
	else if (err == -ECANCELED)
		api_call_fail(call, 503, "shutting_down", "the daemon is stopping");
	else
		api_call_fail(call, 502, "reconciliation_failed", "%s", message);
}

void
reconcile_api_get(void *userdata, struct api_call *call, const char *date)
{
	struct reconcile *r = userdata;
	struct json_object *report = NULL;
	char now[BEIJING_DATE_BUF];
	int k;

	k = reconcile_report_load(r, date, &report);
	if (k >= 0)
		return api_call_reply(call, 200, report);
	if (k == -EINVAL)
		return api_call_fail(call, 400, "invalid_date", "dates are yyyy-MM-dd");
	today(now);
	if (strcmp(date, now) > 0 || (strcmp(date, now) == 0 && !r->cfg.allow_today))
		return api_call_fail(call, 404, "bill_not_available",
				     "the bill of %s is published by Alipay the next day", date);
	k = reconcile_run(r, date, api_done, call);
	if (k < 0)
		api_call_fail(call, 500, "internal", "the reconciliation could not be started");
}

/* ---- life cycle ---- */

int
reconcile_new(sd_event *event, struct http_client *http, struct journal *journal,
	      const struct reconcile_config *cfg, struct reconcile **ret)
{
	_cleanup_(reconcile_freep) struct reconcile *r = NULL;
	char date[BEIJING_DATE_BUF];
	struct stat st;
	int k;

	if (!event || !http || !journal || !cfg || !cfg->state_dir || !cfg->terminal ||
	    !cfg->client || cfg->schedule_minute >= 24 * 60 || cfg->zip_max == 0 ||
	    cfg->zip_max > HTTP_RESPONSE_CAP_MAX || cfg->url_attempts == 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->event = sd_event_ref(event);
	r->http = http;
	r->journal = journal;
	r->cfg = *cfg;
	r->cfg.state_dir = NULL; /* borrowed for this call only */
	if (asprintf(&r->dir, "%s/reconciliation", cfg->state_dir) < 0) {
		r->dir = NULL;
		return -ENOMEM;
	}
	if (mkdir(r->dir, 0750) < 0 && errno != EEXIST)
		return log_error_errno(errno, "Failed to create %s: %m", r->dir);
	if (stat(r->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_error_errno(ENOTDIR, "%s is not a directory", r->dir);
	(void)reconcile_prune(r->dir, time(NULL), r->cfg.keep_days);
	k = state_load(r);
	if (k < 0)
		return k;
	if (cfg->schedule) {
		usec_t now = now_usec(CLOCK_REALTIME), next = sched_next(r, now);
		struct json_object *o = NULL;

		/* Catch up at start-up: past today's time and yesterday's report missing. */
		yesterday(date);
		if (now >= sched_today(r, now) && reconcile_report_load(r, date, &o) == -ENOENT)
			next = MIN(next, now + cfg->catchup_delay_usec);
		json_object_put(o);
		k = sched_arm(r, next);
		if (k < 0)
			return k;
	}
	*ret = TAKE_PTR(r);
	return 0;
}

void
reconcile_free(struct reconcile *r)
{
	if (!r)
		return;
	/* Waiters (API calls) are answered so that none is left hanging. */
	while (r->queue) {
		struct run *run = r->queue;
		r->queue = run->next;
		run->fetch = bill_fetch_free(run->fetch);
		for (size_t i = 0; i < run->n_waiters; i++)
			run->waiters[i].done(-ECANCELED, "shutting down", NULL,
					     run->waiters[i].userdata);
		run_free(run);
	}
	sd_event_source_disable_unref(r->timer);
	sd_event_unref(r->event);
	free(r->dir);
	free(r);
}
