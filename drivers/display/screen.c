/* SPDX-License-Identifier: MIT */
/* Screen texts in Chinese and English, Alipay sub_codes in plain words, text hygiene, and the
 * screen copies the daemon keeps. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/money.h"
#include "drivers/display/screen.h"

#define COPY_TEXT_MAX (DISPLAY_TEXT_MAX + 8) /* enough to know the text was longer */

const char *
display_screen_kind_to_string(enum display_screen_kind k)
{
	switch (k) {
	case DISPLAY_SCREEN_IDLE:
		return "idle";
	case DISPLAY_SCREEN_QR:
		return "qr";
	case DISPLAY_SCREEN_SHOW_CODE:
		return "show-code";
	case DISPLAY_SCREEN_PROCESSING:
		return "processing";
	case DISPLAY_SCREEN_CONFIRM:
		return "confirm";
	case DISPLAY_SCREEN_PAID:
		return "paid";
	case DISPLAY_SCREEN_FAILED:
		return "failed";
	case DISPLAY_SCREEN_CANCELED:
		return "canceled";
	case _DISPLAY_SCREEN_MAX:
		break;
	}
	return NULL;
}

void
display_language_pick(enum display_language lang, const char **first, const char **second)
{
	switch (lang) {
	case DISPLAY_LANGUAGE_ZH:
		*second = NULL;
		break;
	case DISPLAY_LANGUAGE_EN:
		*first = *second;
		*second = NULL;
		break;
	case DISPLAY_LANGUAGE_BOTH:
		break;
	}
}

void
display_labels_get(enum display_screen_kind k, struct display_labels *ret)
{
	struct display_labels l = {0};

	switch (k) {
	case DISPLAY_SCREEN_IDLE:
		l = (struct display_labels){"欢迎光临", "Welcome", "支持支付宝付款",
					    "Alipay accepted here"};
		break;
	case DISPLAY_SCREEN_QR:
		l = (struct display_labels){"请使用支付宝扫码付款", "Scan with Alipay to pay", NULL,
					    NULL};
		break;
	case DISPLAY_SCREEN_SHOW_CODE:
		l = (struct display_labels){"请出示付款码", "Please show your payment code",
					    "打开支付宝 › 付钱", "Open Alipay › Pay"};
		break;
	case DISPLAY_SCREEN_PROCESSING:
		l = (struct display_labels){"正在付款…", "Processing payment…", "请稍候",
					    "Please wait"};
		break;
	case DISPLAY_SCREEN_CONFIRM:
		l = (struct display_labels){"请在手机上确认付款", "Please confirm on your phone",
					    "输入密码或验证后完成付款",
					    "Enter your password to finish"};
		break;
	case DISPLAY_SCREEN_PAID:
		l = (struct display_labels){"支付成功", "Payment successful", "谢谢惠顾",
					    "Thank you"};
		break;
	case DISPLAY_SCREEN_FAILED:
		l = (struct display_labels){"支付失败", "Payment failed", NULL, NULL};
		break;
	case DISPLAY_SCREEN_CANCELED:
		l = (struct display_labels){"交易已取消", "Payment canceled", "未扣款",
					    "You have not been charged"};
		break;
	case _DISPLAY_SCREEN_MAX:
		break;
	}
	*ret = l;
}

/*
 * doc/protocol.md §6: definite failures are shown in plain words. Sorted by code (strcmp order) for
 * bsearch; a unit test checks the order. Unknown codes fall back to sub_msg.
 */
