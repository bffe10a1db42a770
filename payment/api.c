/* SPDX-License-Identifier: MIT */
/* The typed face-to-face calls of doc/protocol.md §5: argument checks, biz_content, typed results.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/paycode.h"
#include "common/money.h"
#include "payment/api.h"

static const char *const method_names[_ALIPAY_METHOD_MAX] = {
	[ALIPAY_METHOD_TRADE_PAY] = "alipay.trade.pay",
	[ALIPAY_METHOD_TRADE_QUERY] = "alipay.trade.query",
	[ALIPAY_METHOD_TRADE_CANCEL] = "alipay.trade.cancel",
	[ALIPAY_METHOD_TRADE_PRECREATE] = "alipay.trade.precreate",
	[ALIPAY_METHOD_TRADE_REFUND] = "alipay.trade.refund",
	[ALIPAY_METHOD_TRADE_CLOSE] = "alipay.trade.close",
	[ALIPAY_METHOD_TRADE_REFUND_QUERY] = "alipay.trade.fastpay.refund.query",
	[ALIPAY_METHOD_BILL_DOWNLOADURL] = "alipay.data.dataservice.bill.downloadurl.query",
};

const char *
alipay_method_to_string(enum alipay_method m)
{
	if ((unsigned)m >= _ALIPAY_METHOD_MAX)
		return NULL;
	return method_names[m];
}

int
alipay_method_from_string(const char *s, enum alipay_method *ret)
{
	if (!s || !ret)
		return -EINVAL;
	for (unsigned i = 0; i < _ALIPAY_METHOD_MAX; i++)
		if (strcmp(s, method_names[i]) == 0) {
			*ret = (enum alipay_method)i;
			return 0;
		}
	return -EINVAL;
}

/* --- argument checks (doc/protocol.md §5.1) --- */

