/* SPDX-License-Identifier: MIT */
/* Gateway responses: raw node spans, verification, classification, and signing (doc/protocol.md
 * §3). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-strict.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/paycode.h"
#include "payment/response.h"

int
alipay_response_key(const char *method, char **ret)
{
	size_t n;
	char *k;

	if (!method || !ret)
		return -EINVAL;
	n = strlen(method);
	if (n == 0 || n > ALIPAY_METHOD_NAME_MAX)
		return -EINVAL;
	k = malloc(n + STRLEN("_response") + 1);
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = method[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_')) {
			free(k);
			return -EINVAL;
		}
		k[i] = c == '.' ? '_' : c;
	}
	memcpy(k + n, "_response", STRLEN("_response") + 1);
	*ret = k;
	return 0;
}

/* --- the string-aware scanner (doc/protocol.md §3) --- */

struct scan {
	const char *s;
	size_t len;
	size_t pos;
};

static void
scan_ws(struct scan *sc)
{
	while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
				     sc->s[sc->pos] == '\r' || sc->s[sc->pos] == '\n'))
		sc->pos++;
}

/*
 * At a '"': moves past the closing quote. A quote is escaped only by an odd number of
 * backslashes, which skipping each backslash with the byte after it implements exactly.
 * Sets ret_start and ret_len to the raw contents.
 */
static int
scan_string(struct scan *sc, const char **ret_start, size_t *ret_len)
{
	size_t start;

	if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
		return -EBADMSG;
	start = ++sc->pos;
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		if (c == '\\') {
			sc->pos += 2;
			continue;
		}
		if (c == '"') {
			if (ret_start)
				*ret_start = sc->s + start;
			if (ret_len)
				*ret_len = sc->pos - start;
			sc->pos++;
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return -EBADMSG;
		sc->pos++;
	}
	return -EBADMSG;
}

/* Skips one JSON value, counting braces and brackets outside strings. */
static int
scan_value(struct scan *sc)
{
	char closers[ALIPAY_JSON_DEPTH_MAX];
	unsigned depth = 0;
	int r;

	if (sc->pos >= sc->len)
		return -EBADMSG;
	if (sc->s[sc->pos] == '"')
		return scan_string(sc, NULL, NULL);
	if (sc->s[sc->pos] != '{' && sc->s[sc->pos] != '[') {
		size_t start = sc->pos;
		/* A number, true, false or null: up to the next delimiter. */
		while (sc->pos < sc->len && strchr(",}] \t\r\n", sc->s[sc->pos]) == NULL &&
		       sc->s[sc->pos] != 0)
			sc->pos++;
		return sc->pos > start ? 0 : -EBADMSG;
	}
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		if (c == '"') {
			r = scan_string(sc, NULL, NULL);
			if (r < 0)
				return r;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth >= ALIPAY_JSON_DEPTH_MAX)
				return -E2BIG;
			closers[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			/* Each closer must match its opener: "[}" is not a value. */
			if (depth == 0 || closers[depth - 1] != c)
				return -EBADMSG;
			if (--depth == 0) {
				sc->pos++;
				return 0;
			}
		}
		sc->pos++;
	}
	return -EBADMSG;
}

