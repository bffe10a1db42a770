/* SPDX-License-Identifier: MIT */
/* Fetching one day's trade bill from the gateway on sd-event (doc/protocol.md §5.8). */
#include "payment/bill/bill-fetch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "payment/api.h"

#define DAY_USEC       (86400 * USEC_PER_SEC)
#define PUBLISHED_USEC (10 * 3600 * USEC_PER_SEC) /* bills are out by 10:00 the next day */

struct bill_fetch {
	sd_event *event;
	struct http_client *http;
	struct bill_fetch_config cfg;
	char date[BEIJING_DATE_BUF];
	bill_fetch_done_t done;
	void *userdata;
	unsigned url_queries;
	struct http_request *req;
	sd_event_source *delay; /* between the URL and its download (tests) */
	sd_event_source *kick;  /* starts the fetch from the loop */
	char *url;
};

void
bill_fetch_config_init(struct bill_fetch_config *c)
{
	*c = (struct bill_fetch_config){
		.url_attempts = 3,
		.zip_max = BILL_ZIP_MAX,
		.unpacked_max = BILL_UNPACKED_MAX,
		.timeout_usec = 60 * USEC_PER_SEC,
	};
}

bool
bill_fetch_empty_is_final(const char *date, usec_t now_usec)
{
	time_t day;

	if (beijing_parse_date(date, &day) < 0)
		return true;
	return now_usec >= (usec_t)day * USEC_PER_SEC + 3 * DAY_USEC;
}

static void
fetch_done(struct bill_fetch *f, int err, const char *message, const struct bill *bill,
	   const void *zip, size_t zip_len)
{
	f->req = NULL;
	/* The last thing the fetch does: the callback may free it. */
	f->done(err, message, bill, zip, zip_len, f->userdata);
}

