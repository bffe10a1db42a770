/* SPDX-License-Identifier: MIT */
/* The SQLite journal: write-ahead order state, event log, refunds, notifications, counters. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/money.h"
#include "daemon/engine/journal-body.h"
#include "daemon/engine/journal-vfs.h"
#include "daemon/engine/journal.h"

/*
 * doc/engine.md "Statements". One statement kept prepared for the connection's life, found by the
 * address of its SQL text (a string literal, or a buffer that lives as long as the program).
 */
struct journal_stmt {
	const char *sql;
	sqlite3_stmt *stmt;
};

/* Distinct statements, and copies of one for a walk inside a walk of the same statement. */
#define JOURNAL_STMTS_MAX 64

struct journal {
	sqlite3 *db;
	char *path;
	unsigned fail_next; /* tests: saves to refuse */
	bool opened;        /* journal_open() completed: a close may be recorded as clean */
	bool checked;       /* this open ran PRAGMA quick_check */
	struct journal_commits commits;
	/* doc/engine.md "Statements": every statement this connection keeps prepared. */
	struct journal_stmt stmts[JOURNAL_STMTS_MAX];
	size_t n_stmts;
	uint64_t prepares;  /* statements compiled since the open, kept or not */
	unsigned wal_pages; /* frames in the write-ahead file after the last commit */
	/* journal_event_seq(): the newest committed event's number (0: not read yet), the one
	 * the open transaction appended, and the newest of a commit that waits for its sync:
	 * each published when its commit reaches the disk. */
	int64_t event_seq, event_seq_pending, event_seq_unsynced;
	/* doc/engine.md "Notifications": the commit under way waits for a later sync (deferring),
	 * a commit in the write-ahead file still does (unsynced), and who hears when none does. */
	bool deferring, unsynced;
	journal_synced_cb synced_cb;
	void *synced_userdata;
	char install_id[JOURNAL_INSTALL_ID_LEN + 1];
	char run_id[JOURNAL_RUN_ID_LEN + 1];
};

/* Schema 6: a new order's key, one above every key given (orders are never deleted). */
#define NEXT_ORDER_KEY_SQL "(SELECT COALESCE(MAX(order_key), 0) + 1 FROM orders)"

/* The states an order or a refund cannot leave; kept in step with order_state_is_final(). */
#define ORDER_FINAL_SQL  "('paid','failed','canceled','refunded_by_cancel')"
#define REFUND_FINAL_SQL "('refunded','failed')"

/* Schema 1, as the first f2fpayd wrote it: every journal starts here, then the migrations. */
static const char schema_sql[] =
	"CREATE TABLE counters ("
	" name TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL);"
	"CREATE TABLE orders ("
	" id TEXT PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),"
	" refunded_fen INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),"
	" subject TEXT NOT NULL,"
	" auth_code_masked TEXT NOT NULL DEFAULT '',"
	" pos_ref TEXT UNIQUE,"
	" state TEXT NOT NULL,"
	" state_since_usec INTEGER NOT NULL,"
	" expires_usec INTEGER NOT NULL DEFAULT 0,"
	" queries_left INTEGER NOT NULL DEFAULT 0,"
	" cancel_attempts INTEGER NOT NULL DEFAULT 0,"
	" attention_count INTEGER NOT NULL DEFAULT 0,"
	" abort_requested INTEGER NOT NULL DEFAULT 0,"
	" expired INTEGER NOT NULL DEFAULT 0,"
	" sub_code TEXT NOT NULL DEFAULT '',"
	" qr_code TEXT NOT NULL DEFAULT '',"
	" trade_no TEXT NOT NULL DEFAULT '',"
	" pending_request TEXT NOT NULL DEFAULT '',"
	" created_usec INTEGER NOT NULL,"
	" updated_usec INTEGER NOT NULL,"
	" CHECK (refunded_fen <= amount_fen));"
	"CREATE INDEX orders_state ON orders(state);"
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" order_id TEXT NOT NULL,"
	" at_usec INTEGER NOT NULL,"
	" what TEXT NOT NULL,"
	" from_state TEXT NOT NULL,"
	" to_state TEXT NOT NULL,"
	" request TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_order ON events(order_id, seq);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	" BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	" BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE TABLE refunds ("
	" id TEXT PRIMARY KEY,"
	" order_id TEXT NOT NULL REFERENCES orders(id),"
	" amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),"
	" reason TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL,"
	" state_since_usec INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" sub_code TEXT NOT NULL DEFAULT '',"
	" pending_request TEXT NOT NULL DEFAULT '',"
	" created_usec INTEGER NOT NULL,"
	" updated_usec INTEGER NOT NULL);"
	"CREATE INDEX refunds_order ON refunds(order_id);"
	"CREATE TABLE notifications ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" received_usec INTEGER NOT NULL,"
	" out_trade_no TEXT NOT NULL DEFAULT '',"
	" body BLOB NOT NULL,"
	" verified INTEGER NOT NULL,"
	" outcome TEXT NOT NULL DEFAULT '');";

static int
sqlite_to_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

static int
journal_fail(struct journal *j, int rc, const char *what)
{
	return log_error_errno(sqlite_to_errno(rc) ?: -EIO, "Journal %s: %s failed: %s", j->path,
			       what, sqlite3_errmsg(j->db));
}

static int
journal_exec(struct journal *j, const char *sql)
{
	int rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return journal_fail(j, rc, sql);
	return 0;
}

/* A statement of journal_prepare_once(): compiled for one use, finalized after it. */
static void
stmt_finalizep(sqlite3_stmt **s)
{
	if (*s)
		sqlite3_finalize(*s);
}
#define _cleanup_stmt_once_ _cleanup_(stmt_finalizep)

/*
 * Gives a statement of journal_prepare() back to the cache: reset (its read or write ends, its
 * error, if any, is cleared) and unbound, so that no borrowed string stays bound to it.
 */
static void
stmt_release(sqlite3_stmt *s)
{
	if (!s)
		return;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

static void
stmt_releasep(sqlite3_stmt **s)
{
	stmt_release(*s);
}
#define _cleanup_stmt_ _cleanup_(stmt_releasep)

/* Opening, migrating and backing up: statements run once per open, not worth keeping. */
static int
journal_prepare_once(struct journal *j, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(j->db, sql, -1, ret, NULL);
	j->prepares++;
	if (rc != SQLITE_OK)
		return journal_fail(j, rc, "prepare");
	return 0;
}

/*
 * doc/engine.md "Statements": the statement of sql (whose address identifies it: a literal or a
 * buffer that outlives the journal), compiled on its first use and then kept for the
 * connection's life. The caller binds and steps it right away and gives it back with
 * _cleanup_stmt_ (or stmt_release()); nothing else runs in between, so a kept statement that is
 * not busy is free. One that is busy (a walk is stepping through it and its callback asks
 * again) gets a second copy, kept as well: the copies never exceed the nesting of the walks.
 */
static int
journal_prepare(struct journal *j, const char *sql, sqlite3_stmt **ret)
{
	struct journal_stmt *e;
	int rc;

	for (size_t i = 0; i < j->n_stmts; i++)
		if (j->stmts[i].sql == sql && !sqlite3_stmt_busy(j->stmts[i].stmt)) {
			*ret = j->stmts[i].stmt;
			return 0;
		}
	if (j->n_stmts == ELEMENTSOF(j->stmts))
		return log_error_errno(ENOBUFS, "Journal %s: more than %zu statements kept (bug)",
				       j->path, ELEMENTSOF(j->stmts));
	e = &j->stmts[j->n_stmts];
	rc = sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt, NULL);
	j->prepares++;
	if (rc != SQLITE_OK)
		return journal_fail(j, rc, "prepare");
	e->sql = sql;
	j->n_stmts++;
	*ret = e->stmt;
	return 0;
}

/* Finalizes every kept statement: before the connection closes, and after a migration. */
static void
journal_stmts_clear(struct journal *j)
{
	for (size_t i = 0; i < j->n_stmts; i++)
		sqlite3_finalize(j->stmts[i].stmt);
	j->n_stmts = 0;
}

uint64_t
journal_prepare_count(const struct journal *j)
{
	return j->prepares;
}

/* Runs a statement that returns no row. */
static int
journal_step_done(struct journal *j, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, what);
	return 0;
}

/* A statement without parameters or rows, kept: BEGIN, COMMIT. */
static int
journal_run(struct journal *j, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = journal_prepare(j, sql, &s);
	if (r < 0)
		return r;
	return journal_step_done(j, s, sql);
}

static int
journal_begin(struct journal *j)
{
	j->event_seq_pending = 0;
	return journal_run(j, "BEGIN IMMEDIATE");
}

static int
journal_commit(struct journal *j)
{
	return journal_run(j, "COMMIT");
}

static void
journal_rollback(struct journal *j)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	j->event_seq_pending = 0;
	if (sqlite3_get_autocommit(j->db))
		return;
	if (journal_prepare(j, "ROLLBACK", &s) >= 0)
		(void)sqlite3_step(s);
	else
		(void)sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
