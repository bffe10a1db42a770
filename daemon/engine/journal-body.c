/* SPDX-License-Identifier: MIT */
/* How the journal keeps a notification's body: the exact bytes, deflated with a fixed dictionary.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/macro.h"
#include "daemon/engine/journal-body.h"

/*
 * JOURNAL_BODY_DICT1's dictionary: what Alipay's trade notifications repeat (doc/protocol.md §4
 * field names and their usual values, form-encoded), the most frequent last, where deflate reaches
 * it with the shortest distances. A body of about 1 KiB packs into about 460 bytes, most of them
 * the signature, which does not compress. FROZEN: journals hold bodies packed with it; a better
 * one is a new codec.
 */
static const char dict1[] =
	"gmt_close=gmt_refund=out_biz_no=refund_fee=passback_params=body=voucher_detail_l"
	"ist=charset=gbksign_type=RSA&TRADE_FINISHEDTRADE_CLOSEDWAIT_BUYER_PAY%22fundChan"
	"nel%22%3A%22PCREDIT%22%22fundChannel%22%3A%22BANKCARD%22%22fundChannel%22%3A%22P"
	"OINT%22%22fundChannel%22%3A%22COUPON%22%22fundChannel%22%3A%22ALIPAYACCOUNT%22%4"
	"0alipay.com%40example.com***&notify_type=trade_status_sync&notify_id=&app_id=202"
	"1&auth_app_id=2021&charset=utf-8&version=1.0&sign_type=RSA2&trade_no=2026&out_tr"
	"ade_no=&buyer_id=2088&buyer_logon_id=&seller_id=2088&seller_email=&trade_status="
	"TRADE_SUCCESS&total_amount=.00&subject=&gmt_create=2026-&receipt_amount=&invoice"
	"_amount=&buyer_pay_amount=&point_amount=0.00&gmt_payment=2026-&fund_bill_list=%5"
	"B%7B%22amount%22%3A%22%22%2C%22fundChannel%22%3A%22ALIPAYACCOUNT%22%7D%5D&notify"
	"_time=2026-+&sign=";

/* Raw deflate of in with dict1 followed by extra (may be empty) as preset dictionary. */
static int
deflate_dict(const void *in, size_t size, const void *extra, size_t extra_size, uint8_t **ret,
	     size_t *ret_size)
{
	z_stream z = {};
	uint8_t *out;
	uLong bound;
	int rc;

	/* Raw deflate (no zlib header or checksum: the journal keeps the size, and SQLite its
	 * pages), level 6. An 8 KiB window holds both dictionaries (dict1 and at most
	 * JOURNAL_BODY_DICT_MAX) and a notification; with memory level 5 the compressor sets up
	 * 48 KiB, not the default's 256 KiB: 35% less time a body for the same bytes out (the
	 * journal-v1 fixture's notifications: 332 bytes each way). Inflating takes any window up
	 * to the default, so the bodies packed before read as ever. */
	if (deflateInit2(&z, 6, Z_DEFLATED, -13, 5, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	rc = deflateSetDictionary(&z, (const Bytef *)dict1, sizeof(dict1) - 1);
	if (rc == Z_OK && extra_size > 0)
		rc = deflateSetDictionary(&z, (const Bytef *)extra, (uInt)extra_size);
	bound = deflateBound(&z, (uLong)size);
	out = rc == Z_OK ? malloc(bound) : NULL;
	if (!out) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)size;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	*ret_size = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return -ENOMEM;
	}
	*ret = out;
	return 0;
}

int
journal_body_pack(const void *body, size_t size, void **ret, size_t *ret_size)
{
	uint8_t *out;
	int r;

	if (size > JOURNAL_BODY_MAX)
		return -E2BIG;
	r = deflate_dict(body, size, NULL, 0, &out, ret_size);
	if (r < 0)
		return r;
	*ret = out;
	return 0;
}

/* Inflates exactly original_size bytes into out, with dict1 followed by extra as dictionary. */
static int
inflate_dict(const void *data, size_t size, size_t original_size, const void *extra,
	     size_t extra_size, uint8_t *out)
{
	z_stream z = {};
	int rc;

	if (size > UINT32_MAX || inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	rc = inflateSetDictionary(&z, (const Bytef *)dict1, sizeof(dict1) - 1);
	if (rc == Z_OK && extra_size > 0)
		rc = inflateSetDictionary(&z, (const Bytef *)extra, (uInt)extra_size);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)size;
	z.next_out = out;
	/* One byte more than expected: a stream that yields more is damaged, not cut short. */
	z.avail_out = (uInt)original_size + 1;
	if (rc == Z_OK)
		rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || z.total_out != original_size || z.avail_in != 0)
		return -EBADMSG;
	return 0;
}

