/* SPDX-License-Identifier: MIT */
/* Tests of the SQLite journal: write-ahead, allocator, recovery listing, refunds, corruption. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/engine/journal.h"
#include "journal-reader.h"
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
	snprintf(p, sizeof(p), "%s.clean", path);
	unlink(p);
}

/* The out_trade_no of this open of j for seq: <terminal>_<date>_<install>_<run>_<seq>. */
static const char *
expect_id(struct journal *j, const char *terminal, unsigned seq)
{
	static char buf[ORDER_ID_MAX + 1];

	snprintf(buf, sizeof(buf), "%s_20261127_%s_%s_%u", terminal, journal_install_id(j),
		 journal_run_id(j), seq);
	return buf;
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
	char install[JOURNAL_INSTALL_ID_LEN + 1];
	int64_t v;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "POS01", T0 / USEC_PER_SEC, id), 0);
	CHECK_STR_EQ(id, expect_id(j, "POS01", 1));
	CHECK_INT_EQ(strlen(journal_install_id(j)), JOURNAL_INSTALL_ID_LEN);
	CHECK_INT_EQ(strlen(journal_run_id(j)), JOURNAL_RUN_ID_LEN);
	snprintf(install, sizeof(install), "%s", journal_install_id(j));
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "POS01", T0 / USEC_PER_SEC, id), 0);
	CHECK_STR_EQ(id, expect_id(j, "POS01", 2));
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
	CHECK_STR_EQ(id, expect_id(j, "POS01", 3));
	CHECK(!STR_EQ(id, prev));
	CHECK_INT_EQ(journal_counter_get(j, "out_trade_no_seq", &v), 0);
	CHECK_INT_EQ(v, 3);
	CHECK_INT_EQ(journal_counter_get(j, "nothing", &v), 0);
	CHECK_INT_EQ(v, 0);
	/* The install id is the journal's for good; the 24-character terminal still fits. */
	CHECK_STR_EQ(journal_install_id(j), install);
	CHECK_INT_EQ(
		journal_allocate_out_trade_no(j, "A23456789012345678901234", T0 / USEC_PER_SEC, id),
		0);
	CHECK(strlen(id) + STRLEN("_r100") <= ORDER_ID_MAX);

	/* The install id is read back out of a number, a terminal with '_' included. */
	CHECK_INT_EQ(journal_allocate_out_trade_no(j, "T_0_1", T0 / USEC_PER_SEC, id), 0);
	memset(prev, 0, sizeof(prev));
	CHECK_INT_EQ(journal_trade_no_install(id, prev), 0);
	CHECK_STR_EQ(prev, install);
	CHECK_INT_EQ(journal_trade_no_install("T01_20261206_k3j7x2ab_q7m2_15", prev), 0);
	CHECK_STR_EQ(prev, "k3j7x2ab");
	static const char *const not_ours[] = {
		"POS2_20261125_1",                  /* an earlier release's form */
		"_20261206_k3j7x2ab_q7m2_15",       /* no terminal */
		"T01_2026120_k3j7x2ab_q7m2_15",     /* a 7-digit date */
		"T01_20261206_k3j9x2a1_q7m2_15",    /* '1' is not in the alphabet */
		"T01_20261206_k3j7x2ab_q7m_15",     /* a 3-character run id */
		"T01_20261206_k3j7x2ab_q7m2_",      /* no sequence */
		"T01_20261206_k3j7x2ab_q7m2_1x",    /* not a number */
		"T-1_20261206_k3j7x2ab_q7m2_15",    /* not a terminal id */
		"T01_20261206_k3j7x2ab_q7m2_15_r1", /* a refund's number */
		"",
	};
	for (size_t i = 0; i < ELEMENTSOF(not_ours); i++)
		CHECK_INT_EQ(journal_trade_no_install(not_ours[i], prev), -EINVAL);
	CHECK_INT_EQ(journal_trade_no_install(NULL, prev), -EINVAL);
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
	CHECK_STR_EQ(a.fsm.id, expect_id(j, "POS01", 1));
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
	CHECK_STR_EQ(b.fsm.id, expect_id(j, "POS01", 2));
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

	CHECK_INT_EQ(journal_notification_add(j, a.fsm.id, NULL, "trade_status=TRADE_SUCCESS", 26,
					      true, "applied", T0 + 4),
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
	CHECK(strncmp(r1.fsm.id, o.fsm.id, strlen(o.fsm.id)) == 0);
	CHECK_STR_EQ(r1.fsm.id + strlen(o.fsm.id), "_r1");
	CHECK_INT_EQ(r1.fsm.state, REFUND_NEW);
	CHECK_INT_EQ(journal_refund_create(j, o.fsm.id, 600, "second", T0, &r2), 0);
	CHECK_STR_EQ(r2.fsm.id + strlen(o.fsm.id), "_r2");
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
	CHECK_STR_EQ(r3.fsm.id + strlen(o.fsm.id), "_r3");
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

struct log_seen {
	int64_t seq[16];
	char order[16][ORDER_ID_MAX + 1];
	char what[16][32];
	unsigned n;
};

static int
log_cb(const struct journal_log_entry *e, void *userdata)
{
	struct log_seen *seen = userdata;

	CHECK(seen->n < ELEMENTSOF(seen->seq));
	seen->seq[seen->n] = e->ev.seq;
	snprintf(seen->order[seen->n], sizeof(seen->order[0]), "%s", e->order_id);
	snprintf(seen->what[seen->n], sizeof(seen->what[0]), "%s", e->ev.what);
	seen->n++;
	return 0;
}

static int
refund_count_cb(const struct journal_refund *r, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

/* The whole log after a sequence, in commit order, across orders; the refunds of one order. */
static void
test_log_after(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order a, b;
	struct journal_refund r;
	struct log_seen seen = {};
	char existing[ORDER_ID_MAX + 1];
	int64_t last;
	usec_t at;
	unsigned n = 0;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_log_last(j, &last, &at), 0);
	CHECK_INT_EQ(last, 0);
	CHECK_INT_EQ(journal_order_create(j, "POS05", ORDER_KIND_SCAN, 500, "a", NULL, NULL, T0, &a,
					  existing),
		     0);
	CHECK_INT_EQ(journal_order_create(j, "POS05", ORDER_KIND_SCAN, 700, "b", NULL, NULL, T0 + 1,
					  &b, existing),
		     0);
	a.fsm.state = ORDER_PAID;
	CHECK_INT_EQ(journal_order_save(j, &a, "pay_result", ORDER_NEW, T0 + 2), 0);
	CHECK_INT_EQ(journal_refund_create(j, a.fsm.id, 100, "r", T0 + 3, &r), 0);
	journal_inject_failures(j, 1);
	b.fsm.state = ORDER_FAILED;
	CHECK(journal_order_save(j, &b, "pay_result", ORDER_NEW, T0 + 4) < 0);

	CHECK_INT_EQ(journal_log_after(j, 0, 100, log_cb, &seen), 0);
	CHECK_INT_EQ(seen.n, 4); /* created a, created b, a paid, a's refund; not the failed save */
	CHECK_STR_EQ(seen.order[0], a.fsm.id);
	CHECK_STR_EQ(seen.order[1], b.fsm.id);
	CHECK_STR_EQ(seen.what[2], "pay_result");
	CHECK_STR_EQ(seen.order[3], a.fsm.id);
	for (unsigned i = 1; i < seen.n; i++)
		CHECK(seen.seq[i] > seen.seq[i - 1]);
	CHECK_INT_EQ(journal_log_last(j, &last, &at), 0);
	CHECK_INT_EQ(last, seen.seq[3]);
	CHECK_INT_EQ(at, T0 + 3);

	/* After a sequence, and at most max. */
	memset(&seen, 0, sizeof(seen));
	CHECK_INT_EQ(journal_log_after(j, last - 3, 2, log_cb, &seen), 0);
	CHECK_INT_EQ(seen.n, 2);
	CHECK_INT_EQ(seen.seq[0], last - 2);
	memset(&seen, 0, sizeof(seen));
	CHECK_INT_EQ(journal_log_after(j, last, 10, log_cb, &seen), 0);
	CHECK_INT_EQ(seen.n, 0);

	CHECK_INT_EQ(journal_refund_foreach_order(j, a.fsm.id, refund_count_cb, &n), 0);
	CHECK_INT_EQ(n, 1);
	n = 0;
	CHECK_INT_EQ(journal_refund_foreach_order(j, b.fsm.id, refund_count_cb, &n), 0);
	CHECK_INT_EQ(n, 0);
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

/* Item: the order key (pos_ref or Idempotency-Key) with what it asked for, for good. */
static void
test_idempotency_keys(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order a, b;
	char existing[ORDER_ID_MAX + 1] = "";
	struct journal_order_request req = {
		.terminal = "POS04",
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 500,
		.subject = "tea",
		.auth_code = "286543210987654321",
		.idem_key = "hdr-1",
		.fingerprint = "500|0|tea|code",
	};

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &a, existing), 0);
	CHECK_STR_EQ(a.idem_key, "hdr-1");
	CHECK_STR_EQ(a.pos_ref, "");
	journal_close(TAKE_PTR(j));

	/* After a restart: the same key and request is the same order... */
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &b, existing), -EEXIST);
	CHECK_STR_EQ(existing, a.fsm.id);
	/* ...another request under it is refused, naming the order. */
	existing[0] = '\0';
	req.fingerprint = "600|0|tea|code";
	req.amount_fen = 600;
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &b, existing), -EKEYREJECTED);
	CHECK_STR_EQ(existing, a.fsm.id);
	/* A pos_ref shares the keys' space: the header key of another order is taken. */
	req.idem_key = NULL;
	req.pos_ref = "hdr-1";
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &b, existing), -EKEYREJECTED);
	/* Without a key nothing is compared. */
	req.pos_ref = NULL;
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &b, existing), 0);
	CHECK(!STR_EQ(b.fsm.id, a.fsm.id));
	/* The API's fingerprint holds a subject of the longest kind. */
	{
		char fp[JOURNAL_FINGERPRINT_MAX + 2];
		struct journal_order_request big = req;
		memset(fp, 'x', sizeof(fp) - 1);
		fp[sizeof(fp) - 1] = '\0';
		big.pos_ref = NULL;
		big.idem_key = "long-subject";
		fp[JOURNAL_SUBJECT_MAX + 40] = '\0';
		big.fingerprint = fp;
		CHECK_INT_EQ(journal_order_new(j, &big, T0, &b, existing), 0);
		memset(fp, 'x', sizeof(fp) - 1);
		big.idem_key = "too-long";
		CHECK_INT_EQ(journal_order_new(j, &big, T0, &b, existing), -E2BIG);
	}
	/* A pos_ref and a different header key together are a caller's bug. */
	req.pos_ref = "p";
	req.idem_key = "q";
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &b, existing), -EINVAL);
}