static bool
raw_key_eq(const char *k, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

int
alipay_response_extract(const char *body, size_t len, const char *method,
			struct alipay_response_span *ret)
{
	_cleanup_free_ char *key = NULL;
	struct scan sc = {.s = body, .len = len};
	struct alipay_response_span method_span = {0}, error_span = {0}, span = {0};
	bool have_method = false, have_error = false, have_sign = false, have_sn = false;
	int r;

	if ((!body && len > 0) || !ret)
		return -EINVAL;
	if (len > ALIPAY_RESPONSE_MAX)
		return -E2BIG;
	r = alipay_response_key(method, &key);
	if (r < 0)
		return r;
	scan_ws(&sc);
	if (sc.pos >= sc.len || body[sc.pos] != '{')
		return -EBADMSG;
	sc.pos++;
	scan_ws(&sc);
	if (sc.pos < sc.len && body[sc.pos] == '}')
		sc.pos++;
	else
		for (;;) {
			const char *k, *v;
			size_t klen, vstart;

			scan_ws(&sc);
			r = scan_string(&sc, &k, &klen);
			if (r < 0)
				return r;
			scan_ws(&sc);
			if (sc.pos >= sc.len || body[sc.pos] != ':')
				return -EBADMSG;
			sc.pos++;
			scan_ws(&sc);
			vstart = sc.pos;
			v = body + vstart;
			if (raw_key_eq(k, klen, key) || raw_key_eq(k, klen, "error_response")) {
				bool is_method = raw_key_eq(k, klen, key);
				struct alipay_response_span *sp =
					is_method ? &method_span : &error_span;
				if (is_method ? have_method : have_error)
					return -EEXIST; /* forgery guard */
				if (sc.pos >= sc.len || body[sc.pos] != '{')
					return -EBADMSG;
				r = scan_value(&sc);
				if (r < 0)
					return r;
				sp->node = v;
				sp->node_len = sc.pos - vstart;
				sp->error_response = !is_method;
				*(is_method ? &have_method : &have_error) = true;
			} else if (raw_key_eq(k, klen, "sign") ||
				   raw_key_eq(k, klen, "alipay_cert_sn")) {
				bool is_sign = raw_key_eq(k, klen, "sign");
				const char *sv;
				size_t svlen;

				if (is_sign ? have_sign : have_sn)
					return -EEXIST;
				r = scan_string(&sc, &sv, &svlen);
				if (r < 0)
					return r;
				if (is_sign) {
					span.sign = sv;
					span.sign_len = svlen;
					have_sign = true;
				} else {
					span.cert_sn = sv;
					span.cert_sn_len = svlen;
					have_sn = true;
				}
			} else {
				r = scan_value(&sc);
				if (r < 0)
					return r;
			}
			scan_ws(&sc);
			if (sc.pos >= sc.len)
				return -EBADMSG;
			if (body[sc.pos] == ',') {
				sc.pos++;
				continue;
			}
			if (body[sc.pos] == '}') {
				sc.pos++;
				break;
			}
			return -EBADMSG;
		}
	scan_ws(&sc);
	if (sc.pos != sc.len)
		return -EBADMSG;
	if (!have_method && !have_error)
		return -ENOENT;
	/* The method's own node wins over error_response. */
	if (have_method) {
		span.node = method_span.node;
		span.node_len = method_span.node_len;
		span.error_response = false;
	} else {
		span.node = error_span.node;
		span.node_len = error_span.node_len;
		span.error_response = true;
	}
	*ret = span;
	return 0;
}

/* --- classification (doc/protocol.md §3, §6) --- */

static bool
str_startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
str_endswith(const char *s, const char *suffix)
{
	size_t n, m;

	if (!s)
		return false;
	n = strlen(s);
	m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum alipay_class
alipay_response_classify(const char *code, const char *sub_code, bool is_signed,
			 bool *ret_throttled)
{
	bool throttled = false;
	enum alipay_class cls;

	if (!is_signed) {
		/* doc/protocol.md §3: only the gateway's "who are you" errors come unsigned for
		 * sure. */
		if (STR_EQ_PTR(code, "40001") || STR_EQ_PTR(code, "40002") ||
		    STR_EQ_PTR(code, "40003"))
			cls = ALIPAY_CLASS_CONFIG;
		else
			cls = ALIPAY_CLASS_UNKNOWN;
		if (STR_EQ_PTR(code, "40005"))
			throttled = true;
		goto out;
	}
	/* doc/engine.md "Throttling": 40005, isv.*-call-limited and aop.ACQ.*call-limited. */
	if (STR_EQ_PTR(code, "40005") ||
	    ((str_startswith(sub_code, "isv.") || str_startswith(sub_code, "aop.ACQ.")) &&
	     str_endswith(sub_code, "call-limited"))) {
		throttled = true;
		cls = ALIPAY_CLASS_UNKNOWN;
		goto out;
	}
	/* doc/protocol.md §6: ACQ.TRADE_HAS_SUCCESS is "already paid, query to confirm": never
	 * FAILED. */
	if (STR_EQ_PTR(sub_code, "ACQ.SYSTEM_ERROR") || STR_EQ_PTR(sub_code, "isp.unknow-error") ||
	    STR_EQ_PTR(sub_code, "aop.unknow-error") ||
	    STR_EQ_PTR(sub_code, "ACQ.TRADE_HAS_SUCCESS")) {
		cls = ALIPAY_CLASS_UNKNOWN;
		goto out;
	}
	if (STR_EQ_PTR(code, "10000"))
		cls = ALIPAY_CLASS_SUCCESS;
	else if (STR_EQ_PTR(code, "10003"))
		cls = ALIPAY_CLASS_IN_PROGRESS;
	else if (STR_EQ_PTR(code, "20000"))
		cls = ALIPAY_CLASS_UNKNOWN;
	else if (STR_EQ_PTR(code, "20001") || STR_EQ_PTR(code, "40001") ||
		 STR_EQ_PTR(code, "40002") || STR_EQ_PTR(code, "40003") ||
		 STR_EQ_PTR(code, "40006") || str_startswith(sub_code, "isv.") ||
		 str_startswith(sub_code, "aop."))
		cls = ALIPAY_CLASS_CONFIG;
	else if (STR_EQ_PTR(code, "40004"))
		cls = ALIPAY_CLASS_FAILED;
	else
		cls = ALIPAY_CLASS_UNKNOWN;
out:
	if (ret_throttled)
		*ret_throttled = throttled;
	return cls;
}

/* --- the client side --- */

void
alipay_response_done(struct alipay_response *r)
{
	if (!r)
		return;
	free(r->code);
	free(r->msg);
	free(r->sub_code);
	free(r->sub_msg);
	json_object_put(r->node);
	*r = ALIPAY_RESPONSE_INIT;
}

static void
json_putp(struct json_object **p)
{
	json_object_put(*p);
}

static void
tokener_freep(struct json_tokener **p)
{
	if (*p)
		json_tokener_free(*p);
}

/* Parses exactly `len` bytes as one JSON object, depth-limited. */
static int
json_parse_object(const char *s, size_t len, struct json_object **ret)
{
	_cleanup_(tokener_freep) struct json_tokener *tok = NULL;
	_cleanup_(json_putp) struct json_object *o = NULL;
	struct json_strict_error jerr;
	int r;

	if (len > ALIPAY_RESPONSE_MAX)
		return -E2BIG;
	/*
	 * json-c lets the last of two equal keys win: a response naming "code" twice is not read
	 * at all (result unknown, the order is queried). Raw bytes may be GBK (charset).
	 */
	r = json_strict_check(s, len, ALIPAY_JSON_DEPTH_MAX + 1, JSON_STRICT_RAW_BYTES, &jerr);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	tok = json_tokener_new_ex(ALIPAY_JSON_DEPTH_MAX);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))
		return -EBADMSG;
	*ret = TAKE_PTR(o);
	return 0;
}

