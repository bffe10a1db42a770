/* SPDX-License-Identifier: MIT */
/* Tests of the SQLite journal: write-ahead, allocator, recovery listing, refunds, corruption. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/engine/journal.h"
#include "test.h"

/* 2026-11-26 20:00:00 UTC = 2026-11-27 04:00 in Beijing. */
#define T0 ((usec_t)1795723200 * USEC_PER_SEC)

static char dir[] = "/tmp/test-journal-XXXXXX";
static char path[256];

static void
remove_journal(void)
{
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int
count_cb(const struct journal_order *o, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

static void
test_allocator(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char id[ORDER_ID_MAX + 1], prev[ORDER_ID_MAX + 1];
	int64_t v;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "POS01", T0 / USEC_PER_SEC, id), 0);
	CHECK_STR_EQ(id, "POS01_20261127_1");
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "POS01", T0 / USEC_PER_SEC, id), 0);
	CHECK_STR_EQ(id, "POS01_20261127_2");
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "bad-id", T0 / USEC_PER_SEC, id), -EINVAL);
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "", T0 / USEC_PER_SEC, id), -EINVAL);
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "A234567890123456789012345",
						   T0 / USEC_PER_SEC, id),
		     -EINVAL);
	memcpy(prev, id, sizeof(id));
	journal_close(TAKE_PTR(j));

	/* Never reused across a restart, even for numbers whose order never existed. */
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "POS01", T0 / USEC_PER_SEC, id), 0);
	CHECK_STR_EQ(id, "POS01_20261127_3");
	CHECK(!STR_EQ(id, prev));
	CHECK_INT_EQ(journal_counter_get(j, "out_trade_no_seq", &v), 0);
	CHECK_INT_EQ(v, 3);
	CHECK_INT_EQ(journal_counter_get(j, "nothing", &v), 0);
	CHECK_INT_EQ(v, 0);
}

struct ev_list {
	unsigned n;
	char what[16][96];
	char to[16][32];
	char req[16][48];
};

static int
ev_cb(const struct journal_event *e, void *userdata)
{
	struct ev_list *l = userdata;
	if (l->n < 16) {
		snprintf(l->what[l->n], sizeof(l->what[0]), "%s", e->what);
		snprintf(l->to[l->n], sizeof(l->to[0]), "%s", e->to_state);
		snprintf(l->req[l->n], sizeof(l->req[0]), "%s", e->request);
	}
	l->n++;
	return 0;
}

static bool
file_contains(const char *p, const char *needle)
{
	char buf[1 << 16];
	bool found = false;
	FILE *f = fopen(p, "re");
	size_t n;

	if (!f)
		return false;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (memmem(buf, n, needle, strlen(needle)))
			found = true;
	fclose(f);
	return found;
}