copy_text(char *dst, size_t size, const unsigned char *src)
{
	size_t n = src ? strnlen((const char *)src, size - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
pragma_int(struct journal *j, const char *sql, int64_t *ret)
{
	_cleanup_stmt_once_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare_once(j, sql, &s);
	if (r < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, sql);
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* A one-value query with one text parameter. */
static int
pragma_int_bound(struct journal *j, const char *sql, const char *arg, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j, sql, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, sql);
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

static int
journal_quick_check(struct journal *j)
{
	_cleanup_stmt_once_ sqlite3_stmt *s = NULL;
	const unsigned char *first;
	int rc;

	rc = sqlite3_prepare_v2(j->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return log_error_errno(EUCLEAN,
				       "Journal %s is damaged (%s). Refusing to start: restore it "
				       "from a backup, or move it away and remove %s.install-id to "
				       "start a new journal.",
				       j->path, sqlite3_errmsg(j->db), j->path);
	rc = sqlite3_step(s);
	first = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
	if (rc != SQLITE_ROW || !first || strcmp((const char *)first, "ok") != 0)
		return log_error_errno(
			EUCLEAN,
			"Journal %s is damaged (integrity check: %s). Refusing to "
			"start: restore it from a backup, or move it away and remove "
			"%s.install-id to start a new journal.",
			j->path, first ? (const char *)first : sqlite3_errmsg(j->db), j->path);
	return 0;
}

/* sqlite3_commit_hook(): every commit, explicit or of a single statement, passes here. */
static int
journal_count_commit(void *userdata)
{
	struct journal *j = userdata;

	j->commits.commits++;
	if (!j->deferring)
		j->commits.synced++;
	return 0; /* 0: let the commit proceed */
}

/* Every commit so far is on the disk. */
static void
journal_synced(struct journal *j)
{
	if (j->event_seq_unsynced > j->event_seq)
		j->event_seq = j->event_seq_unsynced;
	j->event_seq_unsynced = 0;
	if (!j->unsynced)
		return;
	j->unsynced = false;
	if (j->synced_cb)
		j->synced_cb(j->synced_userdata);
}

/*
 * doc/engine.md "Checkpoints": replaces SQLite's automatic checkpoint, which copies the
 * write-ahead file into the journal inside whichever commit crosses 1,000 pages — the commit
 * before a pay as often as any other. The daemon checkpoints between orders instead
 * (journal_checkpoint_idle()); only a till never idle long enough checkpoints here, at
 * JOURNAL_WAL_CAP_PAGES.
 */
static int
journal_wal_hook(void *userdata, sqlite3 *db, const char *name, int pages)
{
	struct journal *j = userdata;

	/* Called once the commit is in the write-ahead file, synced unless deferring: then every
	 * commit before it is on the disk too (one file, synced whole). */
	if (j->event_seq_pending > 0) {
		if (j->deferring)
			j->event_seq_unsynced = j->event_seq_pending;
		else
			j->event_seq = j->event_seq_pending;
		j->event_seq_pending = 0;
	}
	if (j->deferring)
		j->unsynced = true;
	else
		journal_synced(j);
	j->wal_pages = pages > 0 ? (unsigned)pages : 0;
	if (j->wal_pages >= JOURNAL_WAL_CAP_PAGES) {
		int log = -1, done = -1;

		/* A failure is SQLite's own to retry at the next commit; the commit stands. */
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
			    SQLITE_OK &&
		    log >= 0 && done >= 0)
			j->wal_pages = (unsigned)(log - done);
	}
	return SQLITE_OK;
}

unsigned
journal_wal_pages(const struct journal *j)
{
	return j->wal_pages;
}

int
journal_checkpoint_idle(struct journal *j)
{
	int log = -1, done = -1, rc;

	rc = sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc != SQLITE_OK)
		return sqlite_to_errno(rc);
	j->wal_pages = log >= done && done >= 0 ? (unsigned)(log - done) : 0;
	return 0;
}

void
journal_set_synced_cb(struct journal *j, journal_synced_cb cb, void *userdata)
{
	j->synced_cb = cb;
	j->synced_userdata = userdata;
}

bool
journal_unsynced(const struct journal *j)
{
	return j->unsynced;
}

int
journal_sync(struct journal *j)
{
	sqlite3_file *f = NULL;
	int rc;

	if (!j->unsynced)
		return 0;
	/* SQLite's own handle of the write-ahead file, synced as a commit of synchronous=FULL
	 * syncs it. */
	rc = sqlite3_file_control(j->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
	if (rc != SQLITE_OK || !f || !f->pMethods)
		return log_error_errno(EIO, "Journal %s: no write-ahead file to sync", j->path);
	rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return log_error_errno(sqlite_to_errno(rc) ?: -EIO,
				       "Journal %s: syncing the write-ahead file failed: %m",
				       j->path);
	j->commits.flushes++;
	journal_synced(j);
	return 0;
}

/*
 * doc/engine.md "Final transitions share a sync": what leaves the process from the event log
 * (the event stream's ids, the copy shipped to the store, a backup) is on the disk. A read of
 * it first syncs an event that waits for its sync; nothing else waits.
 */
static int
journal_settle(struct journal *j)
{
	return j->event_seq_unsynced > 0 ? journal_sync(j) : 0;
}

/*
 * A commit that waits for the next sync: synchronous=NORMAL for it (doc/engine.md
 * "Notifications"). Back to FULL cannot be allowed to fail: every order's commit after it
 * would then reach the disk late.
 */
static int
sync_defer(struct journal *j)
{
	int r = journal_run(j, "PRAGMA synchronous=NORMAL");

	j->deferring = r >= 0;
	return r;
}

static void
sync_restore(struct journal *j)
{
	if (!j->deferring)
		return;
	if (journal_run(j, "PRAGMA synchronous=FULL") < 0 &&
	    journal_run(j, "PRAGMA synchronous=FULL") < 0) {
		log_full_errno(LOG_CRIT, 0,
			       "Journal %s: cannot make commits durable again: stopping", j->path);
		abort();
	}
	j->deferring = false;
}

struct journal_commits
journal_commit_count(const struct journal *j)
{
	return j->commits;
}

/*
 * doc/engine.md "Integrity check". The record of a clean close names the file exactly as SQLite
 * left it; any later change to it (a write, a copy or backup put in its place, a truncation,
 * garbage written into it) changes its change time, inode or size, and a crash leaves no record
 * (every open removes it first) or a write-ahead file. One line, made by marker_stat_line().
 */
#define CLEAN_LINE_MAX 160

static int
marker_stat_line(const char *path, char line[static CLEAN_LINE_MAX])
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	snprintf(line, CLEAN_LINE_MAX,
		 "f2fpayd clean close: dev %ju ino %ju size %jd mtime %jd.%09ld ctime %jd.%09ld\n",
		 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
		 (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
		 st.st_ctim.tv_nsec);
	return 0;
}

/* True when a write-ahead file with content lies beside the journal: it was not closed cleanly. */
static bool
wal_has_content(const char *path)
{
	_cleanup_free_ char *wal = NULL;
	struct stat st;

	if (asprintf(&wal, "%s-wal", path) < 0)
		return true;
	return stat(wal, &st) == 0 ? st.st_size > 0 : errno != ENOENT;
}

/* Reads and removes the record; true when it matches the file as it is now. */
static bool
journal_take_clean_record(const char *path)
{
	_cleanup_free_ char *marker = NULL;
	_cleanup_close_ int fd = -1;
	char seen[CLEAN_LINE_MAX] = "", now[CLEAN_LINE_MAX];
	ssize_t n;

	if (asprintf(&marker, "%s.clean", path) < 0)
		return false;
	fd = open(marker, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = read(fd, seen, sizeof(seen) - 1);
	/* Gone before anything else happens: from here on, a crash must leave no record. */
	if (unlink(marker) < 0 && errno != ENOENT)
		return false;
	if (n <= 0)
		return false;
	seen[n] = '\0';
	return marker_stat_line(path, now) >= 0 && STR_EQ(seen, now) && !wal_has_content(path);
}

/* After SQLite closed the journal cleanly: records the file as it is (best effort). */
static void
journal_record_clean_close(const char *path)
{
	_cleanup_free_ char *marker = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -1;
	char line[CLEAN_LINE_MAX];
	size_t len;

	if (wal_has_content(path) || marker_stat_line(path, line) < 0)
		return;
	if (asprintf(&marker, "%s.clean", path) < 0 || asprintf(&tmp, "%s.clean.new", path) < 0)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_debug_errno(errno, "Cannot record the clean close of %s: %m", path);
		return;
	}
	len = strlen(line);
	/* No fsync: a record lost to a power cut only costs the next start one check. */
	if (write(fd, line, len) != (ssize_t)len || rename(tmp, marker) < 0) {
		log_debug_errno(errno, "Cannot record the clean close of %s: %m", path);
		(void)unlink(tmp);
	}
}

bool
journal_checked_at_open(const struct journal *j)
{
	return j->checked;
}

static int
journal_set_pragmas(struct journal *j)
{
	int64_t v;
	int r;

	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_commit_hook(j->db, journal_count_commit, j);
	sqlite3_wal_hook(j->db, journal_wal_hook, j);
	sqlite3_busy_timeout(j->db, 5000);
	/* doc/design.md §6: WAL and synchronous=FULL, so a committed transition survives a power
	 * cut. */
	r = pragma_int(j, "PRAGMA journal_mode=WAL", &v);
	if (r < 0)
		return r;
	r = journal_exec(j, "PRAGMA synchronous=FULL");
	if (r < 0)
		return r;
	/* 512 KiB of page cache, not SQLite's 2 MB: an order touches a few dozen pages, the rest
	 * stays in the kernel's page cache; the default's 2 MB filled up after a day's orders and
	 * stayed resident (doc/performance.md "Memory"). */
	r = journal_exec(j, "PRAGMA cache_size=-512");
	if (r < 0)
		return r;
	return journal_exec(j, "PRAGMA foreign_keys=ON");
}

/* A random identifier of n characters from a-z and 2-7 (5 bits each). */
static int
random_id(char *buf, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t raw[16];

	if (n >= sizeof(raw))
		return -EINVAL;
	if (getrandom(raw, n, 0) != (ssize_t)n)
		return -errno ?: -EIO;
	for (size_t i = 0; i < n; i++)
		buf[i] = alphabet[raw[i] & 31];
	buf[n] = '\0';
	return 0;
}

/* Schema 2: install id, idempotency keys of orders and refunds, waiting scan orders. */
static const char migrate_2_sql[] =
	"CREATE TABLE meta ("
	" name TEXT PRIMARY KEY,"
	" value TEXT NOT NULL);"
	"ALTER TABLE orders ADD COLUMN idem_key TEXT;"
	"ALTER TABLE orders ADD COLUMN request_fp TEXT;"
	"UPDATE orders SET idem_key = pos_ref WHERE pos_ref IS NOT NULL;"
	"CREATE UNIQUE INDEX orders_idem_key ON orders(idem_key);"
	"ALTER TABLE refunds ADD COLUMN idem_key TEXT;"
	"CREATE UNIQUE INDEX refunds_idem_key ON refunds(order_id, idem_key);";

static int
migrate_2(struct journal *j)
{
	_cleanup_stmt_once_ sqlite3_stmt *s = NULL;
	char id[JOURNAL_INSTALL_ID_LEN + 1];
	int r;

	r = journal_exec(j, migrate_2_sql);
	if (r < 0)
		return r;
	/* doc/engine.md "Trade numbers": a journal made before install ids gets one now. */
	r = random_id(id, JOURNAL_INSTALL_ID_LEN);
	if (r < 0)
		return log_error_errno(r, "Journal %s: no random install id: %m", j->path);
	r = journal_prepare_once(j, "INSERT INTO meta(name, value) VALUES ('install_id', ?1)", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return journal_step_done(j, s, "install id");
}

/* Schema 3: the cashier of each order and the receipt of a paid one (doc/api.md "Receipts"); an
 * amount Alipay did not send is NULL. */
static const char migrate_3_sql[] =
	"ALTER TABLE orders ADD COLUMN operator_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN gmt_payment TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN buyer_logon_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN fund_bill_list TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN receipt_fen INTEGER;"
	"ALTER TABLE orders ADD COLUMN buyer_pay_fen INTEGER;"
	"ALTER TABLE orders ADD COLUMN point_fen INTEGER;"
	"ALTER TABLE orders ADD COLUMN invoice_fen INTEGER;"
	"ALTER TABLE orders ADD COLUMN discount_fen INTEGER;"
	"ALTER TABLE orders ADD COLUMN mdiscount_fen INTEGER;";

static int
migrate_3(struct journal *j)
{
	return journal_exec(j, migrate_3_sql);
}

static int migrate_4(struct journal *j);

/*
 * Schema 5 (doc/engine.md "Notifications"): bodies packed by a codec (0: as received, what
 * earlier schemas wrote; they stay so), their size, and the key of the notify_id that tells a
 * replay (the notify_id itself is in the body), computed here for the bodies already kept.
 * Refunds get an index on their state, as orders have, so the unfinished ones are found without
 * reading them all.
 */
static const char migrate_5_sql[] =
	"ALTER TABLE notifications ADD COLUMN notify_key INTEGER;"
	"ALTER TABLE notifications ADD COLUMN body_codec INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE notifications ADD COLUMN body_size INTEGER NOT NULL DEFAULT 0;"
	"UPDATE notifications SET body_size = length(body);"
	"CREATE INDEX notifications_key ON notifications(notify_key)"
	" WHERE notify_key IS NOT NULL;"
	"CREATE INDEX refunds_state ON refunds(state);";

static int
migrate_5(struct journal *j)
{
	_cleanup_stmt_once_ sqlite3_stmt *s = NULL, *u = NULL;
	int r, rc;

	r = journal_exec(j, migrate_5_sql);
	if (r < 0)
		return r;
	r = journal_prepare_once(j, "SELECT seq, body FROM notifications", &s);
	if (r < 0)
		return r;
	r = journal_prepare_once(j, "UPDATE notifications SET notify_key = ?2 WHERE seq = ?1", &u);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char id[JOURNAL_NOTIFY_ID_MAX + 1];

		if (journal_body_notify_id(sqlite3_column_blob(s, 1),
					   (size_t)sqlite3_column_bytes(s, 1), id,
					   sizeof(id)) < 0 ||
		    !*id)
			continue;
		sqlite3_reset(u);
		sqlite3_bind_int64(u, 1, sqlite3_column_int64(s, 0));
		sqlite3_bind_int64(u, 2, journal_notify_key(id));
		r = journal_step_done(j, u, "notification key");
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : journal_fail(j, rc, "notification keys");
}

/*
 * Schema 6 (doc/engine.md "Schema and migrations", "Journal size"): every order gets an integer
 * key, and the event log and the notifications name their order by it instead of repeating its
 * 30-odd-byte out_trade_no in every row and index entry (event_rows, notification_rows; a
 * notification of an order this journal does not have keeps the out_trade_no it named). The
 * views events and notifications give the rows back as earlier schemas stored them. The index of
 * idempotency keys holds only the orders that have one.
 */
static const char migrate_6_sql[] =
	"ALTER TABLE orders ADD COLUMN order_key INTEGER;"
	"UPDATE orders SET order_key = rowid;"
	"CREATE UNIQUE INDEX orders_key ON orders(order_key);"
	"DROP INDEX orders_idem_key;"
	"CREATE UNIQUE INDEX orders_idem_key ON orders(idem_key) WHERE idem_key IS NOT NULL;"
	"CREATE TABLE event_rows ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" order_key INTEGER NOT NULL REFERENCES orders(order_key),"
	" at_usec INTEGER NOT NULL,"
	" what TEXT NOT NULL,"
	" from_state TEXT NOT NULL,"
	" to_state TEXT NOT NULL,"
	" request TEXT NOT NULL DEFAULT '');"
	"INSERT INTO event_rows(seq, order_key, at_usec, what, from_state, to_state, request)"
	" SELECT e.seq, o.order_key, e.at_usec, e.what, e.from_state, e.to_state, e.request"
	" FROM events e JOIN orders o ON o.id = e.order_id ORDER BY e.seq;"
	"CREATE TABLE body_dicts ("
	" id INTEGER PRIMARY KEY,"
	" made_usec INTEGER NOT NULL,"
	" dict BLOB NOT NULL);"
	"CREATE TABLE notification_rows ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" received_usec INTEGER NOT NULL,"
	" order_key INTEGER REFERENCES orders(order_key),"
	" out_trade_no TEXT NOT NULL DEFAULT '',"
	" body BLOB NOT NULL,"
	" verified INTEGER NOT NULL,"
	" outcome TEXT NOT NULL DEFAULT '',"
	" notify_key INTEGER,"
	" body_codec INTEGER NOT NULL DEFAULT 0,"
	" body_size INTEGER NOT NULL DEFAULT 0,"
	" body_dict INTEGER REFERENCES body_dicts(id),"
	" CHECK (order_key IS NULL OR out_trade_no = ''));"
	"INSERT INTO notification_rows(seq, received_usec, order_key, out_trade_no, body, verified,"
	" outcome, notify_key, body_codec, body_size)"
	" SELECT n.seq, n.received_usec, o.order_key, IIF(o.order_key IS NULL, n.out_trade_no, ''),"
	" n.body, n.verified, n.outcome, n.notify_key, n.body_codec, n.body_size"
	" FROM notifications n LEFT JOIN orders o ON o.id = n.out_trade_no ORDER BY n.seq;";

/* After the copies: the numbers handed out go on from where the old tables left them. */
static const char migrate_6_finish_sql[] =
	"DELETE FROM sqlite_sequence WHERE name IN ('event_rows', 'notification_rows');"
	"INSERT INTO sqlite_sequence(name, seq) SELECT 'event_rows', seq FROM sqlite_sequence"
	" WHERE name = 'events';"
	"INSERT INTO sqlite_sequence(name, seq) SELECT 'notification_rows', seq FROM "
	"sqlite_sequence"
	" WHERE name = 'notifications';"
	"DROP TABLE events;"
	"DROP TABLE notifications;"
	"CREATE INDEX event_rows_order ON event_rows(order_key);"
	"CREATE TRIGGER event_rows_no_update BEFORE UPDATE ON event_rows"
	" BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE TRIGGER event_rows_no_delete BEFORE DELETE ON event_rows"
	" BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE INDEX notification_rows_key ON notification_rows(notify_key)"
	" WHERE notify_key IS NOT NULL;"
	"CREATE VIEW events AS SELECT e.seq AS seq, o.id AS order_id, e.at_usec AS at_usec,"
	" e.what AS what, e.from_state AS from_state, e.to_state AS to_state, e.request AS request"
	" FROM event_rows e JOIN orders o ON o.order_key = e.order_key;"
	"CREATE VIEW notifications AS SELECT n.seq AS seq, n.received_usec AS received_usec,"
	" COALESCE(o.id, n.out_trade_no) AS out_trade_no, n.body AS body, n.verified AS verified,"
	" n.outcome AS outcome, n.notify_key AS notify_key, n.body_codec AS body_codec,"
	" n.body_size AS body_size, n.body_dict AS body_dict"
	" FROM notification_rows n LEFT JOIN orders o ON o.order_key = n.order_key;"
	"CREATE TRIGGER body_dicts_no_update BEFORE UPDATE ON body_dicts"
	" BEGIN SELECT RAISE(ABORT, 'kept bodies are packed with it'); END;"
	"CREATE TRIGGER body_dicts_no_delete BEFORE DELETE ON body_dicts"
	" BEGIN SELECT RAISE(ABORT, 'kept bodies are packed with it'); END;";

static int
migrate_6(struct journal *j)
{
	int64_t before, after;
	int r;

	r = journal_exec(j, migrate_6_sql);
	if (r < 0)
		return r;
	/* Every row moves, or the journal stays as it was: an event of an order the journal does
	 * not hold (a hand-edited journal) has no key to be kept under. */
	r = pragma_int(j,
		       "SELECT (SELECT COUNT(*) FROM events) - (SELECT COUNT(*) FROM event_rows)",
		       &before);
	if (r < 0)
		return r;
	r = pragma_int(j,
		       "SELECT (SELECT COUNT(*) FROM notifications) -"
		       " (SELECT COUNT(*) FROM notification_rows)",
		       &after);
	if (r < 0)
		return r;
	if (before != 0 || after != 0)
		return log_error_errno(EUCLEAN,
				       "Journal %s: %" PRId64 " events and %" PRId64
				       " notifications name no order of the journal",
				       j->path, before, after);
	return journal_exec(j, migrate_6_finish_sql);
}

/*
 * The schema's history: migrations[i] takes a journal from version migrations[i].version - 1 to
 * migrations[i].version. A new schema appends a step here and raises JOURNAL_SCHEMA_VERSION;
 * steps are never edited once released (journals in the field ran them).
 */
static const struct migration {
	int version;
	const char *what;
	int (*apply)(struct journal *j);
} migrations[] = {
	{2, "install id, idempotency keys, waiting scan orders", migrate_2},
	{3, "cashiers and receipts", migrate_3},
	{4, "orders of other tills refunded here", migrate_4},
	{5, "packed notifications, notify keys", migrate_5},
	{6, "order keys in the event log and the notifications", migrate_6},
};

/* Runs the steps after version `from`, inside the caller's transaction. */
static int
journal_migrate_in_txn(struct journal *j, int64_t from)
{
	char sql[64];
	int r;

	_Static_assert(ELEMENTSOF(migrations) == JOURNAL_SCHEMA_VERSION - 1,
		       "one migration per schema version");
	for (size_t i = 0; i < ELEMENTSOF(migrations); i++) {
		if (migrations[i].version <= from)
			continue;
		r = migrations[i].apply(j);
		if (r < 0)
			return log_error_errno(r, "Journal %s: migration to schema %d (%s) failed",
					       j->path, migrations[i].version, migrations[i].what);
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", JOURNAL_SCHEMA_VERSION);
	return journal_exec(j, sql);
}

/* Migrates an older journal in place, all steps in one transaction (all or nothing). */
static int
journal_migrate(struct journal *j, int64_t from)
{
	int r;

	log_notice("Journal %s has schema %" PRId64 ": migrating it in place to schema %d", j->path,
		   from, JOURNAL_SCHEMA_VERSION);
	r = journal_begin(j);
	if (r < 0)
		return r;
	r = journal_migrate_in_txn(j, from);
	if (r >= 0)
		r = journal_commit(j);
	if (r < 0) {
		journal_rollback(j);
		return log_error_errno(r,
				       "Journal %s was left as it was (schema %" PRId64
				       "): the migration did not complete.",
				       j->path, from);
	}
	/* Nothing compiled against the old schema stays kept. */
	journal_stmts_clear(j);
	log_notice("Journal %s migrated to schema %d", j->path, JOURNAL_SCHEMA_VERSION);
	return 0;
}

static int
journal_load_ids(struct journal *j)
{
	_cleanup_stmt_once_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare_once(j, "SELECT value FROM meta WHERE name = 'install_id'", &s);
	if (r < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return log_error_errno(EUCLEAN, "Journal %s has no install id. Refusing to start.",
				       j->path);
	copy_text(j->install_id, sizeof(j->install_id), sqlite3_column_text(s, 0));
	if (strlen(j->install_id) != JOURNAL_INSTALL_ID_LEN)
		return log_error_errno(EUCLEAN,
				       "Journal %s has a damaged install id. Refusing to "
				       "start.",
				       j->path);
	/* A restored backup, a cloned disk or a lost write-ahead file may bring back an older
	 * counter: the numbers of this run are new ones anyway. */
	r = random_id(j->run_id, JOURNAL_RUN_ID_LEN);
	if (r < 0)
		return log_error_errno(r, "Journal %s: no random run id: %m", j->path);
	log_info("Journal %s: install id %s, run %s", j->path, j->install_id, j->run_id);
	return 0;
}

const char *
journal_install_id(const struct journal *j)
{
	return j->install_id;
}

const char *
journal_run_id(const struct journal *j)
{
	return j->run_id;
}

static int
journal_create_file(struct journal *j, const char *path)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1;
	char sql[128];
	int r, rc;

	if (asprintf(&tmp, "%s.new", path) < 0)
		return log_error_errno(ENOMEM, "Out of memory");
	/* A leftover from a crash during creation never held an order: start it again. */
	(void)unlink(tmp);
	rc = sqlite3_open_v2(tmp, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     journal_vfs_name());
	if (rc != SQLITE_OK)
		return log_error_errno(sqlite_to_errno(rc), "Failed to create journal %s: %s", tmp,
				       j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
	/* doc/engine.md "Page size": a commit writes each page it changes whole to the write-ahead
	 * file; an order changes about 20, so 2 KiB pages write 37 KB an order, not 72 KB. Set
	 * before the first write: a journal keeps the page size it was made with. */
	r = journal_exec(j, "PRAGMA page_size=2048");
	if (r < 0)
		return r;
	r = journal_set_pragmas(j);
	if (r < 0)
		return r;
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d", JOURNAL_APPLICATION_ID);
	r = journal_exec(j, sql);
	if (r < 0)
		return r;
	r = journal_begin(j);
	if (r < 0)
		return r;
	r = journal_exec(j, schema_sql);
	if (r >= 0)
		r = journal_migrate_in_txn(j, 1);
	if (r >= 0)
		r = journal_commit(j);
	if (r < 0) {
		journal_rollback(j);
		return r;
	}
	/* Close so the WAL is checkpointed into the file, then move the complete file in place. */
	journal_stmts_clear(j);
	sqlite3_close(j->db);
	j->db = NULL;
	if (rename(tmp, path) < 0)
		return log_error_errno(errno, "Failed to move new journal %s to %s: %m", tmp, path);
	dir = strdup(path);
	if (!dir)
		return log_error_errno(ENOMEM, "Out of memory");
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	log_info("Created journal %s (schema %d)", path, JOURNAL_SCHEMA_VERSION);
	return 0;
}

int
journal_open(const char *path, struct journal **ret)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char header[16];
	struct stat st;
	bool clean;
	int64_t v;
	int r, rc;

	if (isempty(path))
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return log_error_errno(ENOMEM, "Out of memory");
	j->path = strdup(path);
	if (!j->path)
		return log_error_errno(ENOMEM, "Out of memory");

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return log_error_errno(errno, "Failed to access journal %s: %m", path);
		r = journal_create_file(j, path);
		if (r < 0)
			return r;
		if (stat(path, &st) < 0)
			return log_error_errno(errno, "Failed to access journal %s: %m", path);
	}
	if (!S_ISREG(st.st_mode))
		return log_error_errno(EUCLEAN, "Journal %s is not a regular file.", path);
	if (st.st_size == 0)
		return log_error_errno(EUCLEAN,
				       "Journal %s is empty (truncated?). Refusing to start with a "
				       "blank journal: restore it from a backup or remove it.",
				       path);
	{
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return log_error_errno(errno, "Failed to open journal %s: %m", path);
		if (read(fd, header, sizeof(header)) != (ssize_t)sizeof(header) ||
		    memcmp(header, "SQLite format 3", sizeof(header)) != 0)
			return log_error_errno(EUCLEAN,
					       "Journal %s is not an SQLite database (damaged or "
					       "truncated header). Refusing to start.",
					       path);
	}

	clean = journal_take_clean_record(path);
	rc = sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE, journal_vfs_name());
	if (rc != SQLITE_OK)
		return log_error_errno(sqlite_to_errno(rc), "Failed to open journal %s: %s", path,
				       j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
	/* doc/engine.md "Integrity check": reading every page costs a start hundreds of ms on a
	 * big journal; it is done when the journal was not closed cleanly, or changed since. */
	if (!clean) {
		log_info("Journal %s was not closed cleanly (or changed since): checking it", path);
		j->checked = true;
		r = journal_quick_check(j);
		if (r < 0)
			return r;
	}
	r = pragma_int(j, "PRAGMA application_id", &v);
	if (r < 0)
		return r;
	if (v != JOURNAL_APPLICATION_ID)
		return log_error_errno(EUCLEAN,
				       "%s is an SQLite file but not an f2fpayd journal "
				       "(application_id %" PRId64 "). Refusing to use it.",
				       path, v);
	r = pragma_int(j, "PRAGMA user_version", &v);
	if (r < 0)
		return r;
	if (v > JOURNAL_SCHEMA_VERSION)
		return log_error_errno(EPROTONOSUPPORT,
				       "Journal %s has schema version %" PRId64
				       ", newer than this f2fpayd understands (%d). Refusing to "
				       "start: run the newer version.",
				       path, v, JOURNAL_SCHEMA_VERSION);
	if (v < 1)
		return log_error_errno(EUCLEAN,
				       "Journal %s has no schema (version %" PRId64
				       "). Refusing to start.",
				       path, v);
	r = journal_set_pragmas(j);
	if (r < 0)
		return r;
	if (v < JOURNAL_SCHEMA_VERSION) {
		r = journal_migrate(j, v);
		if (r < 0)
			return r;
	}
	r = journal_load_ids(j);
	if (r < 0)
		return r;
	j->opened = true;
	*ret = TAKE_PTR(j);
	return 0;
}

int
journal_checkpoint(struct journal *j)
{
	int r = sqlite_to_errno(
		sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL));

	if (r >= 0)
		j->wal_pages = 0;
	return r;
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	journal_stmts_clear(j);
	/* sqlite3_close() fails while a statement is open: then it is no clean close. */
	if (j->db && sqlite3_close(j->db) == SQLITE_OK && j->opened)
		journal_record_clean_close(j->path);
	free(j->path);
	free(j);
}

void
journal_inject_failures(struct journal *j, unsigned n)
{
	j->fail_next = n;
}

static int
journal_injected_failure(struct journal *j, const char *what)
{
	if (j->fail_next == 0)
		return 0;
	j->fail_next--;
	return log_error_errno(EIO, "Journal %s: %s failed (injected)", j->path, what);
}

static bool
terminal_is_valid_n(const char *t, size_t n)
{
	if (n == 0 || n > JOURNAL_TERMINAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_'))
			return false;
	}
	return true;
}

static int
counter_increment(struct journal *j, const char *name, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    "INSERT INTO counters(name, value) VALUES (?1, 1) "
			    "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "counter increment");
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* Inside a transaction. */
static int
allocate_in_txn(struct journal *j, const char *terminal, time_t now,
		char buf[static ORDER_ID_MAX + 1])
{
	char date[BEIJING_DATE_BUF];
	int64_t seq = 0;
	int r;

	if (!terminal || !terminal_is_valid_n(terminal, strlen(terminal)))
		return log_error_errno(EINVAL, "Invalid terminal id for out_trade_no: \"%s\"",
				       strempty(terminal));
	r = counter_increment(j, "out_trade_no_seq", &seq);
	if (r < 0)
		return r;
	/* doc/engine.md "Trade numbers": the date in UTC+8; the install and run ids keep the
	 * numbers of cloned, restored and replaced journals apart. Room stays for "_r<n>". */
	beijing_format_date(now, 0, date);
	if (snprintf(buf, ORDER_ID_MAX + 1, "%s_%s_%s_%s_%" PRId64, terminal, date, j->install_id,
		     j->run_id, seq) > ORDER_ID_MAX - 5)
		return log_error_errno(E2BIG, "out_trade_no %s is too long", buf);
	return 0;
}

static bool
field_is(const char *s, size_t n, size_t want, const char *alphabet)
{
	if ((want && n != want) || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr(alphabet, s[i]))
			return false;
	return true;
}

int
journal_trade_no_install(const char *out_trade_no, char buf[static JOURNAL_INSTALL_ID_LEN + 1])
{
	static const char digits[] = "0123456789", id_chars[] = "abcdefghijklmnopqrstuvwxyz234567";
	/* <terminal>_<yyyymmdd>_<install>_<run>_<seq>, read from the end. */
	static const struct {
		size_t len;
		const char *alphabet;
	} fields[] = {{0, digits},
		      {JOURNAL_RUN_ID_LEN, id_chars},
		      {JOURNAL_INSTALL_ID_LEN, id_chars},
		      {8, digits}};
	const char *end, *install = NULL;

	if (!out_trade_no)
		return -EINVAL;
	end = out_trade_no + strlen(out_trade_no);
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		const char *start = end;
		while (start > out_trade_no && start[-1] != '_')
			start--;
		if (start == out_trade_no ||
		    !field_is(start, (size_t)(end - start), fields[i].len, fields[i].alphabet))
			return -EINVAL;
		if (i == 2)
			install = start;
		end = start - 1;
	}
	if (end == out_trade_no || !terminal_is_valid_n(out_trade_no, (size_t)(end - out_trade_no)))
		return -EINVAL;
	memcpy(buf, install, JOURNAL_INSTALL_ID_LEN);
	buf[JOURNAL_INSTALL_ID_LEN] = 0;
	return 0;
}

int
journal_allocate_out_trade_no(struct journal *j, const char *terminal, time_t now,
			      char buf[static ORDER_ID_MAX + 1])
{
	char id[ORDER_ID_MAX + 1];
	int r;

	r = journal_begin(j);
	if (r < 0)
		return r;
	r = allocate_in_txn(j, terminal, now, id);
	if (r >= 0)
		r = journal_commit(j);
	if (r < 0) {
		journal_rollback(j);
		return r;
	}
	memcpy(buf, id, sizeof(id));
	return 0;
}

static int
event_append(struct journal *j, const char *order_id, usec_t now_usec, const char *what,
	     const char *from, const char *to, const char *request)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	/* Schema 6: the row names its order by the order's key. */
	r = journal_prepare(
		j,
		"INSERT INTO event_rows(order_key, at_usec, what, from_state, to_state, "
		"request) SELECT order_key, ?2, ?3, ?4, ?5, ?6 FROM orders WHERE id = ?1",
		&s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now_usec);
	sqlite3_bind_text(s, 3, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, request, -1, SQLITE_STATIC);
	r = journal_step_done(j, s, "event append");
	if (r < 0)
		return r;
	if (sqlite3_changes(j->db) != 1)
		return log_error_errno(ENOENT, "Journal %s: no order %s for its event", j->path,
				       order_id);
	if (sqlite3_get_autocommit(j->db))
		j->event_seq = sqlite3_last_insert_rowid(j->db);
	else
		j->event_seq_pending = sqlite3_last_insert_rowid(j->db);
	return 0;
}

static const char *
order_request_column(enum order_request r)
{
	return r == ORDER_REQ_NONE ? "" : order_request_to_string(r);
}

static const char *
refund_request_column(enum refund_request r)
{
	return r == REFUND_REQ_NONE ? "" : refund_request_to_string(r);
}

#define ORDER_COLUMNS                                                                            \
	"id, kind, amount_fen, refunded_fen, subject, auth_code_masked, COALESCE(pos_ref, ''), " \
	"state, state_since_usec, expires_usec, queries_left, cancel_attempts, "                 \
	"attention_count, abort_requested, expired, sub_code, qr_code, trade_no, "               \
	"pending_request, created_usec, "                                                        \
	"(SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r WHERE r.order_id = orders.id "    \
	"AND r.state NOT IN " REFUND_FINAL_SQL "), COALESCE(idem_key, ''), "                     \
	"operator_id, gmt_payment, buyer_logon_id, fund_bill_list, receipt_fen, buyer_pay_fen, " \
	"point_fen, invoice_fen, discount_fen, mdiscount_fen"

static int
order_from_row(struct journal *j, sqlite3_stmt *s, struct journal_order *o)
{
	const char *kind = (const char *)sqlite3_column_text(s, 1);
	const char *state = (const char *)sqlite3_column_text(s, 7);
	const char *pending = (const char *)sqlite3_column_text(s, 18);

	*o = (struct journal_order){.receipt = JOURNAL_RECEIPT_INIT};
	copy_text(o->fsm.id, sizeof(o->fsm.id), sqlite3_column_text(s, 0));
	if (order_kind_from_string(kind, &o->fsm.kind) < 0 ||
	    order_state_from_string(state, &o->fsm.state) < 0)
		return log_error_errno(EUCLEAN, "Journal %s: order %s has kind \"%s\" state \"%s\"",
				       j->path, o->fsm.id, strna(kind), strna(state));
	o->amount_fen = sqlite3_column_int64(s, 2);
	o->refunded_fen = sqlite3_column_int64(s, 3);
	copy_text(o->subject, sizeof(o->subject), sqlite3_column_text(s, 4));
	copy_text(o->auth_code_masked, sizeof(o->auth_code_masked), sqlite3_column_text(s, 5));
	copy_text(o->pos_ref, sizeof(o->pos_ref), sqlite3_column_text(s, 6));
	o->fsm.state_since_usec = (usec_t)sqlite3_column_int64(s, 8);
	o->fsm.expires_usec = (usec_t)sqlite3_column_int64(s, 9);
	o->fsm.queries_left = (unsigned)sqlite3_column_int64(s, 10);
	o->fsm.cancel_attempts = (unsigned)sqlite3_column_int64(s, 11);
	o->fsm.attention_count = (unsigned)sqlite3_column_int64(s, 12);
	o->fsm.abort_requested = sqlite3_column_int64(s, 13) != 0;
	o->fsm.expired = sqlite3_column_int64(s, 14) != 0;
	copy_text(o->fsm.sub_code, sizeof(o->fsm.sub_code), sqlite3_column_text(s, 15));
	copy_text(o->qr_code, sizeof(o->qr_code), sqlite3_column_text(s, 16));
	copy_text(o->trade_no, sizeof(o->trade_no), sqlite3_column_text(s, 17));
	o->pending = ORDER_REQ_NONE;
	for (unsigned i = 1; i < _ORDER_REQ_MAX; i++)
		if (STR_EQ_PTR(pending, order_request_to_string(i)))
			o->pending = i;
	o->created_usec = (usec_t)sqlite3_column_int64(s, 19);
	o->pending_refund_fen = sqlite3_column_int64(s, 20);
	copy_text(o->idem_key, sizeof(o->idem_key), sqlite3_column_text(s, 21));
	copy_text(o->operator_id, sizeof(o->operator_id), sqlite3_column_text(s, 22));
	copy_text(o->receipt.gmt_payment, sizeof(o->receipt.gmt_payment),
		  sqlite3_column_text(s, 23));
	copy_text(o->receipt.buyer_logon_id, sizeof(o->receipt.buyer_logon_id),
		  sqlite3_column_text(s, 24));
	copy_text(o->receipt.fund_bill_list, sizeof(o->receipt.fund_bill_list),
		  sqlite3_column_text(s, 25));
	int64_t *fen[] = {&o->receipt.receipt_fen,  &o->receipt.buyer_pay_fen,
			  &o->receipt.point_fen,    &o->receipt.invoice_fen,
			  &o->receipt.discount_fen, &o->receipt.mdiscount_fen};
	for (int i = 0; i < (int)ELEMENTSOF(fen); i++)
		*fen[i] = sqlite3_column_type(s, 26 + i) == SQLITE_NULL
				  ? -1
				  : sqlite3_column_int64(s, 26 + i);
	return 0;
}

int
journal_order_create(struct journal *j, const char *terminal, enum order_kind kind,
		     int64_t amount_fen, const char *subject, const char *auth_code,
		     const char *pos_ref, usec_t now_usec, struct journal_order *ret,
		     char ret_existing_id[static ORDER_ID_MAX + 1])
{
	struct journal_order_request req = {
		.terminal = terminal,
		.kind = kind,
		.amount_fen = amount_fen,
		.subject = subject,
		.auth_code = auth_code,
		.pos_ref = pos_ref,
		.idem_key = pos_ref,
	};
	char existing[ORDER_ID_MAX + 1];
	int r;

	r = journal_order_new(j, &req, now_usec, ret, existing);
	if ((r == -EEXIST || r == -EKEYREJECTED) && ret_existing_id)
		memcpy(ret_existing_id, existing, sizeof(existing));
	return r == -EKEYREJECTED ? -EEXIST : r;
}

static int order_store_in_txn(struct journal *j, const struct journal_order *o, usec_t now_usec);

/* Inside a transaction: 0 when the key is new, -EEXIST / -EKEYREJECTED (see the header). */
static int
idem_key_lookup(struct journal *j, const struct journal_order_request *req,
		char existing[static ORDER_ID_MAX + 1])
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const char *fp;
	int r, rc;

	r = journal_prepare(j, "SELECT id, request_fp FROM orders WHERE idem_key = ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, req->idem_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "idempotency key lookup");
	copy_text(existing, ORDER_ID_MAX + 1, sqlite3_column_text(s, 0));
	fp = (const char *)sqlite3_column_text(s, 1);
	/* Orders of schema 1 have no fingerprint: their key replays, as it did then. */
	if (fp && req->fingerprint && !STR_EQ(fp, req->fingerprint))
		return -EKEYREJECTED;
	return -EEXIST;
}

int
journal_order_new(struct journal *j, const struct journal_order_request *req, usec_t now_usec,
		  struct journal_order *ret, char ret_existing_id[static ORDER_ID_MAX + 1])
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct journal_order o = {.receipt = JOURNAL_RECEIPT_INIT};
	char id[ORDER_ID_MAX + 1];
	bool waits = req->kind == ORDER_KIND_SCAN && !req->auth_code && req->code_wait_usec > 0;
	const char *key = !isempty(req->idem_key) ? req->idem_key : NULL;
	int r;

	if (req->amount_fen <= 0 || isempty(req->subject) || (unsigned)req->kind >= _ORDER_KIND_MAX)
		return -EINVAL;
	if (strlen(req->subject) > JOURNAL_SUBJECT_MAX ||
	    (req->auth_code && strlen(req->auth_code) > JOURNAL_AUTH_CODE_MAX) ||
	    (req->pos_ref && strlen(req->pos_ref) > JOURNAL_POS_REF_MAX) ||
	    (key && strlen(key) > JOURNAL_IDEM_KEY_MAX) ||
	    (req->fingerprint && strlen(req->fingerprint) > JOURNAL_FINGERPRINT_MAX) ||
	    (req->operator_id && strlen(req->operator_id) > JOURNAL_OPERATOR_MAX))
		return -E2BIG;
	/* The pos_ref is the key when both are given (the API refuses them different). */
	if (!isempty(req->pos_ref) && key && !STR_EQ(key, req->pos_ref))
		return -EINVAL;
	if (!isempty(req->pos_ref))
		key = req->pos_ref;

	r = journal_begin(j);
	if (r < 0)
		return r;
	if (key) {
		/* doc/design.md §7: the same key returns the same order, never a second charge. */
		struct journal_order_request k = *req;
		k.idem_key = key;
		r = idem_key_lookup(j, &k, ret_existing_id);
		if (r < 0)
			goto fail;
	}

	r = allocate_in_txn(j, req->terminal, (time_t)(now_usec / USEC_PER_SEC), id);
	if (r < 0)
		goto fail;
	r = order_init(&o.fsm, id, req->kind, now_usec);
	if (r < 0)
		goto fail;
	if (waits) {
		o.fsm.state = ORDER_WAITING_CODE;
		o.fsm.expires_usec = now_usec + req->code_wait_usec;
	}
	o.amount_fen = req->amount_fen;
	copy_text(o.subject, sizeof(o.subject), (const unsigned char *)req->subject);
	paycode_mask(req->auth_code, o.auth_code_masked);
	copy_text(o.pos_ref, sizeof(o.pos_ref), (const unsigned char *)req->pos_ref);
	copy_text(o.idem_key, sizeof(o.idem_key), (const unsigned char *)key);
	copy_text(o.operator_id, sizeof(o.operator_id), (const unsigned char *)req->operator_id);
	o.created_usec = now_usec;

	r = journal_prepare(j,
			    "INSERT INTO orders(id, kind, amount_fen, subject, auth_code_masked, "
			    "pos_ref, state, state_since_usec, created_usec, updated_usec, "
			    "expires_usec, idem_key, request_fp, operator_id, order_key) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8, ?9, ?10, ?11, "
			    "?12, " NEXT_ORDER_KEY_SQL ")",
			    &s);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(s, 1, o.fsm.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, order_kind_to_string(req->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, req->amount_fen);
	sqlite3_bind_text(s, 4, o.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, o.auth_code_masked, -1, SQLITE_STATIC);
	if (isempty(req->pos_ref))
		sqlite3_bind_null(s, 6);
	else
		sqlite3_bind_text(s, 6, o.pos_ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, order_state_to_string(o.fsm.state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)now_usec);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)o.fsm.expires_usec);
	if (key)
		sqlite3_bind_text(s, 10, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 10);
	if (key && req->fingerprint)
		sqlite3_bind_text(s, 11, req->fingerprint, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 11);
	sqlite3_bind_text(s, 12, o.operator_id, -1, SQLITE_STATIC);
	r = journal_step_done(j, s, "order insert");
	if (r < 0)
		goto fail;
	if (req->first_move) {
		r = req->first_move(&o, req->first_move_userdata);
		if (r < 0)
			goto fail;
		if (r > 0) {
			r = order_store_in_txn(j, &o, now_usec);
			if (r < 0)
				goto fail;
		}
	}
	/* One row for the order's birth: the state and the request its first move gave it. */
	r = event_append(j, o.fsm.id, now_usec, "created", "", order_state_to_string(o.fsm.state),
			 order_request_column(o.pending));
	if (r < 0)
		goto fail;
	r = journal_commit(j);
	if (r < 0)
		goto fail;
	*ret = o;
	return 0;
fail:
	journal_rollback(j);
	return r;
}

