/* SPDX-License-Identifier: MIT */
/* The sandbox's trade ledger: lookup, time-driven changes, notifications queued, --state file. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "sandbox/sandbox.h"

usec_t
sb_scaled_usec(const struct sandbox *sb, double seconds)
{
	double s = seconds / (sb->cfg.time_scale > 0 ? sb->cfg.time_scale : 1);

	return s <= 0 ? 0 : (usec_t)(s * 1e6);
}

const char *
sb_status_name(enum sb_status s)
{
	switch (s) {
	case SB_STATUS_NONE:
		return "NOT_EXIST";
	case SB_STATUS_WAIT_BUYER_PAY:
		return "WAIT_BUYER_PAY";
	case SB_STATUS_TRADE_SUCCESS:
		return "TRADE_SUCCESS";
	case SB_STATUS_TRADE_CLOSED:
		return "TRADE_CLOSED";
	case _SB_STATUS_MAX:
		break;
	}
	return "?";
}

static enum sb_status
status_from_name(const char *s)
{
	for (enum sb_status i = 0; i < _SB_STATUS_MAX; i++)
		if (STR_EQ_PTR(s, sb_status_name(i)))
			return i;
	return SB_STATUS_NONE;
}

struct sb_trade *
sb_trade_find(struct sandbox *sb, const char *out_trade_no, const char *trade_no)
{
	if (!isempty(trade_no))
		return sb_trade_lookup(sb, SB_KEY_TRADE_NO, trade_no);
	return sb_trade_lookup(sb, SB_KEY_OUT_TRADE_NO, out_trade_no);
}

struct sb_trade *
sb_trade_find_qr(struct sandbox *sb, const char *qr_code)
{
	for (size_t i = 0; i < sb->n_trades; i++)
		if (STR_EQ_PTR(sb->trades[i]->qr_code, qr_code))
			return sb->trades[i];
	return NULL;
}

struct sb_trade *
sb_trade_find_auth_code(struct sandbox *sb, const char *auth_code)
{
	return sb_trade_lookup(sb, SB_KEY_AUTH_CODE, auth_code);
}

/* doc/design.md §11.1, scenario 1: a buyer who confirms on the phone after --confirm-after. */
static bool
confirm_pending(const struct sb_trade *t)
{
	return t->status == SB_STATUS_WAIT_BUYER_PAY && t->confirm_usec;
}

/* doc/protocol.md §5.4: an unscanned QR dies when its lifetime ends. */
static bool
qr_expiry_pending(const struct sb_trade *t)
{
	return t->precreate && t->status == SB_STATUS_NONE && !t->qr_dead && t->qr_expire_usec;
}

/* Whether time can still change t: what keeps it on the ticks' list. */
static bool
time_pending(const struct sb_trade *t)
{
	return confirm_pending(t) || qr_expiry_pending(t);
}

