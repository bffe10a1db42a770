/* SPDX-License-Identifier: MIT */
/*
 * The journal's VFS (doc/engine.md "One write a commit"): a commit's frames go to the
 * write-ahead file in one write, visible to another connection and kept through a crash of the
 * process as soon as the commit returns; transactions that spill and rewrite frames stay whole.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/engine/journal-vfs.h"
#include "daemon/engine/journal.h"
#include "journal-reader.h"
#include "test.h"

#define T0 ((usec_t)1795723200 * USEC_PER_SEC)

static char dir[] = "/tmp/test-journal-vfs-XXXXXX";
static char path[256];

/* The system VFS's pwrite, counted for the write-ahead file. */
static const char *pwrite_name;
static sqlite3_syscall_ptr real_pwrite;
static unsigned wal_writes;
static size_t wal_bytes;

static bool
is_wal(int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 4)
		return false;
	target[n] = 0;
	return strcmp(target + n - 4, "-wal") == 0;
}

static ssize_t
counting_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (is_wal(fd)) {
		wal_writes++;
		wal_bytes += n;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, buf, n, off);
}

static void
count_writes(void)
{
	sqlite3_vfs *unix_vfs = sqlite3_vfs_find(NULL);

	CHECK(unix_vfs && unix_vfs->iVersion >= 3);
	/* SQLite's unix VFS writes with pwrite64 or pwrite, as it was built. */
	for (size_t i = 0; i < 2 && !real_pwrite; i++) {
		pwrite_name = i == 0 ? "pwrite64" : "pwrite";
		real_pwrite = unix_vfs->xGetSystemCall(unix_vfs, pwrite_name);
	}
	CHECK(real_pwrite);
	CHECK_INT_EQ(unix_vfs->xSetSystemCall(unix_vfs, pwrite_name,
					      (sqlite3_syscall_ptr)counting_pwrite),
		     SQLITE_OK);
}

static void
remove_journal(void)
{
	const char *sfx[] = {"", "-wal", "-shm", ".clean", ".install-id"};
	char p[300];

	for (size_t i = 0; i < ELEMENTSOF(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/* What a connection of SQLite's own VFS, another reader of the file, sees. */
static int64_t
reader_int(const char *sql)
{
	return journal_reader_int(path, sql);
}

static int64_t
reader_state_paying(const char *id)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM orders WHERE id = '%s' AND state = 'paying'", id);
	return reader_int(sql);
}

/* One write a commit; seen by another reader at once, deferred commits too. */
static void
test_one_write(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct journal_order o;
	char existing[ORDER_ID_MAX + 1] = "";

	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_order_create(j, "POS01", ORDER_KIND_SCAN, 8888, "coffee",
					  "286543210987654321", "pos-1", T0, &o, existing),
		     0);

	wal_writes = 0;
	wal_bytes = 0;
	o.fsm.state = ORDER_PAYING;
	o.pending = ORDER_REQ_PAY;
	CHECK_INT_EQ(journal_order_save(j, &o, "start", ORDER_NEW, T0 + 1), 0);
	/* The order's row, its index entries and the event: several frames (SQLite wrote each in
	 * two calls: at least four)... */
	CHECK(wal_bytes >= 2 * (24 + 2048));
	/* ...in one write. */
	CHECK_INT_EQ(wal_writes, 1);
	CHECK_INT_EQ(reader_state_paying(o.fsm.id), 1);

	/* A commit that waits for the next sync is written, and seen, all the same. */
	wal_writes = 0;
	CHECK_INT_EQ(journal_notification_add_deferred(j, o.fsm.id, "n-1", "a=1", 3, true,
						       "TRADE_SUCCESS", T0 + 2),
		     0);
	CHECK(journal_unsynced(j));
	CHECK_INT_EQ(wal_writes, 1);
	CHECK_INT_EQ(reader_int("SELECT count(*) FROM notifications"), 1);
	CHECK_INT_EQ(journal_sync(j), 0);
}

/* A process killed right after its commits returned: every commit is in the file. */
static void
test_crash_after_commit(void)
{
	char id[ORDER_ID_MAX + 1] = "";
	int pipefd[2], status;
	pid_t pid;

	remove_journal();
	CHECK_INT_EQ(pipe(pipefd), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct journal *j = NULL;
		struct journal_order o;
		char existing[ORDER_ID_MAX + 1] = "";

		close(pipefd[0]);
		if (journal_open(path, &j) < 0 ||
		    journal_order_create(j, "POS01", ORDER_KIND_SCAN, 100, "tea", NULL, NULL, T0,
					 &o, existing) < 0)
			_exit(1);
		o.fsm.state = ORDER_PAYING;
		o.pending = ORDER_REQ_PAY;
		if (journal_order_save(j, &o, "start", ORDER_NEW, T0 + 1) < 0 ||
		    journal_notification_add_deferred(j, o.fsm.id, "n-1", "a=1", 3, true,
						      "TRADE_SUCCESS", T0 + 2) < 0 ||
		    write(pipefd[1], o.fsm.id, strlen(o.fsm.id)) < 0)
			_exit(1);
		raise(SIGKILL); /* killed: no close, no sync, nothing at exit */
		_exit(1);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], id, sizeof(id) - 1) > 0);
	close(pipefd[0]);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT_EQ(reader_state_paying(id), 1);
	CHECK_INT_EQ(reader_int("SELECT count(*) FROM notifications"), 1);
}

/*
 * A transaction bigger than the page cache: SQLite writes frames before its commit, then
 * rewrites some of them in place and their checksums. Through the VFS it must come out whole,
 * for another reader and after a crash.
 */
static void
big_transaction(sqlite3 *db, int rows)
{
	char sql[160];

	CHECK_INT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < rows; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO t(k, v) VALUES (%d, printf('%%0500d', %d))",
			 i, i);
		CHECK_INT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	/* Pages already spilled change again. */
	CHECK_INT_EQ(sqlite3_exec(db, "UPDATE t SET v = printf('%0499d', k)", NULL, NULL, NULL),
		     SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

static sqlite3 *
open_raw(void)
{
	sqlite3 *db = NULL;

	CHECK(journal_vfs_name());
	CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				     journal_vfs_name()),
		     SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				  " PRAGMA cache_size=8; CREATE TABLE IF NOT EXISTS t(k INTEGER"
				  " PRIMARY KEY, v TEXT)",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	CHECK_INT_EQ(sqlite3_wal_autocheckpoint(db, 0), SQLITE_OK);
	return db;
}

static void
test_spill(void)
{
	sqlite3 *db;
	int status;
	pid_t pid;

	remove_journal();
	db = open_raw();
	big_transaction(db, 400);
	CHECK_INT_EQ(reader_int("SELECT count(*) FROM t WHERE length(v) = 499"), 400);
	CHECK_INT_EQ(reader_int("SELECT count(*) FROM pragma_integrity_check WHERE "
				"integrity_check = 'ok'"),
		     1);
	sqlite3_close(db);

	/* The same, and the process killed once its commit returned. */
	remove_journal();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		db = open_raw();
		big_transaction(db, 400);
		raise(SIGKILL);
		_exit(1);
	}
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT_EQ(reader_int("SELECT count(*) FROM t WHERE length(v) = 499"), 400);
	CHECK_INT_EQ(reader_int("SELECT count(*) FROM pragma_integrity_check WHERE "
				"integrity_check = 'ok'"),
		     1);
}

int
main(void)
{
	log_set_max_level(LOG_WARNING);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	count_writes();

	test_one_write();
	test_crash_after_commit();
	test_spill();

	remove_journal();
	rmdir(dir);
	printf("ok\n");
	return 0;
}