static int
node_strdup(struct json_object *node, const char *key, char **ret)
{
	struct json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(node, key, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

/* The raw sign value with "\/" unescaped; any other escape makes it invalid. */
static int
sign_unescape(const char *s, size_t len, char **ret)
{
	char *out, *p;

	if (len == 0 || len > ALIPAY_SIGNATURE_B64_MAX * 2)
		return -EBADMSG;
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	p = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= len || s[i + 1] != '/') {
				free(out);
				return -EBADMSG;
			}
			i++;
		}
		*p++ = s[i];
	}
	*p = 0;
	*ret = out;
	return 0;
}

/* doc/protocol.md §3: verify over the raw node; retry once with "\/" → "/" (as Java and PHP do). */
static int
response_verify_node(EVP_PKEY *key, enum alipay_sign_type type, const char *node, size_t len,
		     const char *sign)
{
	_cleanup_free_ char *alt = NULL;
	size_t n = 0;
	int r;

	r = alipay_verify(key, type, node, len, sign);
	if (r != -EBADMSG)
		return r;
	if (!memmem(node, len, "\\/", 2))
		return r;
	alt = malloc(len + 1);
	if (!alt)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (node[i] == '\\' && i + 1 < len && node[i + 1] == '/')
			continue;
		alt[n++] = node[i];
	}
	return alipay_verify(key, type, alt, n, sign);
}

int
alipay_response_parse(const char *body, size_t len, const char *method, EVP_PKEY *alipay_key,
		      enum alipay_sign_type type, const char *expected_cert_sn,
		      struct alipay_response *ret)
{
	_cleanup_(json_putp) struct json_object *node = NULL;
	_cleanup_free_ char *sign = NULL;
	struct alipay_response resp = ALIPAY_RESPONSE_INIT;
	struct alipay_response_span span;
	const char *why = "fails signature verification";
	bool is_signed = false;
	int r;

	if (!method || !alipay_key || !ret || (!body && len > 0))
		return -EINVAL;