/* Appends t to a list of trades (timed, outbox) unless *flag says it is there. */
static int
trade_list_add(struct sb_trade ***list, size_t *n, struct sb_trade *t, int *flag)
{
	struct sb_trade **v;

	if (*flag)
		return 0;
	v = reallocarray(*list, *n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*list = v;
	v[(*n)++] = t;
	*flag = 1;
	return 0;
}

int
sb_trade_watch_time(struct sandbox *sb, struct sb_trade *t)
{
	return trade_list_add(&sb->timed, &sb->n_timed, t, &t->timed);
}

int
sb_trade_outbox_add(struct sandbox *sb, struct sb_trade *t)
{
	return trade_list_add(&sb->outbox, &sb->n_outbox, t, &t->in_outbox);
}

int
sb_trade_new(struct sandbox *sb, const char *out_trade_no, struct sb_trade **ret)
{
	struct sb_trade **v, *t;
	time_t now = time(NULL);
	char date[BEIJING_DATE_BUF];
	uint64_t id;

	if (sb->n_trades >= SB_TRADES_MAX)
		return -ENOSPC;
	v = reallocarray(sb->trades, sb->n_trades + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	sb->trades = v;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->out_trade_no = strdup(out_trade_no);
	if (!t->out_trade_no) {
		free(t);
		return -ENOMEM;
	}
	/* doc/protocol.md §5.1: trade_no is 28 digits, the date first. */
	sb->seq++;
	snprintf(t->trade_no, sizeof(t->trade_no), "%s22%018" PRIu64,
		 beijing_format_date(now, 0, date), sb->seq % UINT64_C(1000000000000000000));
	/* A fixed-looking buyer per trade: 2088 + 12 digits, masked logon id (§5.1). */
	id = 100000000000ULL + (sb->seq * 7919) % 899999999999ULL;
	snprintf(t->buyer_user_id, sizeof(t->buyer_user_id), "2088%012" PRIu64, id);
	snprintf(t->buyer_logon_id, sizeof(t->buyer_logon_id), "%c%c%c***@example.com",
		 'a' + (int)(sb->seq % 26), 'b' + (int)(sb->seq % 25), 'c' + (int)(sb->seq % 24));
	t->gmt_create = now;
	t->scenario = -1;
	sb->trades[sb->n_trades++] = t;
	sb_trade_index(sb, t, SB_KEY_OUT_TRADE_NO);
	sb_trade_index(sb, t, SB_KEY_TRADE_NO);
	*ret = t;
	return 0;
}

static void
notice_clear(struct sb_notice *n)
{
	sb_params_free(&n->fields);
	free(n->last_reply);
}

void
sb_trade_free(struct sb_trade *t)
{
	if (!t)
		return;
	free(t->out_trade_no);
	free(t->auth_code);
	free(t->qr_code);
	free(t->subject);
	free(t->store_id);
	free(t->operator_id);
	free(t->terminal_id);
	free(t->notify_url);
	free(t->cancel_action);
	for (size_t i = 0; i < t->n_refunds; i++)
		free(t->refunds[i].out_request_no);
	free(t->refunds);
	for (size_t i = 0; i < t->n_notices; i++)
		notice_clear(&t->notices[i]);
	free(t->notices);
	free(t);
}

void
sb_ledger_free(struct sandbox *sb)
{
	for (size_t i = 0; i < sb->n_trades; i++)
		sb_trade_free(sb->trades[i]);
	free(sb->trades);
	sb->trades = NULL;
	sb->n_trades = 0;
	sb_index_free(&sb->index);
	free(sb->timed);
	free(sb->outbox);
	sb->timed = sb->outbox = NULL;
	sb->n_timed = sb->n_outbox = 0;
	for (size_t i = 0; i < sb->n_bills; i++) {
		free(sb->bills[i].file_name);
		free(sb->bills[i].zip);
	}
	free(sb->bills);
	sb->bills = NULL;
	sb->n_bills = 0;
}

void
sb_ledger_tick(struct sandbox *sb, usec_t now)
{
	int changed = 0;

	for (size_t i = 0; i < sb->n_timed;) {
		struct sb_trade *t = sb->timed[i];

		if (confirm_pending(t) && now >= t->confirm_usec) {
			t->status = SB_STATUS_TRADE_SUCCESS;
			t->gmt_payment = (time_t)(now / USEC_PER_SEC);
			t->confirm_usec = 0;
			(void)sb_trade_notify(sb, t, NULL);
			changed = 1;
		}
		if (qr_expiry_pending(t) && now >= t->qr_expire_usec) {
			t->qr_dead = 1;
			changed = 1;
		}
		/* Nothing more for time to do to it: off the list. */
		if (!time_pending(t)) {
			t->timed = 0;
			sb->timed[i] = sb->timed[--sb->n_timed];
		} else
			i++;
	}
	for (size_t i = 0; i < sb->n_bills;) {
		if (now >= sb->bills[i].expire_usec) {
			free(sb->bills[i].file_name);
			free(sb->bills[i].zip);
			sb->bills[i] = sb->bills[--sb->n_bills];
		} else
			i++;
	}
	if (changed)
		(void)sb_ledger_save(sb);
}

static int
add(struct sb_params *p, const char *k, const char *v)
{
	if (isempty(v))
		return 0;
	return sb_params_set(p, k, v);
}

int
sb_trade_notify(struct sandbox *sb, struct sb_trade *t, const struct sb_refund *refund)
{
	struct sb_params p = {};
	struct sb_notice *v;
	char a[MONEY_BUF_SIZE], tb[BEIJING_TIME_BUF], id[64];
	int r = 0;

	if (isempty(t->notify_url))
		return 0;
	/* Alipay notifies TRADE_SUCCESS, TRADE_FINISHED and TRADE_CLOSED; the creation of an
	 * unpaid trade only when the merchant opted in. */
	if (t->status == SB_STATUS_WAIT_BUYER_PAY && !refund && !sb->cfg.notify_wait_buyer_pay)
		return 0;
	/* doc/protocol.md §4: the fields of trade_status_sync. */
	snprintf(id, sizeof(id), "2026%s%02zu", t->trade_no + 8, t->n_notices);
	r = r ?: add(&p, "notify_type", "trade_status_sync");
	r = r ?: add(&p, "notify_id", id);
	r = r ?: add(&p, "app_id", sb->cfg.app_id);
	r = r ?: add(&p, "auth_app_id", sb->cfg.app_id);
	r = r ?: add(&p, "charset", sb_charset_name(t->charset));
	r = r ?: add(&p, "version", "1.0");
	r = r ?: add(&p, "sign_type", sb_sign_type_name(t->sign_type));
	r = r ?: add(&p, "trade_no", t->trade_no);
	r = r ?: add(&p, "out_trade_no", t->out_trade_no);
	r = r ?: add(&p, "buyer_id", t->buyer_user_id);
	r = r ?: add(&p, "buyer_logon_id", t->buyer_logon_id);
	r = r ?: add(&p, "seller_id", sb->cfg.pid);
	r = r ?: add(&p, "seller_email", "merchant@example.com");
	r = r ?: add(&p, "trade_status", sb_status_name(t->status));
	r = r ?: add(&p, "total_amount", money_format(t->total_fen, a));
	r = r ?: add(&p, "subject", t->subject);
	r = r ?: add(&p, "gmt_create", beijing_format_time(t->gmt_create, tb));
	if (t->gmt_payment) {
		struct sb_receipt rc;
		sb_receipt(sb, t, "fundChannel", &rc);
		r = r ?: add(&p, "receipt_amount", money_format(rc.receipt_fen, a));
		r = r ?: add(&p, "invoice_amount", money_format(rc.buyer_pay_fen, a));
		r = r ?: add(&p, "buyer_pay_amount", money_format(rc.buyer_pay_fen, a));
		r = r ?: add(&p, "point_amount", "0.00");
		r = r ?: add(&p, "gmt_payment", beijing_format_time(t->gmt_payment, tb));
		r = r ?: add(&p, "fund_bill_list", rc.fund_bill_list);
	}
	if (refund) {
		r = r ?: add(&p, "out_biz_no", refund->out_request_no);
		r = r ?: add(&p, "refund_fee", money_format(t->refunded_fen, a));
		r = r ?: add(&p, "gmt_refund", beijing_format_time(refund->at, tb));
	}
	if (t->status == SB_STATUS_TRADE_CLOSED && t->gmt_close)
		r = r ?: add(&p, "gmt_close", beijing_format_time(t->gmt_close, tb));
	if (r >= 0) {
		v = reallocarray(t->notices, t->n_notices + 1, sizeof(*v));
		if (!v)
			r = -ENOMEM;
		else {
			t->notices = v;
			t->notices[t->n_notices++] = (struct sb_notice){
				.fields = p,
				.next_usec = now_usec(CLOCK_REALTIME),
			};
			r = sb_trade_outbox_add(sb, t);
			if (r < 0)
				return log_error_errno(r, "Failed to queue a notification: %m");
			return 0;
		}
	}
	sb_params_free(&p);
	return log_error_errno(r, "Failed to queue a notification: %m");
}

/* --- JSON: /sim/trades and the --state file share one shape. --- */

static void
jadd_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void
jadd_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *
trade_to_json(const struct sb_trade *t)
{
	json_object *o = json_object_new_object(), *refunds = json_object_new_array(),
		    *notices = json_object_new_array();
	char a[MONEY_BUF_SIZE];

	jadd_str(o, "trade_no", t->trade_no);
	jadd_str(o, "out_trade_no", t->out_trade_no);
	jadd_str(o, "trade_status", sb_status_name(t->status));
	jadd_str(o, "total_amount", money_format(t->total_fen, a));
	jadd_str(o, "refund_fee", money_format(t->refunded_fen, a));
	jadd_int(o, "precreate", t->precreate);
	jadd_str(o, "qr_code", t->qr_code);
	jadd_int(o, "qr_dead", t->qr_dead);
	jadd_int(o, "qr_expire_usec", (int64_t)t->qr_expire_usec);
	jadd_str(o, "subject", t->subject);
	jadd_str(o, "store_id", t->store_id);
	jadd_str(o, "operator_id", t->operator_id);
	jadd_str(o, "terminal_id", t->terminal_id);
	jadd_int(o, "scenario", t->scenario);
	jadd_str(o, "auth_code", t->auth_code);
	jadd_int(o, "gmt_create", t->gmt_create);
	jadd_int(o, "gmt_payment", t->gmt_payment);
	jadd_int(o, "gmt_close", t->gmt_close);
	jadd_int(o, "confirm_usec", (int64_t)t->confirm_usec);
	jadd_str(o, "buyer_logon_id", t->buyer_logon_id);
	jadd_str(o, "buyer_user_id", t->buyer_user_id);
	jadd_str(o, "notify_url", t->notify_url);
	jadd_str(o, "charset", sb_charset_name(t->charset));
	jadd_str(o, "sign_type", sb_sign_type_name(t->sign_type));
	jadd_str(o, "cancel_action", t->cancel_action);
	jadd_int(o, "pay_requests", t->pay_requests);
	jadd_int(o, "query_requests", t->query_requests);
	jadd_int(o, "cancel_requests", t->cancel_requests);
	jadd_int(o, "close_requests", t->close_requests);
	jadd_int(o, "refund_requests", t->refund_requests);
	for (size_t i = 0; i < t->n_refunds; i++) {
		json_object *r = json_object_new_object();

		jadd_str(r, "out_request_no", t->refunds[i].out_request_no);
		jadd_str(r, "refund_amount", money_format(t->refunds[i].amount_fen, a));
		jadd_int(r, "at", t->refunds[i].at);
		jadd_int(r, "requests", t->refunds[i].requests);
		json_object_array_add(refunds, r);
	}
	json_object_object_add(o, "refunds", refunds);
	for (size_t i = 0; i < t->n_notices; i++) {
		const struct sb_notice *n = &t->notices[i];
		json_object *j = json_object_new_object(), *f = json_object_new_object(),
			    *sent = json_object_new_array();

		jadd_str(j, "trade_status", sb_params_get(&n->fields, "trade_status"));
		jadd_int(j, "attempts", n->attempts);
		json_object_object_add(j, "delivered", json_object_new_boolean(n->delivered));
		jadd_int(j, "next_usec", (int64_t)n->next_usec);
		jadd_str(j, "last_reply", n->last_reply);
		for (unsigned k = 0; k < n->attempts && k < SB_NOTIFY_ATTEMPTS; k++)
			json_object_array_add(sent,
					      json_object_new_int64((int64_t)n->sent_usec[k]));
		json_object_object_add(j, "sent_usec", sent);
		for (size_t k = 0; k < n->fields.n; k++)
			jadd_str(f, n->fields.v[k].key, n->fields.v[k].value);
		json_object_object_add(j, "fields", f);
		json_object_array_add(notices, j);
	}
	json_object_object_add(o, "notifications", notices);
	return o;
}

static json_object *
ledger_to_json(struct sandbox *sb, const char *out_trade_no)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < sb->n_trades; i++)
		if (!out_trade_no || STR_EQ(sb->trades[i]->out_trade_no, out_trade_no))
			json_object_array_add(arr, trade_to_json(sb->trades[i]));
	jadd_int(root, "seq", (int64_t)sb->seq);
	json_object_object_add(root, "trades", arr);
	return root;
}