/* ---- JOURNAL_BODY_SPLIT: the signature's raw bytes beside the deflated rest ---- */

#define SIG_RAW_MAX 1024 /* RSA-8192; Alipay's RSA2 signatures are 256 bytes */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * The form text of a signature: base64, padded, then '+', '/' and '=' percent-encoded. Writes
 * it to out (NULL: only counts) and returns its length.
 */
static size_t
sig_encode(const uint8_t *raw, size_t n, char *out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;

		if (k > 1)
			v |= (uint32_t)raw[i + 1] << 8;
		if (k > 2)
			v |= raw[i + 2];
		for (size_t c = 0; c < 4; c++) {
			char ch = c <= k ? b64[(v >> (18 - 6 * c)) & 63] : '=';
			const char *s = ch == '+'   ? "%2B"
					: ch == '/' ? "%2F"
					: ch == '=' ? "%3D"
						    : NULL;

			if (s) {
				if (out)
					memcpy(out + len, s, 3);
				len += 3;
			} else {
				if (out)
					out[len] = ch;
				len++;
			}
		}
	}
	return len;
}

static int
b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

/*
 * Reads the form text of a signature (text, n bytes) into raw bytes: the number of bytes, or
 * -EINVAL when it is not written as sig_encode() writes it (then it is kept as text).
 */
static int
sig_decode(const char *text, size_t n, uint8_t raw[static SIG_RAW_MAX])
{
	char plain[SIG_RAW_MAX / 3 * 4 + 8];
	size_t len = 0, out = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		if (len == sizeof(plain))
			return -EINVAL;
		if (c == '%' && i + 2 < n) {
			c = text[i + 1] == '2' && text[i + 2] == 'B'   ? '+'
			    : text[i + 1] == '2' && text[i + 2] == 'F' ? '/'
			    : text[i + 1] == '3' && text[i + 2] == 'D' ? '='
								       : 0;
			if (!c)
				return -EINVAL;
			i += 2;
		}
		plain[len++] = c;
	}
	if (len == 0 || len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (plain[i] == '=') {
			/* Padding only at the end, at most two. */
			if (len - i > 2 || (i + 1 < len && plain[i + 1] != '='))
				return -EINVAL;
			break;
		}
		v = b64_value(plain[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out == SIG_RAW_MAX)
				return -EINVAL;
			raw[out++] = (uint8_t)(acc >> bits);
		}
	}
	/* Written back, it must be exactly these bytes (no stray bits, no other spelling). */
	if (sig_encode(raw, out, NULL) != n)
		return -EINVAL;
	{
		char again[sizeof(plain) * 3];
		sig_encode(raw, out, again);
		if (memcmp(again, text, n) != 0)
			return -EINVAL;
	}
	return (int)out;
}

/* Where the value of the form field `field` ("name=") lies in body: 0 and its offset and length,
 * or -ENOENT. The first one counts. */
static int
form_field_find(const char *body, size_t size, const char *field, size_t *ret_off, size_t *ret_len)
{
	const size_t flen = strlen(field);

	for (size_t i = 0; i + flen <= size; i++) {
		size_t end;

		if ((i > 0 && body[i - 1] != '&') || memcmp(body + i, field, flen) != 0)
			continue;
		i += flen;
		for (end = i; end < size && body[end] != '&'; end++)
			;
		*ret_off = i;
		*ret_len = end - i;
		return 0;
	}
	return -ENOENT;
}

/* LEB128, at most 4 bytes (values below 2^28: offsets in a body of at most 1 MiB). */
static size_t
varint_put(uint8_t *p, size_t v)
{
	size_t n = 0;

	do {
		p[n] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
		n++;
	} while (v);
	return n;
}

