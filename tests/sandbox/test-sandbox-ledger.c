/* SPDX-License-Identifier: MIT */
/*
 * The ledger's index and lists: every trade found by out_trade_no, trade_no and payment code
 * among many; a key that changed finds the trade only by its new value; the trades time may
 * change and those with a notification to deliver are listed, and leave the list once
 * nothing is left; a ledger loaded from its state file is indexed as it was saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/sandbox.h"
#include "test.h"

#define N 5000

static struct sb_trade *
trade(struct sandbox *sb, int i)
{
	struct sb_trade *t;
	char otn[32];

	snprintf(otn, sizeof(otn), "o%d", i);
	CHECK_INT_EQ(sb_trade_new(sb, otn, &t), 0);
	if (i % 2 == 0) {
		char code[32];
		snprintf(code, sizeof(code), "28%016d", i);
		t->auth_code = strdup(code);
		sb_trade_index(sb, t, SB_KEY_AUTH_CODE);
	}
	return t;
}

static void
check_all_found(struct sandbox *sb)
{
	char key[32];

	for (int i = 0; i < N; i++) {
		struct sb_trade *t = sb->trades[i];
		snprintf(key, sizeof(key), "o%d", i);
		CHECK(sb_trade_find(sb, key, NULL) == t);
		CHECK(sb_trade_find(sb, NULL, t->trade_no) == t);
		/* trade_no wins over out_trade_no, as at the gateway. */
		CHECK(sb_trade_find(sb, "o-unknown", t->trade_no) == t);
		snprintf(key, sizeof(key), "28%016d", i);
		CHECK(sb_trade_find_auth_code(sb, key) == (i % 2 == 0 ? t : NULL));
	}
	CHECK(sb_trade_find(sb, "o-unknown", NULL) == NULL);
	CHECK(sb_trade_find(sb, NULL, "2026120722000000000000999999") == NULL);
	CHECK(sb_trade_find(sb, NULL, NULL) == NULL);
	CHECK(sb_trade_find_auth_code(sb, NULL) == NULL);
	CHECK(sb_trade_find_auth_code(sb, "") == NULL);
}

static void
test_index(void)
{
	struct sandbox sb = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct sb_trade *t;

	for (int i = 0; i < N; i++)
		trade(&sb, i);
	check_all_found(&sb);
	/* A payment code that changed: found by the new one only. */
	t = sb.trades[42];
	free(t->auth_code);
	t->auth_code = strdup("281111111111111111");
	sb_trade_index(&sb, t, SB_KEY_AUTH_CODE);
	CHECK(sb_trade_find_auth_code(&sb, "281111111111111111") == t);
	CHECK(sb_trade_find_auth_code(&sb, "280000000000000042") == NULL);
	/* Out of memory once: the same answers, from a scan of the ledger. */
	sb.index.broken = true;
	CHECK(sb_trade_find_auth_code(&sb, "281111111111111111") == t);
	CHECK(sb_trade_find(&sb, "o4999", NULL) == sb.trades[4999]);
	CHECK(sb_trade_find(&sb, NULL, sb.trades[7]->trade_no) == sb.trades[7]);
	CHECK(sb_trade_find(&sb, "o-unknown", NULL) == NULL);
	sb_ledger_free(&sb);
}

static void
test_timed_and_outbox(void)
{
	struct sandbox sb = {.lock = PTHREAD_MUTEX_INITIALIZER,
			     .cfg.app_id = "2021000000000001",
			     .cfg.pid = "2088000000000001"};
	struct sb_trade *paid, *waiting, *qr;
	usec_t now = now_usec(CLOCK_REALTIME);

	for (int i = 0; i < 100; i++)
		trade(&sb, i);
	/* Scenario 1: the buyer confirms later. */
	waiting = sb.trades[10];
	waiting->status = SB_STATUS_WAIT_BUYER_PAY;
	waiting->total_fen = 100;
	waiting->notify_url = strdup("http://127.0.0.1:1/notify");
	waiting->confirm_usec = now + 10 * USEC_PER_SEC;
	CHECK_INT_EQ(sb_trade_watch_time(&sb, waiting), 0);
	CHECK_INT_EQ(sb_trade_watch_time(&sb, waiting), 0); /* listed once */
	/* A QR nobody scans. */
	qr = sb.trades[20];
	qr->precreate = 1;
	qr->qr_expire_usec = now + 20 * USEC_PER_SEC;
	CHECK_INT_EQ(sb_trade_watch_time(&sb, qr), 0);
	CHECK_INT_EQ(sb.n_timed, 2);

	sb_ledger_tick(&sb, now);
	CHECK_INT_EQ(sb.n_timed, 2);
	CHECK_INT_EQ(waiting->status, SB_STATUS_WAIT_BUYER_PAY);
	CHECK_INT_EQ(sb.n_outbox, 0);
	sb_ledger_tick(&sb, now + 15 * USEC_PER_SEC);
	CHECK_INT_EQ(waiting->status, SB_STATUS_TRADE_SUCCESS);
	CHECK_INT_EQ(waiting->n_notices, 1);
	CHECK_INT_EQ(sb.n_outbox, 1);
	CHECK(sb.outbox[0] == waiting);
	CHECK_INT_EQ(sb.n_timed, 1);
	CHECK(sb.timed[0] == qr && !qr->qr_dead);
	sb_ledger_tick(&sb, now + 25 * USEC_PER_SEC);
	CHECK(qr->qr_dead);
	CHECK_INT_EQ(sb.n_timed, 0);

	/* A second notification of a trade already in the outbox: listed once. */
	paid = waiting;
	CHECK_INT_EQ(sb_trade_notify(&sb, paid, NULL), 0);
	CHECK_INT_EQ(paid->n_notices, 2);
	CHECK_INT_EQ(sb.n_outbox, 1);
	sb_ledger_free(&sb);
}

static void
test_state_file(void)
{
	char dir[] = "/tmp/f2fpay-ledger-XXXXXX", path[64];
	struct sandbox a = {.lock = PTHREAD_MUTEX_INITIALIZER},
		       b = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct sb_trade *t;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	a.cfg.state_path = b.cfg.state_path = path;
	for (int i = 0; i < N; i++) {
		t = trade(&a, i);
		t->status = SB_STATUS_TRADE_SUCCESS;
		t->total_fen = 100 + i;
	}
	t = a.trades[5];
	t->notify_url = strdup("http://127.0.0.1:1/notify");
	CHECK_INT_EQ(sb_trade_notify(&a, t, NULL), 0);
	CHECK_INT_EQ(sb_ledger_save(&a), 0);
	CHECK_INT_EQ(sb_ledger_load(&b), 0);
	CHECK_INT_EQ(b.n_trades, N);
	for (int i = 0; i < N; i++)
		CHECK_STR_EQ(b.trades[i]->trade_no, a.trades[i]->trade_no);
	check_all_found(&b);
	/* The notification not yet delivered is the notifier's again. */
	CHECK_INT_EQ(b.n_outbox, 1);
	CHECK_STR_EQ(b.outbox[0]->out_trade_no, "o5");
	sb_ledger_free(&a);
	sb_ledger_free(&b);
	CHECK(unlink(path) == 0);
	CHECK(rmdir(dir) == 0);
}

int
main(void)
{
	test_index();
	test_timed_and_outbox();
	test_state_file();
	printf("sandbox ledger tests passed\n");
	return 0;
}
