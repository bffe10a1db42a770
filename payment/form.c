/* SPDX-License-Identifier: MIT */
/* Form encoding and single-pass decoding in the request's charset (doc/protocol.md §2, §4). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/macro.h"
#include "payment/form.h"

static bool
form_is_literal(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '*' || c == '-' || c == '.' || c == '_';
}

int
alipay_form_encode_bytes(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = 0;
	char *p;
	int r;

	for (size_t i = 0; i < len; i++)
		need += form_is_literal((unsigned char)s[i]) || s[i] == ' ' ? 1 : 3;
	r = buf_reserve(b, need);
	if (r < 0)
		return r;
	p = b->data + b->len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (form_is_literal(c))
			*p++ = (char)c;
		else if (c == ' ')
			*p++ = '+';
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	b->len += need;
	b->data[b->len] = 0;
	return 0;
}

int
alipay_form_encode(const struct alipay_params *p, enum alipay_charset cs, char **ret,
		   size_t *ret_len)
{
	_cleanup_buf_ struct buf b = BUF_INIT(ALIPAY_FORM_MAX);
	size_t len;
	int r;

	if (!p || !ret)
		return -EINVAL;
	r = buf_puts(&b, "");
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *k = NULL, *v = NULL;
		size_t kl, vl;

		r = alipay_charset_from_utf8(cs, p->items[i].key, strlen(p->items[i].key), &k, &kl);
		if (r < 0)
			return r;
		r = alipay_charset_from_utf8(cs, p->items[i].value, strlen(p->items[i].value), &v,
					     &vl);
		if (r < 0)
			return r;
		if (i > 0 && (r = buf_putc(&b, '&')) < 0)
			return r;
		if ((r = alipay_form_encode_bytes(&b, k, kl)) < 0 || (r = buf_putc(&b, '=')) < 0 ||
		    (r = alipay_form_encode_bytes(&b, v, vl)) < 0)
			return r;
	}
	len = b.len;
	*ret = buf_steal(&b);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes one piece exactly once into a new NUL-terminated string. */
static int
form_unescape(const char *s, size_t len, char **ret)
{
	char *out = malloc(len + 1), *p = out;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+')
			*p++ = ' ';
		else if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len) {
				free(out);
				return -EBADMSG;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return -EBADMSG;
			}
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == 0) {
			free(out);
			return -EBADMSG;
		} else
			*p++ = s[i];
	}
	*p = 0;
	*ret = out;
	return 0;
}

int
alipay_form_decode_raw(const char *body, size_t len, struct alipay_params *ret)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	size_t pos = 0;
	int r;

	if ((!body && len > 0) || !ret)
		return -EINVAL;
	if (len > ALIPAY_FORM_MAX)
		return -E2BIG;
	while (pos < len) {
		const char *piece = body + pos, *amp = memchr(piece, '&', len - pos), *eq;
		size_t plen = amp ? (size_t)(amp - piece) : len - pos;
		_cleanup_free_ char *k = NULL, *v = NULL;

		pos += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(piece, '=', plen);
		r = form_unescape(piece, eq ? (size_t)(eq - piece) : plen, &k);
		if (r < 0)
			goto fail;
		r = form_unescape(eq ? eq + 1 : piece + plen,
				  eq ? plen - (size_t)(eq - piece) - 1 : 0, &v);
		if (r < 0)
			goto fail;
		r = alipay_params_add(&p, k, v);
		if (r == -EEXIST || r == -EINVAL)
			r = -EBADMSG;
		if (r < 0)
			goto fail;
		explicit_bzero(v, strlen(v));
	}
	*ret = p;
	return 0;
fail:
	alipay_params_done(&p);
	return r;
}

int
alipay_params_convert_to_utf8(struct alipay_params *p, enum alipay_charset cs)
{
	int r;

	if (!p)
		return -EINVAL;
	for (size_t i = 0; i < p->n; i++) {
		char *k = NULL, *v = NULL;

		r = alipay_charset_to_utf8(cs, p->items[i].key, strlen(p->items[i].key), &k, NULL);
		if (r < 0)
			return r;
		r = alipay_charset_to_utf8(cs, p->items[i].value, strlen(p->items[i].value), &v,
					   NULL);
		if (r < 0) {
			free(k);
			return r;
		}
		free(p->items[i].key);
		erase_and_free(p->items[i].value);
		p->items[i].key = k;
		p->items[i].value = v;
	}
	return 0;
}

int
alipay_form_decode(const char *body, size_t len, enum alipay_charset cs, struct alipay_params *ret)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	int r;

	r = alipay_form_decode_raw(body, len, &p);
	if (r < 0)
		return r;
	r = alipay_params_convert_to_utf8(&p, cs);
	if (r < 0) {
		alipay_params_done(&p);
		return r;
	}
	*ret = p;
	return 0;
}