static void
test_refund_keys(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o, o2;
	struct journal_refund r1, r2;
	char existing[ORDER_ID_MAX + 1];

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "POS05", ORDER_KIND_SCAN, 1000, "book",
					  "286543210987654321", NULL, T0, &o, existing),
		     0);
	CHECK_INT_EQ(journal_order_create(j, "POS05", ORDER_KIND_SCAN, 1000, "book",
					  "286543210987654321", NULL, T0, &o2, existing),
		     0);
	o.fsm.state = o2.fsm.state = ORDER_PAID;
	CHECK_INT_EQ(journal_order_save(j, &o, "pay_result", ORDER_PAYING, T0), 0);
	CHECK_INT_EQ(journal_order_save(j, &o2, "pay_result", ORDER_PAYING, T0), 0);
	CHECK_INT_EQ(journal_refund_create_keyed(j, o.fsm.id, 300, "r", "K1", T0, &r1), 0);
	journal_close(TAKE_PTR(j));

	CHECK_INT_EQ(journal_open(path, &j), 0);
	/* The same key and amount after a restart: that refund, not a second one. */
	CHECK_INT_EQ(journal_refund_create_keyed(j, o.fsm.id, 300, "r", "K1", T0, &r2), -EEXIST);
	CHECK_STR_EQ(r2.fsm.id, r1.fsm.id);
	/* Another amount under the key is refused. */
	CHECK_INT_EQ(journal_refund_create_keyed(j, o.fsm.id, 200, "r", "K1", T0, &r2),
		     -EKEYREJECTED);
	CHECK_STR_EQ(r2.fsm.id, r1.fsm.id);
	/* Keys are per order. */
	CHECK_INT_EQ(journal_refund_create_keyed(j, o2.fsm.id, 200, "r", "K1", T0, &r2), 0);
	CHECK(!STR_EQ(r2.fsm.id, r1.fsm.id));
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &o), 0);
	CHECK_INT_EQ(o.pending_refund_fen, 300);
}