/* Inside a transaction: stores o (journal_order_save() without its event row). */
static int
order_store_in_txn(struct journal *j, const struct journal_order *o, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const char *req = order_request_column(o->pending);
	int r;

	r = journal_prepare(
		j,
		"UPDATE orders SET state = ?2, state_since_usec = ?3, "
		"expires_usec = ?4, queries_left = ?5, cancel_attempts = ?6, "
		"attention_count = ?7, abort_requested = ?8, expired = ?9, "
		"sub_code = ?10, qr_code = ?11, trade_no = ?12, pending_request = ?13, "
		"updated_usec = ?14, auth_code_masked = ?15, gmt_payment = ?16, "
		"buyer_logon_id = ?17, fund_bill_list = ?18, receipt_fen = ?19, "
		"buyer_pay_fen = ?20, point_fen = ?21, invoice_fen = ?22, "
		"discount_fen = ?23, mdiscount_fen = ?24, operator_id = ?25 WHERE id = ?1",
		&s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, o->fsm.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, order_state_to_string(o->fsm.state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)o->fsm.state_since_usec);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)o->fsm.expires_usec);
	sqlite3_bind_int64(s, 5, o->fsm.queries_left);
	sqlite3_bind_int64(s, 6, o->fsm.cancel_attempts);
	sqlite3_bind_int64(s, 7, o->fsm.attention_count);
	sqlite3_bind_int(s, 8, o->fsm.abort_requested);
	sqlite3_bind_int(s, 9, o->fsm.expired);
	sqlite3_bind_text(s, 10, o->fsm.sub_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, o->qr_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 12, o->trade_no, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 13, req, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)now_usec);
	sqlite3_bind_text(s, 15, o->auth_code_masked, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 16, o->receipt.gmt_payment, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 17, o->receipt.buyer_logon_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 18, o->receipt.fund_bill_list, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 25, o->operator_id, -1, SQLITE_STATIC);
	{
		const int64_t fen[] = {o->receipt.receipt_fen,  o->receipt.buyer_pay_fen,
				       o->receipt.point_fen,    o->receipt.invoice_fen,
				       o->receipt.discount_fen, o->receipt.mdiscount_fen};
		for (int i = 0; i < (int)ELEMENTSOF(fen); i++)
			if (fen[i] >= 0)
				sqlite3_bind_int64(s, 19 + i, fen[i]);
	}
	r = journal_step_done(j, s, "order update");
	if (r < 0)
		return r;
	if (sqlite3_changes(j->db) != 1)
		return log_error_errno(ENOENT, "Journal %s: no order %s to update", j->path,
				       o->fsm.id);
	return 0;
}

