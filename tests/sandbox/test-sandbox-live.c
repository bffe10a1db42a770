/* SPDX-License-Identifier: MIT */
/* The running sandbox against bad requests, GBK, GET/body placement, and its bill zip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "harness.h"
#include "test.h"
#include "zipread.h"

static const char *bin, *keys;
static unsigned cases;

#define CASE(name) (cases++, fprintf(stderr, "case: %s\n", name))

/* POSTs query/body raw and checks the reply's sub_code (NULL: code 10000 expected). */
static void
expect_raw(struct harness *h, const char *query, const void *body, size_t len, const char *sub_code)
{
	struct buf out = BUF_INIT(1 << 24);
	_cleanup_free_ char *url = NULL, *got = NULL, *code = NULL;

	CHECK(asprintf(&url, "%s/gateway.do%s%s", h->url, query ? "?" : "", query ? query : "") >
	      0);
	CHECK_INT_EQ(harness_http("POST", url, NULL, body, len, &out), 200);
	got = harness_json_str(out.data, "sub_code");
	code = harness_json_str(out.data, "code");
	if (sub_code)
		CHECK_STR_EQ(got, sub_code);
	else
		CHECK_STR_EQ(code, "10000");
	CHECK(harness_alive(h));
	buf_free(&out);
}

static void
expect_call(struct harness *h, const char *method, const char *biz, const char *charset,
	    const char *sign_type, const char *sub_code)
{
	_cleanup_free_ char *q = NULL, *b = NULL;

	harness_request(h, method, biz, charset, sign_type, &q, &b);
	expect_raw(h, q, b, strlen(b), sub_code);
}

/* Replaces key=value in a form string (value already encoded); new string. */
static char *
form_replace(const char *form, const char *key, const char *value)
{
	struct sb_params p = {};
	struct buf out = BUF_INIT(1 << 24);

	CHECK(sb_params_parse(&p, form, strlen(form)) == 0);
	if (value)
		CHECK(sb_params_set(&p, key, value) == 0);
	else
		for (size_t i = 0; i < p.n; i++)
			if (STR_EQ(p.v[i].key, key)) {
				free(p.v[i].key);
				free(p.v[i].value);
				p.v[i] = p.v[--p.n];
				break;
			}
	CHECK(sb_params_encode(&p, &out) == 0);
	sb_params_free(&p);
	return buf_steal(&out);
}