/* A scan order waiting for its code is journaled; the code arrives masked. */
static void
test_waiting_for_code(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o, got;
	char existing[ORDER_ID_MAX + 1];
	struct journal_order_request req = {
		.terminal = "POS06",
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 700,
		.subject = "cake",
		.code_wait_usec = 60 * USEC_PER_SEC,
	};
	unsigned n = 0;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_new(j, &req, T0, &o, existing), 0);
	CHECK_INT_EQ(o.fsm.state, ORDER_WAITING_CODE);
	CHECK_INT_EQ(o.fsm.expires_usec, T0 + 60 * USEC_PER_SEC);
	journal_close(TAKE_PTR(j));

	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_foreach(j, true, count_cb, &n), 0);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);
	CHECK_INT_EQ(got.fsm.state, ORDER_WAITING_CODE);
	CHECK_INT_EQ(got.fsm.expires_usec, T0 + 60 * USEC_PER_SEC);
	paycode_mask("286543210987654321", got.auth_code_masked);
	got.fsm.state = ORDER_PAYING;
	CHECK_INT_EQ(journal_order_save(j, &got, "start", ORDER_WAITING_CODE, T0), 0);
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);
	CHECK_STR_EQ(got.auth_code_masked, "28************4321");
}

static int
sql_int(const char *sql)
{
	return (int)journal_reader_int(path, sql);
}

/*
 * Schema 1 → 2 on the journal written by the schema-1 f2fpayd
 * (tests/integration/fixtures/journal-v1, made by tests/integration/make-journal-fixture.py): every
 * order, event and refund is kept, in one transaction; a failed step leaves schema 1 whole.
 */
