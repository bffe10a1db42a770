/* SPDX-License-Identifier: MIT */
/* Signed gateway requests: common parameters, string to sign, URL query and form body
 * (doc/protocol.md §2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "payment/form.h"
#include "payment/request.h"

void
alipay_request_done(struct alipay_request *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->url);
	/* The body of a pay carries the buyer's payment code. */
	if (r->body)
		explicit_bzero(r->body, r->body_len);
	free(r->body);
	free(r->content_type);
	*r = ALIPAY_REQUEST_INIT;
}

int
alipay_json_to_string_request(struct json_object *o, char **ret)
{
	const char *s;
	char *copy;

	if (!ret)
		return -EINVAL;
	/* JSON.stringify: compact, non-ASCII raw, '/' left alone. */
	s = json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return -ENOMEM;
	copy = strdup(s);
	/* The object's own text may hold a payment code (doc/engine.md "Payment codes"); the
	 * object is freed by its owner, its text is wiped here. */
	explicit_bzero((char *)s, strlen(s));
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

static int
params_add_opt(struct alipay_params *p, const char *key, const char *value)
{
	/* Empty values are never sent (doc/protocol.md §2.1 step 2). */
	if (isempty(value))
		return 0;
	return alipay_params_add(p, key, value);
}

int
alipay_request_params(const struct alipay_client_config *c, const char *method,
		      const char *biz_content, time_t now, struct alipay_params *ret_params,
		      char **ret_sign_string)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	char ts[BEIJING_TIME_BUF];
	const char *app_cert_sn, *root_cert_sn;
	char *ss = NULL;
	int r;

	if (!c || isempty(c->app_id) || isempty(method) || !c->keys ||
	    !alipay_sign_type_to_string(c->sign_type) || !alipay_charset_to_string(c->charset))
		return -EINVAL;
	app_cert_sn = alipay_keys_get_app_cert_sn(c->keys);
	root_cert_sn = alipay_keys_get_alipay_root_cert_sn(c->keys);
	/* doc/protocol.md §2: the timestamp is Beijing time whatever the host's time zone. */
	beijing_format_time(now, ts);

	/* The order the Node SDK sends them in (doc/protocol.md §2: common parameters in the
	 * query). */
	if ((r = alipay_params_add(&p, "method", method)) < 0 ||
	    (r = alipay_params_add(&p, "app_id", c->app_id)) < 0 ||
	    (r = alipay_params_add(&p, "charset", alipay_charset_to_string(c->charset))) < 0 ||
	    (r = alipay_params_add(&p, "version", "1.0")) < 0 ||
	    (r = alipay_params_add(&p, "sign_type", alipay_sign_type_to_string(c->sign_type))) <
		    0 ||
	    (r = alipay_params_add(&p, "timestamp", ts)) < 0 ||
	    (r = params_add_opt(&p, "notify_url", c->notify_url)) < 0 ||
	    (r = params_add_opt(&p, "app_auth_token", c->app_auth_token)) < 0)
		goto fail;
	/* doc/protocol.md §7: both SNs or neither, signed like the rest. */
	if (app_cert_sn && root_cert_sn &&
	    ((r = alipay_params_add(&p, "app_cert_sn", app_cert_sn)) < 0 ||
	     (r = alipay_params_add(&p, "alipay_root_cert_sn", root_cert_sn)) < 0))
		goto fail;
	if ((r = params_add_opt(&p, "biz_content", biz_content)) < 0)
		goto fail;
	if (ret_sign_string) {
		r = alipay_params_sign_string(&p, 0, &ss);
		if (r < 0)
			goto fail;
		*ret_sign_string = ss;
	}
	if (ret_params)
		*ret_params = p;
	else
		alipay_params_done(&p);
	return 0;
fail:
	alipay_params_done(&p);
	return r;
}

static int
request_url(const char *gateway, const struct alipay_params *p, enum alipay_charset cs,
	    const char *sign, char **ret)
{
	_cleanup_buf_ struct buf b = BUF_INIT(ALIPAY_FORM_MAX);
	bool first = true;
	int r;

	r = buf_printf(&b, "%s%c", gateway, strchr(gateway, '?') ? '&' : '?');
	if (r < 0)
		return r;
	for (size_t i = 0; i <= p->n; i++) {
		const char *k = i < p->n ? p->items[i].key : "sign";
		const char *v = i < p->n ? p->items[i].value : sign;
		_cleanup_free_ char *conv = NULL;
		size_t conv_len;

		if (strcmp(k, "biz_content") == 0)
			continue;
		r = alipay_charset_from_utf8(cs, v, strlen(v), &conv, &conv_len);
		if (r < 0)
			return r;
		if ((!first && (r = buf_putc(&b, '&')) < 0) || (r = buf_puts(&b, k)) < 0 ||
		    (r = buf_putc(&b, '=')) < 0 ||
		    (r = alipay_form_encode_bytes(&b, conv, conv_len)) < 0)
			return r;
		first = false;
	}
	*ret = buf_steal(&b);
	return 0;
}

