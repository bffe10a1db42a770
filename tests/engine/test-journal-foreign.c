/* SPDX-License-Identifier: MIT */
/* Tests of the journal's side of refunds at any till: importing another till's order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/engine/journal.h"
#include "test.h"

#define T0 ((usec_t)1795723200 * USEC_PER_SEC)

static int
count_cb(const struct journal_order *o, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

static struct journal_foreign_order
foreign(const char *id)
{
	struct journal_foreign_order fo = {
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 1000,
		.created_usec = T0 - USEC_PER_SEC,
	};

	snprintf(fo.id, sizeof(fo.id), "%s", id);
	snprintf(fo.install_id, sizeof(fo.install_id), "aaaaaaaa");
	snprintf(fo.terminal_id, sizeof(fo.terminal_id), "T01");
	snprintf(fo.subject, sizeof(fo.subject), "Tea");
	snprintf(fo.pos_ref, sizeof(fo.pos_ref), "R-1");
	snprintf(fo.trade_no, sizeof(fo.trade_no), "2026112722000000000000000001");
	return fo;
}

int
main(void)
{
	char dir[] = "/tmp/test-journal-foreign-XXXXXX", path[300], p[320];
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_foreign_order fo = foreign("T01_20261127_aaaaaaaa_bbbb_1");
	struct journal_refund rf, got;
	struct journal_order o, own;
	char next[REFUND_ID_MAX + 1], existing[ORDER_ID_MAX + 1];
	unsigned unfinished = 0;
	int64_t left;

	log_set_max_level(LOG_CRIT);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	CHECK_INT_EQ(journal_open(path, &j), 0);

	/* Unknown here until imported. */
	CHECK_INT_EQ(journal_order_is_foreign(j, fo.id), 0);
	CHECK_INT_EQ(journal_foreign_refund_create(j, &fo, "T02_20261127_cccccccc_dddd_1_f", 300,
						   "cup", "K-1", T0, &rf),
		     0);
	CHECK_STR_EQ(rf.fsm.id, "T02_20261127_cccccccc_dddd_1_f");
	CHECK_STR_EQ(rf.order_id, fo.id);
	CHECK_INT_EQ(rf.fsm.state, REFUND_NEW);
	CHECK_INT_EQ(journal_order_is_foreign(j, fo.id), 1);

	/* Imported paid, with its trade, never resumed; its pos_ref is not one of ours. */
	CHECK_INT_EQ(journal_order_get(j, fo.id, &o), 0);
	CHECK_INT_EQ(o.fsm.state, ORDER_PAID);
	CHECK_INT_EQ(o.amount_fen, 1000);
	CHECK_INT_EQ(o.pending_refund_fen, 300);
	CHECK_STR_EQ(o.trade_no, fo.trade_no);
	CHECK_STR_EQ(o.pos_ref, "");
	CHECK_INT_EQ(journal_order_foreach(j, true, count_cb, &unfinished), 0);
	CHECK_INT_EQ(unfinished, 0);
	CHECK_INT_EQ(journal_order_create(j, "T02", ORDER_KIND_SCAN, 500, "Own", NULL, "R-1", T0,
					  &own, existing),
		     0);
	CHECK_INT_EQ(journal_order_is_foreign(j, own.fsm.id), 0);

	/* A second refund of it: the order is imported once; the key and the id stay unique. */
	CHECK_INT_EQ(journal_foreign_refund_create(j, &fo, "T02_20261127_cccccccc_dddd_2_f", 200,
						   NULL, "K-2", T0, &rf),
		     0);
	CHECK_INT_EQ(journal_foreign_refund_create(j, &fo, "T02_20261127_cccccccc_dddd_3_f", 100,
						   NULL, "K-1", T0, &rf),
		     -EEXIST);
	CHECK_INT_EQ(journal_foreign_refund_create(j, &fo, "T02_20261127_cccccccc_dddd_2_f", 100,
						   NULL, NULL, T0, &rf),
		     -EEXIST);
	CHECK_INT_EQ(journal_foreign_refund_create(j, &fo, "", 100, NULL, NULL, T0, &rf), -EINVAL);
	CHECK_INT_EQ(journal_order_get(j, fo.id, &o), 0);
	left = o.amount_fen - o.refunded_fen - o.pending_refund_fen;
	CHECK_INT_EQ(left, 500);

	/* Keys of a foreign order replay; another amount is refused. */
	CHECK_INT_EQ(journal_refund_find_key(j, fo.id, "K-1", 300, &got), 0);
	CHECK_STR_EQ(got.fsm.id, "T02_20261127_cccccccc_dddd_1_f");
	CHECK_INT_EQ(journal_refund_find_key(j, fo.id, "K-1", 301, &got), -EKEYREJECTED);
	CHECK_INT_EQ(journal_refund_find_key(j, fo.id, "K-9", 300, &got), -ENOENT);

	/* The next own refund's number is the one the journal then gives. */
	CHECK_INT_EQ(journal_refund_next_id(j, own.fsm.id, next), 0);
	CHECK_INT_EQ(journal_refund_create(j, own.fsm.id, 100, NULL, T0, &rf), -EPERM);
	own.fsm.state = ORDER_PAID;
	CHECK_INT_EQ(journal_order_save(j, &own, "paid", ORDER_NEW, T0), 0);
	CHECK_INT_EQ(journal_refund_create(j, own.fsm.id, 100, NULL, T0, &rf), 0);
	CHECK_STR_EQ(rf.fsm.id, next);
	CHECK_INT_EQ(journal_refund_next_id(j, own.fsm.id, next), 0);
	CHECK_INT_EQ(journal_refund_create(j, own.fsm.id, 100, NULL, T0, &rf), 0);
	CHECK_STR_EQ(rf.fsm.id, next);

	journal_close(TAKE_PTR(j));
	for (const char *suffix = ""; suffix; suffix = *suffix ? NULL : "-wal") {
		snprintf(p, sizeof(p), "%s%s", path, suffix);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.install-id", path);
	unlink(p);
	rmdir(dir);
	printf("ok\n");
	return 0;
}