static void
test_migration(const char *fixture)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o;
	char existing[ORDER_ID_MAX + 1];
	int orders, events, refunds, sum;
	sqlite3 *db = NULL;

	remove_journal();
	journal_file_copy(fixture, path);
	CHECK_INT_EQ(sql_int("PRAGMA user_version"), 1);
	orders = sql_int("SELECT COUNT(*) FROM orders");
	events = sql_int("SELECT COUNT(*) FROM events");
	refunds = sql_int("SELECT COUNT(*) FROM refunds");
	sum = sql_int("SELECT SUM(amount_fen + refunded_fen) FROM orders");
	CHECK(orders >= 7 && events > orders && refunds >= 1);

	/* A step that fails (a table of that name is in the way) rolls the whole back. */
	CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db, "CREATE TABLE meta (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK(journal_open(path, &j) < 0);
	CHECK_INT_EQ(sql_int("PRAGMA user_version"), 1);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM pragma_table_info('orders') WHERE "
			     "name = 'idem_key'"),
		     0);
	CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db, "DROP TABLE meta", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(strlen(journal_install_id(j)), JOURNAL_INSTALL_ID_LEN);
	journal_close(TAKE_PTR(j));
	CHECK_INT_EQ(sql_int("PRAGMA user_version"), JOURNAL_SCHEMA_VERSION);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM orders"), orders);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM events"), events);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM refunds"), refunds);
	CHECK_INT_EQ(sql_int("SELECT SUM(amount_fen + refunded_fen) FROM orders"), sum);
	/* pos_refs became the orders' keys; schema-1 orders have no fingerprint. */
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM orders WHERE pos_ref IS NOT NULL AND "
			     "idem_key IS NOT pos_ref"),
		     0);
	CHECK(sql_int("SELECT COUNT(*) FROM orders WHERE idem_key IS NOT NULL") >= 1);

	/* The migrated journal works: a pos_ref of schema 1 replays, numbers go on. */
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "T01", ORDER_KIND_SCAN, 1234, "x",
					  "286543210987654321", "FIX-PAID", T0, &o, existing),
		     -EEXIST);
	CHECK_INT_EQ(journal_order_create(j, "T01", ORDER_KIND_SCAN, 1234, "x",
					  "286543210987654321", NULL, T0, &o, existing),
		     0);
	CHECK(strstr(o.fsm.id, journal_install_id(j)));
}

/* The rows sql selects, one line each, as SQLite quotes them (new string). */
static char *
sql_rows(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CHECK(f);
	CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		fprintf(f, "%s\n", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	CHECK(fclose(f) == 0);
	return out;
}

static const char events_sql[] =
	"SELECT quote(seq) || ',' || quote(order_id) || ',' || quote(at_usec) || ',' || quote(what)"
	" || ',' || quote(from_state) || ',' || quote(to_state) || ',' || quote(request)"
	" FROM events ORDER BY seq";
static const char notifications_sql[] =
	"SELECT quote(seq) || ',' || quote(received_usec) || ',' || quote(out_trade_no) || ','"
	" || quote(body) || ',' || quote(verified) || ',' || quote(outcome) || ','"
	" || quote(notify_key) || ',' || quote(body_codec) || ',' || quote(body_size)"
	" FROM notifications ORDER BY seq";

/*
 * Schema 5 → 6 on the journal written by the schema-5 f2fpayd
 * (tests/integration/fixtures/journal-v5, made by tests/integration/make-journal-fixture.py):
 * the event log and the notifications move to rows that name their order by its key, and read
 * through the views events and notifications they are what they were, row for row and byte for
 * byte; the sequences go on; a log that names an order the journal lacks stops the migration.
 */
static void
test_migration_v5(const char *fixture)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	_cleanup_free_ char *events = NULL, *notifications = NULL, *after = NULL;
	struct journal_order o;
	char existing[ORDER_ID_MAX + 1];
	int last_event, last_notification, orders;
	int64_t seq;
	sqlite3 *db = NULL;

	remove_journal();
	journal_file_copy(fixture, path);
	CHECK_INT_EQ(sql_int("PRAGMA user_version"), 5);
	events = sql_rows(events_sql);
	notifications = sql_rows(notifications_sql);
	last_event = sql_int("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
	last_notification = sql_int("SELECT seq FROM sqlite_sequence WHERE name = 'notifications'");
	orders = sql_int("SELECT COUNT(*) FROM orders");
	CHECK(last_event > 10 && last_notification >= 2 && orders >= 7);

	/* An event of an order the journal does not hold: refused, schema 5 left whole. */
	CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db,
				  "INSERT INTO events(order_id, at_usec, what, from_state, "
				  "to_state) VALUES ('T01_ghost', 1, 'created', '', 'new')",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(db);
	CHECK(journal_open(path, &j) < 0);
	CHECK_INT_EQ(sql_int("PRAGMA user_version"), 5);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'event_rows'"), 0);
	remove_journal();
	journal_file_copy(fixture, path);

	CHECK_INT_EQ(journal_open(path, &j), 0);
	journal_close(TAKE_PTR(j));
	CHECK_INT_EQ(sql_int("PRAGMA user_version"), JOURNAL_SCHEMA_VERSION);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM orders"), orders);
	after = sql_rows(events_sql);
	CHECK_STR_EQ(after, events);
	free(after);
	after = sql_rows(notifications_sql);
	CHECK_STR_EQ(after, notifications);
	/* Stored by key: no row repeats an out_trade_no this journal holds as an order. */
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM pragma_table_info('event_rows') WHERE "
			     "name = 'order_id'"),
		     0);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM notification_rows WHERE out_trade_no != ''"), 0);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM orders WHERE order_key IS NULL"), 0);

	/* The log is still append-only, and its numbers go on after the old ones. */
	CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK(sqlite3_exec(db, "DELETE FROM event_rows", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE event_rows SET what = 'x'", NULL, NULL, NULL) != SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "T01", ORDER_KIND_SCAN, 1234, "x", NULL, "FIX-PAID",
					  T0, &o, existing),
		     -EEXIST);
	CHECK_INT_EQ(journal_order_create(j, "T01", ORDER_KIND_SCAN, 1234, "x", NULL, NULL, T0, &o,
					  existing),
		     0);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, last_event + 1);
	CHECK_INT_EQ(journal_notification_add(j, o.fsm.id, NULL, "a=1", 3, false, "refused", T0),
		     0);
	CHECK_INT_EQ(sql_int("SELECT MAX(seq) FROM notifications"), last_notification + 1);
	CHECK_INT_EQ(sql_int("SELECT MAX(order_key) FROM orders"), orders + 1);
}

