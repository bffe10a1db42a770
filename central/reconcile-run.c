/* SPDX-License-Identifier: MIT */
/* f2fpay-central reconcile: each app_id's bill once, the store's report (doc/central.md). */
#include "central/reconcile-run.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "central/alipay-client.h"
#include "central/reconcile.h"
#include "common/log.h"
#include "payment/bill/bill-fetch.h"
#include "payment/http/http-sd-event.h"

#define CONFIGS_MAX 64

struct app {
	struct central_alipay alipay;
	struct bill_fetch *fetch;
	struct json_object *report;
	int err;
	struct run *run;
};

struct run {
	sd_event *event;
	PGconn *conn;
	const char *date;
	unsigned pending;
};

static void
on_bill(int err, const char *message, const struct bill *bill, const void *zip, size_t zip_len,
	void *userdata)
{
	struct app *a = userdata;
	struct run *run = a->run;
	unsigned discrepancies = 0;
	int r;

	if (err < 0) {
		a->err = log_error_errno(err, "The bill of app %s for %s: %s",
					 a->alipay.client.app_id, run->date, message);
		goto done;
	}
	r = central_reconcile_build(run->conn, bill, run->date, a->alipay.client.app_id,
				    now_usec(CLOCK_REALTIME), &a->report, &discrepancies);
	if (r < 0) {
		a->err = log_error_errno(r, "Reconciling app %s for %s failed: %m",
					 a->alipay.client.app_id, run->date);
		goto done;
	}
	/* A day without a bill although the tills have money on it may just be late. */
	if (!zip && discrepancies > 0 &&
	    !bill_fetch_empty_is_final(run->date, now_usec(CLOCK_REALTIME))) {
		json_object_put(a->report);
		a->report = NULL;
		a->err = log_error_errno(ENOENT,
					 "Alipay has no bill of app %s for %s yet, but the tills "
					 "have money on that day",
					 a->alipay.client.app_id, run->date);
	}
done:
	a->fetch = bill_fetch_free(a->fetch);
	if (--run->pending == 0)
		(void)sd_event_exit(run->event, 0);
}

/* ---- printing ---- */

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return "-";
	return json_object_get_string(v);
}

/* An array of flat objects as aligned columns under their keys (f2fpayctl's bill layout). */
static void
print_table(FILE *f, const char *title, struct json_object *arr)
{
	size_t n = arr ? json_object_array_length(arr) : 0, cols = 0, width[32] = {};
	const char *keys[32];

	fprintf(f, "%s (%zu):\n", title, n);
	if (n == 0)
		return;
	json_object_object_foreach(json_object_array_get_idx(arr, 0), k, v0)
	{
		(void)v0;
		if (cols < ELEMENTSOF(keys)) {
			keys[cols] = k;
			width[cols] = strlen(k);
			cols++;
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < cols; c++)
			width[c] = MAX(width[c],
				       strlen(str(json_object_array_get_idx(arr, i), keys[c])));
	fprintf(f, " ");
	for (size_t c = 0; c < cols; c++)
		fprintf(f, " %-*s", (int)width[c], keys[c]);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, " ");
		for (size_t c = 0; c < cols; c++)
			fprintf(f, " %-*s", (int)width[c],
				str(json_object_array_get_idx(arr, i), keys[c]));
		fputc('\n', f);
	}
}

static void
print_object(FILE *f, const char *title, struct json_object *o)
{
	fprintf(f, "%s:\n", title);
	json_object_object_foreach(o, k, v)
		fprintf(f, "  %-16s %s\n", k, json_object_get_string(v));
}

static void
print_text(FILE *f, struct json_object *report)
{
	struct json_object *v, *terminals, *flat;

	for (const char *const *k = (const char *const[]){"date", "state", "scope", "app_id",
							  "generated_at", NULL};
	     *k; k++)
		fprintf(f, "%-16s %s\n", *k, str(report, *k));
	if (json_object_object_get_ex(report, "bill", &v))
		print_object(f, "bill", v);
	if (json_object_object_get_ex(report, "summary", &v))
		print_object(f, "summary", v);
	/* Each terminal's counts as one table row: terminal, then its summary. */
	flat = json_object_new_array();
	if (flat && json_object_object_get_ex(report, "terminals", &terminals))
		for (size_t i = 0; i < json_object_array_length(terminals); i++) {
			struct json_object *t = json_object_array_get_idx(terminals, i), *s;
			struct json_object *row = json_object_new_object();
			if (!row)
				break;
			json_object_object_add(row, "terminal",
					       json_object_new_string(str(t, "terminal")));
			if (json_object_object_get_ex(t, "summary", &s)) {
				json_object_object_foreach(s, k, n)
					json_object_object_add(row, k, json_object_get(n));
			}
			json_object_array_add(flat, row);
		}
	print_table(f, "terminals", flat);
	json_object_put(flat);
	json_object_object_get_ex(report, "tills_behind", &v);
	print_table(f, "tills_behind", v);
	json_object_object_get_ex(report, "rows", &v);
	print_table(f, "rows", v);
	json_object_object_get_ex(report, "other_terminals", &v);
	print_table(f, "other_terminals", v);
}

