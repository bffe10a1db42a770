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

int
journal_body_pack(const void *body, size_t size, void **ret, size_t *ret_size)
{
	z_stream z = {};
	uint8_t *out;
	uLong bound;
	int rc;

	if (size > JOURNAL_BODY_MAX)
		return -E2BIG;
	/* Raw deflate (no zlib header or checksum: the journal keeps the size, and SQLite its
	 * pages), level 6, the default window and memory. */
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	rc = deflateSetDictionary(&z, (const Bytef *)dict1, sizeof(dict1) - 1);
	bound = deflateBound(&z, (uLong)size);
	out = rc == Z_OK ? malloc(bound) : NULL;
	if (!out) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)body;
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

static int
unpack_dict1(const void *data, size_t size, size_t original_size, uint8_t *out)
{
	z_stream z = {};
	int rc;

	if (size > UINT32_MAX || inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	rc = inflateSetDictionary(&z, (const Bytef *)dict1, sizeof(dict1) - 1);
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

int
journal_body_unpack(int codec, const void *data, size_t size, size_t original_size, void **ret)
{
	uint8_t *out;
	int r;

	if (original_size > JOURNAL_BODY_MAX || size > JOURNAL_BODY_MAX * 2)
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
		r = unpack_dict1(data, size, original_size, out);
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
journal_body_notify_id(const char *body, size_t size, char *buf, size_t n)
{
	static const char field[] = "notify_id=";
	const size_t flen = sizeof(field) - 1;

	for (size_t i = 0; i + flen <= size; i++) {
		size_t end;

		if ((i > 0 && body[i - 1] != '&') || memcmp(body + i, field, flen) != 0)
			continue;
		i += flen;
		for (end = i; end < size && body[end] != '&'; end++)
			;
		if (end - i >= n)
			return -E2BIG;
		memcpy(buf, body + i, end - i);
		buf[end - i] = 0;
		return 0;
	}
	return -ENOENT;
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