int
journal_order_save(struct journal *j, const struct journal_order *o, const char *what,
		   enum order_state from_state, usec_t now_usec)
{
	int r;

	r = journal_injected_failure(j, "order save");
	if (r < 0)
		return r;
	r = journal_begin(j);
	if (r < 0)
		return r;
	r = order_store_in_txn(j, o, now_usec);
	if (r >= 0)
		r = event_append(
			j, o->fsm.id, now_usec, strempty(what), order_state_to_string(from_state),
			order_state_to_string(o->fsm.state), order_request_column(o->pending));
	if (r >= 0)
		r = journal_commit(j);
	if (r < 0)
		journal_rollback(j);
	return r;
}

int
journal_order_save_deferred(struct journal *j, const struct journal_order *o, const char *what,
			    enum order_state from_state, usec_t now_usec)
{
	int r = sync_defer(j);

	if (r < 0)
		return r;
	r = journal_order_save(j, o, what, from_state, now_usec);
	sync_restore(j);
	return r;
}

int
journal_order_get(struct journal *j, const char *id, struct journal_order *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct journal_order o;
	int r, rc;

	r = journal_prepare(j, "SELECT " ORDER_COLUMNS " FROM orders WHERE id = ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "order lookup");
	r = order_from_row(j, s, &o);
	if (r < 0)
		return r;
	*ret = o;
	return 0;
}

/*
 * The unfinished orders' query names the states that are not final, made from the state machine
 * itself: "state IN (…)" is answered from the orders_state index, where "NOT IN (final)" read
 * every order ever taken (the status line and GET /v1/status ask on every transition).
 */
static const char *
unfinished_orders_sql(void)
{
	static char sql[sizeof("SELECT " ORDER_COLUMNS
			       " FROM orders WHERE state IN () ORDER BY rowid") +
			_ORDER_STATE_MAX * 32];
	size_t len;

	if (sql[0])
		return sql;
	len = (size_t)snprintf(sql, sizeof(sql),
			       "SELECT " ORDER_COLUMNS " FROM orders WHERE state IN (");
	for (int st = 0; st < _ORDER_STATE_MAX; st++)
		if (!order_state_is_final((enum order_state)st))
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s'%s'",
						sql[len - 1] == '(' ? "" : ",",
						order_state_to_string((enum order_state)st));
	snprintf(sql + len, sizeof(sql) - len, ") ORDER BY rowid");
	return sql;
}

