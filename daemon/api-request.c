/* SPDX-License-Identifier: MIT */
/* Parsing and validation of local API request bodies: strict JSON, known fields, money. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json-strict.h"
#include "common/macro.h"
#include "common/money.h"
#include "common/time-util.h"
#include "daemon/api-request.h"

int
api_error_set(struct api_error *err, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void
json_object_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/* Parses one JSON object: strict syntax, valid UTF-8, bounded depth, nothing after it. */
static int
parse_object(const char *body, size_t len, struct json_object **ret, struct api_error *err)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;
	struct json_strict_error jerr_strict;
	size_t end;
	int r;

	if (len == 0)
		return api_error_set(err, 400, "malformed_json",
				     "empty body: a JSON object is expected");
	if (len > INT32_MAX)
		return api_error_set(err, 413, "body_too_large", "body too large");
	if (memchr(body, 0, len))
		return api_error_set(err, 400, "malformed_json", "NUL byte at byte %zu",
				     (size_t)((const char *)memchr(body, 0, len) - body));
	/* json-c lets the last of duplicate keys win and passes lone surrogates: refuse first. */
	r = json_strict_check(body, len, API_JSON_MAX_DEPTH, 0, &jerr_strict);
	if (r == -ENOMEM)
		return r;
	if (r < 0 && jerr_strict.duplicate_key)
		return api_error_set(err, 400, "duplicate_key", "duplicate key \"%s\" at byte %zu",
				     jerr_strict.key, jerr_strict.offset);
	if (r < 0)
		return api_error_set(err, 400, "malformed_json", "JSON parse error at byte %zu: %s",
				     jerr_strict.offset, jerr_strict.message);
	tok = json_tokener_new_ex(API_JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o && jerr == json_tokener_continue)
		return api_error_set(err, 400, "malformed_json",
				     "JSON parse error at byte %zu: unexpected end of input", len);
	if (!o || jerr != json_tokener_success) {
		json_object_put(o);
		return api_error_set(err, 400, "malformed_json", "JSON parse error at byte %zu: %s",
				     end, json_tokener_error_desc(jerr));
	}
	for (size_t i = end; i < len; i++)
		if (!isspace((unsigned char)body[i])) {
			json_object_put(o);
			return api_error_set(err, 400, "malformed_json",
					     "JSON parse error at byte %zu: trailing characters",
					     i);
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return api_error_set(err, 400, "malformed_json", "a JSON object is expected");
	}
	*ret = o;
	return 0;
}

static bool
text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A string field: NULL when absent; errors when not a string, too long or with controls. */
static int
get_string(struct json_object *o, const char *key, size_t max, char **ret, struct api_error *err)
{
	struct json_object *v;
	const char *s;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		*ret = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return api_error_set(err, 400, "invalid_field", "'%s' must be a string", key);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0)
		return api_error_set(err, 400, "invalid_field", "'%s' must not be empty", key);
	if (n > max)
		return api_error_set(err, 400, "invalid_field", "'%s' is longer than %zu bytes",
				     key, max);
	if (strlen(s) != n || !text_ok(s))
		return api_error_set(err, 400, "invalid_field", "'%s' contains control characters",
				     key);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* Amounts travel as strings ("88.88"): numbers would pass through a double somewhere. */
static int
get_amount(struct json_object *o, int64_t *ret, struct api_error *err)
{
	struct json_object *v;
	int r;

	if (!json_object_object_get_ex(o, "amount", &v) || json_object_is_type(v, json_type_null))
		return api_error_set(err, 400, "invalid_amount", "'amount' is required");
	if (!json_object_is_type(v, json_type_string))
		return api_error_set(err, 400, "invalid_amount",
				     "'amount' must be a string such as \"88.88\"");
	r = money_parse(json_object_get_string(v), ret);
	if (r == -ERANGE)
		return api_error_set(err, 400, "invalid_amount",
				     "'amount' must be from 0.01 to 100000000.00");
	if (r < 0)
		return api_error_set(err, 400, "invalid_amount",
				     "'amount' must be yuan with at most two decimals, such as "
				     "\"88.88\"");
	return 0;
}