static void
test_bad_requests(void)
{
	struct harness h = {};
	_cleanup_free_ char *q = NULL, *b = NULL, *big = NULL, *many = NULL;
	static const char pay[] = "{\"out_trade_no\":\"bad1\",\"scene\":\"bar_code\",\"auth_code\":"
				  "\"287634438256644390\","
				  "\"subject\":\"x\",\"total_amount\":\"1.00\"}";
	struct buf m = BUF_INIT(1 << 24);

	harness_start(&h, bin, keys, NULL);

	CASE("empty POST: isv.missing-method");
	expect_raw(&h, NULL, "", 0, "isv.missing-method");

	CASE("garbage body: Alipay-style error");
	{
		unsigned char g[4096];
		unsigned seed = 12345;

		for (size_t i = 0; i < sizeof(g); i++) {
			seed = seed * 1103515245 + 12345;
			g[i] = (unsigned char)(seed >> 16);
		}
		expect_raw(&h, NULL, g, sizeof(g), "isv.invalid-parameter"); /* holds NUL bytes */
		for (size_t i = 0; i < sizeof(g); i++)
			g[i] = g[i] ? g[i] : 'x';
		expect_raw(&h, NULL, g, sizeof(g), "isv.missing-method");
	}

	CASE("huge body (2 MB): isv.request-too-large");
	big = malloc(2 * 1024 * 1024);
	CHECK(big);
	memset(big, 'a', 2 * 1024 * 1024);
	expect_raw(&h, NULL, big, 2 * 1024 * 1024, "isv.request-too-large");

	CASE("10,000 parameters: isv.too-many-parameters");
	for (int i = 0; i < 10000; i++)
		CHECK(buf_printf(&m, "%sk%d=v", i ? "&" : "", i) == 0);
	many = buf_steal(&m);
	expect_raw(&h, "method=alipay.trade.query", many, strlen(many), "isv.too-many-parameters");

	CASE("unknown app_id: unsigned isv.invalid-app-id");
	harness_request(&h, "alipay.trade.query", "{\"out_trade_no\":\"x\"}", "utf-8", "RSA2", &q,
			&b);
	{
		_cleanup_free_ char *q2 = form_replace(q, "app_id", "2021000000000999");
		struct buf out = BUF_INIT(1 << 20);
		_cleanup_free_ char *url = NULL;

		CHECK(asprintf(&url, "%s/gateway.do?%s", h.url, q2) > 0);
		CHECK_INT_EQ(harness_http("POST", url, NULL, b, strlen(b), &out), 200);
		CHECK(strstr(out.data, "isv.invalid-app-id"));
		CHECK(!strstr(out.data, "\"sign\""));
		buf_free(&out);
	}

	CASE("wrong sign types");
	expect_call(&h, "alipay.trade.query", "{\"out_trade_no\":\"x\"}", "utf-8", "MD5",
		    "isv.invalid-signature-type");
	{
		_cleanup_free_ char *q2 = form_replace(q, "sign_type", NULL);
		expect_raw(&h, q2, b, strlen(b), "isv.missing-signature-type");
	}
	{
		/* Signed with RSA2 but announced as RSA. */
		_cleanup_free_ char *q2 = form_replace(q, "sign_type", "RSA");
		expect_raw(&h, q2, b, strlen(b), "isv.invalid-signature");
	}

	CASE("missing or bad common parameters");
	{
		_cleanup_free_ char *q2 = form_replace(q, "sign", NULL);
		expect_raw(&h, q2, b, strlen(b), "isv.missing-signature");
	}
	{
		_cleanup_free_ char *q2 = form_replace(q, "timestamp", NULL);
		expect_raw(&h, q2, b, strlen(b), "isv.missing-timestamp");
	}
	{
		_cleanup_free_ char *q2 = form_replace(q, "timestamp", "2026/01/01+00:00:00");
		expect_raw(&h, q2, b, strlen(b), "isv.invalid-timestamp");
	}
	{
		_cleanup_free_ char *q2 = form_replace(q, "charset", "latin1");
		expect_raw(&h, q2, b, strlen(b), "isv.invalid-charset");
	}
	{
		_cleanup_free_ char *q2 = form_replace(q, "method", "alipay.trade.nosuch");
		expect_raw(&h, q2, b, strlen(b), "isv.invalid-method");
	}
	{
		_cleanup_free_ char *b2 =
			form_replace(b, "biz_content", "%7B%22out_trade_no%22%3A%22y%22%7D");
		expect_raw(&h, q, b2, strlen(b2), "isv.invalid-signature");
	}

	CASE("a 900 KB request with a bad signature: signed reply, bounded sub_msg");
	{
		size_t n = 900 * 1024;
		_cleanup_free_ char *biz = malloc(n + 16), *q2 = NULL, *b2 = NULL, *q3 = NULL,
				    *url = NULL, *sub = NULL;
		struct buf out = BUF_INIT(1 << 24);

		CHECK(biz);
		memcpy(biz, "{\"x\":\"", 6);
		memset(biz + 6, 'a', n);
		memcpy(biz + 6 + n, "\"}", 3);
		harness_request(&h, "alipay.trade.query", biz, "utf-8", "RSA2", &q2, &b2);
		q3 = form_replace(q2, "sign", "AAAA");
		CHECK(asprintf(&url, "%s/gateway.do?%s", h.url, q3) > 0);
		CHECK_INT_EQ(harness_http("POST", url, NULL, b2, strlen(b2), &out), 200);
		CHECK(strstr(out.data, "\"sub_code\":\"isv.invalid-signature\""));
		CHECK(harness_verify_response(&h, "alipay.trade.query", out.data, out.len));
		sub = harness_json_str(out.data, "sub_msg");
		CHECK(sub && strlen(sub) < 70 * 1024);
		buf_free(&out);
	}

	CASE("invalid UTF-8, signed: isv.invalid-charset");
	expect_call(&h, "alipay.trade.query", "{\"out_trade_no\":\"\xff\xfe\xc0\xaf\"}", "utf-8",
		    "RSA2", "isv.invalid-charset");

	CASE("biz_content not JSON or too deep");
	expect_call(&h, "alipay.trade.query", "{\"out_trade_no\":", "utf-8", "RSA2",
		    "isv.invalid-biz-content");
	{
		char deep[400];
		memset(deep, '[', 200);
		memset(deep + 200, ']', 199);
		deep[399] = '\0';
		expect_call(&h, "alipay.trade.query", deep, "utf-8", "RSA2",
			    "isv.invalid-biz-content");
	}

	CASE("all parameters in the body (gopay style), and all in a GET query");
	{
		_cleanup_free_ char *q2 = NULL, *b2 = NULL, *all = NULL, *url = NULL;
		struct buf out = BUF_INIT(1 << 20);

		harness_request(&h, "alipay.trade.pay", pay, "utf-8", "RSA2", &q2, &b2);
		CHECK(asprintf(&all, "%s&%s", q2, b2) > 0);
		expect_raw(&h, NULL, all, strlen(all), NULL);
		free(q2), free(b2), free(all);
		all = NULL;
		harness_request(&h, "alipay.trade.query", "{\"out_trade_no\":\"bad1\"}", "utf-8",
				"RSA2", &q2, &b2);
		CHECK(asprintf(&url, "%s/gateway.do?%s&%s", h.url, q2, b2) > 0);
		CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &out), 200);
		CHECK(strstr(out.data, "\"trade_status\":\"TRADE_SUCCESS\""));
		CHECK(harness_verify_response(&h, "alipay.trade.query", out.data, out.len));
		buf_free(&out);
	}

	CASE("GBK request: signature over GBK bytes, reply in GBK and signed over them");
	{
		struct buf out = BUF_INIT(1 << 20);
		_cleanup_free_ char *u = NULL;
		static const char biz[] =
			"{\"out_trade_no\":\"gbk1\",\"scene\":\"bar_code\",\"auth_code\":"
			"\"287634438256644110\",\"subject\":\"中文商品\",\"total_amount\":\"6."
			"60\"}";

		CHECK_INT_EQ(harness_call(&h, "alipay.trade.pay", biz, "GBK", &out), 200);
		CHECK(strstr(out.data, "\"code\":\"10000\""));
		CHECK(harness_verify_response(&h, "alipay.trade.pay", out.data, out.len));
		buf_truncate(&out, 0);
		CHECK_INT_EQ(harness_call(&h, "alipay.trade.query", "{\"out_trade_no\":\"gbk1\"}",
					  "GBK", &out),
			     200);
		CHECK(harness_verify_response(&h, "alipay.trade.query", out.data, out.len));
		buf_truncate(&out, 0);
		/* The ledger holds the subject decoded from GBK. */
		{
			_cleanup_free_ char *url = NULL;
			CHECK(asprintf(&url, "%s/sim/trades", h.url) > 0);
			CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &out), 200);
			CHECK(strstr(out.data, "\"subject\":\"中文商品\""));
		}
		buf_free(&out);
		(void)u;
	}

	CASE("unknown path: 404");
	{
		struct buf out = BUF_INIT(1 << 20);
		_cleanup_free_ char *url = NULL;

		CHECK(asprintf(&url, "%s/nosuch", h.url) > 0);
		CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &out), 404);
		buf_free(&out);
	}

	CASE("a sandbox that took all that still answers and exits cleanly");
	expect_call(&h, "alipay.trade.query", "{\"out_trade_no\":\"bad1\"}", "utf-8", "RSA2", NULL);
	CHECK_INT_EQ(harness_stop(&h), 0);
}