int
journal_order_foreach(struct journal *j, bool unfinished_only, journal_order_cb cb, void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    unfinished_only ? unfinished_orders_sql()
					    : "SELECT " ORDER_COLUMNS " FROM orders ORDER BY rowid",
			    &s);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct journal_order o;
		r = order_from_row(j, s, &o);
		if (r < 0)
			return r;
		r = cb(&o, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "order listing");
	return 0;
}

int
journal_order_page(struct journal *j, const struct journal_order_filter *f, journal_order_cb cb,
		   void *userdata, int64_t *ret_next)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	unsigned n = 0;
	int64_t last = 0;
	int r, rc;

	/* The rowid is the position: assigned in insertion order, and orders are never deleted. */
	r = journal_prepare(j,
			    "SELECT " ORDER_COLUMNS ", rowid FROM orders WHERE rowid > ?1"
			    " AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR kind = ?3)"
			    " AND (?4 IS NULL OR pos_ref = ?4) AND created_usec >= ?5"
			    " AND (?6 = 0 OR created_usec < ?6) ORDER BY rowid LIMIT ?7",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, f->after);
	if (f->by_state)
		sqlite3_bind_text(s, 2, order_state_to_string(f->state), -1, SQLITE_STATIC);
	if (f->by_kind)
		sqlite3_bind_text(s, 3, order_kind_to_string(f->kind), -1, SQLITE_STATIC);
	if (f->pos_ref)
		sqlite3_bind_text(s, 4, f->pos_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)f->from_usec);
	sqlite3_bind_int64(s, 6, (int64_t)f->to_usec);
	/* One more than asked: whether another page follows. */
	sqlite3_bind_int64(s, 7, (int64_t)f->limit + 1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct journal_order o;
		if (n == f->limit) {
			*ret_next = last;
			return 0;
		}
		r = order_from_row(j, s, &o);
		if (r < 0)
			return r;
		last = sqlite3_column_int64(s, sqlite3_column_count(s) - 1);
		n++;
		r = cb(&o, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "order page");
	*ret_next = 0;
	return 0;
}