	r = alipay_response_extract(body, len, method, &span);
	if (r == -EINVAL || r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warning_errno(r, "Response to %s is unusable (%zu bytes): %m; result unknown",
				  method, len);
		*ret = resp;
		return 0;
	}

	if (span.sign) {
		is_signed = true;
		r = sign_unescape(span.sign, span.sign_len, &sign);
		if (r == -ENOMEM)
			return r;
		/* doc/protocol.md §7: another alipay_cert_sn than ours must not verify. */
		if (r >= 0 && expected_cert_sn &&
		    (!span.cert_sn || span.cert_sn_len != strlen(expected_cert_sn) ||
		     memcmp(span.cert_sn, expected_cert_sn, span.cert_sn_len) != 0)) {
			why = "carries another alipay_cert_sn than the configured certificate's";
			r = -EKEYREJECTED;
		}
		if (r >= 0)
			r = response_verify_node(alipay_key, type, span.node, span.node_len, sign);
		if (r == -ENOMEM)
			return r;
		resp.verified = r >= 0;
	}

	r = json_parse_object(span.node, span.node_len, &node);
	if (r == -ENOMEM)
		return r;
	if (r >= 0) {
		if ((r = node_strdup(node, "code", &resp.code)) < 0 ||
		    (r = node_strdup(node, "msg", &resp.msg)) < 0 ||
		    (r = node_strdup(node, "sub_code", &resp.sub_code)) < 0 ||
		    (r = node_strdup(node, "sub_msg", &resp.sub_msg)) < 0) {
			alipay_response_done(&resp);
			return r;
		}
	} else
		resp.verified = false;

	if (is_signed && !resp.verified) {
		resp.cls = ALIPAY_CLASS_UNKNOWN;
		log_warning("Response to %s (code %.16s) %s; result unknown", method,
			    strna(resp.code), why);
	} else {
		resp.cls = alipay_response_classify(resp.code, resp.sub_code, resp.verified,
						    &resp.throttled);
		if (!is_signed)
			log_warning("Unsigned response to %s: code %.16s, sub_code %.64s; treated "
				    "as %s",
				    method, strna(resp.code), strna(resp.sub_code),
				    alipay_class_to_string(resp.cls));
	}
	if (STR_EQ_PTR(resp.sub_code, "isv.invalid-signature") && resp.sub_msg) {
		/* doc/protocol.md §3: the gateway's own string to sign, the best debugging aid; the
		 * buyer's payment code inside it is masked. */
		_cleanup_free_ char *masked = strdup(resp.sub_msg);
		if (masked)
			paycode_mask_in_text(masked);
		log_error(
			"The gateway rejected the signature of %s; its string to sign was: %.2048s",
			method, strna(masked));
	}
	if (resp.verified)
		resp.node = TAKE_PTR(node);
	*ret = resp;
	return 0;
}

/* --- the server side (the sandbox) --- */

int
alipay_json_to_string_response(struct json_object *o, char **ret)
{
	const char *s;
	char *copy;

	if (!ret)
		return -EINVAL;
	/* Alipay: compact, non-ASCII raw, '/' escaped as "\/" (json-c's default). */
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s)
		return -ENOMEM;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

int
alipay_response_build(const char *method, struct json_object *node, EVP_PKEY *key,
		      enum alipay_sign_type type, const char *cert_sn, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *rkey = NULL, *text = NULL, *sign = NULL;
	_cleanup_buf_ struct buf b = BUF_INIT(ALIPAY_RESPONSE_MAX);
	size_t len;
	int r;

	if (!node || !ret || !json_object_is_type(node, json_type_object))
		return -EINVAL;
	if (method) {
		r = alipay_response_key(method, &rkey);
		if (r < 0)
			return r;
	}
	r = alipay_json_to_string_response(node, &text);
	if (r < 0)
		return r;
	if (key) {
		r = alipay_sign(key, type, text, strlen(text), &sign);
		if (r < 0)
			return r;
	}
	r = buf_printf(&b, "{\"%s\":%s", rkey ? rkey : "error_response", text);
	if (r >= 0 && cert_sn)
		r = buf_printf(&b, ",\"alipay_cert_sn\":\"%s\"", cert_sn);
	if (r >= 0 && sign)
		r = buf_printf(&b, ",\"sign\":\"%s\"", sign);
	if (r >= 0)
		r = buf_putc(&b, '}');
	if (r < 0)
		return r;
	len = b.len;
	*ret = buf_steal(&b);
	if (ret_len)
		*ret_len = len;
	return 0;
}
