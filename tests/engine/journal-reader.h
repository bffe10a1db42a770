/* SPDX-License-Identifier: MIT */
/* Tests of the journal: what another reader of its file, on SQLite's own VFS, sees; its files
 * copied as they are on the disk. */
#pragma once

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "test.h"

/* The first column of the first row of `sql` over the journal at `path`, read-only; -1 when
 * there is no row. */
static inline int64_t
journal_reader_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Copies the file at `from` to `to`, replacing it. */
static inline void
journal_file_copy(const char *from, const char *to)
{
	char buf[1 << 16];
	FILE *in = fopen(from, "re"), *out = fopen(to, "we");
	size_t n;

	CHECK(in && out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK(fwrite(buf, 1, n, out) == n);
	fclose(in);
	CHECK(fclose(out) == 0);
}