int
journal_event_foreach(struct journal *j, const char *order_id, journal_event_cb cb, void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    "SELECT seq, at_usec, what, from_state, to_state, request FROM events "
			    "WHERE order_id = ?1 ORDER BY seq",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct journal_event e = {
			.seq = sqlite3_column_int64(s, 0),
			.at_usec = (usec_t)sqlite3_column_int64(s, 1),
		};
		copy_text(e.what, sizeof(e.what), sqlite3_column_text(s, 2));
		copy_text(e.from_state, sizeof(e.from_state), sqlite3_column_text(s, 3));
		copy_text(e.to_state, sizeof(e.to_state), sqlite3_column_text(s, 4));
		copy_text(e.request, sizeof(e.request), sqlite3_column_text(s, 5));
		r = cb(&e, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "event listing");
	return 0;
}

/* The log in sequence order, for copying it elsewhere (doc/central.md "Shipping"). */
int
journal_log_after(struct journal *j, int64_t after_seq, unsigned max, journal_log_cb cb,
		  void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_settle(j);
	if (r < 0)
		return r;
	r = journal_prepare(j,
			    "SELECT seq, at_usec, what, from_state, to_state, request, order_id "
			    "FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, after_seq);
	sqlite3_bind_int64(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct journal_log_entry e = {
			.ev.seq = sqlite3_column_int64(s, 0),
			.ev.at_usec = (usec_t)sqlite3_column_int64(s, 1),
		};
		copy_text(e.ev.what, sizeof(e.ev.what), sqlite3_column_text(s, 2));
		copy_text(e.ev.from_state, sizeof(e.ev.from_state), sqlite3_column_text(s, 3));
		copy_text(e.ev.to_state, sizeof(e.ev.to_state), sqlite3_column_text(s, 4));
		copy_text(e.ev.request, sizeof(e.ev.request), sqlite3_column_text(s, 5));
		copy_text(e.order_id, sizeof(e.order_id), sqlite3_column_text(s, 6));
		r = cb(&e, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "event log listing");
	return 0;
}

int
journal_log_last(struct journal *j, int64_t *ret_seq, usec_t *ret_at_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_settle(j);
	if (r < 0)
		return r;
	r = journal_prepare(j, "SELECT seq, at_usec FROM event_rows ORDER BY seq DESC LIMIT 1", &s);
	if (r < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		*ret_seq = 0;
		if (ret_at_usec)
			*ret_at_usec = 0;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "last event");
	*ret_seq = sqlite3_column_int64(s, 0);
	if (ret_at_usec)
		*ret_at_usec = (usec_t)sqlite3_column_int64(s, 1);
	return 0;
}

#define REFUND_COLUMNS                                                                    \
	"id, order_id, amount_fen, reason, state, state_since_usec, attempts, sub_code, " \
	"pending_request, created_usec"

static int
refund_from_row(struct journal *j, sqlite3_stmt *s, struct journal_refund *rf)
{
	const char *state = (const char *)sqlite3_column_text(s, 4);
	const char *pending = (const char *)sqlite3_column_text(s, 8);

	*rf = (struct journal_refund){};
	copy_text(rf->fsm.id, sizeof(rf->fsm.id), sqlite3_column_text(s, 0));
	if (refund_state_from_string(state, &rf->fsm.state) < 0)
		return log_error_errno(EUCLEAN, "Journal %s: refund %s has state \"%s\"", j->path,
				       rf->fsm.id, strna(state));
	copy_text(rf->order_id, sizeof(rf->order_id), sqlite3_column_text(s, 1));
	rf->amount_fen = sqlite3_column_int64(s, 2);
	copy_text(rf->reason, sizeof(rf->reason), sqlite3_column_text(s, 3));
	rf->fsm.state_since_usec = (usec_t)sqlite3_column_int64(s, 5);
	rf->fsm.attempts = (unsigned)sqlite3_column_int64(s, 6);
	copy_text(rf->fsm.sub_code, sizeof(rf->fsm.sub_code), sqlite3_column_text(s, 7));
	rf->pending = REFUND_REQ_NONE;
	for (unsigned i = 1; i < _REFUND_REQ_MAX; i++)
		if (STR_EQ_PTR(pending, refund_request_to_string(i)))
			rf->pending = i;
	rf->created_usec = (usec_t)sqlite3_column_int64(s, 9);
	return 0;
}

int
journal_refund_create(struct journal *j, const char *order_id, int64_t amount_fen,
		      const char *reason, usec_t now_usec, struct journal_refund *ret)
{
	return journal_refund_create_keyed(j, order_id, amount_fen, reason, NULL, now_usec, ret);
}

/* Inside a transaction: 0 when the order has no refund with that key. */
static int
refund_key_lookup(struct journal *j, const char *order_id, const char *key, int64_t amount_fen,
		  struct journal_refund *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    "SELECT " REFUND_COLUMNS " FROM refunds WHERE order_id = ?1 AND "
			    "idem_key = ?2",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "refund key lookup");
	r = refund_from_row(j, s, ret);
	if (r < 0)
		return r;
	return ret->amount_fen == amount_fen ? -EEXIST : -EKEYREJECTED;
}

/* Inside a transaction: the row of a new refund, state new, into *rf. */
static int
refund_insert(struct journal *j, const char *id, const char *order_id, int64_t amount_fen,
	      const char *reason, const char *idem_key, usec_t now_usec, struct journal_refund *rf)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = refund_init(&rf->fsm, id, now_usec);
	if (r < 0)
		return r;
	copy_text(rf->order_id, sizeof(rf->order_id), (const unsigned char *)order_id);
	rf->amount_fen = amount_fen;
	copy_text(rf->reason, sizeof(rf->reason), (const unsigned char *)reason);
	rf->created_usec = now_usec;
	r = journal_prepare(j,
			    "INSERT INTO refunds(id, order_id, amount_fen, reason, state, "
			    "state_since_usec, created_usec, updated_usec, idem_key) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?7)",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, rf->fsm.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, rf->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, amount_fen);
	sqlite3_bind_text(s, 4, rf->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, refund_state_to_string(REFUND_NEW), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)now_usec);
	if (isempty(idem_key))
		sqlite3_bind_null(s, 7);
	else
		sqlite3_bind_text(s, 7, idem_key, -1, SQLITE_STATIC);
	return journal_step_done(j, s, "refund insert");
}

int
journal_refund_create_keyed(struct journal *j, const char *order_id, int64_t amount_fen,
			    const char *reason, const char *idem_key, usec_t now_usec,
			    struct journal_refund *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct journal_refund rf = {};
	struct journal_order o;
	int64_t committed, count = 0;
	char what[64];
	int r, rc;

	if (amount_fen <= 0 || isempty(order_id))
		return -EINVAL;
	if ((reason && strlen(reason) > JOURNAL_REASON_MAX) ||
	    (idem_key && strlen(idem_key) > JOURNAL_IDEM_KEY_MAX))
		return -E2BIG;

	r = journal_begin(j);
	if (r < 0)
		return r;
	if (!isempty(idem_key)) {
		/* The same key on the same order never refunds twice, across restarts too. */
		r = refund_key_lookup(j, order_id, idem_key, amount_fen, ret);
		if (r < 0)
			goto fail;
	}
	r = journal_prepare(j, "SELECT " ORDER_COLUMNS " FROM orders WHERE id = ?1", &s);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE
			    ? log_error_errno(ENOENT, "Refund refused: no order %s", order_id)
			    : journal_fail(j, rc, "order lookup");
		goto fail;
	}
	r = order_from_row(j, s, &o);
	if (r < 0)
		goto fail;
	stmt_release(TAKE_PTR(s));

	/* doc/design.md §5.3: refunds only for paid orders, never more than paid minus refunded. */
	if (o.fsm.state != ORDER_PAID) {
		r = log_error_errno(EPERM, "Refund refused: order %s is %s, not paid", order_id,
				    order_state_to_string(o.fsm.state));
		goto fail;
	}
	committed = o.refunded_fen + o.pending_refund_fen;
	if (amount_fen > o.amount_fen - committed) {
		char a[MONEY_BUF_SIZE], p[MONEY_BUF_SIZE], c[MONEY_BUF_SIZE];
		r = log_error_errno(EOVERFLOW,
				    "Refund refused: %s exceeds what order %s can still refund "
				    "(paid %s, refunded or pending %s)",
				    money_format(amount_fen, a), order_id,
				    money_format(o.amount_fen, p), money_format(committed, c));
		goto fail;
	}

	r = pragma_int_bound(j, "SELECT COUNT(*) FROM refunds WHERE order_id = ?1", order_id,
			     &count);
	if (r < 0)
		goto fail;
	/* doc/protocol.md §5.5: one out_request_no per refund, fixed for its whole life. */
	snprintf(what, sizeof(what), "%s_r%" PRId64, order_id, count + 1);
	r = refund_insert(j, what, order_id, amount_fen, reason, idem_key, now_usec, &rf);
	if (r < 0)
		goto fail;
	snprintf(what, sizeof(what), "refund_created %s", rf.fsm.id + strlen(order_id) + 1);
	r = event_append(j, order_id, now_usec, what, order_state_to_string(o.fsm.state),
			 order_state_to_string(o.fsm.state), "");
	if (r < 0)
		goto fail;
	r = journal_commit(j);
	if (r < 0)
		goto fail;
	*ret = rf;
	return 0;