static void
test_write_ahead_and_recovery(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order a, b, c, got;
	char existing[ORDER_ID_MAX + 1] = "";
	struct ev_list evs = {};
	unsigned n = 0;
	char wal[300];

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 8888, "coffee",
					  "286543210987654321", "pos-1", T0, &a, existing),
		     0);
	CHECK_STR_EQ(a.fsm.id, "POS01_20261127_1");
	CHECK_INT_EQ(a.fsm.state, ORDER_NEW);
	/* The payment code is stored masked. */
	CHECK_STR_EQ(a.auth_code_masked, "28************4321");
	/* The same pos_ref gives the existing order, never a second one. */
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 8888, "coffee",
					  "286543210987654321", "pos-1", T0, &b, existing),
		     -EEXIST);
	CHECK_STR_EQ(existing, a.fsm.id);
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_QR, 100, "tea", NULL, NULL, T0, &b,
					  existing),
		     0);
	CHECK_STR_EQ(b.fsm.id, "POS01_20261127_2");
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 0, "x", NULL, NULL, T0, &c,
					  existing),
		     -EINVAL);
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 5, "cake", NULL, NULL, T0,
					  &c, existing),
		     0);

	/* Write-ahead: PAYING with the pay request committed before it is sent. */
	a.fsm.state = ORDER_PAYING;
	a.pending = ORDER_REQ_PAY;
	CHECK_INT_EQ(journal_order_save(j, &a, "start", ORDER_NEW, T0 + 1), 0);
	b.fsm.state = ORDER_SHOWING_QR;
	b.fsm.expires_usec = T0 + 120 * USEC_PER_SEC;
	snprintf(b.qr_code, sizeof(b.qr_code), "https://qr.alipay.com/bax00001");
	b.pending = ORDER_REQ_NONE;
	CHECK_INT_EQ(journal_order_save(j, &b, "precreate_result", ORDER_PRECREATING, T0 + 2), 0);
	c.fsm.state = ORDER_FAILED;
	snprintf(c.fsm.sub_code, sizeof(c.fsm.sub_code), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
	CHECK_INT_EQ(journal_order_save(j, &c, "pay_result", ORDER_PAYING, T0 + 3), 0);
	/* What is committed is on disk: the WAL holds it until a checkpoint. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(access(wal, F_OK) == 0);

	/* Simulate a crash: a second handle sees what was committed, without a clean close. */
	{
		_cleanup_(journal_closep) struct journal *j2 = NULL;
		CHECK_INT_EQ(journal_open(path, &j2), 0);
		CHECK_INT_EQ(journal_order_foreach(j2, true, count_cb, &n), 0);
		CHECK_INT_EQ(n, 2); /* a (paying) and b (showing_qr); c is final */
		CHECK_INT_EQ(journal_order_get(j2, a.fsm.id, &got), 0);
		CHECK_INT_EQ(got.fsm.state, ORDER_PAYING);
		CHECK_INT_EQ(got.pending, ORDER_REQ_PAY);
		CHECK_INT_EQ(got.amount_fen, 8888);
		CHECK_STR_EQ(got.subject, "coffee");
		CHECK_STR_EQ(got.pos_ref, "pos-1");
		CHECK_INT_EQ(journal_order_get(j2, b.fsm.id, &got), 0);
		CHECK_INT_EQ(got.fsm.kind, ORDER_KIND_QR);
		CHECK_STR_EQ(got.qr_code, "https://qr.alipay.com/bax00001");
		CHECK_INT_EQ(got.fsm.expires_usec, T0 + 120 * USEC_PER_SEC);
		CHECK_INT_EQ(journal_order_get(j2, c.fsm.id, &got), 0);
		CHECK_STR_EQ(got.fsm.sub_code, "ACQ.BUYER_BALANCE_NOT_ENOUGH");
		CHECK_INT_EQ(journal_order_get(j2, "nope", &got), -ENOENT);
	}

	n = 0;
	CHECK_INT_EQ(journal_order_foreach(j, false, count_cb, &n), 0);
	CHECK_INT_EQ(n, 3);

	CHECK_INT_EQ(journal_event_foreach(j, a.fsm.id, ev_cb, &evs), 0);
	CHECK_INT_EQ(evs.n, 2);
	CHECK_STR_EQ(evs.what[0], "created");
	CHECK_STR_EQ(evs.to[1], "paying");
	CHECK_STR_EQ(evs.req[1], "alipay.trade.pay");

	/* The event log is append-only, even for someone with SQL access. */
	{
		sqlite3 *db;
		CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK(sqlite3_exec(db, "UPDATE events SET what = 'x'", NULL, NULL, NULL) !=
		      SQLITE_OK);
		CHECK(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL) != SQLITE_OK);
		sqlite3_close(db);
	}

	CHECK_INT_EQ(journal_notification_add(j, a.fsm.id, "trade_status=TRADE_SUCCESS", 26, true,
					      "applied", T0 + 4),
		     0);
	journal_close(TAKE_PTR(j));
	/* The full payment code is nowhere in the file. */
	CHECK(!file_contains(path, "286543210987654321"));
	CHECK(file_contains(path, "28************4321"));
}

static void
test_refunds(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o, got;
	struct journal_refund r1, r2, r3, rg;
	char existing[ORDER_ID_MAX + 1];

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "POS02", ORDER_KIND_SCAN, 1000, "book", NULL, NULL, T0,
					  &o, existing),
		     0);
	/* Only paid orders. */
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 100, "r", T0, &r1), -EPERM);
	CHECK_INT_EQ(journal_refund_create(j, "POS02_20261127_99", 100, "r", T0, &r1), -ENOENT);
	o.fsm.state = ORDER_PAID;
	CHECK_INT_EQ(journal_order_save(j, &o, "pay_result", ORDER_PAYING, T0), 0);

	/* Two partials, then an over-refund refused locally. */
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 300, "first", T0, &r1), 0);
	CHECK_STR_EQ(r1.fsm.id, "POS02_20261127_1_r1");
	CHECK_INT_EQ(r1.fsm.state, REFUND_NEW);
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 600, "second", T0, &r2), 0);
	CHECK_STR_EQ(r2.fsm.id, "POS02_20261127_1_r2");
	/* Pending refunds count: 1000 - 300 - 600 = 100 left. */
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 101, "too much", T0, &r3), -EOVERFLOW);
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);
	CHECK_INT_EQ(got.pending_refund_fen, 900);
	CHECK_INT_EQ(got.refunded_fen, 0);

	/* r1 done: refunded grows once, even if saved DONE twice. */
	r1.fsm.state = REFUND_REQUESTED;
	r1.pending = REFUND_REQ_REFUND;
	CHECK_INT_EQ(journal_refund_save(j, &r1, "start", REFUND_NEW, T0), 0);
	r1.fsm.state = REFUND_DONE;
	r1.pending = REFUND_REQ_NONE;
	CHECK_INT_EQ(journal_refund_save(j, &r1, "refund_result", REFUND_REQUESTED, T0), 0);
	CHECK_INT_EQ(journal_refund_save(j, &r1, "resume", REFUND_DONE, T0), 0);
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);
	CHECK_INT_EQ(got.refunded_fen, 300);
	CHECK_INT_EQ(got.pending_refund_fen, 600);

	/* r2 fails: its amount is refundable again. */
	r2.fsm.state = REFUND_FAILED;
	CHECK_INT_EQ(journal_refund_save(j, &r2, "refund_result", REFUND_REQUESTED, T0), 0);
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 701, "too much", T0, &r3), -EOVERFLOW);
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 700, "rest", T0, &r3), 0);
	CHECK_STR_EQ(r3.fsm.id, "POS02_20261127_1_r3");
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 1, "none left", T0, &rg), -EOVERFLOW);

	/* Recovery lists the unfinished refund with its fixed out_request_no. */
	r3.fsm.state = REFUND_WAIT;
	r3.fsm.attempts = 2;
	CHECK_INT_EQ(journal_refund_save(j, &r3, "refund_result", REFUND_REQUESTED, T0), 0);
	journal_close(TAKE_PTR(j));
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_refund_get(j, r3.fsm.id, &rg), 0);
	CHECK_INT_EQ(rg.fsm.state, REFUND_WAIT);
	CHECK_INT_EQ(rg.fsm.attempts, 2);
	CHECK_INT_EQ(rg.amount_fen, 700);
	CHECK_STR_EQ(rg.order_id, o.fsm.id);
	CHECK_STR_EQ(rg.reason, "rest");
}

