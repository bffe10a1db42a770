/* SPDX-License-Identifier: MIT */
/* Asynchronous notifications: single decode, verification, typed fields; and signing
 * (doc/protocol.md §4). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "payment/form.h"
#include "payment/notify.h"

void
alipay_notify_done(struct alipay_notify *n)
{
	if (!n)
		return;
	alipay_params_done(&n->fields);
	*n = ALIPAY_NOTIFY_INIT;
}

static int
notify_amount(const struct alipay_params *p, const char *key, int64_t *ret)
{
	const char *v = alipay_params_get(p, key);
	int64_t fen;
	int r;

	if (isempty(v)) {
		*ret = ALIPAY_AMOUNT_NONE;
		return 0;
	}
	r = money_parse_flags(v, MONEY_ALLOW_ZERO, &fen);
	if (r < 0)
		return log_warning_errno(
			EBADMSG, "Notification field %s=\"%.32s\" is not an amount", key, v);
	*ret = fen;
	return 0;
}

static int
notify_sign_bytes(const struct alipay_params *p, enum alipay_charset cs, char **ret,
		  size_t *ret_len)
{
	_cleanup_free_ char *ss = NULL;
	int r;

	/* doc/protocol.md §4: without sign and sign_type, empties dropped, sorted, in the charset.
	 */
	r = alipay_params_sign_string(
		p, ALIPAY_SIGN_STRING_DROP_EMPTY | ALIPAY_SIGN_STRING_DROP_SIGN_TYPE, &ss);
	if (r < 0)
		return r;
	return alipay_charset_from_utf8(cs, ss, strlen(ss), ret, ret_len);
}