fail:
	journal_rollback(j);
	return r;
}

int
journal_refund_save(struct journal *j, const struct journal_refund *rf, const char *what,
		    enum refund_state from_state, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const char *req = refund_request_column(rf->pending);
	char label[96];
	int r;

	r = journal_injected_failure(j, "refund save");
	if (r < 0)
		return r;
	r = journal_begin(j);
	if (r < 0)
		return r;
	r = journal_prepare(j,
			    "UPDATE refunds SET state = ?2, state_since_usec = ?3, attempts = ?4, "
			    "sub_code = ?5, pending_request = ?6, updated_usec = ?7 WHERE id = ?1",
			    &s);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(s, 1, rf->fsm.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, refund_state_to_string(rf->fsm.state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)rf->fsm.state_since_usec);
	sqlite3_bind_int64(s, 4, rf->fsm.attempts);
	sqlite3_bind_text(s, 5, rf->fsm.sub_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, req, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)now_usec);
	r = journal_step_done(j, s, "refund update");
	if (r < 0)
		goto fail;
	if (sqlite3_changes(j->db) != 1) {
		r = log_error_errno(ENOENT, "Journal %s: no refund %s to update", j->path,
				    rf->fsm.id);
		goto fail;
	}
	stmt_release(TAKE_PTR(s));
	if (rf->fsm.state == REFUND_DONE && from_state != REFUND_DONE) {
		r = journal_prepare(j,
				    "UPDATE orders SET refunded_fen = refunded_fen + ?2, "
				    "updated_usec = ?3 WHERE id = ?1",
				    &s);
		if (r < 0)
			goto fail;
		sqlite3_bind_text(s, 1, rf->order_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, rf->amount_fen);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)now_usec);
		r = journal_step_done(j, s, "refunded amount update");
		if (r < 0)
			goto fail;
	}
	snprintf(label, sizeof(label), "refund %s", strempty(what));
	r = event_append(j, rf->order_id, now_usec, label, refund_state_to_string(from_state),
			 refund_state_to_string(rf->fsm.state), req);
	if (r < 0)
		goto fail;
	r = journal_commit(j);
	if (r < 0)
		goto fail;
	return 0;
fail:
	journal_rollback(j);
	return r;
}

int
journal_refund_get(struct journal *j, const char *id, struct journal_refund *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct journal_refund rf;
	int r, rc;

	r = journal_prepare(j, "SELECT " REFUND_COLUMNS " FROM refunds WHERE id = ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "refund lookup");
	r = refund_from_row(j, s, &rf);
	if (r < 0)
		return r;
	*ret = rf;
	return 0;
}

/* Calls cb for each refund row of a prepared statement. */
static int
refund_walk(struct journal *j, sqlite3_stmt *s, journal_refund_cb cb, void *userdata)
{
	int r, rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct journal_refund rf;
		r = refund_from_row(j, s, &rf);
		if (r < 0)
			return r;
		r = cb(&rf, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "refund listing");
	return 0;
}

int
journal_refund_foreach(struct journal *j, bool unfinished_only, journal_refund_cb cb,
		       void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = journal_prepare(j,
			    unfinished_only ? "SELECT " REFUND_COLUMNS " FROM refunds WHERE state "
					      "NOT IN " REFUND_FINAL_SQL " ORDER BY rowid"
					    : "SELECT " REFUND_COLUMNS
					      " FROM refunds ORDER BY rowid",
			    &s);
	return r < 0 ? r : refund_walk(j, s, cb, userdata);
}

int
journal_refund_foreach_order(struct journal *j, const char *order_id, journal_refund_cb cb,
			     void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = journal_prepare(
		j, "SELECT " REFUND_COLUMNS " FROM refunds WHERE order_id = ?1 ORDER BY rowid", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	return refund_walk(j, s, cb, userdata);
}

/*
 * 1 when a row with this notify_id, out_trade_no, verdict and outcome is kept (a replay), 0 when
 * none is. Alipay signs every delivery anew (notify_time changes), so a replay's bytes differ
 * from the first delivery's; the first delivery's bytes are the ones kept. The index holds a
 * key of the notify_id; the notify_id itself is read back from the body, so two ids with one
 * key are never taken for each other.
 */
static int
notification_is_replay(struct journal *j, const char *out_trade_no, const char *notify_id,
		       bool verified, const char *outcome)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    "SELECT n.body_codec, n.body, n.body_size, d.dict FROM notifications n "
			    "LEFT JOIN body_dicts d ON d.id = n.body_dict WHERE "
			    "n.notify_key = ?1 AND n.out_trade_no = ?2 AND n.verified = ?3 AND "
			    "n.outcome = ?4",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, journal_notify_key(notify_id));
	sqlite3_bind_text(s, 2, strempty(out_trade_no), -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, verified);
	sqlite3_bind_text(s, 4, strempty(outcome), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		_cleanup_free_ void *kept = NULL;
		size_t size = (size_t)sqlite3_column_int64(s, 2);
		char id[JOURNAL_NOTIFY_ID_MAX + 1];

		if (journal_body_unpack_dict(sqlite3_column_int(s, 0), sqlite3_column_blob(s, 1),
					     (size_t)sqlite3_column_bytes(s, 1), size,
					     sqlite3_column_blob(s, 3),
					     (size_t)sqlite3_column_bytes(s, 3), &kept) >= 0 &&
		    journal_body_notify_id(kept, size, id, sizeof(id)) >= 0 &&
		    STR_EQ(id, notify_id))
			return 1;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "notification lookup");
	return 0;
}

/*
 * doc/engine.md "Notifications": the journal's dictionary, made of the first verified
 * notification it keeps (schema 6), into *ret_dict (new) and its id; 0 when there is none yet.
 */
static int
body_dict_get(struct journal *j, int64_t *ret_id, void **ret_dict, size_t *ret_size)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	size_t n;
	int r, rc;

	r = journal_prepare(j, "SELECT id, dict FROM body_dicts ORDER BY id DESC LIMIT 1", &s);
	if (r < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		*ret_id = 0;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "dictionary lookup");
	n = (size_t)sqlite3_column_bytes(s, 1);
	if (n > JOURNAL_BODY_DICT_MAX)
		return log_error_errno(EUCLEAN, "Journal %s: its body dictionary is damaged",
				       j->path);
	*ret_dict = malloc(n + 1);
	if (!*ret_dict)
		return log_error_errno(ENOMEM, "Out of memory");
	if (n > 0)
		memcpy(*ret_dict, sqlite3_column_blob(s, 1), n);
	*ret_size = n;
	*ret_id = sqlite3_column_int64(s, 0);
	return 0;
}

static int
body_dict_add(struct journal *j, int64_t id, const void *dict, size_t size, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = journal_prepare(j, "INSERT INTO body_dicts(id, made_usec, dict) VALUES (?1, ?2, ?3)",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now_usec);
	sqlite3_bind_blob(s, 3, dict, (int)size, SQLITE_STATIC);
	return journal_step_done(j, s, "dictionary insert");
}

static int
notification_add(struct journal *j, const char *out_trade_no, const char *notify_id,
		 const void *body, size_t size, bool verified, const char *outcome, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_free_ void *packed = NULL, *dict = NULL;
	size_t packed_size = 0, dict_size = 0;
	int64_t dict_id = 0;
	bool new_dict = false;
	int r;

	if (size > JOURNAL_BODY_MAX || (notify_id && strlen(notify_id) > JOURNAL_NOTIFY_ID_MAX) ||
	    (outcome && strlen(outcome) > JOURNAL_OUTCOME_MAX))
		return -E2BIG;
	if (!isempty(notify_id)) {
		/* A replay is answered from what is kept: no row, no commit, no fsync. */
		r = notification_is_replay(j, out_trade_no, notify_id, verified, outcome);
		if (r != 0)
			return r;
	}
	r = body_dict_get(j, &dict_id, &dict, &dict_size);
	if (r < 0)
		return r;
	if (dict_id == 0 && verified) {
		/* The first verified notification: what the shop's next ones repeat (its app,
		 * seller, field order, the forms of its numbers) becomes the dictionary. */
		r = journal_body_dict_make(body, size, &dict, &dict_size);
		if (r < 0)
			return log_error_errno(r, "Journal %s: cannot make a dictionary: %m",
					       j->path);
		dict_id = 1;
		new_dict = true;
	}
	r = journal_body_pack2(body, size, dict, dict_size, &packed, &packed_size);
	if (r < 0)
		return log_error_errno(r, "Journal %s: cannot pack a notification: %m", j->path);
	if (new_dict) {
		r = journal_begin(j);
		if (r < 0)
			return r;
		r = body_dict_add(j, dict_id, dict, dict_size, now_usec);
		if (r < 0)
			goto fail;
	}
	r = journal_prepare(
		j,
		"INSERT INTO notification_rows(received_usec, order_key, out_trade_no, body, "
		"verified, outcome, notify_key, body_codec, body_size, body_dict) "
		"SELECT ?1, o.order_key, IIF(o.order_key IS NULL, ?2, ''), ?3, ?4, ?5, ?6, ?7, ?8, "
		"?9 "
		"FROM (SELECT 1) LEFT JOIN orders o ON o.id = ?2",
		&s);
	if (r < 0)
		goto fail;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now_usec);
	sqlite3_bind_text(s, 2, strempty(out_trade_no), -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, packed, (int)packed_size, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, verified);
	sqlite3_bind_text(s, 5, strempty(outcome), -1, SQLITE_STATIC);
	if (isempty(notify_id))
		sqlite3_bind_null(s, 6);
	else
		sqlite3_bind_int64(s, 6, journal_notify_key(notify_id));
	sqlite3_bind_int(s, 7, JOURNAL_BODY_SPLIT);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)size);
	if (dict_id > 0)
		sqlite3_bind_int64(s, 9, dict_id);
	r = journal_step_done(j, s, "notification insert");
	if (r < 0)
		goto fail;
	if (new_dict) {
		r = journal_commit(j);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	journal_rollback(j);
	return r;
}

int
journal_notification_add(struct journal *j, const char *out_trade_no, const char *notify_id,
			 const void *body, size_t size, bool verified, const char *outcome,
			 usec_t now_usec)
{
	return notification_add(j, out_trade_no, notify_id, body, size, verified, outcome,
				now_usec);
}

int
journal_notification_add_deferred(struct journal *j, const char *out_trade_no,
				  const char *notify_id, const void *body, size_t size,
				  bool verified, const char *outcome, usec_t now_usec)
{
	int r = sync_defer(j);

	if (r < 0)
		return r;
	r = notification_add(j, out_trade_no, notify_id, body, size, verified, outcome, now_usec);
	sync_restore(j);
	return r;
}

