/* SPDX-License-Identifier: MIT */
/* Helpers for the display tests: zbar decoding of rendered pixels and pixel reads. */
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

#include "display-test-util.h"
#include "test.h"

const char *__lsan_default_suppressions(void);

/* fontconfig leaks parsing its configuration (FcInitLoadConfigAndFonts, seen with the
 * default 2-frame unwinder as libfontconfig only): not ours, and nothing we can free. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

const char *const test_qr_texts[] = {
	/* The shape Alipay returns today (bax + 22 characters). */
	"https://qr.alipay.com/bax08431rqd5ryxxdb7v6045",
	"https://qr.alipay.com/bax03744jfr6ycqdvucv00f9",
	/* The 66-character URL of doc/hardware.md §4.2 (version 5). */
	"https://qr.alipay.com/bax00662eafyn7tvdxbl0000f8c1cb3a7d9e5f2a4b6c",
	/* Longer forms seen with query strings. */
	"https://qr.alipay.com/bax08431rqd5ryxxdb7v6045?t=1732600000000&_s=web-other&scene=f2f",
	/* The longest plausible: a long path plus a signed query string, 256 bytes. */
	"https://qr.alipay.com/bax08431rqd5ryxxdb7v6045?biz=f2fpay&app_id=2021000000000001"
	"&out_trade_no=T01_20261126_000000000001&sign=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2Rl"
	"ZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo&ts=17326000000000",
	/* ... and twice that with a return URL: 567 bytes, beyond anything Alipay issues. */
	"https://qr.alipay.com/bax08431rqd5ryxxdb7v6045?biz=f2fpay&app_id=2021000000000001"
	"&out_trade_no=T01_20261126_000000000001&sign=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2Rl"
	"ZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo&ts=17326000000000"
	"&return_url=https%3A%2F%2Fshop.example.com%2Fcheckout%2Freturn%3Forder%3DT01_2026"
	"1126_000000000001%26terminal%3DT01%26store%3DS0001%26lang%3Dzh-CN%26sig%3D0123456"
	"789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	"89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567&v=1&pad=xxxxxxxx",
	NULL,
};

const struct test_resolution test_resolutions[] = {
	{800, 480}, {1024, 600}, {1280, 800}, {1920, 1080}, {480, 800},
};
const unsigned test_resolutions_count = sizeof(test_resolutions) / sizeof(test_resolutions[0]);

uint32_t
test_pixel_rgb(cairo_surface_t *s, int x, int y)
{
	const uint8_t *d = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);

	CHECK(d);
	CHECK(x >= 0 && y >= 0 && x < cairo_image_surface_get_width(s) &&
	      y < cairo_image_surface_get_height(s));
	if (cairo_image_surface_get_format(s) == CAIRO_FORMAT_RGB16_565) {
		uint16_t p;
		uint32_t r, g, b;
		memcpy(&p, d + (size_t)y * stride + (size_t)x * 2, 2);
		r = (p >> 11) & 0x1f;
		g = (p >> 5) & 0x3f;
		b = p & 0x1f;
		return ((r << 3 | r >> 2) << 16) | ((g << 2 | g >> 4) << 8) | (b << 3 | b >> 2);
	}
	CHECK(cairo_image_surface_get_format(s) == CAIRO_FORMAT_RGB24 ||
	      cairo_image_surface_get_format(s) == CAIRO_FORMAT_ARGB32);
	uint32_t p;
	memcpy(&p, d + (size_t)y * stride + (size_t)x * 4, 4);
	return p & 0xffffff;
}

int
test_pixel_gray(cairo_surface_t *s, int x, int y)
{
	uint32_t p = test_pixel_rgb(s, x, y);

	return (int)((((p >> 16) & 0xff) * 299 + ((p >> 8) & 0xff) * 587 + (p & 0xff) * 114) /
		     1000);
}

int
test_zbar_decode_gray(const uint8_t *gray, int width, int height, char **ret_text)
{
	zbar_image_scanner_t *scanner = zbar_image_scanner_create();
	zbar_image_t *img = zbar_image_create();
	const zbar_symbol_t *sym;
	char *first = NULL;
	int count = 0;

	CHECK(scanner && img);
	/* doc/hardware.md §5: QR only, Y800 input. */
	zbar_image_scanner_set_config(scanner, 0, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, (unsigned)width, (unsigned)height);
	zbar_image_set_data(img, gray, (unsigned long)width * (unsigned long)height, NULL);
	CHECK(zbar_scan_image(scanner, img) >= 0);
	for (sym = zbar_image_first_symbol(img); sym; sym = zbar_symbol_next(sym)) {
		if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
			continue;
		if (count++ == 0) {
			unsigned len = zbar_symbol_get_data_length(sym);
			first = malloc(len + 1);
			CHECK(first);
			memcpy(first, zbar_symbol_get_data(sym), len);
			first[len] = 0;
		}
	}
	zbar_image_destroy(img);
	zbar_image_scanner_destroy(scanner);
	if (ret_text)
		*ret_text = first;
	else
		free(first);
	return count;
}

int
test_zbar_decode(cairo_surface_t *s, char **ret_text)
{
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s), n;
	uint8_t *gray = malloc((size_t)w * (size_t)h);

	CHECK(gray);
	cairo_surface_flush(s);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			gray[(size_t)y * w + x] = (uint8_t)test_pixel_gray(s, x, y);
	n = test_zbar_decode_gray(gray, w, h, ret_text);
	free(gray);
	return n;
}

struct display_screen
test_screen(enum display_screen_kind k, const char *qr_text)
{
	struct display_screen s = {
		.kind = k,
		.amount_fen = 8888,
		.store_name = "便利店 No.3 · Corner Shop",
		.subject = "午餐套餐 Lunch set",
		.seconds_left = -1,
	};

	switch (k) {
	case DISPLAY_SCREEN_QR:
		s.qr_text = qr_text;
		s.seconds_left = 119;
		break;
	case DISPLAY_SCREEN_FAILED:
		s.reason_code = "ACQ.BUYER_BALANCE_NOT_ENOUGH";
		s.reason_text = "买家余额不足";
		break;
	case DISPLAY_SCREEN_IDLE:
		s.amount_fen = 0;
		s.subject = NULL;
		break;
	case DISPLAY_SCREEN_SHOW_CODE:
	case DISPLAY_SCREEN_PROCESSING:
	case DISPLAY_SCREEN_CONFIRM:
	case DISPLAY_SCREEN_PAID:
	case DISPLAY_SCREEN_CANCELED:
	case _DISPLAY_SCREEN_MAX:
		break;
	}
	return s;
}