static int
count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static void
test_bill(void)
{
	struct harness h = {};
	struct buf out = BUF_INIT(1 << 24), zip = BUF_INIT(1 << 24);
	_cleanup_free_ char *url = NULL, *biz = NULL, *tn1 = NULL, *tn2 = NULL;
	char today[BEIJING_DATE_BUF], ymd[BEIJING_DATE_BUF], name[128], line[512];
	struct zip_entry e[4] = {};
	const char *detail;
	int n;

	harness_start(&h, bin, keys, (const char *const[]){"--pid", "2088123412341234", NULL});
	beijing_format_date(time(NULL), 1, today);
	beijing_format_date(time(NULL), 0, ymd);

	CASE("bill: no trades yet → isp.bill_not_exist");
	CHECK(asprintf(&biz, "{\"bill_type\":\"trade\",\"bill_date\":\"%s\"}", today) > 0);
	expect_call(&h, "alipay.data.dataservice.bill.downloadurl.query", biz, "utf-8", "RSA2",
		    "isp.bill_not_exist");

	CASE("bill: trades, a refund and a cancel-refund of today");
	{
		static const char *const pays[] = {
			"{\"out_trade_no\":\"b1\",\"scene\":\"bar_code\",\"auth_code\":"
			"\"287634438256644390\","
			"\"subject\":\"苹果, "
			"红\",\"total_amount\":\"1.00\",\"store_id\":\"S1\",\"operator_id\":"
			"\"op1\"}",
			"{\"out_trade_no\":\"b2\",\"scene\":\"bar_code\",\"auth_code\":"
			"\"287634438256644120\","
			"\"subject\":\"梨\",\"total_amount\":\"2.50\",\"store_id\":\"S1\"}",
			"{\"out_trade_no\":\"b3\",\"scene\":\"bar_code\",\"auth_code\":"
			"\"287634438256644393\","
			"\"subject\":\"unpaid\",\"total_amount\":\"9.00\"}",
		};
		for (size_t i = 0; i < ELEMENTSOF(pays); i++) {
			buf_truncate(&out, 0);
			CHECK_INT_EQ(harness_call(&h, "alipay.trade.pay", pays[i], "utf-8", &out),
				     200);
			if (i == 0)
				tn1 = harness_json_str(out.data, "trade_no");
			if (i == 1)
				tn2 = harness_json_str(out.data, "trade_no");
		}
		CHECK(tn1 && tn2);
		expect_call(&h, "alipay.trade.refund",
			    "{\"out_trade_no\":\"b1\",\"refund_amount\":\"0.40\",\"out_request_"
			    "no\":\"rf1\"}",
			    "utf-8", "RSA2", NULL);
		expect_call(&h, "alipay.trade.cancel", "{\"out_trade_no\":\"b2\"}", "utf-8", "RSA2",
			    NULL);
	}

	CASE("bill: query, download, read back");
	buf_truncate(&out, 0);
	CHECK_INT_EQ(harness_call(&h, "alipay.data.dataservice.bill.downloadurl.query", biz,
				  "utf-8", &out),
		     200);
	CHECK(harness_verify_response(&h, "alipay.data.dataservice.bill.downloadurl.query",
				      out.data, out.len));
	url = harness_json_str(out.data, "bill_download_url");
	CHECK(url);
	/* Responses escape '/' (doc/protocol.md §3): undo it for the GET. */
	for (char *r = url, *w = url;; r++) {
		if (r[0] == '\\' && r[1] == '/')
			r++;
		*w++ = *r;
		if (!*r)
			break;
	}
	CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &zip), 200);
	n = zip_read_entries(zip.data, zip.len, e, 4);
	CHECK_INT_EQ(n, 2);

	CASE("bill: entry names in GBK");
	snprintf(name, sizeof(name), "20881234123412340156_%s_业务明细.csv", ymd);
	CHECK_STR_EQ(e[0].name_utf8, name);
	CHECK(strcmp(e[0].name_raw, e[0].name_utf8) != 0); /* really GBK bytes, not UTF-8 */
	CHECK_INT_EQ(strlen(e[0].name_raw),
		     strlen("20881234123412340156_") + 8 + strlen("_") + 8 + 4);
	snprintf(name, sizeof(name), "20881234123412340156_%s_业务明细(汇总).csv", ymd);
	CHECK_STR_EQ(e[1].name_utf8, name);

	CASE("bill: header, rows and totals match the trades made");
	detail = e[0].text_utf8;
	CHECK(strncmp(detail,
		      "#支付宝业务明细查询\r\n#账号：[20881234123412340156]\r\n#起始日期：[",
		      strlen("#支付宝业务明细查询\r\n#账号：[20881234123412340156]\r\n#"
			     "起始日期：[")) == 0);
	snprintf(line, sizeof(line), "#起始日期：[%.4s年%.2s月%.2s日 00:00:00]   终止日期：[",
		 today, today + 5, today + 8);
	CHECK(strstr(detail, line));
	CHECK(strstr(detail, "\r\n#-----------------------------------------业务明细列表-----------"
			     "-----------------------------\r\n"
			     "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,"
			     "门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,"
			     "支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,"
			     "券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
			     "退款批次号/请求号,服务费（元）,分润（元）,备注\r\n"));
	CHECK_INT_EQ(count_lines_starting(detail, tn1), 2); /* the sale and its refund */
	CHECK_INT_EQ(count_lines_starting(detail, tn2), 2); /* the sale and the cancel's refund */
	CHECK_INT_EQ(count_lines_starting(detail, "20"), 4);
	snprintf(line, sizeof(line), "%s\t,b1\t,交易\t,苹果  红\t,", tn1);
	CHECK(strstr(detail, line));
	CHECK(strstr(detail, ",S1\t,\t,op1\t,\t,"));
	snprintf(line, sizeof(line), "%s\t,b1\t,退款\t,", tn1);
	CHECK(strstr(detail, line));
	CHECK(strstr(detail,
		     ",1.00,-0.40,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,rf1\t,0.00,0.00,\r\n"));
	CHECK(strstr(detail, ",2.50,-2.50,"));
	CHECK(!strstr(detail, ",b3\t,"));
	CHECK(strstr(detail, "\r\n#-----------------------------------------业务明细列表结束-------"
			     "-----------------------------\r\n"
			     "#交易合计：2笔，商家实收共3.50元，商家优惠共0.00元\r\n"
			     "#退款合计：2笔，商家实收退款共-2.90元，商家优惠退款共0.00元\r\n"
			     "#导出时间：["));
	CHECK(strstr(e[1].text_utf8, "合计,,2,2,3.50,0.60,0.00,0.00,0.00,0.00,0.00,0.60\r\n"));
	zip_entries_free(e, n);

	CASE("bill: an unknown token is refused");
	buf_truncate(&zip, 0);
	url[strlen(url) - 1] = url[strlen(url) - 1] == '0' ? '1' : '0';
	CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &zip), 404);
	buf_free(&zip);
	buf_free(&out);
	CHECK_INT_EQ(harness_stop(&h), 0);
}