int
alipay_request_build(const struct alipay_client_config *c, const char *method,
		     const char *biz_content, time_t now, struct alipay_request *ret)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	/* The string to sign carries biz_content, hence a pay's payment code: wiped. */
	_cleanup_erase_ char *ss = NULL, *ss_cs = NULL;
	_cleanup_free_ char *sign = NULL;
	_cleanup_buf_ struct buf body = BUF_INIT(ALIPAY_FORM_MAX);
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	EVP_PKEY *key;
	size_t ss_len;
	int r;

	if (!c || isempty(c->gateway_url) || !ret)
		return -EINVAL;
	key = alipay_keys_get_app_private_key(c->keys);
	if (!key)
		return log_error_errno(EINVAL, "No app private key to sign %s with", strna(method));
	r = alipay_request_params(c, method, biz_content, now, &p, &ss);
	if (r < 0)
		return log_error_errno(r, "Failed to assemble the parameters of %s: %m",
				       strna(method));
	/* doc/protocol.md §2.1 step 4: the string is signed as bytes of the charset. */
	r = alipay_charset_from_utf8(c->charset, ss, strlen(ss), &ss_cs, &ss_len);
	if (r < 0) {
		log_error_errno(r, "A parameter of %s cannot be written in %s: %m", method,
				alipay_charset_to_string(c->charset));
		goto out;
	}
	r = alipay_sign(key, c->sign_type, ss_cs, ss_len, &sign);
	if (r < 0) {
		log_error_errno(r, "Failed to sign %s: %m", method);
		goto out;
	}
	r = request_url(c->gateway_url, &p, c->charset, sign, &req.url);
	if (r < 0)
		goto out;
	r = buf_puts(&body, "");
	if (r < 0)
		goto out;
	biz_content = alipay_params_get(&p, "biz_content");
	if (biz_content) {
		_cleanup_erase_ char *conv = NULL;
		size_t conv_len;

		r = alipay_charset_from_utf8(c->charset, biz_content, strlen(biz_content), &conv,
					     &conv_len);
		if (r < 0 || (r = buf_puts(&body, "biz_content=")) < 0 ||
		    (r = alipay_form_encode_bytes(&body, conv, conv_len)) < 0)
			goto out;
	}
	req.body_len = body.len;
	req.body = buf_steal(&body);
	req.method = strdup(method);
	if (asprintf(&req.content_type, "application/x-www-form-urlencoded;charset=%s",
		     alipay_charset_to_string(c->charset)) < 0)
		req.content_type = NULL;
	if (!req.method || !req.content_type || !req.body) {
		r = -ENOMEM;
		goto out;
	}
	*ret = req;
	req = ALIPAY_REQUEST_INIT;
	r = 0;
out:
	alipay_request_done(&req);
	alipay_params_done(&p);
	return r;
}

int
alipay_request_build_json(const struct alipay_client_config *c, const char *method,
			  struct json_object *biz, time_t now, struct alipay_request *ret)
{
	_cleanup_erase_ char *s = NULL;
	int r;

	if (biz) {
		r = alipay_json_to_string_request(biz, &s);
		if (r < 0)
			return r;
	}
	return alipay_request_build(c, method, s, now, ret);
}

int
alipay_request_verify(const char *query, size_t query_len, const char *body, size_t body_len,
		      EVP_PKEY *app_public_key, struct alipay_params *ret,
		      enum alipay_charset *ret_charset, char **ret_sign_string)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT, b = ALIPAY_PARAMS_INIT;
	_cleanup_free_ char *ss = NULL, *bytes = NULL;
	enum alipay_charset cs = ALIPAY_CHARSET_UTF8;
	enum alipay_sign_type type = ALIPAY_SIGN_RSA2;
	const char *v;
	size_t n;
	int r;

	if (!app_public_key || !ret || (!query && query_len > 0) || (!body && body_len > 0))
		return -EINVAL;
	/* doc/protocol.md §2: the gateway merges query and body; decode each exactly once. */
	r = alipay_form_decode_raw(query ? query : "", query_len, &p);
	if (r < 0)
		return r;
	r = alipay_form_decode_raw(body ? body : "", body_len, &b);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < b.n; i++) {
		r = alipay_params_add(&p, b.items[i].key, b.items[i].value);
		if (r == -EEXIST || r == -EINVAL)
			r = -EBADMSG;
		if (r < 0)
			goto out;
	}
	v = alipay_params_get(&p, "charset");
	if (!isempty(v) && alipay_charset_from_string(v, &cs) < 0) {
		r = -EBADMSG;
		goto out;
	}
	r = alipay_params_convert_to_utf8(&p, cs);
	if (r < 0)
		goto out;
	v = alipay_params_get(&p, "sign_type");
	if (!isempty(v) && alipay_sign_type_from_string(v, &type) < 0) {
		r = -EBADMSG;
		goto out;
	}
	/* doc/protocol.md §2.1: exactly what was received minus sign; sign_type and empties stay.
	 */
	r = alipay_params_sign_string(&p, 0, &ss);
	if (r < 0)
		goto out;
	v = alipay_params_get(&p, "sign");
	if (isempty(v)) {
		r = -ENOKEY;
		goto out;
	}
	r = alipay_charset_from_utf8(cs, ss, strlen(ss), &bytes, &n);
	if (r < 0)
		goto out;
	r = alipay_verify(app_public_key, type, bytes, n, v);
	if (r == -EBADMSG) {
		r = -EKEYREJECTED;
		if (ret_sign_string)
			*ret_sign_string = TAKE_PTR(ss);
		goto out;
	}
	if (r < 0)
		goto out;
	if (ret_sign_string)
		*ret_sign_string = TAKE_PTR(ss);
	if (ret_charset)
		*ret_charset = cs;
	*ret = p;
	p = ALIPAY_PARAMS_INIT;
	r = 0;
out:
	alipay_params_done(&p);
	alipay_params_done(&b);
	return r;
}
