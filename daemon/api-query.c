/* SPDX-License-Identifier: MIT */
/* The query strings of GET /v1/orders and GET /v1/events: every parameter known, checked and
 * named when refused. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/api-query.h"

enum {
	P_STATE,
	P_POS_REF,
	P_MODE,
	P_DATE,
	P_FROM,
	P_TO,
	P_LIMIT,
	P_CURSOR,
	_P_MAX,
};

static const char *const param_names[_P_MAX] = {
	[P_STATE] = "state", [P_POS_REF] = "pos_ref", [P_MODE] = "mode",   [P_DATE] = "date",
	[P_FROM] = "from",   [P_TO] = "to",           [P_LIMIT] = "limit", [P_CURSOR] = "cursor",
};

void
api_order_query_init(struct api_order_query *q)
{
	*q = (struct api_order_query){.mode = -1, .limit = API_PAGE_DEFAULT};
}

const char *
api_cursor_format(int64_t pos, char buf[static API_CURSOR_BUF])
{
	snprintf(buf, API_CURSOR_BUF, "c%016" PRIx64, (uint64_t)pos);
	return buf;
}

int
api_cursor_parse(const char *s, int64_t *ret)
{
	uint64_t v = 0;

	if (!s || s[0] != 'c' || strlen(s) != 17)
		return -EINVAL;
	for (s++; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (v == 0 || v > INT64_MAX)
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

/* A business day: yyyy-MM-dd, 00:00 UTC+8 in *ret (usec). */
static int
day_parse(const char *s, uint64_t *ret)
{
	time_t t;

	if (!api_date_valid(s) || beijing_parse_date(s, &t) < 0 || t < 0)
		return -EINVAL;
	*ret = (uint64_t)t * USEC_PER_SEC;
	return 0;
}

static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
api_order_query_add(struct api_order_query *q, const char *key, const char *value,
		    struct api_error *err)
{
	unsigned p = 0;
	uint64_t t;

	while (p < _P_MAX && !STR_EQ_PTR(key, param_names[p]))
		p++;
	if (p == _P_MAX)
		return api_error_set(err, 400, "unknown_parameter",
				     "unknown query parameter '%.64s': the parameters are state, "
				     "pos_ref, mode, date, from, to, limit and cursor",
				     key ? key : "");
	if (q->seen & (1u << p))
		return api_error_set(err, 400, "invalid_parameter", "'%s' is given twice",
				     param_names[p]);
	q->seen |= 1u << p;
	if (!value)
		value = "";
	switch (p) {
	case P_STATE:
		if (!api_state_valid(value))
			return api_error_set(err, 400, "invalid_state",
					     "'state' is an order state such as PAID");
		q->state = value;
		break;
	case P_POS_REF:
		if (!*value || strlen(value) > API_POS_REF_MAX || !printable(value))
			return api_error_set(err, 400, "invalid_parameter",
					     "'pos_ref' is 1-%d bytes of text", API_POS_REF_MAX);
		q->pos_ref = value;
		break;
	case P_MODE:
		if (STR_EQ(value, "scan"))
			q->mode = API_ORDER_SCAN;
		else if (STR_EQ(value, "qr"))
			q->mode = API_ORDER_QR;
		else
			return api_error_set(err, 400, "invalid_parameter",
					     "'mode' is \"scan\" or \"qr\"");
		break;
	case P_DATE:
	case P_FROM:
	case P_TO:
		if (day_parse(value, &t) < 0)
			return api_error_set(err, 400, "invalid_date",
					     "'%s' is a date yyyy-MM-dd (Beijing time)",
					     param_names[p]);
		if (p != P_TO)
			q->from_usec = t;
		if (p != P_FROM)
			q->to_usec = t + 24 * 3600 * USEC_PER_SEC;
		break;
	case P_LIMIT: {
		unsigned v = 0;
		size_t n = strlen(value);
		if (n == 0 || n > 4 || strspn(value, "0123456789") != n ||
		    (v = (unsigned)strtoul(value, NULL, 10)) < 1 || v > API_PAGE_MAX)
			return api_error_set(err, 400, "invalid_parameter",
					     "'limit' is a number from 1 to %d", API_PAGE_MAX);
		q->limit = v;
		break;
	}
	case P_CURSOR:
		if (api_cursor_parse(value, &q->after) < 0)
			return api_error_set(err, 400, "invalid_parameter",
					     "'cursor' is not one this API handed out: pass "
					     "next_cursor unchanged");
		break;
	default:
		break;
	}
	return 0;
}

int
api_order_query_finish(struct api_order_query *q, struct api_error *err)
{
	if ((q->seen & (1u << P_DATE)) && (q->seen & ((1u << P_FROM) | (1u << P_TO))))
		return api_error_set(err, 400, "invalid_parameter",
				     "'date' is one day: give it, or 'from' and 'to', not both");
	if (q->from_usec && q->to_usec && q->from_usec >= q->to_usec)
		return api_error_set(err, 400, "invalid_parameter", "'from' is after 'to'");
	return 0;
}

int
event_id_cmp(struct event_id a, struct event_id b)
{
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return a.k < b.k ? -1 : a.k > b.k;
}

const char *
event_id_format(struct event_id id, char buf[static EVENT_ID_BUF])
{
	if (id.k == 0)
		snprintf(buf, EVENT_ID_BUF, "%" PRId64, id.seq);
	else
		snprintf(buf, EVENT_ID_BUF, "%" PRId64 ".%" PRIu64, id.seq, id.k);
	return buf;
}

int
event_id_parse(const char *s, struct event_id *ret)
{
	size_t a = strspn(s, "0123456789"), b = 0;

	if (a == 0 || a > 18)
		return -EINVAL;
	if (s[a] == '.') {
		b = strspn(s + a + 1, "0123456789");
		if (b == 0 || b > 18 || s[a + 1 + b])
			return -EINVAL;
	} else if (s[a])
		return -EINVAL;
	ret->seq = strtoll(s, NULL, 10);
	ret->k = b ? strtoull(s + a + 1, NULL, 10) : 0;
	return 0;
}