int
journal_notification_foreach(struct journal *j, const char *out_trade_no,
			     journal_notification_cb cb, void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(
		j,
		"SELECT n.seq, n.received_usec, n.out_trade_no, n.notify_key IS NOT NULL, "
		"n.body_codec, n.body, n.body_size, n.verified, n.outcome, d.dict "
		"FROM notifications n LEFT JOIN body_dicts d ON d.id = n.body_dict "
		"WHERE ?1 IS NULL OR n.out_trade_no = ?1 ORDER BY n.seq",
		&s);
	if (r < 0)
		return r;
	if (out_trade_no)
		sqlite3_bind_text(s, 1, out_trade_no, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		_cleanup_free_ void *body = NULL;
		struct journal_notification n = {
			.seq = sqlite3_column_int64(s, 0),
			.received_usec = (usec_t)sqlite3_column_int64(s, 1),
			.size = (size_t)sqlite3_column_int64(s, 6),
			.verified = sqlite3_column_int(s, 7) != 0,
		};

		copy_text(n.out_trade_no, sizeof(n.out_trade_no), sqlite3_column_text(s, 2));
		copy_text(n.outcome, sizeof(n.outcome), sqlite3_column_text(s, 8));
		r = journal_body_unpack_dict(sqlite3_column_int(s, 4), sqlite3_column_blob(s, 5),
					     (size_t)sqlite3_column_bytes(s, 5), n.size,
					     sqlite3_column_blob(s, 9),
					     (size_t)sqlite3_column_bytes(s, 9), &body);
		if (r < 0)
			return log_error_errno(r,
					       "Journal %s: notification %" PRId64
					       " does not unpack (codec %d): %m",
					       j->path, n.seq, sqlite3_column_int(s, 4));
		n.body = body;
		/* Kept with a notify_id: it is the body's own. */
		if (sqlite3_column_int(s, 3) &&
		    journal_body_notify_id(body, n.size, n.notify_id, sizeof(n.notify_id)) < 0)
			n.notify_id[0] = 0;
		r = cb(&n, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return journal_fail(j, rc, "notification listing");
	return 0;
}

int
journal_counter_get(struct journal *j, const char *name, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j, "SELECT value FROM counters WHERE name = ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		*ret = 0;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "counter lookup");
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* ---- the daemon's guards: one process per journal, no silent replacement ---- */

int
journal_lock(const char *path, int *ret_fd)
{
	_cleanup_free_ char *lp = NULL;
	_cleanup_close_ int fd = -1;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char pid[32];
	int n;

	if (asprintf(&lp, "%s.lock", path) < 0)
		return log_error_errno(ENOMEM, "Out of memory");
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_error_errno(errno, "Cannot open the journal lock %s: %m", lp);
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

		if (errno != EACCES && errno != EAGAIN)
			return log_error_errno(errno, "Cannot lock %s: %m", lp);
		if (fcntl(fd, F_GETLK, &q) < 0 || q.l_type == F_UNLCK)
			q.l_pid = 0;
		return log_error_errno(
			EBUSY,
			"Journal %s is in use by another f2fpayd (pid %ld holds %s). "
			"Refusing to start a second one on the same journal; the "
			"running one keeps its socket.",
			path, (long)q.l_pid, lp);
	}
	/* For people reading the directory; the lock itself is what counts. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n)
		log_warning_errno(errno, "Cannot write the pid into %s: %m", lp);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int
marker_read(const char *marker, char buf[static JOURNAL_INSTALL_ID_LEN + 1])
{
	_cleanup_close_ int fd = open(marker, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char raw[JOURNAL_INSTALL_ID_LEN + 2] = "";
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, raw, sizeof(raw) - 1);
	if (n < 0)
		return -errno;
	raw[strcspn(raw, "\n")] = '\0';
	snprintf(buf, JOURNAL_INSTALL_ID_LEN + 1, "%s", raw);
	return 0;
}

/* Replaces the marker whole (write, fsync, rename, fsync the directory). */
static int
marker_write(const char *marker, const char *install_id)
{
	_cleanup_free_ char *tmp = NULL, *dir = NULL;
	_cleanup_close_ int fd = -1, dfd = -1;
	char line[JOURNAL_INSTALL_ID_LEN + 2];
	int n;

	if (asprintf(&tmp, "%s.new", marker) < 0 || !(dir = strdup(marker)))
		return log_error_errno(ENOMEM, "Out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return log_error_errno(errno, "Cannot write %s: %m", tmp);
	n = snprintf(line, sizeof(line), "%s\n", install_id);
	if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
		return log_error_errno(errno ?: EIO, "Cannot write %s: %m", tmp);
	if (rename(tmp, marker) < 0)
		return log_error_errno(errno, "Cannot move %s to %s: %m", tmp, marker);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
}

int
journal_open_marked(const char *path, struct journal **ret)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	_cleanup_free_ char *marker = NULL;
	char seen[JOURNAL_INSTALL_ID_LEN + 1] = "";
	struct stat st;
	int r;

	if (isempty(path))
		return -EINVAL;
	if (asprintf(&marker, "%s.install-id", path) < 0)
		return log_error_errno(ENOMEM, "Out of memory");
	r = marker_read(marker, seen);
	if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "Cannot read %s: %m", marker);
	if (r >= 0 && stat(path, &st) < 0 && errno == ENOENT)
		return log_error_errno(
			ENOENT,
			"Journal %s is missing, but %s says journal %s was created "
			"here. Refusing to start with an empty journal. Restore the "
			"journal (with its -wal file) from a backup; or, to start a new "
			"journal on purpose, remove %s.",
			path, marker, seen, marker);
	r = journal_open(path, &j);
	if (r < 0)
		return r;
	if (!STR_EQ(seen, j->install_id)) {
		if (*seen)
			log_warning("%s named journal %s, but %s is journal %s (replaced or copied "
				    "from elsewhere): %s now names it",
				    marker, seen, path, j->install_id, marker);
		r = marker_write(marker, j->install_id);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(j);
	return 0;
}

int
journal_event_seq(struct journal *j, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	/* Before the first read, the table's newest could be one not on the disk yet. */
	if (j->event_seq == 0) {
		r = journal_settle(j);
		if (r < 0)
			return r;
	}
	/* Every event after the first read comes through event_append(): no read per event. */
	if (j->event_seq > 0) {
		*ret = j->event_seq;
		return 0;
	}
	r = journal_prepare(j, "SELECT COALESCE(MAX(seq), 0) FROM event_rows", &s);
	if (r < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return journal_fail(j, rc, "event sequence");
	*ret = j->event_seq = sqlite3_column_int64(s, 0);
	return 0;
}

int
journal_backup(struct journal *j, const char *dest)
{
	_cleanup_stmt_once_ sqlite3_stmt *s = NULL;
	int r;

	r = journal_settle(j);
	if (r < 0)
		return r;
	/* One statement reads the whole database in one transaction: a consistent copy while the
	 * daemon keeps running, compacted, without the write-ahead log. */
	r = journal_prepare_once(j, "VACUUM INTO ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, dest, -1, SQLITE_STATIC);
	return journal_step_done(j, s, "backup");
}

/* ---- refunds at any till (doc/central.md "Refunds at any till") ---- */

/* Schema 4: another till's order, imported from the central database to be refunded here. */
static const char migrate_4_sql[] = "CREATE TABLE foreign_orders ("
				    " order_id TEXT PRIMARY KEY REFERENCES orders(id),"
				    " install_id TEXT NOT NULL,"
				    " terminal_id TEXT NOT NULL,"
				    " pos_ref TEXT NOT NULL DEFAULT '',"
				    " imported_usec INTEGER NOT NULL);";

static int
migrate_4(struct journal *j)
{
	return journal_exec(j, migrate_4_sql);
}

int
journal_order_is_foreign(struct journal *j, const char *id)
{
	int64_t n = 0;
	int r;

	r = pragma_int_bound(j, "SELECT COUNT(*) FROM foreign_orders WHERE order_id = ?1", id, &n);
	return r < 0 ? r : n > 0;
}

/* Inside a transaction: the order as the central database described it, unless already here. */
static int
foreign_order_import(struct journal *j, const struct journal_foreign_order *fo, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int64_t known = 0;
	int r;

	r = pragma_int_bound(j, "SELECT COUNT(*) FROM orders WHERE id = ?1", fo->id, &known);
	if (r < 0 || known > 0)
		return r;
	/* Paid at its own till: final here, never resumed, never paid or canceled from here. The
	 * pos_ref is the other till's: kept apart, so that it never answers for one of ours. */
	r = journal_prepare(j,
			    "INSERT INTO orders(id, kind, amount_fen, subject, state, "
			    "state_since_usec, created_usec, updated_usec, trade_no, order_key) "
			    "VALUES (?1, ?2, ?3, ?4, 'paid', ?5, ?6, ?5, ?7, " NEXT_ORDER_KEY_SQL
			    ")",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, fo->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, order_kind_to_string(fo->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, fo->amount_fen);
	sqlite3_bind_text(s, 4, isempty(fo->subject) ? "-" : fo->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now_usec);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)fo->created_usec);
	sqlite3_bind_text(s, 7, fo->trade_no, -1, SQLITE_STATIC);
	r = journal_step_done(j, s, "foreign order insert");
	if (r < 0)
		return r;
	stmt_release(TAKE_PTR(s));
	r = journal_prepare(
		j,
		"INSERT INTO foreign_orders(order_id, install_id, terminal_id, pos_ref, "
		"imported_usec) VALUES (?1, ?2, ?3, ?4, ?5)",
		&s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, fo->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, fo->install_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, fo->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, fo->pos_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now_usec);
	r = journal_step_done(j, s, "foreign order insert");
	if (r < 0)
		return r;
	return event_append(j, fo->id, now_usec, "imported", "", "paid", "");
}

int
journal_foreign_refund_create(struct journal *j, const struct journal_foreign_order *fo,
			      const char *refund_id, int64_t amount_fen, const char *reason,
			      const char *idem_key, usec_t now_usec, struct journal_refund *ret)
{
	struct journal_refund rf = {};
	int r;

	if (amount_fen <= 0 || fo->amount_fen <= 0 || isempty(fo->id) || isempty(refund_id) ||
	    strlen(fo->id) > ORDER_ID_MAX || strlen(refund_id) > REFUND_ID_MAX)
		return -EINVAL;
	if ((reason && strlen(reason) > JOURNAL_REASON_MAX) ||
	    (idem_key && strlen(idem_key) > JOURNAL_IDEM_KEY_MAX))
		return -E2BIG;
	r = journal_begin(j);
	if (r < 0)
		return r;
	r = foreign_order_import(j, fo, now_usec);
	if (r < 0)
		goto fail;
	/* The central database checked the amount against every till's refunds (reserved). */
	r = refund_insert(j, refund_id, fo->id, amount_fen, reason, idem_key, now_usec, &rf);
	if (r < 0)
		goto fail;
	r = event_append(j, fo->id, now_usec, "refund_created foreign", "paid", "paid", "");
	if (r < 0)
		goto fail;
	r = journal_commit(j);
	if (r < 0)
		goto fail;
	*ret = rf;
	return 0;
fail:
	journal_rollback(j);
	return r;
}

int
journal_refund_find_key(struct journal *j, const char *order_id, const char *idem_key,
			int64_t amount_fen, struct journal_refund *ret)
{
	int r;

	r = refund_key_lookup(j, order_id, idem_key, amount_fen, ret);
	return r == 0 ? -ENOENT : r == -EEXIST ? 0 : r;
}

int
journal_refund_next_id(struct journal *j, const char *order_id,
		       char ret_id[static REFUND_ID_MAX + 1])
{
	int64_t count = 0;
	int r;

	r = pragma_int_bound(j, "SELECT COUNT(*) FROM refunds WHERE order_id = ?1", order_id,
			     &count);
	if (r < 0)
		return r;
	/* The rule of journal_refund_create_keyed(): "<order id>_r<n>". */
	if (snprintf(ret_id, REFUND_ID_MAX + 1, "%s_r%" PRId64, order_id, count + 1) >
	    REFUND_ID_MAX)
		return -E2BIG;
	return 0;
}
