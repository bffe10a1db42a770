/* SPDX-License-Identifier: MIT */
/* Tests of a shipment's array literals: quoting, invalid UTF-8, whole rows, the closing brace. */
#include <errno.h>
#include <string.h>

#include "central/batch.h"
#include "test.h"

static void
test_quoting(void)
{
	_cleanup_buf_ struct buf col = BUF_INIT(1024);

	CHECK_INT_EQ(central_array_add_text(&col, "plain"), 0);
	CHECK_INT_EQ(central_array_add_text(&col, "a \"quoted\" back\\slash, {brace}"), 0);
	CHECK_INT_EQ(central_array_add_text(&col, ""), 0);
	CHECK_INT_EQ(central_array_add_text(&col, NULL), 0);
	CHECK_INT_EQ(central_array_add_text(&col, "茶 ok"), 0);
	/* A stray byte, an overlong '/', a surrogate: each becomes U+FFFD. */
	CHECK_INT_EQ(central_array_add_text(&col, "x\xff"
						  "y\xc0\xaf"
						  "z\xed\xa0\x80"),
		     0);
	CHECK_STR_EQ(col.data, "{\"plain\",\"a \\\"quoted\\\" back\\\\slash, {brace}\",\"\",\"\","
			       "\"茶 ok\",\"x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz"
			       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void
test_batch(void)
{
	struct central_batch b = {};
	const char *v[CENTRAL_BATCH_PARAMS];

	central_batch_init(&b);
	central_batch_params(&b, "abcdefgh", 0, 0, v);
	CHECK_STR_EQ(v[0], "abcdefgh");
	CHECK_STR_EQ(v[2], "0");
	CHECK(v[3] == NULL);
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_EV_SEQ], "{}");

	central_batch_init(&b);
	CHECK_INT_EQ(central_batch_add_event(&b, 7, "T01_x", 1000, "created", "", "new", ""), 0);
	CHECK_INT_EQ(
		central_batch_add_event(&b, 9, "T01_x", 2000, "pay_result", "new", "paid", "query"),
		0);
	CHECK_INT_EQ(central_batch_add_order(&b, 9, "T01_x", "T01", "scan", "paid", 100, 0, 0,
					     "tea", "", "2026", 1000, 1200),
		     0);
	CHECK_INT_EQ(
		central_batch_add_refund(&b, 9, "T01_x_r1", "T01_x", "new", 50, "", 1500, 1600), 0);
	CHECK_INT_EQ(b.n_events, 2);
	CHECK_INT_EQ(b.last_seq, 9);
	central_batch_params(&b, "abcdefgh", 12, 3000, v);
	CHECK_STR_EQ(v[1], "12");
	CHECK_STR_EQ(v[2], "9");
	CHECK_STR_EQ(v[3], "3000");
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_EV_SEQ], "{7,9}");
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_EV_REQUEST], "{\"\",\"query\"}");
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_OR_AMOUNT], "{100}");
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_RF_ID], "{\"T01_x_r1\"}");
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_OR_SINCE], "{1200}");
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_RF_SINCE], "{1600}");
	/* Closed: a second params call adds no second brace, and no row gets in. */
	central_batch_params(&b, "abcdefgh", 12, 0, v);
	CHECK_STR_EQ(v[CENTRAL_BATCH_SCALARS + CENTRAL_COL_EV_SEQ], "{7,9}");
	CHECK_INT_EQ(central_batch_add_event(&b, 10, "T01_y", 1, "created", "", "new", ""), -EBUSY);
	central_batch_done(&b);
}

/* A row that does not fit leaves no column half-written. */
static void
test_full(void)
{
	struct central_batch b = {};
	static char big[64 * 1024];
	unsigned n = 0;
	int r;

	memset(big, 'a', sizeof(big) - 1);
	central_batch_init(&b);
	while ((r = central_batch_add_order(&b, n + 1, "T01_x", "T01", "scan", "paid", 1, 0, 0, big,
					    "", "", 0, 0)) == 0)
		n++;
	CHECK_INT_EQ(r, -ENOBUFS);
	CHECK_INT_EQ(b.n_orders, n);
	for (size_t i = CENTRAL_COL_OR_ID; i <= CENTRAL_COL_OR_SINCE; i++) {
		unsigned commas = 0;
		for (const char *p = b.col[i].data; *p; p++)
			commas += *p == ',' && i != CENTRAL_COL_OR_SUBJECT;
		if (i != CENTRAL_COL_OR_SUBJECT)
			CHECK_INT_EQ(commas, n - 1);
	}
	central_batch_done(&b);
}

int
main(void)
{
	test_quoting();
	test_batch();
	test_full();
	return 0;
}