static void
test_bill_expiry(void)
{
	struct harness h = {};
	struct buf out = BUF_INIT(1 << 20);
	_cleanup_free_ char *url = NULL, *biz = NULL;
	char today[BEIJING_DATE_BUF];

	CASE("bill: the URL stops working after 30 s (scaled by --time-scale 300)");
	harness_start(&h, bin, keys, (const char *const[]){"--time-scale", "300", NULL});
	expect_call(&h, "alipay.trade.pay",
		    "{\"out_trade_no\":\"e1\",\"scene\":\"bar_code\",\"auth_code\":"
		    "\"287634438256644390\","
		    "\"subject\":\"x\",\"total_amount\":\"1.00\"}",
		    "utf-8", "RSA2", NULL);
	CHECK(asprintf(&biz, "{\"bill_type\":\"trade\",\"bill_date\":\"%s\"}",
		       beijing_format_date(time(NULL), 1, today)) > 0);
	CHECK_INT_EQ(harness_call(&h, "alipay.data.dataservice.bill.downloadurl.query", biz,
				  "utf-8", &out),
		     200);
	url = harness_json_str(out.data, "bill_download_url");
	CHECK(url);
	for (char *r = url, *w = url;; r++) {
		if (r[0] == '\\' && r[1] == '/')
			r++;
		*w++ = *r;
		if (!*r)
			break;
	}
	usleep(500 * 1000); /* 30 s / 300 = 0.1 s: long gone */
	buf_truncate(&out, 0);
	CHECK_INT_EQ(harness_http("GET", url, NULL, NULL, 0, &out), 404);
	buf_free(&out);
	CHECK_INT_EQ(harness_stop(&h), 0);
}

int
main(int argc, char **argv)
{
	CHECK(argc == 3);
	bin = argv[1];
	keys = argv[2];
	test_bad_requests();
	test_bill();
	test_bill_expiry();
	printf("%u cases passed\n", cases);
	return 0;
}