static const struct display_reason reasons[] = {
	{"ACQ.ACCESS_FORBIDDEN", "商户暂不能收款", "The shop cannot take this payment"},
	{"ACQ.BEYOND_PAY_RESTRICTION", "商户收款额度已达上限",
	 "The shop's payment limit is reached"},
	{"ACQ.BEYOND_PER_RECEIPT_RESTRICTION", "超过单笔收款限额",
	 "Amount over the per-payment limit"},
	{"ACQ.BUYER_BALANCE_NOT_ENOUGH", "余额不足", "Balance not enough"},
	{"ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH", "银行卡余额不足", "Bank card balance not enough"},
	{"ACQ.BUYER_ENABLE_STATUS_FORBID", "付款账户暂不可用", "Your account cannot pay right now"},
	{"ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR", "已超过当日付款限额",
	 "Daily payment limit reached"},
	{"ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR", "已超过当月付款限额",
	 "Monthly payment limit reached"},
	{"ACQ.BUYER_SELLER_EQUAL", "买家与商户不能是同一账户",
	 "Buyer and shop are the same account"},
	{"ACQ.ERROR_BALANCE_PAYMENT_DISABLE", "余额付款功能已关闭",
	 "Balance payment is turned off"},
	{"ACQ.INVALID_STORE_ID", "门店信息有误，请联系收银员",
	 "Store setup error, ask the cashier"},
	{"ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE", "没有可用的付款方式",
	 "No payment method available"},
	{"ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已失效，请刷新后重试",
	 "Code expired, refresh and scan again"},
	{"ACQ.PAYMENT_FAIL", "付款失败，请重试", "Payment failed, please try again"},
	{"ACQ.PAYMENT_REQUEST_HAS_RISK", "付款存在风险，已被拦截", "Declined for your safety"},
	{"ACQ.PULL_MOBILE_CASHIER_FAIL", "付款码已失效，请刷新后重试",
	 "Code expired, refresh and scan again"},
	{"ACQ.SYSTEM_ERROR", "系统繁忙，请稍后再试", "System busy, please try again later"},
	{"ACQ.TOTAL_FEE_EXCEED", "金额超出限制", "Amount over the limit"},
	{"ACQ.TRADE_BUYER_NOT_MATCH", "付款账户不一致", "Paying account does not match"},
	{"ACQ.TRADE_HAS_CLOSE", "交易已关闭，请重新下单", "Order closed, please start again"},
	{"ACQ.TRADE_STATUS_ERROR", "交易状态异常", "Order state does not allow payment"},
	{DISPLAY_REASON_CODE_NOT_SUPPORTED, "暂不支持此付款码，请使用支付宝",
	 "Code not supported, please use Alipay"},
	{DISPLAY_REASON_GATEWAY_MISMATCH, "交易信息不符，请联系收银员",
	 "Payment details do not match, ask the cashier"},
	{DISPLAY_REASON_GATEWAY_UNREACHABLE, "无法连接支付宝，未扣款",
	 "Gateway unreachable, nothing was charged"},
	{DISPLAY_REASON_JOURNAL, "暂停收款，请联系收银员", "Payments paused, ask the cashier"},
	{DISPLAY_REASON_NETWORK, "网络异常，请稍后再试", "Network problem, please try again"},
	{DISPLAY_REASON_QR_EXPIRED, "二维码已过期", "QR code expired"},
	{DISPLAY_REASON_TIMEOUT, "付款超时", "Payment timed out"},
	{DISPLAY_REASON_TRADE_NO_COLLISION, "订单号冲突，请联系收银员",
	 "Order number clash, ask the cashier"},
	{"isv.invalid-timestamp", "终端时钟不准，请联系收银员", "The terminal's clock is wrong"},
};

static int
reason_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct display_reason *)elem)->code);
}

const struct display_reason *
display_reason_lookup(const char *code)
{
	if (isempty(code) || strlen(code) > 128)
		return NULL;
	return bsearch(code, reasons, ELEMENTSOF(reasons), sizeof(reasons[0]), reason_cmp);
}

size_t
display_reason_table(const struct display_reason **ret)
{
	*ret = reasons;
	return ELEMENTSOF(reasons);
}

/* Decodes one strict UTF-8 sequence (no overlongs, surrogates or values above U+10FFFF).
 * Returns its length, or 0 if invalid; *cp gets the code point. */
