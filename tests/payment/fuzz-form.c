/* SPDX-License-Identifier: MIT */
/* Fuzz target: the form decoder; what it accepts must re-encode and decode to the same list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "payment/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alipay_params p = ALIPAY_PARAMS_INIT, q = ALIPAY_PARAMS_INIT;
	struct buf b = BUF_INIT(4 * ALIPAY_FORM_MAX);

	if (alipay_form_decode_raw((const char *)data, size, &p) < 0)
		return 0;
	for (size_t i = 0; i < p.n; i++) {
		if (i > 0 && buf_putc(&b, '&') < 0)
			abort();
		if (alipay_form_encode_bytes(&b, p.items[i].key, strlen(p.items[i].key)) < 0 ||
		    buf_putc(&b, '=') < 0 ||
		    alipay_form_encode_bytes(&b, p.items[i].value, strlen(p.items[i].value)) < 0)
			abort();
	}
	if (alipay_form_decode_raw(b.data ? b.data : "", b.len, &q) < 0 || q.n != p.n)
		abort();
	for (size_t i = 0; i < p.n; i++)
		if (strcmp(p.items[i].key, q.items[i].key) != 0 ||
		    strcmp(p.items[i].value, q.items[i].value) != 0)
			abort();
	(void)alipay_params_convert_to_utf8(&p, ALIPAY_CHARSET_GBK);
	alipay_params_done(&p);
	alipay_params_done(&q);
	buf_free(&b);
	return 0;
}
