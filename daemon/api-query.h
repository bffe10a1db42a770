/* SPDX-License-Identifier: MIT */
/* The query strings of GET /v1/orders (filters, page cursor) and GET /v1/events (event ids). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/api-request.h"

#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX     1000
#define API_CURSOR_BUF   24 /* "c" + 16 hex digits + NUL, with room */

/*
 * A validated order query (doc/api.md, GET /v1/orders). Strings are borrowed from the request.
 * Dates are business days in Beijing time: from_usec is 00:00 UTC+8 of the first day, to_usec
 * 00:00 UTC+8 of the day after the last one (0: unbounded).
 */
struct api_order_query {
	const char *state;   /* upper case, e.g. "PAID"; NULL: any */
	const char *pos_ref; /* NULL: any */
	int mode;            /* enum api_order_mode, or -1: any */
	uint64_t from_usec, to_usec;
	unsigned limit;
	int64_t after; /* the cursor: orders after this position in the journal; 0: the first page
			*/
	unsigned seen; /* parameters given so far (bit per parameter), to refuse repeats */
};

void api_order_query_init(struct api_order_query *q);

/*
 * Adds one key=value of the query string. Unknown keys, repeated keys and malformed values are
 * refused with -EINVAL and *err filled: 400 with unknown_parameter, invalid_state, invalid_date
 * or invalid_parameter, the message naming the parameter.
 */
int api_order_query_add(struct api_order_query *q, const char *key, const char *value,
			struct api_error *err);

/* Checks the parameters together (date with from/to, from after to): 0 or -EINVAL. */
int api_order_query_finish(struct api_order_query *q, struct api_error *err);

/*
 * An event stream id: the journal's event sequence number when the event was sent, and a count
 * of the events sent since that number last grew. Shown as "17", then "17.1", "17.2"…
 */
struct event_id {
	int64_t seq;
	uint64_t k;
};

#define EVENT_ID_BUF 48

int event_id_cmp(struct event_id a, struct event_id b);
const char *event_id_format(struct event_id id, char buf[static EVENT_ID_BUF]);
/* "17" or "17.3" (each part at most 18 digits): 0, or -EINVAL. */
int event_id_parse(const char *s, struct event_id *ret);

/* The opaque cursor for a journal position (> 0); returns buf. */
const char *api_cursor_format(int64_t pos, char buf[static API_CURSOR_BUF]);
/* Parses a cursor made by api_cursor_format(): 0, or -EINVAL. */
int api_cursor_parse(const char *s, int64_t *ret);