/* The newest event's number, kept in memory: it follows every commit, and never one that rolled
 * back after its event row was written. */
static void
test_event_seq(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order a;
	char existing[ORDER_ID_MAX + 1] = "";
	sqlite3 *db = NULL;
	int64_t seq = -1;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	/* doc/engine.md "Page size": a new journal's pages are 2 KiB. */
	CHECK_INT_EQ(sql_int("PRAGMA page_size"), 2048);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, 0);
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 100, "x", NULL, NULL, T0, &a,
					  existing),
		     0);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, 1);

	/* A commit refused after the event row went in (a deferred constraint). */
	CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db,
				  "CREATE TABLE trap_parent(k INTEGER PRIMARY KEY);"
				  "CREATE TABLE trap(k INTEGER REFERENCES trap_parent(k)"
				  " DEFERRABLE INITIALLY DEFERRED);"
				  "CREATE TRIGGER trap_t AFTER INSERT ON event_rows"
				  " WHEN NEW.what = 'trap' BEGIN INSERT INTO trap VALUES (7); END;",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(db);
	a.fsm.state = ORDER_CANCELED;
	CHECK(journal_order_save(j, &a, "trap", ORDER_NEW, T0 + 1) < 0);
	CHECK_INT_EQ(sql_int("SELECT MAX(seq) FROM event_rows"), 1);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, 1);
	/* Nor does a later commit without an event publish it. */
	CHECK_INT_EQ(journal_notification_add(j, a.fsm.id, NULL, "a=1", 3, false, "refused", T0),
		     0);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, 1);
	/* The next event takes the number the refused one had. */
	CHECK_INT_EQ(journal_order_save(j, &a, "cancel", ORDER_NEW, T0 + 2), 0);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, 2);
	CHECK_INT_EQ(sql_int("SELECT MAX(seq) FROM event_rows"), 2);
	journal_close(TAKE_PTR(j));

	/* Read from the journal after an open. */
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_event_seq(j, &seq), 0);
	CHECK_INT_EQ(seq, 2);
}

/* The daemon's open: a journal the state directory knows is never silently replaced. */
static void
test_marker(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char marker[300], first[JOURNAL_INSTALL_ID_LEN + 1];

	remove_journal();
	snprintf(marker, sizeof(marker), "%s.install-id", path);
	unlink(marker);
	CHECK_INT_EQ(journal_open_marked(path, &j), 0);
	snprintf(first, sizeof(first), "%s", journal_install_id(j));
	CHECK(file_contains(marker, first));
	journal_close(TAKE_PTR(j));
	CHECK_INT_EQ(journal_open_marked(path, &j), 0);
	CHECK_STR_EQ(journal_install_id(j), first);
	journal_close(TAKE_PTR(j));

	/* Gone (moved aside, lost): refused, nothing created. */
	remove_journal();
	CHECK_INT_EQ(journal_open_marked(path, &j), -ENOENT);
	CHECK(access(path, F_OK) < 0);
	/* On purpose: without the marker a new journal starts, with a new install id. */
	CHECK(unlink(marker) == 0);
	CHECK_INT_EQ(journal_open_marked(path, &j), 0);
	CHECK(!STR_EQ(journal_install_id(j), first));
	CHECK(file_contains(marker, journal_install_id(j)));
	journal_close(TAKE_PTR(j));
	unlink(marker);
}

