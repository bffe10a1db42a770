/* SPDX-License-Identifier: MIT */
/* The bill file of doc/protocol.md §5.8, byte for byte, from a ledger built in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/sandbox.h"
#include "test.h"
#include "zipread.h"

static struct sb_trade *
trade(struct sandbox *sb, const char *otn, const char *subject, int64_t fen, time_t created,
      time_t paid)
{
	struct sb_trade *t;

	CHECK_INT_EQ(sb_trade_new(sb, otn, &t), 0);
	t->subject = strdup(subject);
	t->store_id = strdup("S1");
	t->total_fen = fen;
	t->gmt_create = created;
	t->gmt_payment = paid;
	t->status = paid ? SB_STATUS_TRADE_SUCCESS : SB_STATUS_WAIT_BUYER_PAY;
	snprintf(t->buyer_logon_id, sizeof(t->buyer_logon_id), "abc***@example.com");
	return t;
}

static void
add_refund(struct sb_trade *t, const char *no, int64_t fen, time_t at)
{
	t->refunds = reallocarray(t->refunds, t->n_refunds + 1, sizeof(*t->refunds));
	CHECK(t->refunds);
	t->refunds[t->n_refunds++] =
		(struct sb_refund){.out_request_no = strdup(no), .amount_fen = fen, .at = at};
	t->refunded_fen += fen;
}

int
main(void)
{
	struct sandbox sb = {.cfg = {.pid = "2088021109625633"}};
	struct zip_entry e[4] = {};
	time_t day, now;
	struct sb_trade *a, *b;
	char *name = NULL;
	const char *expected;
	void *zip = NULL;
	size_t len = 0;
	int n;

	CHECK_INT_EQ(beijing_parse_date("2019-09-16", &day), 0);
	CHECK_INT_EQ(beijing_parse_time("2019-09-17 05:46:49", &now), 0);
	/* Nothing that day yet: no bill. */
	CHECK_INT_EQ(sb_bill_build(&sb, day, now, &name, &zip, &len), -ENOENT);

	a = trade(&sb, "o1", "苹果,红\n", 100, day + 10 * 3600, day + 10 * 3600 + 5);
	b = trade(&sb, "o2", "梨", 250, day + 11 * 3600, day + 11 * 3600 + 1);
	b->operator_id = strdup("op");
	b->terminal_id = strdup("T9");
	add_refund(a, "rf1", 40, day + 12 * 3600);
	trade(&sb, "o3", "unpaid", 900, day + 13 * 3600, 0);
	/* Another day: neither the trade nor its refund belongs to this bill. */
	add_refund(trade(&sb, "o4", "x", 500, day - 3600, day - 3600), "rf2", 500, day + 86400);
	snprintf(a->trade_no, sizeof(a->trade_no), "2019091622001455000000000001");
	snprintf(b->trade_no, sizeof(b->trade_no), "2019091622001455000000000002");

	CHECK_INT_EQ(sb_bill_build(&sb, day, now, &name, &zip, &len), 0);
	CHECK_STR_EQ(name, "20880211096256330156_20190916.csv.zip");
	n = zip_read_entries(zip, len, e, 4);
	CHECK_INT_EQ(n, 2);
	CHECK_STR_EQ(e[0].name_utf8, "20880211096256330156_20190916_业务明细.csv");
	CHECK_STR_EQ(e[1].name_utf8, "20880211096256330156_20190916_业务明细(汇总).csv");
	/* GBK on the wire: "业务明细" is D2 B5 CE F1 C3 F7 CF B8. */
	CHECK(strstr(e[0].name_raw, "_\xd2\xb5\xce\xf1\xc3\xf7\xcf\xb8.csv"));

	expected = "#支付宝业务明细查询\r\n"
		   "#账号：[20880211096256330156]\r\n"
		   "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\r\n"
		   "#-----------------------------------------业务明细列表-------------------------"
		   "---------------\r\n"
		   "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,"
		   "操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,"
		   "集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
		   "商家红包消费金额（元）,卡消费金额（元）,退款批次号/"
		   "请求号,服务费（元）,分润（元）,备注\r\n"
		   "2019091622001455000000000001\t,o1\t,交易\t,苹果 红 \t,2019-09-16 "
		   "10:00:00,2019-09-16 "
		   "10:00:05,S1\t,\t,\t,\t,abc***@example.com\t,1.00,1.00,0.00,0.00,0.00,0.00,0.00,"
		   ",0.00,0.00,\t,0.00,0.00,\r\n"
		   "2019091622001455000000000002\t,o2\t,交易\t,梨\t,2019-09-16 11:00:00,2019-09-16 "
		   "11:00:01,S1\t,\t,op\t,T9\t,abc***@example.com\t,2.50,2.50,0.00,0.00,0.00,0.00,"
		   "0.00,,0.00,0.00,\t,0.00,0.00,\r\n"
		   "2019091622001455000000000001\t,o1\t,退款\t,苹果 红 \t,2019-09-16 "
		   "10:00:00,2019-09-16 "
		   "12:00:00,S1\t,\t,\t,\t,abc***@example.com\t,1.00,-0.40,0.00,0.00,0.00,0.00,0."
		   "00,,0.00,0.00,rf1\t,0.00,0.00,\r\n"
		   "#-----------------------------------------业务明细列表结束---------------------"
		   "---------------\r\n"
		   "#交易合计：2笔，商家实收共3.50元，商家优惠共0.00元\r\n"
		   "#退款合计：1笔，商家实收退款共-0.40元，商家优惠退款共0.00元\r\n"
		   "#导出时间：[2019年09月17日 05:46:49]\r\n";
	CHECK_STR_EQ(e[0].text_utf8, expected);
	CHECK_STR_EQ(
		e[1].text_utf8,
		"#支付宝业务汇总查询\r\n"
		"#账号：[20880211096256330156]\r\n"
		"#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\r\n"
		"#-----------------------------------------业务汇总列表----------------------------"
		"------------\r\n"
		"门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
		"支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,"
		"实收净额（元）\r\n"
		"S1\t,\t,2,1,3.50,3.10,0.00,0.00,0.00,0.00,0.00,3.10\r\n"
		"合计,,2,1,3.50,3.10,0.00,0.00,0.00,0.00,0.00,3.10\r\n"
		"#-----------------------------------------业务汇总列表结束------------------------"
		"------------\r\n"
		"#导出时间：[2019年09月17日 05:46:49]\r\n");
	zip_entries_free(e, n);
	free(name);
	free(zip);
	sb_ledger_free(&sb);
	return 0;
}