static int
varint_get(const uint8_t *p, size_t size, size_t *pos, size_t *ret)
{
	size_t v = 0;

	for (unsigned shift = 0; shift < 28; shift += 7) {
		if (*pos >= size)
			return -EBADMSG;
		v |= (size_t)(p[*pos] & 0x7f) << shift;
		if (!(p[(*pos)++] & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

int
journal_body_pack2(const void *body, size_t size, const void *dict, size_t dict_size, void **ret,
		   size_t *ret_size)
{
	_cleanup_free_ uint8_t *deflated = NULL, *rest = NULL;
	uint8_t raw[SIG_RAW_MAX], head[8];
	size_t off = 0, len = 0, hlen, dlen;
	int n = 0, r;
	uint8_t *out;

	if (size > JOURNAL_BODY_MAX || dict_size > JOURNAL_BODY_DICT_MAX)
		return -E2BIG;
	if (form_field_find(body, size, "sign=", &off, &len) >= 0)
		n = sig_decode((const char *)body + off, len, raw);
	if (n <= 0) {
		/* No signature kept raw: offset 0, no bytes, the whole body deflated. */
		off = len = 0;
		n = 0;
	}
	rest = malloc(size - len + 1);
	if (!rest)
		return -ENOMEM;
	if (off > 0)
		memcpy(rest, body, off);
	if (size - off - len > 0)
		memcpy(rest + off, (const uint8_t *)body + off + len, size - off - len);
	r = deflate_dict(rest, size - len, dict, dict_size, &deflated, &dlen);
	if (r < 0)
		return r;
	hlen = varint_put(head, off);
	hlen += varint_put(head + hlen, (size_t)n);
	out = malloc(hlen + (size_t)n + dlen);
	if (!out)
		return -ENOMEM;
	memcpy(out, head, hlen);
	if (n > 0)
		memcpy(out + hlen, raw, (size_t)n);
	memcpy(out + hlen + (size_t)n, deflated, dlen);
	*ret = out;
	*ret_size = hlen + (size_t)n + dlen;
	return 0;
}

static int
unpack_split(const uint8_t *data, size_t size, size_t original_size, const void *dict,
	     size_t dict_size, uint8_t *out)
{
	_cleanup_free_ uint8_t *rest = NULL;
	size_t pos = 0, off, n, len = 0;
	char text[SIG_RAW_MAX / 3 * 4 * 3 + 16];

	if (varint_get(data, size, &pos, &off) < 0 || varint_get(data, size, &pos, &n) < 0 ||
	    n > SIG_RAW_MAX || size - pos < n)
		return -EBADMSG;
	if (n > 0)
		len = sig_encode(data + pos, n, text);
	if (len > original_size || off > original_size - len)
		return -EBADMSG;
	rest = malloc(original_size - len + 2);
	if (!rest)
		return -ENOMEM;
	if (inflate_dict(data + pos + n, size - pos - n, original_size - len, dict, dict_size,
			 rest) < 0)
		return -EBADMSG;
	memcpy(out, rest, off);
	memcpy(out + off, text, len);
	memcpy(out + off + len, rest + off, original_size - len - off);
	return 0;
}

int
journal_body_dict_make(const void *body, size_t size, void **ret, size_t *ret_size)
{
	size_t off = 0, len = 0, n;
	uint8_t *out;

	if (form_field_find(body, size, "sign=", &off, &len) < 0)
		off = len = 0;
	n = size - len < JOURNAL_BODY_DICT_MAX ? size - len : JOURNAL_BODY_DICT_MAX;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	/* The body up to the signature's value, then what follows it, cut to the limit. */
	if (off >= n) {
		memcpy(out, body, n);
	} else {
		memcpy(out, body, off);
		memcpy(out + off, (const uint8_t *)body + off + len, n - off);
	}
	*ret = out;
	*ret_size = n;
	return 0;
}

int
journal_body_unpack_dict(int codec, const void *data, size_t size, size_t original_size,
			 const void *dict, size_t dict_size, void **ret)
{
	uint8_t *out;
	int r;

	if (original_size > JOURNAL_BODY_MAX || size > JOURNAL_BODY_MAX * 2 ||
	    dict_size > JOURNAL_BODY_DICT_MAX)
		return -E2BIG;
	out = malloc(original_size + 2);
	if (!out)
		return -ENOMEM;
	switch (codec) {
	case JOURNAL_BODY_RAW:
		r = size == original_size ? 0 : -EBADMSG;
		if (r == 0 && size > 0)
			memcpy(out, data, size);
		break;
	case JOURNAL_BODY_DICT1:
		r = inflate_dict(data, size, original_size, NULL, 0, out);
		break;
	case JOURNAL_BODY_SPLIT:
		r = unpack_split(data, size, original_size, dict, dict_size, out);
		break;
	default:
		r = -EINVAL;
		break;
	}
	if (r < 0) {
		free(out);
		return r;
	}
	out[original_size] = 0;
	*ret = out;
	return 0;
}

int
journal_body_unpack(int codec, const void *data, size_t size, size_t original_size, void **ret)
{
	return journal_body_unpack_dict(codec, data, size, original_size, NULL, 0, ret);
}

int
journal_body_notify_id(const char *body, size_t size, char *buf, size_t n)
{
	size_t off, len;

	if (form_field_find(body, size, "notify_id=", &off, &len) < 0)
		return -ENOENT;
	if (len >= n)
		return -E2BIG;
	memcpy(buf, body + off, len);
	buf[len] = 0;
	return 0;
}

int64_t
journal_notify_key(const char *notify_id)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (const unsigned char *p = (const unsigned char *)notify_id; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	/* FROZEN like the codecs: journals hold these keys. Positive, to fit SQLite's integers. */
	return (int64_t)(h >> 1);
}
