/* SPDX-License-Identifier: MIT */
/* gateway.do emulation: protocol checks (doc/protocol.md §2–§3, §7) and the trade APIs (§5–§6). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "sandbox/sandbox.h"

#define NODE_MAX          (1024 * 1024)
#define SUB_MSG_QUOTE_MAX (64 * 1024)

/* One request in flight: what the reply needs to know. */
struct ctx {
	struct sandbox *sb;
	struct sb_params params;
	const char *method;
	int method_known;
	enum sb_charset charset;
	enum sb_sign_type sign_type;
	int can_sign;     /* the app is identified: replies are signed (§3) */
	int corrupt_sign; /* scenario 7 */
	json_object *biz;
	struct buf node; /* the response node's JSON text, UTF-8 */
	time_t now;
};

static const char *const methods[] = {
	"alipay.trade.pay",
	"alipay.trade.query",
	"alipay.trade.cancel",
	"alipay.trade.precreate",
	"alipay.trade.refund",
	"alipay.trade.close",
	"alipay.trade.fastpay.refund.query",
	"alipay.data.dataservice.bill.downloadurl.query",
};

/* doc/protocol.md §3: compact JSON, non-ASCII raw, `/` escaped as `\/`. */
static int
json_escape(struct buf *b, const char *s)
{
	int r = buf_putc(b, '"');

	for (const unsigned char *c = (const unsigned char *)s; *c && r >= 0; c++) {
		switch (*c) {
		case '"':
			r = buf_puts(b, "\\\"");
			break;
		case '\\':
			r = buf_puts(b, "\\\\");
			break;
		case '/':
			r = buf_puts(b, "\\/");
			break;
		case '\n':
			r = buf_puts(b, "\\n");
			break;
		case '\r':
			r = buf_puts(b, "\\r");
			break;
		case '\t':
			r = buf_puts(b, "\\t");
			break;
		default:
			if (*c < 0x20)
				r = buf_printf(b, "\\u%04x", *c);
			else
				r = buf_putc(b, (char)*c);
		}
	}
	return r < 0 ? r : buf_putc(b, '"');
}

static void
node_raw(struct ctx *c, const char *key, const char *raw_json)
{
	if (!raw_json)
		return;
	(void)buf_putc(&c->node, c->node.len ? ',' : '{');
	(void)json_escape(&c->node, key);
	(void)buf_putc(&c->node, ':');
	(void)buf_puts(&c->node, raw_json);
}

static void
node_str(struct ctx *c, const char *key, const char *value)
{
	struct buf v = BUF_INIT(NODE_MAX);

	if (!value)
		return;
	if (json_escape(&v, value) >= 0)
		node_raw(c, key, v.data);
	buf_free(&v);
}

static void
node_money(struct ctx *c, const char *key, int64_t fen)
{
	char a[MONEY_BUF_SIZE];

	node_str(c, key, money_format(fen, a));
}

static void
node_time(struct ctx *c, const char *key, time_t t)
{
	char b[BEIJING_TIME_BUF];

	if (t)
		node_str(c, key, beijing_format_time(t, b));
}

static void
node_ok(struct ctx *c)
{
	node_str(c, "code", "10000");
	node_str(c, "msg", "Success");
}

/* doc/protocol.md §3: the result codes and their fixed msg texts. */
static void
node_error(struct ctx *c, const char *code, const char *sub_code, const char *sub_msg)
{
	const char *msg = STR_EQ(code, "40001")   ? "Missing Required Arguments"
			  : STR_EQ(code, "40002") ? "Invalid Arguments"
			  : STR_EQ(code, "40003") ? "Insufficient Conditions"
			  : STR_EQ(code, "40004") ? "Business Failed"
			  : STR_EQ(code, "20000") ? "Service Currently Unavailable"
						  : "Failed";

	node_str(c, "code", code);
	node_str(c, "msg", msg);
	node_str(c, "sub_code", sub_code);
	node_str(c, "sub_msg", sub_msg);
}