static bool
valid_out_no(const char *s)
{
	size_t n;

	if (isempty(s))
		return false;
	n = strlen(s);
	if (n > ALIPAY_OUT_TRADE_NO_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool
valid_text(const char *s, size_t max)
{
	return !isempty(s) && strlen(s) <= max;
}

static bool
valid_amount(int64_t fen)
{
	return fen >= MONEY_MIN_FEN && fen <= MONEY_MAX_FEN;
}

/* --- biz_content helpers --- */

static void
json_putp(struct json_object **p)
{
	json_object_put(*p);
}

static int
biz_add(struct json_object *o, const char *key, const char *value)
{
	struct json_object *v;

	if (isempty(value))
		return 0;
	v = json_object_new_string(value);
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int
biz_add_amount(struct json_object *o, const char *key, int64_t fen)
{
	char buf[MONEY_BUF_SIZE];

	return biz_add(o, key, money_format(fen, buf));
}

static int
biz_add_ref(struct json_object *o, const struct alipay_trade_ref *t)
{
	int r;

	if (!t->out_trade_no && !t->trade_no)
		return log_error_errno(EINVAL, "Neither out_trade_no nor trade_no given");
	if (t->out_trade_no && !valid_out_no(t->out_trade_no))
		return log_error_errno(EINVAL, "Invalid out_trade_no \"%.80s\"", t->out_trade_no);
	if (t->trade_no && !valid_text(t->trade_no, 64))
		return log_error_errno(EINVAL, "Invalid trade_no");
	if ((r = biz_add(o, "out_trade_no", t->out_trade_no)) < 0 ||
	    (r = biz_add(o, "trade_no", t->trade_no)) < 0)
		return r;
	return 0;
}

static int
api_build(const struct alipay_client_config *c, enum alipay_method m, struct json_object *biz,
	  time_t now, struct alipay_request *ret)
{
	return alipay_request_build_json(c, method_names[m], biz, now, ret);
}

int
alipay_api_pay(const struct alipay_client_config *c, const struct alipay_pay_args *a, time_t now,
	       struct alipay_request *ret)
{
	_cleanup_(json_putp) struct json_object *biz = NULL;
	int r;

	if (!c || !a || !ret)
		return -EINVAL;
	if (!valid_out_no(a->out_trade_no))
		return log_error_errno(EINVAL, "pay: invalid out_trade_no \"%.80s\"",
				       strempty(a->out_trade_no));
	/* Never log a payment code in full (doc/design.md §6.3: customer data). */
	if (!paycode_is_alipay_str(a->auth_code))
		return log_error_errno(EINVAL, "pay: the auth code is not an Alipay payment code");
	if (!valid_text(a->subject, ALIPAY_SUBJECT_MAX))
		return log_error_errno(EINVAL, "pay: missing or over-long subject");
	if (!valid_amount(a->total_amount_fen))
		return log_error_errno(EINVAL, "pay: total_amount out of range");
	biz = json_object_new_object();
	if (!biz)
		return -ENOMEM;
	if ((r = biz_add(biz, "out_trade_no", a->out_trade_no)) < 0 ||
	    (r = biz_add(biz, "scene", "bar_code")) < 0 ||
	    (r = biz_add(biz, "auth_code", a->auth_code)) < 0 ||
	    (r = biz_add(biz, "subject", a->subject)) < 0 ||
	    (r = biz_add_amount(biz, "total_amount", a->total_amount_fen)) < 0 ||
	    (r = biz_add(biz, "store_id", a->store_id)) < 0 ||
	    (r = biz_add(biz, "operator_id", a->operator_id)) < 0 ||
	    (r = biz_add(biz, "terminal_id", a->terminal_id)) < 0 ||
	    (r = biz_add(biz, "timeout_express", a->timeout_express)) < 0)
		return r;
	r = api_build(c, ALIPAY_METHOD_TRADE_PAY, biz, now, ret);
	{
		/* doc/engine.md "Payment codes": the object's copy of the code is wiped too. */
		struct json_object *v;
		if (json_object_object_get_ex(biz, "auth_code", &v))
			explicit_bzero((char *)json_object_get_string(v),
				       (size_t)json_object_get_string_len(v));
	}
	return r;
}

int
alipay_api_precreate(const struct alipay_client_config *c, const struct alipay_precreate_args *a,
		     time_t now, struct alipay_request *ret)
{
	_cleanup_(json_putp) struct json_object *biz = NULL;
	int r;

	if (!c || !a || !ret)
		return -EINVAL;
	if (!valid_out_no(a->out_trade_no))
		return log_error_errno(EINVAL, "precreate: invalid out_trade_no \"%.80s\"",
				       strempty(a->out_trade_no));
	if (!valid_text(a->subject, ALIPAY_SUBJECT_MAX))
		return log_error_errno(EINVAL, "precreate: missing or over-long subject");
	if (!valid_amount(a->total_amount_fen))
		return log_error_errno(EINVAL, "precreate: total_amount out of range");
	biz = json_object_new_object();
	if (!biz)
		return -ENOMEM;
	if ((r = biz_add(biz, "out_trade_no", a->out_trade_no)) < 0 ||
	    (r = biz_add(biz, "subject", a->subject)) < 0 ||
	    (r = biz_add_amount(biz, "total_amount", a->total_amount_fen)) < 0 ||
	    (r = biz_add(biz, "store_id", a->store_id)) < 0 ||
	    (r = biz_add(biz, "operator_id", a->operator_id)) < 0 ||
	    (r = biz_add(biz, "terminal_id", a->terminal_id)) < 0 ||
	    (r = biz_add(biz, "timeout_express", a->timeout_express)) < 0 ||
	    (r = biz_add(biz, "qr_code_timeout_express", a->qr_code_timeout_express)) < 0)
		return r;
	return api_build(c, ALIPAY_METHOD_TRADE_PRECREATE, biz, now, ret);
}

static int
api_ref_call(const struct alipay_client_config *c, enum alipay_method m,
	     const struct alipay_trade_ref *a, time_t now, struct alipay_request *ret)
{
	_cleanup_(json_putp) struct json_object *biz = NULL;
	int r;

	if (!c || !a || !ret)
		return -EINVAL;
	biz = json_object_new_object();
	if (!biz)
		return -ENOMEM;
	r = biz_add_ref(biz, a);
	if (r < 0)
		return r;
	return api_build(c, m, biz, now, ret);
}

int
alipay_api_query(const struct alipay_client_config *c, const struct alipay_trade_ref *a, time_t now,
		 struct alipay_request *ret)
{
	return api_ref_call(c, ALIPAY_METHOD_TRADE_QUERY, a, now, ret);
}

int
alipay_api_cancel(const struct alipay_client_config *c, const struct alipay_trade_ref *a,
		  time_t now, struct alipay_request *ret)
{
	return api_ref_call(c, ALIPAY_METHOD_TRADE_CANCEL, a, now, ret);
}

int
alipay_api_close(const struct alipay_client_config *c, const struct alipay_trade_ref *a, time_t now,
		 struct alipay_request *ret)
{
	return api_ref_call(c, ALIPAY_METHOD_TRADE_CLOSE, a, now, ret);
}

int
alipay_api_refund(const struct alipay_client_config *c, const struct alipay_refund_args *a,
		  time_t now, struct alipay_request *ret)
{
	_cleanup_(json_putp) struct json_object *biz = NULL;
	int r;

	if (!c || !a || !ret)
		return -EINVAL;
	if (!valid_amount(a->refund_amount_fen))
		return log_error_errno(EINVAL, "refund: refund_amount out of range");
	/* doc/protocol.md §5.5: out_request_no identifies the refund; without it retries are
	 * unsafe. */
	if (!valid_out_no(a->out_request_no))
		return log_error_errno(EINVAL, "refund: invalid out_request_no \"%.80s\"",
				       strempty(a->out_request_no));
	biz = json_object_new_object();
	if (!biz)
		return -ENOMEM;
	if ((r = biz_add_ref(biz, &a->trade)) < 0 ||
	    (r = biz_add_amount(biz, "refund_amount", a->refund_amount_fen)) < 0 ||
	    (r = biz_add(biz, "out_request_no", a->out_request_no)) < 0 ||
	    (r = biz_add(biz, "refund_reason", a->refund_reason)) < 0)
		return r;
	return api_build(c, ALIPAY_METHOD_TRADE_REFUND, biz, now, ret);
}

int
alipay_api_refund_query(const struct alipay_client_config *c,
			const struct alipay_refund_query_args *a, time_t now,
			struct alipay_request *ret)
{
	_cleanup_(json_putp) struct json_object *biz = NULL;
	int r;

	if (!c || !a || !ret)
		return -EINVAL;
	if (!valid_out_no(a->out_request_no))
		return log_error_errno(EINVAL, "refund query: invalid out_request_no \"%.80s\"",
				       strempty(a->out_request_no));
	biz = json_object_new_object();
	if (!biz)
		return -ENOMEM;
	if ((r = biz_add_ref(biz, &a->trade)) < 0 ||
	    (r = biz_add(biz, "out_request_no", a->out_request_no)) < 0)
		return r;
	return api_build(c, ALIPAY_METHOD_TRADE_REFUND_QUERY, biz, now, ret);
}

static bool
valid_bill_date(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* "yyyy-MM-dd" or "yyyy-MM" (doc/protocol.md §5.8). */
	if (n != 7 && n != 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 4 || i == 7;
		if (dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	}
	return true;
}

int
alipay_api_bill_url(const struct alipay_client_config *c, const struct alipay_bill_args *a,
		    time_t now, struct alipay_request *ret)
{
	_cleanup_(json_putp) struct json_object *biz = NULL;
	const char *type;
	int r;

	if (!c || !a || !ret)
		return -EINVAL;
	type = a->bill_type ? a->bill_type : "trade";
	if (!valid_out_no(type))
		return log_error_errno(EINVAL, "bill: invalid bill_type");
	if (!valid_bill_date(a->bill_date))
		return log_error_errno(EINVAL, "bill: bill_date must be yyyy-MM-dd or yyyy-MM");
	biz = json_object_new_object();
	if (!biz)
		return -ENOMEM;
	if ((r = biz_add(biz, "bill_type", type)) < 0 ||
	    (r = biz_add(biz, "bill_date", a->bill_date)) < 0)
		return r;
	return api_build(c, ALIPAY_METHOD_BILL_DOWNLOADURL, biz, now, ret);
}

/* --- results --- */

void
alipay_api_result_done(struct alipay_api_result *r)
{
	if (!r)
		return;
	alipay_response_done(&r->resp);
	free(r->trade_no);
	free(r->out_trade_no);
	free(r->buyer_logon_id);
	free(r->buyer_user_id);
	free(r->gmt_payment);
	free(r->send_pay_date);
	free(r->qr_code);
	free(r->gmt_refund_pay);
	free(r->out_request_no);
	free(r->bill_download_url);
	free(r->fund_bill_list);
	*r = ALIPAY_API_RESULT_INIT;
}

static const char *
node_get(struct json_object *node, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(node, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
node_dup(struct json_object *node, const char *key, char **ret)
{
	const char *v = node_get(node, key);

	if (!v)
		return 0;
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

/* doc/protocol.md §3: every value is a string; an amount that does not parse is a protocol error.
 */
static int
node_amount(struct json_object *node, const char *key, int64_t *ret)
{
	const char *v = node_get(node, key);
	int64_t fen;

	if (!v)
		return 0;
	if (money_parse_flags(v, MONEY_ALLOW_ZERO, &fen) < 0)
		return -EBADMSG;
	*ret = fen;
	return 0;
}

static enum alipay_flag
node_flag(struct json_object *node, const char *key)
{
	const char *v = node_get(node, key);

	if (!v)
		return ALIPAY_FLAG_NONE;
	return STR_EQ(v, "Y") ? ALIPAY_FLAG_Y : ALIPAY_FLAG_N;
}

/*
 * fund_bill_list: an array of {"fund_channel","amount","real_amount"?} (a JSON string holding
 * one in some answers). Kept as compact JSON of those fields only; absent or of another shape
 * is NULL: a receipt detail, never a reason to doubt the payment.
 */
static int
node_fund_bill_list(struct json_object *node, char **ret)
{
	struct json_object *v, *parsed = NULL, *out = NULL;
	int r = 0;

	if (!json_object_object_get_ex(node, "fund_bill_list", &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		v = parsed = json_tokener_parse(json_object_get_string(v));
	if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) > 16)
		goto out;
	out = json_object_new_array();
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *b = json_object_array_get_idx(v, i), *o;
		const char *ch = node_get(b, "fund_channel"), *amt = node_get(b, "amount"),
			   *real = node_get(b, "real_amount");
		int64_t fen;
		if (!ch || strlen(ch) > 32 || !amt ||
		    money_parse_flags(amt, MONEY_ALLOW_ZERO, &fen) < 0 ||
		    (real && money_parse_flags(real, MONEY_ALLOW_ZERO, &fen) < 0))
			goto out;
		o = json_object_new_object();
		if (!o || json_object_array_add(out, o) < 0) {
			json_object_put(o);
			r = -ENOMEM;
			goto out;
		}
		json_object_object_add(o, "fund_channel", json_object_new_string(ch));
		json_object_object_add(o, "amount", json_object_new_string(amt));
		if (real)
			json_object_object_add(o, "real_amount", json_object_new_string(real));
	}
	*ret = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	if (!*ret)
		r = -ENOMEM;
out:
	json_object_put(out);
	json_object_put(parsed);
	return r;
}

static int
api_result_fill(struct alipay_api_result *res, struct json_object *node)
{
	const char *action;
	int r;

	if ((r = node_dup(node, "trade_no", &res->trade_no)) < 0 ||
	    (r = node_dup(node, "out_trade_no", &res->out_trade_no)) < 0 ||
	    (r = node_dup(node, "buyer_logon_id", &res->buyer_logon_id)) < 0 ||
	    (r = node_dup(node, "buyer_user_id", &res->buyer_user_id)) < 0 ||
	    (r = node_dup(node, "gmt_payment", &res->gmt_payment)) < 0 ||
	    (r = node_dup(node, "send_pay_date", &res->send_pay_date)) < 0 ||
	    (r = node_dup(node, "qr_code", &res->qr_code)) < 0 ||
	    (r = node_dup(node, "gmt_refund_pay", &res->gmt_refund_pay)) < 0 ||
	    (r = node_dup(node, "out_request_no", &res->out_request_no)) < 0 ||
	    (r = node_dup(node, "bill_download_url", &res->bill_download_url)) < 0)
		return r;
	if ((r = node_amount(node, "total_amount", &res->total_amount_fen)) < 0 ||
	    (r = node_amount(node, "receipt_amount", &res->receipt_amount_fen)) < 0 ||
	    (r = node_amount(node, "buyer_pay_amount", &res->buyer_pay_amount_fen)) < 0 ||
	    (r = node_fund_bill_list(node, &res->fund_bill_list)) < 0 ||
	    (r = node_amount(node, "refund_fee", &res->refund_fee_fen)) < 0 ||
	    (r = node_amount(node, "refund_amount", &res->refund_amount_fen)) < 0)
		return r;
	/* Receipt details: one that does not parse is left out, the payment stands. */
	(void)node_amount(node, "point_amount", &res->point_amount_fen);
	(void)node_amount(node, "invoice_amount", &res->invoice_amount_fen);
	(void)node_amount(node, "discount_amount", &res->discount_amount_fen);
	(void)node_amount(node, "mdiscount_amount", &res->mdiscount_amount_fen);
	res->trade_status = alipay_trade_status_from_string(node_get(node, "trade_status"));
	res->retry_flag = node_flag(node, "retry_flag");
	res->fund_change = node_flag(node, "fund_change");
	action = node_get(node, "action");
	if (!action)
		res->action = ALIPAY_CANCEL_ACTION_NONE;
	else if (STR_EQ(action, "close"))
		res->action = ALIPAY_CANCEL_ACTION_CLOSE;
	else if (STR_EQ(action, "refund"))
		res->action = ALIPAY_CANCEL_ACTION_REFUND;
	else
		res->action = ALIPAY_CANCEL_ACTION_OTHER;
	return 0;
}

int
alipay_api_result_from_node(const char *json, size_t len, struct alipay_api_result *ret)
{
	struct json_tokener *tok;
	struct json_object *node;
	int r;

	if (len > INT32_MAX)
		return -EBADMSG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	node = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	if (!node || !json_object_is_type(node, json_type_object)) {
		json_object_put(node);
		return -EBADMSG;
	}
	r = api_result_fill(ret, node);
	json_object_put(node);
	return r;
}

int
alipay_api_parse(const struct alipay_client_config *c, enum alipay_method m, const char *body,
		 size_t len, struct alipay_api_result *ret)
{
	struct alipay_api_result res = ALIPAY_API_RESULT_INIT;
	EVP_PKEY *key;
	int r;

	if (!c || !c->keys || (unsigned)m >= _ALIPAY_METHOD_MAX || !ret || (!body && len > 0))
		return -EINVAL;
	key = alipay_keys_get_alipay_public_key(c->keys);
	if (!key)
		return -EINVAL;
	res.method = m;
	r = alipay_response_parse(body ? body : "", len, method_names[m], key, c->sign_type,
				  alipay_keys_get_alipay_cert_sn(c->keys), &res.resp);
	if (r < 0)
		return r;
	if (res.resp.verified && res.resp.node) {
		r = api_result_fill(&res, res.resp.node);
		if (r == -ENOMEM) {
			alipay_api_result_done(&res);
			return r;
		}
		if (r < 0) {
			log_warning("Verified response to %s has a malformed field; result unknown",
				    method_names[m]);
			res.resp.cls = ALIPAY_CLASS_UNKNOWN;
		}
	}
	*ret = res;
	return 0;
}