/* doc/engine.md "Integrity check": PRAGMA quick_check at open only after an unclean shutdown. */
static void
test_clean_shutdown(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char existing[ORDER_ID_MAX + 1];
	struct journal_order o;
	unsigned n = 0;
	int status;
	pid_t pid;

	/* A new journal, and one closed cleanly: no check. */
	make_big_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK(!journal_checked_at_open(j));
	journal_close(TAKE_PTR(j));

	/* Killed with the journal open: the next open checks it. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct journal *k = NULL;
		if (journal_open(path, &k) < 0 ||
		    journal_order_create(k, "POS03", ORDER_KIND_SCAN, 5, "killed", NULL, NULL, T0,
					 &o, existing) < 0)
			_exit(1);
		raise(SIGKILL);
		_exit(2);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK(journal_checked_at_open(j));
	CHECK_INT_EQ(journal_order_foreach(j, false, count_cb, &n), 0);
	CHECK_INT_EQ(n, 301);
	journal_close(TAKE_PTR(j));
	/* That open ended cleanly. */
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK(!journal_checked_at_open(j));
	journal_close(TAKE_PTR(j));

	/* Touched after its clean close (restored, copied, edited): checked again. */
	CHECK(utimensat(AT_FDCWD, path, NULL, 0) == 0);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK(journal_checked_at_open(j));
	journal_close(TAKE_PTR(j));
}

/* One process per journal: the lock is exclusive between processes. */
static void
test_lock(void)
{
	char lock[300];
	int fd = -1, status;
	pid_t pid;

	CHECK_INT_EQ(journal_lock(path, &fd), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int fd2 = -1;
		_exit(journal_lock(path, &fd2) == -EBUSY ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	/* Released with the descriptor (a crash releases it too). */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int fd2 = -1;
		_exit(journal_lock(path, &fd2) == 0 ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	unlink(lock);
}

static int
unfinished_cb(const struct journal_order *o, void *userdata)
{
	bool *seen = userdata;

	CHECK(!order_state_is_final(o->fsm.state));
	CHECK(!seen[o->fsm.state]);
	seen[o->fsm.state] = true;
	return 0;
}

/* The unfinished orders are exactly those in a state that is not final, whatever the state. */
static void
test_unfinished_every_state(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char existing[ORDER_ID_MAX + 1] = "";
	bool seen[_ORDER_STATE_MAX] = {};
	unsigned n = 0;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	for (int st = 0; st < _ORDER_STATE_MAX; st++) {
		struct journal_order o;
		CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 100 + st, "x", NULL,
						  NULL, T0, &o, existing),
			     0);
		o.fsm.state = (enum order_state)st;
		CHECK_INT_EQ(journal_order_save(j, &o, "test", ORDER_NEW, T0 + 1), 0);
	}
	CHECK_INT_EQ(journal_order_foreach(j, true, unfinished_cb, seen), 0);
	for (int st = 0; st < _ORDER_STATE_MAX; st++) {
		CHECK_INT_EQ(seen[st], !order_state_is_final((enum order_state)st));
		n += seen[st];
	}
	CHECK(n > 0);
}

/* A walk whose callback walks the same orders again, and looks one up. */
struct nested_walk {
	struct journal *j;
	unsigned outer, inner;
};

static int
nested_inner_cb(const struct journal_order *o, void *userdata)
{
	struct nested_walk *w = userdata;
	struct journal_order got;

	CHECK_INT_EQ(journal_order_get(w->j, o->fsm.id, &got), 0);
	CHECK_STR_EQ(got.fsm.id, o->fsm.id);
	w->inner++;
	return 0;
}

static int
nested_outer_cb(const struct journal_order *o, void *userdata)
{
	struct nested_walk *w = userdata;

	w->outer++;
	return journal_order_foreach(w->j, false, nested_inner_cb, w);
}

/*
 * doc/engine.md "Statements": each statement is compiled once per connection and kept; a walk
 * inside a walk of the same statement, a failed statement and a rolled-back transaction leave
 * the kept ones usable, and closing finalizes them all (a statement left open would make the
 * close unclean: no record of it).
 */
/* doc/engine.md "Checkpoints": no commit copies the write-ahead file below the cap; the idle
 * checkpoint empties it, and the next commits reuse it from its start without growing it. */
static void
test_wal_checkpoint(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o;
	char existing[ORDER_ID_MAX + 1], wal[300];
	unsigned last = 0, i, peak = 0;
	bool dropped = false;
	struct stat st;
	off_t size;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "POS09", ORDER_KIND_SCAN, 100, "milk", NULL, NULL, T0,
					  &o, existing),
		     0);
	o.fsm.state = ORDER_PAYING;
	o.pending = ORDER_REQ_PAY;
	/* SQLite's own checkpoint would have emptied the file at 1,000 pages: not any more. */
	for (i = 0; journal_wal_pages(j) < JOURNAL_WAL_IDLE_PAGES + 200; i++) {
		o.fsm.queries_left = i;
		CHECK_INT_EQ(journal_order_save(j, &o, "query_result", ORDER_PAYING, T0 + 1 + i),
			     0);
		CHECK(journal_wal_pages(j) > last);
		last = journal_wal_pages(j);
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK_INT_EQ(stat(wal, &st), 0);
	size = st.st_size;
	CHECK(size >= (off_t)last * 2048);

	CHECK_INT_EQ(journal_checkpoint_idle(j), 0);
	CHECK_INT_EQ(journal_wal_pages(j), 0);
	CHECK_INT_EQ(journal_order_save(j, &o, "query_result", ORDER_PAYING, T0 + 1 + i++), 0);
	CHECK(journal_wal_pages(j) > 0 && journal_wal_pages(j) < 20);
	last = journal_wal_pages(j);
	CHECK_INT_EQ(stat(wal, &st), 0);
	CHECK_INT_EQ(st.st_size, size);

	/* A till never idle: the commit that reaches the cap checkpoints, the file stays bounded.
	 */
	for (unsigned n = 0; n < JOURNAL_WAL_CAP_PAGES && !dropped; n++, i++) {
		o.fsm.queries_left = i;
		CHECK_INT_EQ(journal_order_save(j, &o, "query_result", ORDER_PAYING, T0 + 1 + i),
			     0);
		CHECK(journal_wal_pages(j) < JOURNAL_WAL_CAP_PAGES);
		dropped = journal_wal_pages(j) < last;
		last = journal_wal_pages(j);
		peak = MAX(peak, last);
	}
	CHECK(dropped);
	CHECK(peak >= JOURNAL_WAL_CAP_PAGES - 20);
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &o), 0);
	CHECK_INT_EQ(o.fsm.queries_left, i - 1);
}