int
alipay_notify_parse(const char *body, size_t len, EVP_PKEY *alipay_key, struct alipay_notify *ret)
{
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	_cleanup_free_ char *bytes = NULL;
	const char *cs_name, *st_name, *sign;
	size_t bytes_len;
	int r;

	if ((!body && len > 0) || !alipay_key || !ret)
		return -EINVAL;
	if (len > ALIPAY_FORM_MAX)
		return log_debug_errno(E2BIG, "Notification of %zu bytes refused", len);

	/*
	 * Until the signature verifies, the body is anyone's: failures are logged at debug level
	 * only, the caller counts them and logs a bounded sample (a flood must not flood the log).
	 */
	/* doc/protocol.md §4: decode exactly once; the charset field says how to read the bytes. */
	r = alipay_form_decode_raw(body, len, &n.fields);
	if (r < 0)
		return log_debug_errno(r, "Notification is not a valid form body: %m");
	cs_name = alipay_params_get(&n.fields, "charset");
	if (isempty(cs_name))
		n.charset = ALIPAY_CHARSET_UTF8;
	else if (alipay_charset_from_string(cs_name, &n.charset) < 0) {
		r = log_debug_errno(EBADMSG, "Notification has an unknown charset \"%.16s\"",
				    cs_name);
		goto fail;
	}
	r = alipay_params_convert_to_utf8(&n.fields, n.charset);
	if (r < 0) {
		log_debug_errno(r, "Notification holds bytes invalid in %s: %m",
				alipay_charset_to_string(n.charset));
		goto fail;
	}
	st_name = alipay_params_get(&n.fields, "sign_type");
	if (isempty(st_name))
		n.sign_type = ALIPAY_SIGN_RSA2;
	else if (alipay_sign_type_from_string(st_name, &n.sign_type) < 0) {
		r = log_debug_errno(EBADMSG, "Notification has an unknown sign_type \"%.16s\"",
				    st_name);
		goto fail;
	}
	sign = alipay_params_get(&n.fields, "sign");
	if (isempty(sign)) {
		r = log_debug_errno(ENOKEY, "Notification carries no sign");
		goto fail;
	}
	r = notify_sign_bytes(&n.fields, n.charset, &bytes, &bytes_len);
	if (r < 0)
		goto fail;
	r = alipay_verify(alipay_key, n.sign_type, bytes, bytes_len, sign);
	if (r < 0) {
		if (r == -EBADMSG)
			r = -EKEYREJECTED;
		log_debug_errno(r, "Notification %.64s for %.64s fails signature verification: %m",
				strna(alipay_params_get(&n.fields, "notify_id")),
				strna(alipay_params_get(&n.fields, "out_trade_no")));
		goto fail;
	}

	n.notify_id = alipay_params_get(&n.fields, "notify_id");
	n.notify_type = alipay_params_get(&n.fields, "notify_type");
	n.notify_time = alipay_params_get(&n.fields, "notify_time");
	n.app_id = alipay_params_get(&n.fields, "app_id");
	n.auth_app_id = alipay_params_get(&n.fields, "auth_app_id");
	n.trade_no = alipay_params_get(&n.fields, "trade_no");
	n.out_trade_no = alipay_params_get(&n.fields, "out_trade_no");
	n.out_biz_no = alipay_params_get(&n.fields, "out_biz_no");
	n.seller_id = alipay_params_get(&n.fields, "seller_id");
	n.buyer_id = alipay_params_get(&n.fields, "buyer_id");
	n.buyer_logon_id = alipay_params_get(&n.fields, "buyer_logon_id");
	n.gmt_create = alipay_params_get(&n.fields, "gmt_create");
	n.gmt_payment = alipay_params_get(&n.fields, "gmt_payment");
	n.gmt_refund = alipay_params_get(&n.fields, "gmt_refund");
	n.gmt_close = alipay_params_get(&n.fields, "gmt_close");
	n.subject = alipay_params_get(&n.fields, "subject");
	n.passback_params = alipay_params_get(&n.fields, "passback_params");
	n.trade_status =
		alipay_trade_status_from_string(alipay_params_get(&n.fields, "trade_status"));
	if ((r = notify_amount(&n.fields, "total_amount", &n.total_amount_fen)) < 0 ||
	    (r = notify_amount(&n.fields, "receipt_amount", &n.receipt_amount_fen)) < 0 ||
	    (r = notify_amount(&n.fields, "buyer_pay_amount", &n.buyer_pay_amount_fen)) < 0 ||
	    (r = notify_amount(&n.fields, "refund_fee", &n.refund_fee_fen)) < 0)
		goto fail;
	*ret = n;
	return 0;
fail:
	alipay_notify_done(&n);
	return r;
}

int
alipay_notify_build(const struct alipay_params *fields, enum alipay_charset cs, EVP_PKEY *key,
		    enum alipay_sign_type type, char **ret, size_t *ret_len)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	_cleanup_free_ char *bytes = NULL, *sign = NULL;
	size_t bytes_len;
	int r;

	if (!fields || !key || !ret || !alipay_charset_to_string(cs) ||
	    !alipay_sign_type_to_string(type))
		return -EINVAL;
	for (size_t i = 0; i < fields->n; i++) {
		const struct alipay_param *it = &fields->items[i];
		if (it->value[0] == 0 || STR_EQ(it->key, "sign") || STR_EQ(it->key, "sign_type"))
			continue;
		r = alipay_params_add(&p, it->key, it->value);
		if (r < 0)
			goto out;
	}
	if (!alipay_params_get(&p, "charset") &&
	    (r = alipay_params_add(&p, "charset", alipay_charset_to_string(cs))) < 0)
		goto out;
	r = notify_sign_bytes(&p, cs, &bytes, &bytes_len);
	if (r < 0)
		goto out;
	r = alipay_sign(key, type, bytes, bytes_len, &sign);
	if (r < 0)
		goto out;
	if ((r = alipay_params_add(&p, "sign_type", alipay_sign_type_to_string(type))) < 0 ||
	    (r = alipay_params_add(&p, "sign", sign)) < 0)
		goto out;
	r = alipay_form_encode(&p, cs, ret, ret_len);
out:
	alipay_params_done(&p);
	return r;
}