static void
write_file(const char *p, const void *data, size_t n)
{
	FILE *f = fopen(p, "we");
	CHECK(f);
	CHECK(fwrite(data, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

static size_t
file_size(const char *p)
{
	struct stat st;
	CHECK(stat(p, &st) == 0);
	return (size_t)st.st_size;
}

/* A journal with enough orders to span many pages. */
static void
make_big_journal(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char existing[ORDER_ID_MAX + 1];

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	for (unsigned i = 0; i < 300; i++) {
		struct journal_order o;
		CHECK_INT_EQ(journal_order_create(j, "POS03", ORDER_KIND_SCAN, 100 + i,
						  "a subject long enough to fill pages quickly",
						  NULL, NULL, T0, &o, existing),
			     0);
		o.fsm.state = ORDER_PAID;
		CHECK_INT_EQ(journal_order_save(j, &o, "pay_result", ORDER_PAYING, T0), 0);
	}
}

static void
expect_refused(int expected)
{
	struct journal *j = NULL;
	size_t before = file_size(path);

	CHECK_INT_EQ(journal_open(path, &j), expected);
	CHECK(j == NULL);
	/* Never a silent reset: the file is left as found. */
	CHECK_INT_EQ(file_size(path), before);
}

static void
test_corruption(void)
{
	char buf[4096];
	int fd;
	size_t size;

	/* Empty file (truncated to nothing). */
	remove_journal();
	write_file(path, "", 0);
	expect_refused(-EUCLEAN);

	/* Not SQLite at all. */
	memset(buf, 'x', sizeof(buf));
	write_file(path, buf, sizeof(buf));
	expect_refused(-EUCLEAN);

	/* Truncated to half its size. */
	make_big_journal();
	size = file_size(path);
	CHECK(size > 16 * 4096);
	CHECK(truncate(path, (off_t)(size / 2)) == 0);
	expect_refused(-EUCLEAN);

	/* Garbage written over pages in the middle. */
	make_big_journal();
	size = file_size(path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	memset(buf, 0xA5, sizeof(buf));
	for (off_t off = 4 * 4096; off < (off_t)size - 4096; off += 3 * 4096)
		CHECK(pwrite(fd, buf, 512, off + 100) == 512);
	close(fd);
	expect_refused(-EUCLEAN);

	/* An SQLite file that is not a journal. */
	remove_journal();
	{
		sqlite3 *db;
		CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK_INT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	expect_refused(-EUCLEAN);

	/* A journal from a newer schema. */
	remove_journal();
	{
		_cleanup_(journal_closep) struct journal *j = NULL;
		sqlite3 *db;
		CHECK_INT_EQ(journal_open(path, &j), 0);
		journal_close(TAKE_PTR(j));
		CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK_INT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL),
			     SQLITE_OK);
		sqlite3_close(db);
	}
	expect_refused(-EPROTONOSUPPORT);

	/* A sane journal still opens, with WAL and synchronous=FULL. */
	make_big_journal();
	{
		_cleanup_(journal_closep) struct journal *j = NULL;
		unsigned n = 0;
		sqlite3 *db;
		sqlite3_stmt *s;

		CHECK_INT_EQ(journal_open(path, &j), 0);
		CHECK_INT_EQ(journal_order_foreach(j, false, count_cb, &n), 0);
		CHECK_INT_EQ(n, 300);
		CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK_INT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
			     SQLITE_OK);
		CHECK_INT_EQ(sqlite3_step(s), SQLITE_ROW);
		CHECK_STR_EQ((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
}

int
main(void)
{
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	log_set_max_level(LOG_WARNING);

	test_allocator();
	test_write_ahead_and_recovery();
	test_refunds();
	test_corruption();

	remove_journal();
	rmdir(dir);
	return 0;
}