static int
check_fields(struct json_object *o, const char *const *allowed, struct api_error *err)
{
	json_object_object_foreach(o, key, val)
	{
		bool ok = false;
		(void)val;
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || STR_EQ(key, allowed[i]);
		if (!ok)
			return api_error_set(err, 400, "unknown_field", "unknown field '%.64s'",
					     key);
	}
	return 0;
}

void
api_order_request_done(struct api_order_request *r)
{
	free(r->subject);
	/* A payment code is customer data (doc/design.md §6.3): wipe it. */
	erase_and_free(r->auth_code);
	free(r->pos_ref);
	free(r->operator_id);
	*r = (struct api_order_request){};
}

int
api_order_request_parse(const char *body, size_t len, struct api_order_request *ret,
			struct api_error *err)
{
	static const char *const allowed[] = {"amount",  "subject",     "mode", "auth_code",
					      "pos_ref", "operator_id", NULL};
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct api_order_request r = {};
	_cleanup_free_ char *mode = NULL;
	int e;

	e = parse_object(body, len, &o, err);
	if (e < 0)
		return e;
	e = check_fields(o, allowed, err);
	if (e < 0)
		return e;
	e = get_amount(o, &r.amount_fen, err);
	if (e < 0)
		return e;
	if ((e = get_string(o, "mode", 8, &mode, err)) < 0)
		goto fail;
	if (!mode || STR_EQ(mode, "scan"))
		r.mode = API_ORDER_SCAN;
	else if (STR_EQ(mode, "qr"))
		r.mode = API_ORDER_QR;
	else {
		e = api_error_set(err, 400, "invalid_field", "'mode' must be \"scan\" or \"qr\"");
		goto fail;
	}
	if ((e = get_string(o, "subject", API_SUBJECT_MAX, &r.subject, err)) < 0)
		goto fail;
	if ((e = get_string(o, "auth_code", API_AUTH_CODE_MAX, &r.auth_code, err)) < 0)
		goto fail;
	if (r.auth_code) {
		for (const char *p = r.auth_code; *p; p++)
			if (!isdigit((unsigned char)*p)) {
				e = api_error_set(err, 400, "invalid_field",
						  "'auth_code' must be digits");
				goto fail;
			}
		if (r.mode == API_ORDER_QR) {
			e = api_error_set(err, 400, "invalid_field",
					  "'auth_code' makes no sense with mode \"qr\"");
			goto fail;
		}
	}
	if ((e = get_string(o, "pos_ref", API_POS_REF_MAX, &r.pos_ref, err)) < 0)
		goto fail;
	if ((e = get_string(o, "operator_id", API_OPERATOR_MAX, &r.operator_id, err)) < 0)
		goto fail;
	if (r.operator_id &&
	    (!*r.operator_id ||
	     strspn(r.operator_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				   "qrstuvwxyz0123456789_-") != strlen(r.operator_id))) {
		e = api_error_set(err, 400, "invalid_field",
				  "'operator_id' is 1-%d letters, digits, '_' or '-'",
				  API_OPERATOR_MAX);
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	api_order_request_done(&r);
	return e;
}

void
api_refund_request_done(struct api_refund_request *r)
{
	free(r->reason);
	*r = (struct api_refund_request){};
}

int
api_refund_request_parse(const char *body, size_t len, struct api_refund_request *ret,
			 struct api_error *err)
{
	static const char *const allowed[] = {"amount", "reason", NULL};
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct api_refund_request r = {};
	int e;

	e = parse_object(body, len, &o, err);
	if (e < 0)
		return e;
	e = check_fields(o, allowed, err);
	if (e < 0)
		return e;
	e = get_amount(o, &r.amount_fen, err);
	if (e < 0)
		return e;
	e = get_string(o, "reason", API_REASON_MAX, &r.reason, err);
	if (e < 0)
		return e;
	*ret = r;
	return 0;
}

int
api_order_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_ORDER_ID_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

int
api_date_valid(const char *s)
{
	time_t t;

	return strlen(s) == 10 && beijing_parse_date(s, &t) == 0;
}

int
api_state_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_STATE_MAX)
		return 0;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}
