/* SPDX-License-Identifier: MIT */
/* Fetching one day's trade bill from the gateway on sd-event: URL query, download, parse. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"
#include "payment/bill/bill.h"
#include "payment/http/http.h"
#include "payment/request.h"

/*
 * doc/protocol.md §5.8. alipay.data.dataservice.bill.downloadurl.query with bill_type=trade, then
 * at once a GET of the zip (the URL lives 30 s: an answer other than 200 asks for a new URL, up to
 * url_attempts queries), size-capped, then bill_zip_parse(). isp.bill_not_exist (or
 * BILL_NOT_EXIST) before 10:00 UTC+8 the next day is "not published yet" (-ENOENT); later it is
 * an empty bill without a zip, which the caller may still doubt (bill_fetch_empty_is_final()).
 */

struct bill_fetch_config {
	const struct alipay_client_config *client; /* borrowed, must outlive the fetch */
	unsigned url_attempts;                     /* 3 */
	size_t zip_max;                            /* BILL_ZIP_MAX */
	size_t unpacked_max;                       /* BILL_UNPACKED_MAX */
	usec_t timeout_usec;                       /* per HTTP request: 60 s */
	usec_t fetch_delay_usec; /* tests: wait this long between the URL and its download */
};

/* The defaults above; client is left NULL. */
void bill_fetch_config_init(struct bill_fetch_config *c);

/*
 * The outcome: err 0 with the bill (borrowed for the call) and the zip it came from (NULL and 0
 * for a day without a bill), or err < 0 with a message: -ENOENT not published yet, -EBADMSG a bill
 * that does not parse, -EFBIG over a size cap, -ETIMEDOUT the URL kept expiring, -EIO the gateway
 * or the transport failed, -EPROTO an answer that was refused or did not verify. It is the last
 * thing the fetch does: the callback may free it.
 */
typedef void (*bill_fetch_done_t)(int err, const char *message, const struct bill *bill,
				  const void *zip, size_t zip_len, void *userdata);

struct bill_fetch;

/*
 * Starts fetching the bill of `date` ("yyyy-MM-dd"). event and http are borrowed and must outlive
 * the fetch; cfg is copied. done is called exactly once, later, from the event loop (never from
 * inside this call), unless the fetch is freed first. Returns 0 and a new fetch, -EINVAL, or
 * -ENOMEM.
 */
int bill_fetch_start(sd_event *event, struct http_client *http, const struct bill_fetch_config *cfg,
		     const char *date, bill_fetch_done_t done, void *userdata,
		     struct bill_fetch **ret);
/* Cancels a fetch in progress (done is not called) and frees it. NULL-safe; returns NULL. */
struct bill_fetch *bill_fetch_free(struct bill_fetch *f);

/*
 * A day without a bill although our side has money on it may just be late: it is final only
 * three days after the day began.
 */
bool bill_fetch_empty_is_final(const char *date, usec_t now_usec);