int
sb_ledger_dump_json(struct sandbox *sb, const char *out_trade_no, struct buf *out)
{
	json_object *root = ledger_to_json(sb, out_trade_no);
	int r = buf_puts(out,
			 json_object_to_json_string_ext(
				 root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(root);
	return r;
}

int
sb_ledger_save(struct sandbox *sb)
{
	_cleanup_free_ char *tmp = NULL;
	json_object *root;
	const char *s;
	int fd, r = 0;

	if (!sb->cfg.state_path)
		return 0;
	if (asprintf(&tmp, "%s.tmp", sb->cfg.state_path) < 0)
		return -ENOMEM;
	root = ledger_to_json(sb, NULL);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		r = -errno;
	else {
		size_t len = strlen(s), off = 0;

		while (off < len && r == 0) {
			ssize_t n = write(fd, s + off, len - off);
			if (n < 0)
				r = -errno;
			else
				off += (size_t)n;
		}
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		close(fd);
		if (r == 0 && rename(tmp, sb->cfg.state_path) < 0)
			r = -errno;
	}
	json_object_put(root);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", sb->cfg.state_path);
	return 0;
}

static const char *
jget_str(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
jget_int(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return 0;
	return json_object_get_int64(v);
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int
trade_from_json(struct sandbox *sb, json_object *o)
{
	const char *otn = jget_str(o, "out_trade_no"), *tn = jget_str(o, "trade_no"), *s;
	json_object *arr;
	struct sb_trade *t;
	int r;

	if (!otn || !tn || strlen(tn) != SB_TRADE_NO_LEN)
		return -EBADMSG;
	r = sb_trade_new(sb, otn, &t);
	if (r < 0)
		return r;
	snprintf(t->trade_no, sizeof(t->trade_no), "%s", tn);
	t->status = status_from_name(jget_str(o, "trade_status"));
	if (money_parse(jget_str(o, "total_amount"), &t->total_fen) < 0 ||
	    money_parse_flags(jget_str(o, "refund_fee"), MONEY_ALLOW_ZERO, &t->refunded_fen) < 0)
		return -EBADMSG;
	t->precreate = (int)jget_int(o, "precreate");
	t->qr_code = dup_or_null(jget_str(o, "qr_code"));
	t->qr_dead = (int)jget_int(o, "qr_dead");
	t->qr_expire_usec = (usec_t)jget_int(o, "qr_expire_usec");
	t->subject = dup_or_null(jget_str(o, "subject"));
	t->store_id = dup_or_null(jget_str(o, "store_id"));
	t->operator_id = dup_or_null(jget_str(o, "operator_id"));
	t->terminal_id = dup_or_null(jget_str(o, "terminal_id"));
	t->scenario = (int)jget_int(o, "scenario");
	t->auth_code = dup_or_null(jget_str(o, "auth_code"));
	t->gmt_create = jget_int(o, "gmt_create");
	t->gmt_payment = jget_int(o, "gmt_payment");
	t->gmt_close = jget_int(o, "gmt_close");
	t->confirm_usec = (usec_t)jget_int(o, "confirm_usec");
	if ((s = jget_str(o, "buyer_logon_id")))
		snprintf(t->buyer_logon_id, sizeof(t->buyer_logon_id), "%s", s);
	if ((s = jget_str(o, "buyer_user_id")))
		snprintf(t->buyer_user_id, sizeof(t->buyer_user_id), "%s", s);
	t->notify_url = dup_or_null(jget_str(o, "notify_url"));
	t->charset = sb_charset_from_string(jget_str(o, "charset"));
	if (t->charset == SB_CHARSET_UNKNOWN)
		t->charset = SB_CHARSET_UTF8;
	(void)sb_sign_type_from_string(jget_str(o, "sign_type"), &t->sign_type);
	t->cancel_action = dup_or_null(jget_str(o, "cancel_action"));
	t->pay_requests = (unsigned)jget_int(o, "pay_requests");
	t->query_requests = (unsigned)jget_int(o, "query_requests");
	t->cancel_requests = (unsigned)jget_int(o, "cancel_requests");
	t->close_requests = (unsigned)jget_int(o, "close_requests");
	t->refund_requests = (unsigned)jget_int(o, "refund_requests");
	if (json_object_object_get_ex(o, "refunds", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		size_t n = MIN(json_object_array_length(arr), (size_t)SB_REFUNDS_MAX);

		t->refunds = calloc(n + 1, sizeof(*t->refunds));
		if (!t->refunds)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			json_object *j = json_object_array_get_idx(arr, i);
			struct sb_refund *f = &t->refunds[t->n_refunds];

			if (money_parse(jget_str(j, "refund_amount"), &f->amount_fen) < 0)
				return -EBADMSG;
			f->out_request_no = strdup(strempty(jget_str(j, "out_request_no")));
			if (!f->out_request_no)
				return -ENOMEM;
			f->at = jget_int(j, "at");
			f->requests = (unsigned)jget_int(j, "requests");
			t->n_refunds++;
		}
	}
	if (json_object_object_get_ex(o, "notifications", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		size_t n = MIN(json_object_array_length(arr), (size_t)64);

		t->notices = calloc(n + 1, sizeof(*t->notices));
		if (!t->notices)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			json_object *j = json_object_array_get_idx(arr, i), *f, *d;
			struct sb_notice *ntc = &t->notices[t->n_notices++];

			ntc->attempts = (unsigned)MIN(jget_int(j, "attempts"), SB_NOTIFY_ATTEMPTS);
			ntc->delivered = json_object_object_get_ex(j, "delivered", &d) &&
					 json_object_get_boolean(d);
			ntc->next_usec = (usec_t)jget_int(j, "next_usec");
			ntc->last_reply = dup_or_null(jget_str(j, "last_reply"));
			if (json_object_object_get_ex(j, "fields", &f) &&
			    json_object_is_type(f, json_type_object)) {
				json_object_object_foreach(f, k, v)
				{
					r = sb_params_set(&ntc->fields, k,
							  json_object_get_string(v));
					if (r < 0)
						return r;
				}
			}
		}
	}
	/* The keys loaded over the new trade's, and the lists time and the notifier look at. */
	sb_trade_index(sb, t, SB_KEY_TRADE_NO);
	sb_trade_index(sb, t, SB_KEY_AUTH_CODE);
	if (time_pending(t) && sb_trade_watch_time(sb, t) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_notices; i++)
		if (!t->notices[i].delivered && t->notices[i].attempts < SB_NOTIFY_ATTEMPTS)
			return sb_trade_outbox_add(sb, t);
	return 0;
}

int
sb_ledger_load(struct sandbox *sb)
{
	json_object *root, *arr;
	int r = 0;

	if (!sb->cfg.state_path || access(sb->cfg.state_path, F_OK) < 0)
		return 0;
	root = json_object_from_file(sb->cfg.state_path);
	if (!root)
		return log_error_errno(EBADMSG, "%s: not a state file", sb->cfg.state_path);
	if (json_object_object_get_ex(root, "trades", &arr) &&
	    json_object_is_type(arr, json_type_array))
		for (size_t i = 0; i < json_object_array_length(arr) && r >= 0; i++)
			r = trade_from_json(sb, json_object_array_get_idx(arr, i));
	sb->seq = (uint64_t)jget_int(root, "seq");
	json_object_put(root);
	if (r < 0)
		return log_error_errno(r, "%s: bad state file: %m", sb->cfg.state_path);
	log_info("Loaded %zu trades from %s", sb->n_trades, sb->cfg.state_path);
	return 0;
}

void
sb_receipt(const struct sandbox *sb, const struct sb_trade *t, const char *channel_key,
	   struct sb_receipt *ret)
{
	char a[MONEY_BUF_SIZE], d[MONEY_BUF_SIZE];

	/* A discount applies when something is left to pay. */
	ret->discount_fen = sb->cfg.discount_fen < t->total_fen ? sb->cfg.discount_fen : 0;
	ret->buyer_pay_fen = t->total_fen - ret->discount_fen;
	ret->receipt_fen = t->total_fen;
	if (ret->discount_fen > 0)
		snprintf(ret->fund_bill_list, sizeof(ret->fund_bill_list),
			 "[{\"%s\":\"ALIPAYACCOUNT\",\"amount\":\"%s\"},{\"%s\":\"DISCOUNT\","
			 "\"amount\":\"%s\"}]",
			 channel_key, money_format(ret->buyer_pay_fen, a), channel_key,
			 money_format(ret->discount_fen, d));
	else
		snprintf(ret->fund_bill_list, sizeof(ret->fund_bill_list),
			 "[{\"%s\":\"ALIPAYACCOUNT\",\"amount\":\"%s\"}]", channel_key,
			 money_format(ret->buyer_pay_fen, a));
}