static void
print_csv(FILE *f, struct json_object *report, bool header)
{
	struct json_object *rows;
	size_t n;

	if (!json_object_object_get_ex(report, "rows", &rows) ||
	    (n = json_object_array_length(rows)) == 0)
		return;
	if (header) {
		bool first = true;
		json_object_object_foreach(json_object_array_get_idx(rows, 0), k, v0)
		{
			(void)v0;
			fputs(first ? "" : ",", f);
			central_csv_cell(k, f);
			first = false;
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < n; i++) {
		bool first = true;
		json_object_object_foreach(json_object_array_get_idx(rows, i), k, v)
		{
			(void)k;
			fputs(first ? "" : ",", f);
			central_csv_cell(json_object_get_string(v), f);
			first = false;
		}
		fputc('\n', f);
	}
}

static int
print_reports(FILE *f, struct app *apps, size_t n, enum central_format fmt)
{
	struct json_object *arr = NULL;
	bool header = true;

	switch (fmt) {
	case CENTRAL_FORMAT_JSON:
		if (n == 1) {
			fprintf(f, "%s\n",
				json_object_to_json_string_ext(
					apps[0].report,
					JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
			break;
		}
		arr = json_object_new_array();
		if (!arr)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, json_object_get(apps[i].report));
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(
				arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
		break;
	case CENTRAL_FORMAT_CSV:
		for (size_t i = 0; i < n; i++) {
			print_csv(f, apps[i].report, header);
			header = false;
		}
		break;
	case CENTRAL_FORMAT_TEXT:
	case _CENTRAL_FORMAT_MAX:
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc('\n', f);
			print_text(f, apps[i].report);
		}
		break;
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int
central_reconcile_run(PGconn *c, const char *date, char *const *configs, size_t n_configs,
		      enum central_format fmt, FILE *f)
{
	_cleanup_free_ struct app *apps = NULL;
	struct http_client *http = NULL;
	struct run run = {.conn = c, .date = date};
	size_t n = 0;
	bool all_ok = true;
	int r = 0;

	if (n_configs == 0 || n_configs > CONFIGS_MAX)
		return log_error_errno(EINVAL,
				       "Give 1 to %d --config files (a till's f2fpayd.conf "
				       "for each app_id)",
				       CONFIGS_MAX);
	apps = calloc(n_configs, sizeof(*apps));
	if (!apps)
		return log_error_errno(ENOMEM, "Out of memory");
	for (size_t i = 0; i < n_configs; i++) {
		bool dup = false;
		r = central_alipay_load(configs[i], &apps[n].alipay);
		if (r < 0)
			goto out;
		/* Once per app_id: tills of one merchant share its bill. */
		for (size_t k = 0; k < n; k++)
			dup |= STR_EQ(apps[k].alipay.client.app_id, apps[n].alipay.client.app_id);
		if (dup)
			central_alipay_done(&apps[n].alipay);
		else
			apps[n++].run = &run;
	}
	r = sd_event_new(&run.event);
	if (r < 0)
		goto out;
	r = http_client_new_sd_event(
		run.event,
		&(struct http_client_config){.ca_file = apps[0].alipay.config->alipay.ca_file},
		&http);
	if (r < 0) {
		log_error_errno(r, "Cannot set up the HTTPS client: %m");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct bill_fetch_config fc;
		bill_fetch_config_init(&fc);
		fc.client = &apps[i].alipay.client;
		r = bill_fetch_start(run.event, http, &fc, date, on_bill, &apps[i], &apps[i].fetch);
		if (r < 0) {
			log_error_errno(r, "Cannot fetch the bill of %s: %m", date);
			goto out;
		}
		run.pending++;
	}
	r = sd_event_loop(run.event);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (apps[i].err < 0) {
			r = apps[i].err;
			goto out;
		}
		all_ok &= STR_EQ(str(apps[i].report, "state"), "ok");
	}
	r = print_reports(f, apps, n, fmt);
	if (r >= 0)
		r = all_ok ? 0 : 1;
out:
	for (size_t i = 0; i < n_configs && apps; i++) {
		apps[i].fetch = bill_fetch_free(apps[i].fetch);
		json_object_put(apps[i].report);
		central_alipay_done(&apps[i].alipay);
	}
	if (http)
		http_client_free(http);
	sd_event_unref(run.event);
	return r;
}
