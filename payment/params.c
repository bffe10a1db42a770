/* SPDX-License-Identifier: MIT */
/* Ordered parameter lists, the doc/protocol.md §2.1 string to sign, and charset conversion (iconv).
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/json-strict.h"
#include "common/macro.h"
#include "payment/params.h"

const char *
alipay_charset_to_string(enum alipay_charset c)
{
	switch (c) {
	case ALIPAY_CHARSET_UTF8:
		return "utf-8";
	case ALIPAY_CHARSET_GBK:
		return "GBK";
	case _ALIPAY_CHARSET_MAX:
		break;
	}
	return NULL;
}

int
alipay_charset_from_string(const char *s, enum alipay_charset *ret)
{
	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0)
		*ret = ALIPAY_CHARSET_UTF8;
	else if (strcasecmp(s, "gbk") == 0)
		*ret = ALIPAY_CHARSET_GBK;
	else
		return -EINVAL;
	return 0;
}

static const char *
charset_iconv_name(enum alipay_charset c)
{
	return c == ALIPAY_CHARSET_GBK ? "GBK" : "UTF-8";
}

/* UTF-8 to UTF-8: the same check iconv makes (no overlongs, surrogates or truncated sequences),
 * without opening a converter for every parameter of every request. */
static int
utf8_copy(const char *s, size_t len, char **ret, size_t *ret_len)
{
	char *out;

	if (len > 0 && utf8_valid_prefix(s, len) != len)
		return -EILSEQ;
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	if (len > 0)
		memcpy(out, s, len);
	out[len] = 0;
	if (ret_len)
		*ret_len = len;
	*ret = out;
	return 0;
}

static int
convert(const char *to, const char *from, const char *s, size_t len, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	iconv_t cd;
	size_t cap, inleft = len, outleft;
	char *in = (char *)s, *op;

	if (!s && len > 0)
		return -EINVAL;
	if (STR_EQ(to, from))
		return utf8_copy(s, len, ret, ret_len);
	/* GBK ↔ UTF-8 grows at most 3/2. */
	cap = len / 2 * 3 + 4;
	out = malloc(cap + 1);
	if (!out)
		return -ENOMEM;
	cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return -errno;
	op = out;
	outleft = cap;
	if (len > 0 && iconv(cd, &in, &inleft, &op, &outleft) == (size_t)-1) {
		int r = errno == E2BIG ? -E2BIG : -EILSEQ;
		iconv_close(cd);
		return r;
	}
	/* Flush any shift state (none for these charsets, but iconv wants it). */
	if (iconv(cd, NULL, NULL, &op, &outleft) == (size_t)-1) {
		iconv_close(cd);
		return -EILSEQ;
	}
	iconv_close(cd);
	*op = 0;
	if (ret_len)
		*ret_len = (size_t)(op - out);
	*ret = TAKE_PTR(out);
	return 0;
}

int
alipay_charset_from_utf8(enum alipay_charset cs, const char *s, size_t len, char **ret,
			 size_t *ret_len)
{
	if ((unsigned)cs >= _ALIPAY_CHARSET_MAX || !ret)
		return -EINVAL;
	return convert(charset_iconv_name(cs), "UTF-8", s, len, ret, ret_len);
}

int
alipay_charset_to_utf8(enum alipay_charset cs, const char *s, size_t len, char **ret,
		       size_t *ret_len)
{
	if ((unsigned)cs >= _ALIPAY_CHARSET_MAX || !ret)
		return -EINVAL;
	return convert("UTF-8", charset_iconv_name(cs), s, len, ret, ret_len);
}

static struct alipay_param *
params_find(const struct alipay_params *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->items[i].key, key) == 0)
			return &p->items[i];
	return NULL;
}

static int
param_check(const char *key, const char *value)
{
	size_t kl;

	if (!key || !value)
		return -EINVAL;
	kl = strlen(key);
	if (kl == 0 || kl > ALIPAY_PARAM_KEY_MAX || strlen(value) > ALIPAY_PARAM_VALUE_MAX)
		return -EINVAL;
	return 0;
}

int
alipay_params_add(struct alipay_params *p, const char *key, const char *value)
{
	char *k, *v;
	int r;

	if (!p)
		return -EINVAL;
	r = param_check(key, value);
	if (r < 0)
		return r;
	if (params_find(p, key))
		return -EEXIST;
	if (p->n >= ALIPAY_PARAMS_MAX)
		return -E2BIG;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct alipay_param *items = reallocarray(p->items, cap, sizeof(*items));
		if (!items)
			return -ENOMEM;
		p->items = items;
		p->cap = cap;
	}
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	p->items[p->n++] = (struct alipay_param){.key = k, .value = v};
	return 0;
}

int
alipay_params_set(struct alipay_params *p, const char *key, const char *value)
{
	struct alipay_param *it;
	char *v;
	int r;

	if (!p || !key)
		return -EINVAL;
	it = params_find(p, key);
	if (!value) {
		if (it) {
			size_t i = (size_t)(it - p->items);
			free(it->key);
			erase_and_free(it->value);
			memmove(it, it + 1, (p->n - i - 1) * sizeof(*it));
			p->n--;
		}
		return 0;
	}
	if (!it)
		return alipay_params_add(p, key, value);
	r = param_check(key, value);
	if (r < 0)
		return r;
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	erase_and_free(it->value);
	it->value = v;
	return 0;
}

const char *
alipay_params_get(const struct alipay_params *p, const char *key)
{
	const struct alipay_param *it;

	if (!p || !key)
		return NULL;
	it = params_find(p, key);
	return it ? it->value : NULL;
}

void
alipay_params_done(struct alipay_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].key);
		erase_and_free(p->items[i].value);
	}
	free(p->items);
	*p = ALIPAY_PARAMS_INIT;
}

static int
param_ptr_cmp(const void *a, const void *b)
{
	const struct alipay_param *const *x = a, *const *y = b;

	/* doc/protocol.md §2.1 step 3: byte order (strcmp compares as unsigned char). */
	return strcmp((*x)->key, (*y)->key);
}

int
alipay_params_sign_string(const struct alipay_params *p, unsigned flags, char **ret)
{
	_cleanup_free_ const struct alipay_param **sorted = NULL;
	_cleanup_buf_ struct buf b = BUF_INIT(ALIPAY_PARAMS_MAX * (ALIPAY_PARAM_KEY_MAX + 2) +
					      2 * ALIPAY_PARAM_VALUE_MAX);
	size_t n = 0;
	int r;

	if (!p || !ret)
		return -EINVAL;
	sorted = calloc(p->n + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		const struct alipay_param *it = &p->items[i];
		if (strcmp(it->key, "sign") == 0)
			continue;
		if ((flags & ALIPAY_SIGN_STRING_DROP_SIGN_TYPE) &&
		    strcmp(it->key, "sign_type") == 0)
			continue;
		if ((flags & ALIPAY_SIGN_STRING_DROP_EMPTY) && it->value[0] == 0)
			continue;
		sorted[n++] = it;
	}
	qsort(sorted, n, sizeof(*sorted), param_ptr_cmp);
	r = buf_puts(&b, "");
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = buf_printf(&b, "%s%s=%s", i > 0 ? "&" : "", sorted[i]->key, sorted[i]->value);
		if (r < 0)
			return r;
	}
	*ret = buf_steal(&b);
	return 0;
}
