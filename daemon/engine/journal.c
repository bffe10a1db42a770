/* SPDX-License-Identifier: MIT */
/* The SQLite journal: write-ahead order state, event log, refunds, notifications, counters. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/money.h"
#include "daemon/engine/journal.h"

struct journal {
	sqlite3 *db;
	char *path;
	unsigned fail_next; /* tests: saves to refuse */
};

/* The states an order or a refund cannot leave; kept in step with order_state_is_final(). */
#define ORDER_FINAL_SQL  "('paid','failed','canceled','refunded_by_cancel')"
#define REFUND_FINAL_SQL "('refunded','failed')"

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

static void
stmt_finalizep(sqlite3_stmt **s)
{
	if (*s)
		sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(stmt_finalizep)

static int
journal_prepare(struct journal *j, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(j->db, sql, -1, ret, NULL);
	if (rc != SQLITE_OK)
		return journal_fail(j, rc, "prepare");
	return 0;
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

static int
journal_begin(struct journal *j)
{
	return journal_exec(j, "BEGIN IMMEDIATE");
}

static int
journal_commit(struct journal *j)
{
	return journal_exec(j, "COMMIT");
}

static void
journal_rollback(struct journal *j)
{
	if (!sqlite3_get_autocommit(j->db))
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
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j, sql, &s);
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
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const unsigned char *first;
	int rc;

	rc = sqlite3_prepare_v2(j->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return log_error_errno(EUCLEAN,
				       "Journal %s is damaged (%s). Refusing to start: restore it "
				       "from a backup or move it away to start an empty journal.",
				       j->path, sqlite3_errmsg(j->db));
	rc = sqlite3_step(s);
	first = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
	if (rc != SQLITE_ROW || !first || strcmp((const char *)first, "ok") != 0)
		return log_error_errno(
			EUCLEAN,
			"Journal %s is damaged (integrity check: %s). Refusing to "
			"start: restore it from a backup or move it away to start an "
			"empty journal.",
			j->path, first ? (const char *)first : sqlite3_errmsg(j->db));
	return 0;
}

static int
journal_set_pragmas(struct journal *j)
{
	int64_t v;
	int r;

	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_busy_timeout(j->db, 5000);
	/* doc/design.md §6: WAL and synchronous=FULL, so a committed transition survives a power
	 * cut. */
	r = pragma_int(j, "PRAGMA journal_mode=WAL", &v);
	if (r < 0)
		return r;
	r = journal_exec(j, "PRAGMA synchronous=FULL");
	if (r < 0)
		return r;
	return journal_exec(j, "PRAGMA foreign_keys=ON");
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
	rc = sqlite3_open_v2(tmp, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		return log_error_errno(sqlite_to_errno(rc), "Failed to create journal %s: %s", tmp,
				       j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
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
	if (r >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", JOURNAL_SCHEMA_VERSION);
		r = journal_exec(j, sql);
	}
	if (r >= 0)
		r = journal_commit(j);
	if (r < 0) {
		journal_rollback(j);
		return r;
	}
	/* Close so the WAL is checkpointed into the file, then move the complete file in place. */
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

	rc = sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK)
		return log_error_errno(sqlite_to_errno(rc), "Failed to open journal %s: %s", path,
				       j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
	r = journal_quick_check(j);
	if (r < 0)
		return r;
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
	*ret = TAKE_PTR(j);
	return 0;
}

int
journal_checkpoint(struct journal *j)
{
	return sqlite_to_errno(
		sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL));
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->db)
		sqlite3_close(j->db);
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

void
journal_mask_auth_code(const char *code, char buf[static JOURNAL_AUTH_CODE_MAX + 1])
{
	size_t n = code ? strnlen(code, JOURNAL_AUTH_CODE_MAX) : 0;

	for (size_t i = 0; i < n; i++)
		buf[i] = (i < 2 || i + 4 >= n) && n >= 8 ? code[i] : '*';
	buf[n] = '\0';
}

static bool
terminal_is_valid(const char *t)
{
	size_t n = t ? strlen(t) : 0;

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

	if (!terminal_is_valid(terminal))
		return log_error_errno(EINVAL, "Invalid terminal id for out_trade_no: \"%s\"",
				       strempty(terminal));
	r = counter_increment(j, "out_trade_no_seq", &seq);
	if (r < 0)
		return r;
	/* doc/design.md §5.6: <terminal>_<yyyymmdd>_<seq>, the date in UTC+8. */
	beijing_format_date(now, 0, date);
	snprintf(buf, ORDER_ID_MAX + 1, "%s_%s_%" PRId64, terminal, date, seq);
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

	r = journal_prepare(j,
			    "INSERT INTO events(order_id, at_usec, what, from_state, to_state, "
			    "request) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now_usec);
	sqlite3_bind_text(s, 3, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, request, -1, SQLITE_STATIC);
	return journal_step_done(j, s, "event append");
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
	"AND r.state NOT IN " REFUND_FINAL_SQL ")"

static int
order_from_row(struct journal *j, sqlite3_stmt *s, struct journal_order *o)
{
	const char *kind = (const char *)sqlite3_column_text(s, 1);
	const char *state = (const char *)sqlite3_column_text(s, 7);
	const char *pending = (const char *)sqlite3_column_text(s, 18);

	*o = (struct journal_order){};
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
	return 0;
}

int
journal_order_create(struct journal *j, const char *terminal, enum order_kind kind,
		     int64_t amount_fen, const char *subject, const char *auth_code,
		     const char *pos_ref, usec_t now_usec, struct journal_order *ret,
		     char ret_existing_id[static ORDER_ID_MAX + 1])
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct journal_order o = {};
	char id[ORDER_ID_MAX + 1];
	int r, rc;

	if (amount_fen <= 0 || isempty(subject) || (unsigned)kind >= _ORDER_KIND_MAX)
		return -EINVAL;
	if (strlen(subject) > JOURNAL_SUBJECT_MAX ||
	    (auth_code && strlen(auth_code) > JOURNAL_AUTH_CODE_MAX) ||
	    (pos_ref && strlen(pos_ref) > JOURNAL_POS_REF_MAX))
		return -E2BIG;

	r = journal_begin(j);
	if (r < 0)
		return r;
	if (!isempty(pos_ref)) {
		/* doc/design.md §7: the same pos_ref returns the same order, never a second charge.
		 */
		r = journal_prepare(j, "SELECT id FROM orders WHERE pos_ref = ?1", &s);
		if (r < 0)
			goto fail;
		sqlite3_bind_text(s, 1, pos_ref, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			if (ret_existing_id)
				copy_text(ret_existing_id, ORDER_ID_MAX + 1,
					  sqlite3_column_text(s, 0));
			r = -EEXIST;
			goto fail;
		}
		if (rc != SQLITE_DONE) {
			r = journal_fail(j, rc, "pos_ref lookup");
			goto fail;
		}
		sqlite3_finalize(TAKE_PTR(s));
	}

	r = allocate_in_txn(j, terminal, (time_t)(now_usec / USEC_PER_SEC), id);
	if (r < 0)
		goto fail;
	r = order_init(&o.fsm, id, kind, now_usec);
	if (r < 0)
		goto fail;
	o.amount_fen = amount_fen;
	copy_text(o.subject, sizeof(o.subject), (const unsigned char *)subject);
	journal_mask_auth_code(auth_code, o.auth_code_masked);
	copy_text(o.pos_ref, sizeof(o.pos_ref), (const unsigned char *)pos_ref);
	o.created_usec = now_usec;

	r = journal_prepare(j,
			    "INSERT INTO orders(id, kind, amount_fen, subject, auth_code_masked, "
			    "pos_ref, state, state_since_usec, created_usec, updated_usec) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)",
			    &s);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(s, 1, o.fsm.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, order_kind_to_string(kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, amount_fen);
	sqlite3_bind_text(s, 4, o.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, o.auth_code_masked, -1, SQLITE_STATIC);
	if (isempty(pos_ref))
		sqlite3_bind_null(s, 6);
	else
		sqlite3_bind_text(s, 6, o.pos_ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, order_state_to_string(ORDER_NEW), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)now_usec);
	r = journal_step_done(j, s, "order insert");
	if (r < 0)
		goto fail;
	r = event_append(j, o.fsm.id, now_usec, "created", "", order_state_to_string(ORDER_NEW),
			 "");
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

int
journal_order_save(struct journal *j, const struct journal_order *o, const char *what,
		   enum order_state from_state, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const char *req = order_request_column(o->pending);
	int r;

	r = journal_injected_failure(j, "order save");
	if (r < 0)
		return r;
	r = journal_begin(j);
	if (r < 0)
		return r;
	r = journal_prepare(j,
			    "UPDATE orders SET state = ?2, state_since_usec = ?3, "
			    "expires_usec = ?4, queries_left = ?5, cancel_attempts = ?6, "
			    "attention_count = ?7, abort_requested = ?8, expired = ?9, "
			    "sub_code = ?10, qr_code = ?11, trade_no = ?12, pending_request = ?13, "
			    "updated_usec = ?14 WHERE id = ?1",
			    &s);
	if (r < 0)
		goto fail;
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
	r = journal_step_done(j, s, "order update");
	if (r < 0)
		goto fail;
	if (sqlite3_changes(j->db) != 1) {
		r = log_error_errno(ENOENT, "Journal %s: no order %s to update", j->path,
				    o->fsm.id);
		goto fail;
	}
	r = event_append(j, o->fsm.id, now_usec, strempty(what), order_state_to_string(from_state),
			 order_state_to_string(o->fsm.state), req);
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

int
journal_order_foreach(struct journal *j, bool unfinished_only, journal_order_cb cb, void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    unfinished_only ? "SELECT " ORDER_COLUMNS " FROM orders WHERE state "
					      "NOT IN " ORDER_FINAL_SQL " ORDER BY rowid"
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
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct journal_refund rf = {};
	struct journal_order o;
	int64_t committed, count = 0;
	char what[64];
	int r, rc;

	if (amount_fen <= 0 || isempty(order_id))
		return -EINVAL;
	if (reason && strlen(reason) > JOURNAL_REASON_MAX)
		return -E2BIG;

	r = journal_begin(j);
	if (r < 0)
		return r;
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
	sqlite3_finalize(TAKE_PTR(s));

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
	r = refund_init(&rf.fsm, what, now_usec);
	if (r < 0)
		goto fail;
	copy_text(rf.order_id, sizeof(rf.order_id), (const unsigned char *)order_id);
	rf.amount_fen = amount_fen;
	copy_text(rf.reason, sizeof(rf.reason), (const unsigned char *)reason);
	rf.created_usec = now_usec;

	r = journal_prepare(j,
			    "INSERT INTO refunds(id, order_id, amount_fen, reason, state, "
			    "state_since_usec, created_usec, updated_usec) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
			    &s);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(s, 1, rf.fsm.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, rf.order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, amount_fen);
	sqlite3_bind_text(s, 4, rf.reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, refund_state_to_string(REFUND_NEW), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)now_usec);
	r = journal_step_done(j, s, "refund insert");
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
	sqlite3_finalize(TAKE_PTR(s));
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

int
journal_refund_foreach(struct journal *j, bool unfinished_only, journal_refund_cb cb,
		       void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = journal_prepare(j,
			    unfinished_only ? "SELECT " REFUND_COLUMNS " FROM refunds WHERE state "
					      "NOT IN " REFUND_FINAL_SQL " ORDER BY rowid"
					    : "SELECT " REFUND_COLUMNS
					      " FROM refunds ORDER BY rowid",
			    &s);
	if (r < 0)
		return r;
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
journal_notification_add(struct journal *j, const char *out_trade_no, const void *body, size_t size,
			 bool verified, const char *outcome, usec_t now_usec)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	if (size > INT32_MAX)
		return -E2BIG;
	r = journal_prepare(
		j,
		"INSERT INTO notifications(received_usec, out_trade_no, body, verified, "
		"outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
		&s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now_usec);
	sqlite3_bind_text(s, 2, strempty(out_trade_no), -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, size ? body : "", (int)size, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, verified);
	sqlite3_bind_text(s, 5, strempty(outcome), -1, SQLITE_STATIC);
	return journal_step_done(j, s, "notification insert");
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

int
journal_backup(struct journal *j, const char *dest)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	/* One statement reads the whole database in one transaction: a consistent copy while the
	 * daemon keeps running, compacted, without the write-ahead log. */
	r = journal_prepare(j, "VACUUM INTO ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, dest, -1, SQLITE_STATIC);
	return journal_step_done(j, s, "backup");
}