static void
test_statement_cache(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o, p, got;
	struct journal_refund rf;
	struct journal_foreign_order fo = {.kind = ORDER_KIND_SCAN, .amount_fen = 500};
	char existing[ORDER_ID_MAX + 1], marker[300];
	struct nested_walk w;
	uint64_t before = 0;
	struct stat st;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "POS09", ORDER_KIND_SCAN, 100, "milk", NULL, "k-1", T0,
					  &o, existing),
		     0);
	CHECK_INT_EQ(journal_order_create(j, "POS09", ORDER_KIND_SCAN, 200, "bread", NULL, NULL, T0,
					  &p, existing),
		     0);
	o.fsm.state = ORDER_PAYING;
	o.pending = ORDER_REQ_PAY;
	CHECK_INT_EQ(journal_order_save(j, &o, "start", ORDER_NEW, T0 + 1), 0);
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);

	/* After the first round, the same work again compiles nothing. */
	for (unsigned i = 0; i < 50; i++) {
		char id[ORDER_ID_MAX + 1];

		if (i == 1)
			before = journal_prepare_count(j);

		o.fsm.queries_left = i;
		CHECK_INT_EQ(journal_order_save(j, &o, "query_result", ORDER_PAYING, T0 + 2 + i),
			     0);
		CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);
		CHECK_INT_EQ(got.fsm.queries_left, i);
		CHECK_INT_EQ(journal_order_create(j, "POS09", ORDER_KIND_SCAN, 100, "milk", NULL,
						  "k-1", T0, &got, existing),
			     -EEXIST);
		CHECK_INT_EQ(journal_allocate_out_trade_no(j, "POS09", T0 / USEC_PER_SEC, id), 0);
	}
	CHECK_INT_EQ(journal_prepare_count(j), before);

	/* A walk inside a walk of the same statement: both see every order. */
	w = (struct nested_walk){.j = j};
	CHECK_INT_EQ(journal_order_foreach(j, false, nested_outer_cb, &w), 0);
	CHECK_INT_EQ(w.outer, 2);
	CHECK_INT_EQ(w.inner, 4);
	before = journal_prepare_count(j);
	w = (struct nested_walk){.j = j};
	CHECK_INT_EQ(journal_order_foreach(j, false, nested_outer_cb, &w), 0);
	CHECK_INT_EQ(w.inner, 4);
	CHECK_INT_EQ(journal_prepare_count(j), before);

	/* A statement that fails (the order id is taken) and its rolled-back transaction leave
	 * the kept statements as they should be: the next ones bind and run anew. */
	p.fsm.state = ORDER_PAID;
	CHECK_INT_EQ(journal_order_save(j, &p, "pay_result", ORDER_NEW, T0 + 100), 0);
	snprintf(fo.id, sizeof(fo.id), "%s", p.fsm.id);
	snprintf(fo.install_id, sizeof(fo.install_id), "abcdefgh");
	snprintf(fo.terminal_id, sizeof(fo.terminal_id), "POS77");
	CHECK_INT_EQ(journal_refund_create(j, p.fsm.id, 50, "first", T0 + 101, &rf), 0);
	CHECK_INT_EQ(
		journal_foreign_refund_create(j, &fo, rf.fsm.id, 10, "again", NULL, T0 + 102, &rf),
		-EEXIST);
	CHECK_INT_EQ(journal_refund_create(j, p.fsm.id, 60, "second", T0 + 103, &rf), 0);
	CHECK_STR_EQ(rf.fsm.id + strlen(p.fsm.id), "_r2");
	CHECK_INT_EQ(journal_order_get(j, p.fsm.id, &got), 0);
	CHECK_INT_EQ(got.pending_refund_fen, 110);
	/* Injected failures write nothing; the next save goes through. */
	journal_inject_failures(j, 1);
	CHECK_INT_EQ(journal_order_save(j, &o, "query_result", ORDER_PAYING, T0 + 200), -EIO);
	CHECK_INT_EQ(journal_order_save(j, &o, "query_result", ORDER_PAYING, T0 + 201), 0);

	/* Every kept statement is finalized at close: SQLite closes, the close is recorded. */
	journal_close(TAKE_PTR(j));
	snprintf(marker, sizeof(marker), "%s.clean", path);
	CHECK_INT_EQ(stat(marker, &st), 0);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK(!journal_checked_at_open(j));
	CHECK_INT_EQ(journal_order_get(j, o.fsm.id, &got), 0);
	CHECK_INT_EQ(got.fsm.queries_left, 49);
}