static const char *
biz_str(struct ctx *c, const char *key)
{
	json_object *v;

	if (!c->biz || !json_object_object_get_ex(c->biz, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	/* Numbers are accepted as their text ("total_amount": 0.01 is common in SDK users' code).
	 */
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return json_object_get_string(v);
	return NULL;
}

static int
valid_out_trade_no(const char *s)
{
	size_t n = strlen(strempty(s));

	if (n == 0 || n > SB_OUT_TRADE_NO_MAX)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

static int
dup_field(char **dst, const char *s)
{
	if (!s)
		return 0;
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static void
trade_record_request_meta(struct ctx *c, struct sb_trade *t)
{
	const char *url = sb_params_get(&c->params, "notify_url");

	if (!isempty(url)) {
		if (sb_notify_url_allowed(url))
			(void)dup_field(&t->notify_url, url);
		else
			log_warning("notify_url %s is not a loopback address: no notifications",
				    url);
	}
	t->charset = c->charset;
	t->sign_type = c->sign_type;
}

static void
node_trade_ids(struct ctx *c, const struct sb_trade *t)
{
	node_str(c, "trade_no", t->trade_no);
	node_str(c, "out_trade_no", t->out_trade_no);
}

/* The receipt of a paid trade, as pay and query answer it. */
static void
node_receipt(struct ctx *c, const struct sb_trade *t)
{
	struct sb_receipt rc;

	sb_receipt(c->sb, t, "fund_channel", &rc);
	node_money(c, "receipt_amount", rc.receipt_fen);
	node_money(c, "buyer_pay_amount", rc.buyer_pay_fen);
	node_money(c, "point_amount", 0);
	node_money(c, "invoice_amount", rc.buyer_pay_fen);
	if (rc.discount_fen > 0)
		node_money(c, "discount_amount", rc.discount_fen);
	node_raw(c, "fund_bill_list", rc.fund_bill_list);
}

/* Same out_trade_no, other parameters (doc/protocol.md §6 ACQ.CONTEXT_INCONSISTENT). */
static int
context_matches(struct ctx *c, const struct sb_trade *t, int precreate, int64_t total_fen)
{
	const char *subject = biz_str(c, "subject"), *store = biz_str(c, "store_id");

	return t->precreate == precreate && t->total_fen == total_fen &&
	       STR_EQ(strempty(t->subject), strempty(subject)) &&
	       STR_EQ(strempty(t->store_id), strempty(store));
}

static int
parse_amount(struct ctx *c, const char *key, int64_t *ret)
{
	const char *s = biz_str(c, key);

	if (!s || money_parse(s, ret) < 0) {
		node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
		return -EINVAL;
	}
	return 0;
}

/* The gateway's words for an expired, invalid or used payment code. */
#define AUTH_CODE_INVALID_MSG                                                                                                                  \
	"支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款，如再次收款失败，请联系管理员" \
	"处理。[SOUNDWAVE_PARSER_FAIL]"

/* doc/protocol.md §5.1: auth codes are digits, starting 25–30, 16–24 long. */
static int
auth_code_scenario(const char *code)
{
	size_t n = strlen(strempty(code));

	if (n < 16 || n > 24 || strspn(code, "0123456789") != n || code[0] < '2' ||
	    (code[0] == '2' && code[1] < '5') || (code[0] == '3' && code[1] > '0') || code[0] > '3')
		return -1;
	/* doc/design.md §11.1: 18 digits starting 28 choose the buyer's behaviour by the last
	 * digit. */
	if (n == 18 && code[0] == '2' && code[1] == '8')
		return code[17] - '0';
	return 0;
}

static void
node_pay_result(struct ctx *c, const struct sb_trade *t)
{
	node_trade_ids(c, t);
	node_str(c, "buyer_logon_id", t->buyer_logon_id);
	node_money(c, "total_amount", t->total_fen);
	if (t->status == SB_STATUS_TRADE_SUCCESS) {
		node_receipt(c, t);
		node_time(c, "gmt_payment", t->gmt_payment);
	}
	node_str(c, "buyer_user_id", t->buyer_user_id);
}

static int
api_pay(struct ctx *c, struct sb_reply *reply)
{
	struct sandbox *sb = c->sb;
	const char *otn = biz_str(c, "out_trade_no"), *code = biz_str(c, "auth_code");
	const char *scene = biz_str(c, "scene");
	struct sb_trade *t;
	int64_t total;
	int scenario, r;

	if (!valid_out_trade_no(otn) || isempty(biz_str(c, "subject")) ||
	    (scene && !STR_EQ(scene, "bar_code") && !STR_EQ(scene, "wave_code"))) {
		node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
		return 0;
	}
	if (parse_amount(c, "total_amount", &total) < 0)
		return 0;
	t = sb_trade_find(sb, otn, NULL);
	if (t) {
		t->pay_requests++;
		if (t->status == SB_STATUS_NONE && !t->precreate) { /* closed by a cancel */
			node_error(c, "40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
			node_str(c, "out_trade_no", otn);
			return 0;
		}
		if (!context_matches(c, t, 0, total)) {
			node_error(c, "40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改");
			return 0;
		}
		switch (t->status) {
		case SB_STATUS_TRADE_SUCCESS:
			node_error(c, "40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
			node_trade_ids(c, t);
			return 0;
		case SB_STATUS_TRADE_CLOSED:
			node_error(c, "40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
			node_trade_ids(c, t);
			return 0;
		case SB_STATUS_WAIT_BUYER_PAY:
			node_str(c, "code", "10003");
			node_str(c, "msg", " order success pay inprocess");
			node_pay_result(c, t);
			return 0;
		case SB_STATUS_NONE:
		case _SB_STATUS_MAX:
			break;
		}
		node_error(c, "40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改");
		return 0;
	}
	scenario = auth_code_scenario(code);
	/* doc/sandbox.md "Payment codes are single-use": a code that paid (or tried to pay)
	 * another trade is refused as the gateway refuses a used code (doc/protocol.md §6). */
	if (scenario >= 0 && sb_trade_find_auth_code(sb, code)) {
		node_error(c, "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", AUTH_CODE_INVALID_MSG);
		node_str(c, "out_trade_no", otn);
		return 0;
	}
	if (scenario < 0 || scenario == 4) {
		/* The code never reached a buyer: no trade is created. */
		node_error(c, "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", AUTH_CODE_INVALID_MSG);
		node_str(c, "out_trade_no", otn);
		return 0;
	}
	r = sb_trade_new(sb, otn, &t);
	if (r < 0) {
		node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
		return 0;
	}
	t->pay_requests = 1;
	t->total_fen = total;
	t->scenario = scenario;
	if (dup_field(&t->auth_code, code) < 0 ||
	    dup_field(&t->subject, biz_str(c, "subject")) < 0 ||
	    dup_field(&t->store_id, biz_str(c, "store_id")) < 0 ||
	    dup_field(&t->operator_id, biz_str(c, "operator_id")) < 0 ||
	    dup_field(&t->terminal_id, biz_str(c, "terminal_id")) < 0)
		return -ENOMEM;
	sb_trade_index(sb, t, SB_KEY_AUTH_CODE); /* single-use from now on */
	trade_record_request_meta(c, t);

	switch (scenario) {
	case 1:
	case 2:
	case 8:
	case 9:
		t->status = SB_STATUS_WAIT_BUYER_PAY;
		if (scenario == 1) {
			t->confirm_usec = now_usec(CLOCK_REALTIME) +
					  (usec_t)(sb->cfg.confirm_after_sec * 1e6);
			if (sb_trade_watch_time(sb, t) < 0)
				return -ENOMEM;
		}
		(void)sb_trade_notify(sb, t, NULL);
		node_str(c, "code", "10003");
		node_str(c, "msg", " order success pay inprocess");
		node_pay_result(c, t);
		if (scenario == 9)
			reply->delay_sec = sb->cfg.slow_delay_sec;
		return 0;
	case 3:
		t->status = SB_STATUS_TRADE_CLOSED;
		t->gmt_close = c->now;
		node_error(c, "40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足");
		node_str(c, "out_trade_no", otn);
		return 0;
	default:
		break;
	}
	/* 0, 5, 6, 7 and every other valid code: the money moves. */
	t->status = SB_STATUS_TRADE_SUCCESS;
	t->gmt_payment = c->now;
	(void)sb_trade_notify(sb, t, NULL);
	if (scenario == 5) {
		node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
		return 0;
	}
	if (scenario == 6)
		reply->close_connection = 1;
	if (scenario == 7)
		c->corrupt_sign = 1;
	node_ok(c);
	node_pay_result(c, t);
	return 0;
}

static struct sb_trade *
find_for_biz(struct ctx *c)
{
	struct sb_trade *t =
		sb_trade_find(c->sb, biz_str(c, "out_trade_no"), biz_str(c, "trade_no"));

	if (t && t->status == SB_STATUS_NONE)
		return NULL;
	return t;
}

static int
missing_ids(struct ctx *c)
{
	if (isempty(biz_str(c, "out_trade_no")) && isempty(biz_str(c, "trade_no"))) {
		node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
		return 1;
	}
	return 0;
}

static void
node_not_exist(struct ctx *c)
{
	node_error(c, "40004", "ACQ.TRADE_NOT_EXIST", "交易不存在");
	node_str(c, "out_trade_no", biz_str(c, "out_trade_no"));
	node_str(c, "trade_no", biz_str(c, "trade_no"));
}

static int
api_query(struct ctx *c)
{
	struct sb_trade *t;

	if (missing_ids(c))
		return 0;
	/* doc/sandbox.md --throttle-queries: the gateway's rate limit (doc/protocol.md §6). */
	if (c->sb->cfg.throttle_queries > 0) {
		c->sb->cfg.throttle_queries--;
		node_error(c, "40005", "isv.method-call-limited", "调用频率超限");
		return 0;
	}
	t = find_for_biz(c);
	if (!t) {
		struct sb_trade *u =
			sb_trade_find(c->sb, biz_str(c, "out_trade_no"), biz_str(c, "trade_no"));
		if (u)
			u->query_requests++;
		node_not_exist(c);
		return 0;
	}
	t->query_requests++;
	node_ok(c);
	node_trade_ids(c, t);
	node_str(c, "buyer_logon_id", t->buyer_logon_id);
	node_str(c, "trade_status", sb_status_name(t->status));
	node_money(c, "total_amount", t->total_fen);
	if (t->gmt_payment) {
		node_receipt(c, t);
		node_time(c, "send_pay_date", t->gmt_payment);
	} else {
		node_money(c, "buyer_pay_amount", 0);
	}
	node_str(c, "store_id", t->store_id);
	node_str(c, "terminal_id", t->terminal_id);
	node_str(c, "buyer_user_id", t->buyer_user_id);
	return 0;
}

static int
refund_add(struct sb_trade *t, const char *out_request_no, int64_t amount, time_t now,
	   struct sb_refund **ret)
{
	struct sb_refund *v;
	char *no;

	if (t->n_refunds >= SB_REFUNDS_MAX)
		return -ENOSPC;
	no = strdup(out_request_no);
	if (!no)
		return -ENOMEM;
	v = reallocarray(t->refunds, t->n_refunds + 1, sizeof(*v));
	if (!v) {
		free(no);
		return -ENOMEM;
	}
	t->refunds = v;
	t->refunds[t->n_refunds] = (struct sb_refund){
		.out_request_no = no, .amount_fen = amount, .at = now, .requests = 1};
	t->refunded_fen += amount;
	*ret = &t->refunds[t->n_refunds++];
	return 0;
}

static int
api_cancel(struct ctx *c)
{
	const char *otn = biz_str(c, "out_trade_no");
	struct sb_trade *t;
	int r;

	if (missing_ids(c))
		return 0;
	t = sb_trade_find(c->sb, otn, biz_str(c, "trade_no"));
	if (!t) {
		if (!isempty(biz_str(c, "trade_no")) || isempty(otn) || !valid_out_trade_no(otn)) {
			node_not_exist(c);
			return 0;
		}
		/*
		 * Like the real gateway, a cancel by an out_trade_no it never saw (a pay lost on
		 * the way) succeeds, without `action` (returned only for existing trades). The
		 * sandbox also closes the number: a late pay with it fails with
		 * ACQ.TRADE_HAS_CLOSE and never charges.
		 */
		r = sb_trade_new(c->sb, otn, &t);
		if (r < 0) {
			node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
			node_str(c, "retry_flag", "Y");
			return 0;
		}
		t->precreate = 0;
		t->status = SB_STATUS_NONE;
		t->qr_dead = 1;
		t->gmt_close = c->now;
		t->cancel_requests = 1;
		node_ok(c);
		node_str(c, "out_trade_no", otn);
		node_str(c, "retry_flag", "N");
		return 0;
	}
	t->cancel_requests++;
	/* doc/design.md §11.1, scenario 8: the first cancel fails in a retryable way. */
	if (t->scenario == 8 && t->cancel_requests == 1) {
		node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
		node_trade_ids(c, t);
		node_str(c, "retry_flag", "Y");
		return 0;
	}
	switch (t->status) {
	case SB_STATUS_NONE: /* an unscanned QR, or a number closed by an earlier cancel */
		t->qr_dead = 1;
		if (!t->cancel_action && t->precreate)
			t->cancel_action = strdup("close");
		t->gmt_close = t->gmt_close ?: c->now;
		break;
	case SB_STATUS_WAIT_BUYER_PAY:
		t->status = SB_STATUS_TRADE_CLOSED;
		t->confirm_usec = 0;
		t->gmt_close = c->now;
		t->cancel_action = strdup("close");
		(void)sb_trade_notify(c->sb, t, NULL);
		break;
	case SB_STATUS_TRADE_SUCCESS: {
		struct sb_refund *f = NULL;

		/* doc/protocol.md §5.3: a paid trade is refunded in full (what is left of it). */
		r = refund_add(t, "", t->total_fen - t->refunded_fen, c->now, &f);
		if (r < 0) {
			node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
			node_str(c, "retry_flag", "Y");
			return 0;
		}
		t->status = SB_STATUS_TRADE_CLOSED;
		t->gmt_close = c->now;
		t->cancel_action = strdup("refund");
		(void)sb_trade_notify(c->sb, t, f);
		break;
	}
	case SB_STATUS_TRADE_CLOSED:
		if (!t->cancel_action)
			t->cancel_action = strdup(t->refunded_fen ? "refund" : "close");
		break;
	case _SB_STATUS_MAX:
		break;
	}
	node_ok(c);
	if (t->status == SB_STATUS_NONE)
		node_str(c, "out_trade_no", t->out_trade_no);
	else
		node_trade_ids(c, t);
	node_str(c, "retry_flag", "N");
	node_str(c, "action", t->cancel_action); /* omitted for a number never seen */
	return 0;
}

static int
api_close(struct ctx *c)
{
	struct sb_trade *t;

	if (missing_ids(c))
		return 0;
	t = find_for_biz(c);
	if (!t) {
		node_not_exist(c);
		return 0;
	}
	t->close_requests++;
	switch (t->status) {
	case SB_STATUS_WAIT_BUYER_PAY:
		t->status = SB_STATUS_TRADE_CLOSED;
		t->confirm_usec = 0;
		t->gmt_close = c->now;
		t->qr_dead = 1;
		(void)sb_trade_notify(c->sb, t, NULL);
		break;
	case SB_STATUS_TRADE_CLOSED:
		if (t->refunded_fen == 0)
			break; /* closing a closed unpaid trade again is harmless */
		node_error(c, "40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
		node_trade_ids(c, t);
		return 0;
	case SB_STATUS_TRADE_SUCCESS:
	case SB_STATUS_NONE:
	case _SB_STATUS_MAX:
		node_error(c, "40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
		node_trade_ids(c, t);
		return 0;
	}
	node_ok(c);
	node_trade_ids(c, t);
	return 0;
}

static int
api_refund(struct ctx *c)
{
	const char *req = biz_str(c, "out_request_no");
	struct sb_refund *f = NULL;
	struct sb_trade *t;
	int64_t amount;
	int r;

	if (missing_ids(c) || parse_amount(c, "refund_amount", &amount) < 0)
		return 0;
	if (req && (strlen(req) > SB_OUT_TRADE_NO_MAX || !valid_out_trade_no(req))) {
		node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
		return 0;
	}
	t = find_for_biz(c);
	if (!t) {
		node_not_exist(c);
		return 0;
	}
	t->refund_requests++;
	/* Without out_request_no the refund is identified by the trade itself (one full refund). */
	req = req ?: t->out_trade_no;
	for (size_t i = 0; i < t->n_refunds; i++)
		if (STR_EQ(t->refunds[i].out_request_no, req))
			f = &t->refunds[i];
	if (f) {
		f->requests++;
		/* doc/protocol.md §5.5: the same out_request_no is idempotent, another amount is
		 * not. */
		if (f->amount_fen != amount) {
			node_error(c, "40004", "ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致");
			node_trade_ids(c, t);
			return 0;
		}
		node_ok(c);
		node_trade_ids(c, t);
		node_str(c, "buyer_logon_id", t->buyer_logon_id);
		node_str(c, "fund_change", "N");
		node_money(c, "refund_fee", t->refunded_fen);
		node_time(c, "gmt_refund_pay", f->at);
		node_str(c, "buyer_user_id", t->buyer_user_id);
		return 0;
	}
	if (t->status == SB_STATUS_TRADE_CLOSED) {
		node_error(c, "40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
		node_trade_ids(c, t);
		return 0;
	}
	if (t->status != SB_STATUS_TRADE_SUCCESS) {
		node_error(c, "40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
		node_trade_ids(c, t);
		return 0;
	}
	if (amount > t->total_fen - t->refunded_fen) {
		node_error(c, "40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限");
		node_trade_ids(c, t);
		return 0;
	}
	r = refund_add(t, req, amount, c->now, &f);
	if (r < 0) {
		node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
		return 0;
	}
	if (t->refunded_fen == t->total_fen) {
		t->status = SB_STATUS_TRADE_CLOSED;
		t->gmt_close = c->now;
	}
	(void)sb_trade_notify(c->sb, t, f);
	node_ok(c);
	node_trade_ids(c, t);
	node_str(c, "buyer_logon_id", t->buyer_logon_id);
	node_str(c, "fund_change", "Y");
	node_money(c, "refund_fee", t->refunded_fen);
	node_time(c, "gmt_refund_pay", f->at);
	node_str(c, "buyer_user_id", t->buyer_user_id);
	return 0;
}

static int
api_refund_query(struct ctx *c)
{
	const char *req = biz_str(c, "out_request_no");
	struct sb_trade *t;

	if (missing_ids(c))
		return 0;
	if (isempty(req)) {
		node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
		return 0;
	}
	t = find_for_biz(c);
	if (!t) {
		node_not_exist(c);
		return 0;
	}
	node_ok(c);
	node_trade_ids(c, t);
	node_str(c, "out_request_no", req);
	for (size_t i = 0; i < t->n_refunds; i++)
		if (STR_EQ(t->refunds[i].out_request_no, req)) {
			/* doc/protocol.md §5.7: refund_amount present ⇔ the refund happened. */
			node_money(c, "total_amount", t->total_fen);
			node_money(c, "refund_amount", t->refunds[i].amount_fen);
			node_str(c, "refund_status", "REFUND_SUCCESS");
			node_time(c, "gmt_refund_pay", t->refunds[i].at);
			break;
		}
	return 0;
}

static int
api_bill(struct ctx *c)
{
	struct sandbox *sb = c->sb;
	const char *type = biz_str(c, "bill_type"), *date = biz_str(c, "bill_date");
	_cleanup_free_ char *name = NULL, *url = NULL;
	_cleanup_free_ void *zip = NULL;
	unsigned char rnd[16];
	struct sb_bill *v;
	time_t day, today;
	size_t len = 0;
	int r;

	if (!STR_EQ_PTR(type, "trade") && !STR_EQ_PTR(type, "signcustomer")) {
		node_error(c, "40004", "isp.bill_type_not_exist", "账单类型不存在");
		return 0;
	}
	if (!date || strlen(date) != 10 || beijing_parse_date(date, &day) < 0) {
		node_error(c, "40004", "isv.invalid-bill-date", "账单日期格式不正确");
		return 0;
	}
	/*
	 * The real gateway serves finished days only; the sandbox also serves today's trades so
	 * far, so that a test can pay and then reconcile at once.
	 */
	(void)beijing_parse_date(beijing_format_date(c->now, 1, (char[BEIJING_DATE_BUF]){}),
				 &today);
	if (day > today) {
		node_error(c, "40004", "isp.bill_not_exist", "账单不存在");
		return 0;
	}
	r = sb_bill_build(sb, day, c->now, &name, &zip, &len);
	if (r == -ENOENT) {
		node_error(c, "40004", "isp.bill_not_exist", "账单不存在");
		return 0;
	}
	if (r < 0 || sb->n_bills >= 64 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		node_error(c, "20000", "isp.unknow-error", "系统繁忙");
		return 0;
	}
	v = reallocarray(sb->bills, sb->n_bills + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	sb->bills = v;
	v = &sb->bills[sb->n_bills];
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(v->token + 2 * i, 3, "%02x", rnd[i]);
	if (asprintf(&url,
		     "%s/downloadBillFile.resource?bizType=trade&userId=%s0156&fileType=csv.zip"
		     "&bizDates=%.4s%.2s%.2s&downloadFileName=%s&token=%s",
		     sb->base_url, sb->cfg.pid, date, date + 5, date + 8, name, v->token) < 0)
		return -ENOMEM;
	/* doc/protocol.md §5.8: the URL is valid for 30 seconds. */
	v->expire_usec = now_usec(CLOCK_REALTIME) + sb_scaled_usec(sb, 30);
	v->file_name = TAKE_PTR(name);
	v->zip = TAKE_PTR(zip);
	v->zip_len = len;
	sb->n_bills++;
	node_ok(c);
	node_str(c, "bill_download_url", url);
	return 0;
}

/* doc/protocol.md §5.4: the trade does not exist until the buyer scans the QR. */
static int
api_precreate(struct ctx *c)
{
	struct sandbox *sb = c->sb;
	const char *otn = biz_str(c, "out_trade_no"), *qr_timeout;
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[22];
	struct sb_trade *t;
	double life_sec = 2 * 3600;
	char qr[64];
	int64_t total;
	int r;

	if (!valid_out_trade_no(otn) || isempty(biz_str(c, "subject"))) {
		node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
		return 0;
	}
	if (parse_amount(c, "total_amount", &total) < 0)
		return 0;
	t = sb_trade_find(sb, otn, NULL);
	if (t) {
		if (!context_matches(c, t, 1, total)) {
			node_error(c, "40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改");
			return 0;
		}
		if (t->status == SB_STATUS_TRADE_SUCCESS) {
			node_error(c, "40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
			return 0;
		}
		if (t->status == SB_STATUS_TRADE_CLOSED || t->qr_dead) {
			node_error(c, "40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
			return 0;
		}
		node_ok(c); /* a repeat gets the same QR */
		node_str(c, "out_trade_no", t->out_trade_no);
		node_str(c, "qr_code", t->qr_code);
		return 0;
	}
	/* qr_code_timeout_express: "Nm", "Nh", "Nd" (1m–15d); the default is 2 hours. */
	qr_timeout = biz_str(c, "qr_code_timeout_express") ?: biz_str(c, "timeout_express");
	if (qr_timeout) {
		char *end = NULL;
		long n = strtol(qr_timeout, &end, 10);

		if (n <= 0 || n > 21600 || !end || strlen(end) != 1 || !strchr("mhd", *end)) {
			node_error(c, "40004", "ACQ.INVALID_PARAMETER", "参数无效");
			return 0;
		}
		life_sec = (double)n * (*end == 'm' ? 60 : *end == 'h' ? 3600 : 86400);
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
		return 0;
	}
	r = snprintf(qr, sizeof(qr), "https://qr.alipay.com/bax0");
	for (size_t i = 0; i < sizeof(rnd); i++)
		qr[r++] = alnum[rnd[i] % (sizeof(alnum) - 1)];
	qr[r] = '\0';
	r = sb_trade_new(sb, otn, &t);
	if (r < 0) {
		node_error(c, "20000", "ACQ.SYSTEM_ERROR", "系统错误");
		return 0;
	}
	t->precreate = 1;
	t->status = SB_STATUS_NONE;
	t->total_fen = total;
	t->qr_expire_usec = now_usec(CLOCK_REALTIME) + sb_scaled_usec(sb, life_sec);
	if (sb_trade_watch_time(sb, t) < 0)
		return -ENOMEM;
	if (dup_field(&t->qr_code, qr) < 0 || dup_field(&t->subject, biz_str(c, "subject")) < 0 ||
	    dup_field(&t->store_id, biz_str(c, "store_id")) < 0 ||
	    dup_field(&t->operator_id, biz_str(c, "operator_id")) < 0 ||
	    dup_field(&t->terminal_id, biz_str(c, "terminal_id")) < 0)
		return -ENOMEM;
	trade_record_request_meta(c, t);
	node_ok(c);
	node_str(c, "out_trade_no", otn);
	node_str(c, "qr_code", qr);
	return 0;
}

int
sb_sim_scan(struct sandbox *sb, const char *body, size_t len, int *ret_status, struct buf *out)
{
	json_tokener *tok = json_tokener_new_ex(8);
	json_object *req = NULL, *v;
	const char *qr = NULL, *err = NULL;
	struct sb_trade *t;
	int pay = 0, status = 200, r;

	if (!tok)
		return -ENOMEM;
	req = json_tokener_parse_ex(tok, body, (int)len);
	json_tokener_free(tok);
	if (req && json_object_is_type(req, json_type_object)) {
		if (json_object_object_get_ex(req, "qr_code", &v) &&
		    json_object_is_type(v, json_type_string))
			qr = json_object_get_string(v);
		if (json_object_object_get_ex(req, "pay", &v))
			pay = json_object_get_boolean(v);
	}
	if (!qr) {
		json_object_put(req);
		*ret_status = 400;
		return buf_puts(
			out, "{\"error\":\"expected {\\\"qr_code\\\":…,\\\"pay\\\":true|false}\"}");
	}
	pthread_mutex_lock(&sb->lock);
	sb_ledger_tick(sb, now_usec(CLOCK_REALTIME));
	t = sb_trade_find_qr(sb, qr);
	if (!t)
		err = "unknown qr_code", status = 404;
	else if (t->qr_dead || t->status == SB_STATUS_TRADE_CLOSED)
		err = "this QR code has expired or was cancelled", status = 410;
	else if (t->status == SB_STATUS_TRADE_SUCCESS)
		err = "already paid", status = 409;
	else {
		if (t->status == SB_STATUS_NONE) {
			t->status = SB_STATUS_WAIT_BUYER_PAY;
			t->scenario = pay ? 0 : 2;
			(void)sb_trade_notify(sb, t, NULL);
		}
		if (pay) {
			t->status = SB_STATUS_TRADE_SUCCESS;
			t->gmt_payment = time(NULL);
			(void)sb_trade_notify(sb, t, NULL);
		}
		(void)sb_ledger_save(sb);
	}
	if (err)
		r = buf_printf(out, "{\"error\":\"%s\"}", err);
	else
		r = buf_printf(
			out,
			"{\"out_trade_no\":\"%s\",\"trade_no\":\"%s\",\"trade_status\":\"%s\"}",
			t->out_trade_no, t->trade_no, sb_status_name(t->status));
	pthread_mutex_unlock(&sb->lock);
	json_object_put(req);
	*ret_status = status;
	return r;
}

/* doc/protocol.md §3: Alipay HTML-escapes the string it signed when it quotes it in sub_msg. */
static int
html_escape(const char *s, struct buf *out)
{
	int r = 0;

	for (; *s && r >= 0; s++)
		switch (*s) {
		case '&':
			r = buf_puts(out, "&amp;");
			break;
		case '<':
			r = buf_puts(out, "&lt;");
			break;
		case '>':
			r = buf_puts(out, "&gt;");
			break;
		case '"':
			r = buf_puts(out, "&quot;");
			break;
		case '\'':
			r = buf_puts(out, "&#39;");
			break;
		default:
			r = buf_putc(out, *s);
		}
	return r;
}

/* The checks of the common parameters; 0 = go on, 1 = the node holds the error. */
static int
check_common(struct ctx *c)
{
	struct sandbox *sb = c->sb;
	const char *app_id, *ts, *sign, *st, *cs;
	struct buf s = BUF_INIT(SB_BODY_MAX * 2);
	time_t t;
	int r;

	c->method = sb_params_get(&c->params, "method");
	for (size_t i = 0; c->method && i < ELEMENTSOF(methods); i++)
		if (STR_EQ(c->method, methods[i]))
			c->method_known = 1;
	if (isempty(c->method)) {
		node_error(c, "40001", "isv.missing-method", "缺少方法名参数");
		return 1;
	}
	app_id = sb_params_get(&c->params, "app_id");
	if (isempty(app_id)) {
		node_error(c, "40001", "isv.missing-app-id", "缺少AppID参数");
		return 1;
	}
	if (!STR_EQ(app_id, sb->cfg.app_id)) {
		/* doc/protocol.md §3: the app is unknown, so the reply cannot be signed. */
		node_error(c, "40002", "isv.invalid-app-id", "无效的AppID参数");
		return 1;
	}
	st = sb_params_get(&c->params, "sign_type");
	if (st && sb_sign_type_from_string(st, &c->sign_type) >= 0)
		c->can_sign = 1;
	else {
		c->sign_type = SB_SIGN_RSA2;
		c->can_sign = 1;
	}
	if (!c->method_known) {
		node_error(c, "40002", "isv.invalid-method", "不存在的方法名");
		return 1;
	}
	cs = sb_params_get(&c->params, "charset");
	if (cs && c->charset == SB_CHARSET_UNKNOWN) {
		node_error(c, "40002", "isv.invalid-charset", "字符集错误");
		return 1;
	}
	if (c->charset == SB_CHARSET_UNKNOWN)
		c->charset = SB_CHARSET_UTF8;
	for (size_t i = 0; i < c->params.n; i++) {
		_cleanup_free_ char *u = NULL;

		if (sb_charset_to_utf8(c->charset, c->params.v[i].key, strlen(c->params.v[i].key),
				       &u) < 0 ||
		    (free(u), u = NULL,
		     sb_charset_to_utf8(c->charset, c->params.v[i].value,
					strlen(c->params.v[i].value), &u) < 0)) {
			node_error(c, "40002", "isv.invalid-charset", "参数编码与charset不符");
			return 1;
		}
	}
	if (isempty(st)) {
		node_error(c, "40001", "isv.missing-signature-type", "缺少签名类型参数");
		return 1;
	}
	if (sb_sign_type_from_string(st, &c->sign_type) < 0) {
		c->sign_type = SB_SIGN_RSA2;
		node_error(c, "40002", "isv.invalid-signature-type", "无效的签名类型参数");
		return 1;
	}
	sign = sb_params_get(&c->params, "sign");
	if (isempty(sign)) {
		node_error(c, "40001", "isv.missing-signature", "缺少签名参数");
		return 1;
	}
	ts = sb_params_get(&c->params, "timestamp");
	if (isempty(ts)) {
		node_error(c, "40001", "isv.missing-timestamp", "缺少时间戳参数");
		return 1;
	}
	/* doc/protocol.md §2: Beijing time, within 15 minutes of ours. */
	if (beijing_parse_time(ts, &t) < 0 || t < c->now - 15 * 60 || t > c->now + 15 * 60) {
		node_error(c, "40002", "isv.invalid-timestamp", "非法的时间戳参数");
		return 1;
	}
	if (isempty(sb_params_get(&c->params, "version"))) {
		node_error(c, "40001", "isv.missing-version", "缺少版本参数");
		return 1;
	}
	if (!STR_EQ(sb_params_get(&c->params, "version"), "1.0")) {
		node_error(c, "40002", "isv.invalid-version", "版本号错误");
		return 1;
	}
	/* doc/protocol.md §7: certificate mode names the app's and the root's certificates. */
	if (sb->cert_mode) {
		if (!STR_EQ_PTR(sb_params_get(&c->params, "app_cert_sn"), sb->app_cert_sn)) {
			node_error(c, "40002", "isv.invalid-app-cert-sn",
				   "应用公钥证书序列号不匹配");
			return 1;
		}
		if (!STR_EQ_PTR(sb_params_get(&c->params, "alipay_root_cert_sn"),
				sb->root_cert_sn)) {
			node_error(c, "40002", "isv.invalid-alipay-root-cert-sn",
				   "支付宝根证书序列号不匹配");
			return 1;
		}
	}
	/* doc/protocol.md §2.1: exactly what was received, minus sign, in the request's charset. */
	r = sb_params_sign_string(&c->params, 0, &s);
	if (r >= 0) {
		r = sb_verify(sb->app_key, c->sign_type, s.data ?: "", s.len, sign);
		if (r == 0) {
			_cleanup_free_ char *u = NULL;
			struct buf m = BUF_INIT(SB_BODY_MAX * 4);

			(void)sb_charset_to_utf8(c->charset, s.data ?: "", s.len, &u);
			(void)buf_puts(&m, "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹"
					   "配，网关生成的验签字符串为：");
			/* Quote at most 64 KiB of it (cut on a character boundary). */
			if (u && strlen(u) > SUB_MSG_QUOTE_MAX) {
				size_t cut = SUB_MSG_QUOTE_MAX;

				while (cut > 0 && ((unsigned char)u[cut] & 0xc0) == 0x80)
					cut--;
				u[cut] = '\0';
			}
			(void)html_escape(strempty(u), &m);
			node_error(c, "40002", "isv.invalid-signature", m.data);
			buf_free(&m);
			buf_free(&s);
			return 1;
		}
	}
	buf_free(&s);
	if (r < 0) {
		node_error(c, "20000", "isp.unknow-error", "系统繁忙");
		return 1;
	}
	return 0;
}

static int
parse_biz(struct ctx *c)
{
	const char *raw = sb_params_get(&c->params, "biz_content");
	_cleanup_free_ char *u = NULL;
	json_tokener *tok;

	if (isempty(raw)) {
		node_error(c, "40002", "isv.missing-biz-content", "缺少业务参数");
		return 1;
	}
	if (sb_charset_to_utf8(c->charset, raw, strlen(raw), &u) < 0)
		return -ENOMEM; /* checked in check_common() already */
	tok = json_tokener_new_ex(16);
	if (!tok)
		return -ENOMEM;
	c->biz = json_tokener_parse_ex(tok, u, (int)strlen(u));
	if (!c->biz || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(c->biz, json_type_object)) {
		json_object_put(c->biz);
		c->biz = NULL;
		json_tokener_free(tok);
		node_error(c, "40002", "isv.invalid-biz-content", "业务参数格式错误");
		return 1;
	}
	json_tokener_free(tok);
	return 0;
}

/* Writes `{"<key>":<node>[,"alipay_cert_sn":…][,"sign":…]}` in the request's charset. */
static int
reply_finish(struct ctx *c, int signed_reply, struct sb_reply *reply)
{
	struct sandbox *sb = c->sb;
	char key[96];
	_cleanup_free_ char *node = NULL, *sig = NULL;
	size_t node_len = 0;
	int r;

	if (c->node.len == 0)
		(void)buf_putc(&c->node, '{');
	r = buf_putc(&c->node, '}');
	if (r < 0)
		return r;
	if (c->method_known) {
		snprintf(key, sizeof(key), "%s_response", c->method);
		for (char *p = key; *p; p++)
			if (*p == '.')
				*p = '_';
	} else
		snprintf(key, sizeof(key), "error_response");
	r = sb_charset_from_utf8(c->charset == SB_CHARSET_GBK ? SB_CHARSET_GBK : SB_CHARSET_UTF8,
				 c->node.data, c->node.len, &node, &node_len);
	if (r < 0)
		return r;
	r = buf_printf(&reply->body, "{\"%s\":", key);
	if (r >= 0)
		r = buf_append(&reply->body, node, node_len);
	if (r >= 0 && signed_reply) {
		/* doc/protocol.md §3: the signature covers the node's exact bytes. */
		r = sb_sign(sb->alipay_key, c->sign_type, node, node_len, &sig);
		if (r >= 0 && c->corrupt_sign)
			sig[10] = sig[10] == 'A' ? 'B' : 'A';
		if (r >= 0 && sb->cert_mode)
			r = buf_printf(&reply->body, ",\"alipay_cert_sn\":\"%s\"",
				       sb->alipay_cert_sn);
		if (r >= 0)
			r = buf_printf(&reply->body, ",\"sign\":\"%s\"", sig);
	}
	if (r >= 0)
		r = buf_putc(&reply->body, '}');
	reply->content_type =
		c->charset == SB_CHARSET_GBK ? "text/html;charset=GBK" : "text/html;charset=utf-8";
	return r;
}

static const char *
content_type_charset(const char *ct)
{
	const char *p = ct ? strcasestr(ct, "charset=") : NULL;

	return p ? p + 8 : NULL;
}

int
sb_gateway_handle(struct sandbox *sb, const char *query, const char *body, size_t body_len,
		  const char *content_type, struct sb_reply *reply)
{
	struct ctx c = {.sb = sb, .node = BUF_INIT(NODE_MAX), .now = time(NULL)};
	struct sb_params qp = {};
	const char *cs;
	int r, done, signed_reply;

	reply->content_type = "text/html;charset=utf-8";
	/* doc/protocol.md §2: query ∪ body; the charset comes from the query first. */
	r = sb_params_parse(&c.params, strempty(query), strlen(strempty(query)));
	if (r >= 0)
		r = sb_params_parse(&qp, strempty(query), strlen(strempty(query)));
	if (r >= 0 && body_len > 0 && memchr(body, '\0', body_len))
		r = -EBADMSG;
	if (r >= 0 && body_len > 0)
		r = sb_params_parse(&c.params, body, body_len);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		c.method_known = 0;
		node_error(&c, "40002",
			   r == -E2BIG ? "isv.too-many-parameters" : "isv.invalid-parameter",
			   r == -E2BIG ? "参数个数超过限制" : "请求参数格式错误");
		r = reply_finish(&c, 0, reply);
		goto out;
	}
	cs = sb_params_get(&qp, "charset") ?: sb_params_get(&c.params, "charset")
					   ?: content_type_charset(content_type);
	c.charset = cs ? sb_charset_from_string(cs) : SB_CHARSET_UTF8;

	pthread_mutex_lock(&sb->lock);
	done = check_common(&c);
	if (!done)
		done = parse_biz(&c);
	if (done < 0) {
		r = done;
		pthread_mutex_unlock(&sb->lock);
		goto out;
	}
	if (!done) {
		if (STR_EQ(c.method, "alipay.trade.pay"))
			r = api_pay(&c, reply);
		else if (STR_EQ(c.method, "alipay.trade.query"))
			r = api_query(&c);
		else if (STR_EQ(c.method, "alipay.trade.cancel"))
			r = api_cancel(&c);
		else if (STR_EQ(c.method, "alipay.trade.precreate"))
			r = api_precreate(&c);
		else if (STR_EQ(c.method, "alipay.trade.refund"))
			r = api_refund(&c);
		else if (STR_EQ(c.method, "alipay.trade.close"))
			r = api_close(&c);
		else if (STR_EQ(c.method, "alipay.trade.fastpay.refund.query"))
			r = api_refund_query(&c);
		else
			r = api_bill(&c);
		(void)sb_ledger_save(sb);
	}
	pthread_mutex_unlock(&sb->lock);
	if (r < 0)
		goto out;
	/* Unsigned only when the app could not be identified (doc/protocol.md §3). */
	signed_reply = c.can_sign;
	r = reply_finish(&c, signed_reply, reply);
out:
	json_object_put(c.biz);
	buf_free(&c.node);
	sb_params_free(&c.params);
	sb_params_free(&qp);
	return r;
}