_printf_(3, 4) static void fetch_fail(struct bill_fetch *f, int err, const char *fmt, ...)
{
	char msg[BILL_ERROR_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fetch_done(f, err, msg, NULL, NULL, 0);
}

static void query_url(struct bill_fetch *f);

static void
on_zip(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct bill_fetch *f = userdata;
	_cleanup_(bill_freep) struct bill *bill = NULL;
	struct bill_error e = {};
	int k;

	f->req = NULL;
	switch (resp->outcome) {
	case HTTP_OUTCOME_OK:
		break;
	case HTTP_OUTCOME_TOO_LARGE:
		return fetch_fail(f, -EFBIG, "the bill is larger than %zu bytes", f->cfg.zip_max);
	case HTTP_OUTCOME_NOT_DELIVERED:
	case HTTP_OUTCOME_NO_ANSWER:
	case _HTTP_OUTCOME_MAX:
		return fetch_fail(f, -EIO, "the bill download failed (%s: %s)",
				  strna(http_outcome_to_string(resp->outcome)), resp->error);
	}
	if (resp->status != 200) {
		/* doc/protocol.md §5.8: the URL lives 30 s; an expired one is asked for again. */
		if (f->url_queries < f->cfg.url_attempts) {
			log_notice(
				"Bill of %s: the bill URL answered HTTP %ld, asking for a new one",
				f->date, resp->status);
			return query_url(f);
		}
		return fetch_fail(f, -ETIMEDOUT,
				  "the bill URL expired or was refused (HTTP %ld) %u times",
				  resp->status, f->url_queries);
	}
	k = bill_zip_parse(resp->body, resp->body_len, f->cfg.unpacked_max, &bill, &e);
	if (k < 0)
		return fetch_fail(f, k, "the bill is refused: %s", e.message);
	fetch_done(f, 0, "", bill, resp->body, resp->body_len);
}

static void
download(struct bill_fetch *f)
{
	struct http_request_spec spec = {
		.method = HTTP_METHOD_GET,
		.url = f->url,
		.timeout_usec = f->cfg.timeout_usec,
		.response_cap = f->cfg.zip_max,
	};
	int k = http_client_submit(f->http, &spec, on_zip, f, &f->req);

	if (k < 0)
		fetch_fail(f, k, "the download could not be started");
}

static int
on_delay(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct bill_fetch *f = userdata;

	f->delay = sd_event_source_disable_unref(f->delay);
	download(f);
	return 0;
}

static void
on_url(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct bill_fetch *f = userdata;
	struct alipay_api_result res = ALIPAY_API_RESULT_INIT;
	int k;

	f->req = NULL;
	if (resp->outcome != HTTP_OUTCOME_OK)
		return fetch_fail(f, -EIO, "the bill URL query failed (%s: %s)",
				  strna(http_outcome_to_string(resp->outcome)), resp->error);
	k = alipay_api_parse(f->cfg.client, ALIPAY_METHOD_BILL_DOWNLOADURL, resp->body,
			     resp->body_len, &res);
	if (k < 0)
		return fetch_fail(f, k, "the bill URL answer could not be parsed");
	if (res.resp.cls == ALIPAY_CLASS_SUCCESS && res.bill_download_url) {
		free(f->url);
		f->url = TAKE_PTR(res.bill_download_url);
		alipay_api_result_done(&res);
		if (f->cfg.fetch_delay_usec > 0) {
			k = sd_event_add_time_relative(f->event, &f->delay, CLOCK_MONOTONIC,
						       f->cfg.fetch_delay_usec, 0, on_delay, f);
			if (k < 0)
				return fetch_fail(f, k, "no timer");
			return;
		}
		return download(f);
	}
	/* doc/protocol.md §5.8: isp.bill_not_exist (the spec's BILL_NOT_EXIST) is a day without
	 * trades. */
	if (res.resp.cls == ALIPAY_CLASS_FAILED && res.resp.verified &&
	    (STR_EQ_PTR(res.resp.sub_code, "isp.bill_not_exist") ||
	     STR_EQ_PTR(res.resp.sub_code, "BILL_NOT_EXIST"))) {
		_cleanup_(bill_freep) struct bill *empty = NULL;
		time_t day;

		alipay_api_result_done(&res);
		/* Before 10:00 the next day the bill may just not be out yet: an empty report
		 * stored now would hide the trades it will show. */
		(void)beijing_parse_date(f->date, &day);
		if (now_usec(CLOCK_REALTIME) <
		    (usec_t)day * USEC_PER_SEC + DAY_USEC + PUBLISHED_USEC)
			return fetch_fail(f, -ENOENT, "Alipay has not published the bill yet");
		empty = bill_new_empty();
		if (!empty)
			return fetch_fail(f, -ENOMEM, "out of memory");
		return fetch_done(f, 0, "", empty, NULL, 0);
	}
	{
		char msg[BILL_ERROR_MAX];
		snprintf(msg, sizeof(msg), "%s %s %s", strna(res.resp.code),
			 strna(res.resp.sub_code), strna(res.resp.sub_msg));
		k = res.resp.cls == ALIPAY_CLASS_UNKNOWN ? -EIO : -EPROTO;
		alipay_api_result_done(&res);
		fetch_fail(f, k, "the gateway did not give a bill URL: %.200s", msg);
	}
}

static void
query_url(struct bill_fetch *f)
{
	struct alipay_bill_args args = {.bill_type = "trade", .bill_date = f->date};
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	struct http_request_spec spec = {.method = HTTP_METHOD_POST};
	int k;

	f->url_queries++;
	k = alipay_api_bill_url(f->cfg.client, &args,
				(time_t)(now_usec(CLOCK_REALTIME) / USEC_PER_SEC), &req);
	if (k < 0)
		return fetch_fail(f, k, "the bill URL query could not be built");
	spec.url = req.url;
	spec.body = req.body;
	spec.body_len = req.body_len;
	spec.content_type = req.content_type;
	spec.timeout_usec = f->cfg.timeout_usec;
	k = http_client_submit(f->http, &spec, on_url, f, &f->req);
	alipay_request_done(&req);
	if (k < 0)
		fetch_fail(f, k, "the bill URL query could not be sent");
}

static int
on_kick(sd_event_source *s, void *userdata)
{
	struct bill_fetch *f = userdata;

	f->kick = sd_event_source_disable_unref(f->kick);
	query_url(f);
	return 0;
}

int
bill_fetch_start(sd_event *event, struct http_client *http, const struct bill_fetch_config *cfg,
		 const char *date, bill_fetch_done_t done, void *userdata, struct bill_fetch **ret)
{
	struct bill_fetch *f;
	time_t day;
	int k;

	if (!cfg->client || beijing_parse_date(date, &day) < 0)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->event = sd_event_ref(event);
	f->http = http;
	f->cfg = *cfg;
	snprintf(f->date, sizeof(f->date), "%s", date);
	f->done = done;
	f->userdata = userdata;
	/* From the loop, so that no callback runs inside this call. */
	k = sd_event_add_defer(event, &f->kick, on_kick, f);
	if (k < 0) {
		bill_fetch_free(f);
		return k;
	}
	*ret = f;
	return 0;
}

struct bill_fetch *
bill_fetch_free(struct bill_fetch *f)
{
	if (!f)
		return NULL;
	http_request_cancel(f->req);
	sd_event_source_disable_unref(f->delay);
	sd_event_source_disable_unref(f->kick);
	sd_event_unref(f->event);
	free(f->url);
	free(f);
	return NULL;
}