/* SQLite's syncs, counted: this definition comes before libc's for the library too. */
static unsigned fdatasyncs;

int
fdatasync(int fd)
{
	fdatasyncs++;
	return (int)syscall(SYS_fdatasync, fd);
}

static void
count_synced(void *userdata)
{
	(*(unsigned *)userdata)++;
}

/* doc/engine.md "Notifications": a deferred row reaches the disk with the next order's commit
 * or journal_sync(), and whoever waits hears it once. */
static void
test_deferred_sync(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order a;
	struct journal_commits c0, c1;
	char existing[ORDER_ID_MAX + 1] = "";
	unsigned heard = 0, syncs;

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	journal_set_synced_cb(j, count_synced, &heard);
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 100, "x", NULL, NULL, T0, &a,
					  existing),
		     0);
	CHECK(!journal_unsynced(j));
	CHECK_INT_EQ(heard, 0);

	/* Committed, not synced: nobody is told yet. */
	c0 = journal_commit_count(j);
	syncs = fdatasyncs;
	CHECK_INT_EQ(journal_notification_add_deferred(j, a.fsm.id, "n1", "notify_id=n1", 12, true,
						       "TRADE_SUCCESS", T0 + 1),
		     0);
	c1 = journal_commit_count(j);
	CHECK_INT_EQ(c1.commits, c0.commits + 1);
	CHECK_INT_EQ(c1.synced, c0.synced);
	CHECK_INT_EQ(fdatasyncs, syncs);
	CHECK(journal_unsynced(j));
	CHECK_INT_EQ(heard, 0);
	/* A replay writes nothing and changes nothing. */
	CHECK_INT_EQ(journal_notification_add_deferred(j, a.fsm.id, "n1", "notify_id=n1", 12, true,
						       "TRADE_SUCCESS", T0 + 2),
		     1);
	CHECK(journal_unsynced(j));

	/* The next order's commit is synced, and carries the row with it. */
	a.fsm.state = ORDER_CANCELED;
	CHECK_INT_EQ(journal_order_save(j, &a, "cancel", ORDER_NEW, T0 + 3), 0);
	CHECK_INT_EQ(journal_commit_count(j).synced, c1.synced + 1);
	CHECK_INT_EQ(fdatasyncs, syncs + 1);
	CHECK(!journal_unsynced(j));
	CHECK_INT_EQ(heard, 1);
	CHECK_INT_EQ(journal_sync(j), 0);
	CHECK_INT_EQ(journal_commit_count(j).flushes, 0);

	/* Or journal_sync() does, once. */
	CHECK_INT_EQ(journal_notification_add_deferred(j, a.fsm.id, "n2", "notify_id=n2", 12, true,
						       "TRADE_SUCCESS", T0 + 4),
		     0);
	CHECK(journal_unsynced(j));
	CHECK_INT_EQ(fdatasyncs, syncs + 1);
	CHECK_INT_EQ(journal_sync(j), 0);
	CHECK_INT_EQ(fdatasyncs, syncs + 2);
	CHECK(!journal_unsynced(j));
	CHECK_INT_EQ(heard, 2);
	CHECK_INT_EQ(journal_commit_count(j).flushes, 1);
	CHECK_INT_EQ(journal_sync(j), 0);
	CHECK_INT_EQ(journal_commit_count(j).flushes, 1);

	/* The commits after it are synced again. */
	c0 = journal_commit_count(j);
	CHECK_INT_EQ(journal_notification_add(j, a.fsm.id, "n3", "notify_id=n3", 12, true,
					      "TRADE_SUCCESS", T0 + 5),
		     0);
	CHECK_INT_EQ(journal_commit_count(j).synced, c0.synced + 1);
	CHECK_INT_EQ(fdatasyncs, syncs + 3); /* synchronous=FULL again */
	CHECK(!journal_unsynced(j));
	CHECK_INT_EQ(sql_int("SELECT count(*) FROM notification_rows"), 3);
	journal_set_synced_cb(j, NULL, NULL);
}

int
main(int argc, char **argv)
{
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	log_set_max_level(LOG_WARNING);

	test_allocator();
	test_write_ahead_and_recovery();
	test_refunds();
	test_corruption();
	test_unfinished_every_state();
	test_idempotency_keys();
	test_refund_keys();
	test_waiting_for_code();
	test_log_after();
	test_statement_cache();
	test_wal_checkpoint();
	test_event_seq();
	test_deferred_sync();
	CHECK(argc == 3);
	test_migration(argv[1]);
	test_migration_v5(argv[2]);
	test_marker();
	test_clean_shutdown();
	test_lock();

	remove_journal();
	rmdir(dir);
	return 0;
}
