/* SPDX-License-Identifier: MIT */
/* Request parameters of the emulated gateway: form decoding, query ∪ body, charsets. */
#include "sandbox/form.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one form component; rejects a decoded NUL (it cannot be signed or compared). */
static int
form_decode(const char *s, size_t len, char **ret)
{
	_cleanup_free_ char *out = malloc(len + 1);
	size_t o = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
			 hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		if (c == '\0')
			return -EBADMSG;
		out[o++] = c;
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

const char *
sb_params_get(const struct sb_params *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (STR_EQ(p->v[i].key, key))
			return p->v[i].value;
	return NULL;
}

static int
params_add_take(struct sb_params *p, char *key, char *value)
{
	struct sb_param *v;

	for (size_t i = 0; i < p->n; i++)
		if (STR_EQ(p->v[i].key, key)) {
			free(key);
			free(value);
			return 0;
		}
	if (p->n >= SB_PARAMS_MAX) {
		free(key);
		free(value);
		return -E2BIG;
	}
	v = reallocarray(p->v, p->n + 1, sizeof(*v));
	if (!v) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	p->v = v;
	p->v[p->n++] = (struct sb_param){.key = key, .value = value};
	return 0;
}

int
sb_params_set(struct sb_params *p, const char *key, const char *value)
{
	char *k, *v;

	for (size_t i = 0; i < p->n; i++)
		if (STR_EQ(p->v[i].key, key)) {
			v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(p->v[i].value);
			p->v[i].value = v;
			return 0;
		}
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	return params_add_take(p, k, v);
}

int
sb_params_parse(struct sb_params *p, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;
		char *key = NULL, *value = NULL;
		int r;

		while (end < len && s[end] != '&')
			end++;
		if (end == i) { /* "a=1&&b=2": an empty piece is skipped */
			i = end + 1;
			continue;
		}
		eq = i;
		while (eq < end && s[eq] != '=')
			eq++;
		r = form_decode(s + i, eq - i, &key);
		if (r < 0)
			return r;
		r = form_decode(s + MIN(eq + 1, end), end - MIN(eq + 1, end), &value);
		if (r < 0) {
			free(key);
			return r;
		}
		if (key[0] == '\0') {
			free(key);
			free(value);
			return -EBADMSG;
		}
		r = params_add_take(p, key, value);
		if (r < 0)
			return r;
		i = end + 1;
	}
	return 0;
}

void
sb_params_free(struct sb_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static int
param_cmp(const void *a, const void *b)
{
	const struct sb_param *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

int
sb_params_sign_string(const struct sb_params *p, unsigned flags, struct buf *out)
{
	_cleanup_free_ const struct sb_param **sorted = NULL;
	size_t n = 0;
	int r;

	sorted = calloc(p->n + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		const struct sb_param *q = &p->v[i];

		if (STR_EQ(q->key, "sign"))
			continue;
		if ((flags & SB_SIGN_DROP_SIGN_TYPE) && STR_EQ(q->key, "sign_type"))
			continue;
		if ((flags & SB_SIGN_DROP_EMPTY) && q->value[0] == '\0')
			continue;
		sorted[n++] = q;
	}
	qsort(sorted, n, sizeof(*sorted), param_cmp);
	for (size_t i = 0; i < n; i++) {
		r = buf_printf(out, "%s%s=%s", i ? "&" : "", sorted[i]->key, sorted[i]->value);
		if (r < 0)
			return r;
	}
	return 0;
}

int
sb_form_escape(const char *s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c && r >= 0; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '*' || *c == '-' || *c == '.' || *c == '_')
			r = buf_putc(out, (char)*c);
		else if (*c == ' ')
			r = buf_putc(out, '+');
		else {
			char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
			r = buf_append(out, e, 3);
		}
	}
	return r;
}

int
sb_params_encode(const struct sb_params *p, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; i < p->n && r >= 0; i++) {
		if (i > 0)
			r = buf_putc(out, '&');
		if (r >= 0)
			r = sb_form_escape(p->v[i].key, out);
		if (r >= 0)
			r = buf_putc(out, '=');
		if (r >= 0)
			r = sb_form_escape(p->v[i].value, out);
	}
	return r;
}

enum sb_charset
sb_charset_from_string(const char *s)
{
	if (!s)
		return SB_CHARSET_UNKNOWN;
	if (strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0)
		return SB_CHARSET_UTF8;
	if (strcasecmp(s, "gbk") == 0)
		return SB_CHARSET_GBK;
	return SB_CHARSET_UNKNOWN;
}

const char *
sb_charset_name(enum sb_charset cs)
{
	switch (cs) {
	case SB_CHARSET_GBK:
		return "GBK";
	case SB_CHARSET_UTF8:
		return "utf-8";
	case SB_CHARSET_UNKNOWN:
		break;
	}
	return "utf-8";
}

int
sb_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
convert(const char *to, const char *from, const char *s, size_t len, char **ret, size_t *ret_len)
{
	iconv_t cd = iconv_open(to, from);
	_cleanup_free_ char *out = NULL;
	size_t cap = len * 2 + 4, left_out = cap - 1, left_in = len;
	char *in = (char *)s, *o;

	if (cd == (iconv_t)-1)
		return -errno;
	out = malloc(cap);
	if (!out) {
		iconv_close(cd);
		return -ENOMEM;
	}
	o = out;
	if (iconv(cd, &in, &left_in, &o, &left_out) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &o, &left_out) == (size_t)-1) {
		int e = errno;
		iconv_close(cd);
		return e == E2BIG ? -E2BIG : -EILSEQ;
	}
	iconv_close(cd);
	*o = '\0';
	if (memchr(out, '\0', (size_t)(o - out)))
		return -EILSEQ;
	if (ret_len)
		*ret_len = (size_t)(o - out);
	*ret = TAKE_PTR(out);
	return 0;
}

int
sb_charset_to_utf8(enum sb_charset cs, const char *s, size_t len, char **ret)
{
	if (cs == SB_CHARSET_GBK)
		return convert("UTF-8", "GBK", s, len, ret, NULL);
	if (!sb_utf8_valid(s, len) || memchr(s, '\0', len))
		return -EILSEQ;
	*ret = strndup(s, len);
	return *ret ? 0 : -ENOMEM;
}

int
sb_charset_from_utf8(enum sb_charset cs, const char *s, size_t len, char **ret, size_t *ret_len)
{
	if (cs == SB_CHARSET_GBK)
		return convert("GBK", "UTF-8", s, len, ret, ret_len);
	*ret = strndup(s, len);
	if (!*ret)
		return -ENOMEM;
	if (ret_len)
		*ret_len = len;
	return 0;
}