static size_t
utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int
is_bidi_control(uint32_t c)
{
	/* LRE RLE PDF LRO RLO, LRI RLI FSI PDI: they could reorder the labels around them. */
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

int
display_text_sanitize(const char *s, size_t max_bytes, char **ret)
{
	static const char ellipsis[] = "…", replacement[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), o = 0;
	int truncated = 0;
	char *out;

	out = malloc(max_bytes + sizeof(ellipsis));
	if (!out)
		return -ENOMEM;
	while (n > 0) {
		uint32_t c;
		size_t len = utf8_decode(p, n, &c);
		const char *emit = (const char *)p;
		size_t emit_len = len;

		if (len == 0) {
			len = 1;
			emit = replacement;
			emit_len = STRLEN(replacement);
		} else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029) {
			emit = " ";
			emit_len = 1;
		} else if (is_bidi_control(c))
			emit_len = 0;
		if (o + emit_len > max_bytes) {
			truncated = 1;
			break;
		}
		memcpy(out + o, emit, emit_len);
		o += emit_len;
		p += len;
		n -= len;
	}
	if (truncated) {
		memcpy(out + o, ellipsis, STRLEN(ellipsis));
		o += STRLEN(ellipsis);
	}
	out[o] = 0;
	*ret = out;
	return truncated;
}

char *
display_amount_format(int64_t fen, char buf[static DISPLAY_AMOUNT_BUF])
{
	char m[MONEY_BUF_SIZE];

	if (fen <= 0) {
		buf[0] = 0;
		return buf;
	}
	snprintf(buf, DISPLAY_AMOUNT_BUF, "¥%s", money_format(fen, m));
	return buf;
}

char *
display_countdown_format(int seconds, char buf[static DISPLAY_COUNTDOWN_BUF])
{
	int s = seconds < 0 ? 0 : seconds > 5999 ? 5999 : seconds;

	snprintf(buf, DISPLAY_COUNTDOWN_BUF, "%d:%02d", s / 60, s % 60);
	return buf;
}

void
display_screen_clear(struct display_screen *s)
{
	free((char *)s->qr_text);
	free((char *)s->store_name);
	free((char *)s->subject);
	free((char *)s->reason_code);
	free((char *)s->reason_text);
	*s = (struct display_screen){0};
}

static int
strndup_opt(const char *s, size_t max, const char **ret)
{
	char *c = NULL;

	if (s) {
		c = strndup(s, max);
		if (!c)
			return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int
display_screen_copy(const struct display_screen *s, struct display_screen *ret)
{
	struct display_screen c = *s;
	int r;

	c.qr_text = c.store_name = c.subject = c.reason_code = c.reason_text = NULL;
	r = strndup_opt(s->qr_text, DISPLAY_QR_TEXT_MAX + 1, &c.qr_text);
	if (r >= 0)
		r = strndup_opt(s->store_name, COPY_TEXT_MAX, &c.store_name);
	if (r >= 0)
		r = strndup_opt(s->subject, COPY_TEXT_MAX, &c.subject);
	if (r >= 0)
		r = strndup_opt(s->reason_code, COPY_TEXT_MAX, &c.reason_code);
	if (r >= 0)
		r = strndup_opt(s->reason_text, COPY_TEXT_MAX, &c.reason_text);
	if (r < 0) {
		display_screen_clear(&c);
		return r;
	}
	*ret = c;
	return 0;
}

static bool
same_str(const char *a, const char *b)
{
	return (!a && !b) || STR_EQ_PTR(a, b);
}

bool
display_screen_equal(const struct display_screen *a, const struct display_screen *b)
{
	return a->kind == b->kind && a->language == b->language && a->amount_fen == b->amount_fen &&
	       a->seconds_left == b->seconds_left && same_str(a->qr_text, b->qr_text) &&
	       same_str(a->store_name, b->store_name) && same_str(a->subject, b->subject) &&
	       same_str(a->reason_code, b->reason_code) && same_str(a->reason_text, b->reason_text);
}
