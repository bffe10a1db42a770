/* SPDX-License-Identifier: MIT */
/*
 * The journal's SQLite VFS (doc/engine.md "One write a commit"): the system's, except that a
 * commit's frames reach the write-ahead file in one write instead of two a page.
 */
#pragma once

/* The VFS's name for sqlite3_open_v2(), registered (not as the default) on the first call; NULL
 * when it cannot be (out of memory, no default VFS): then SQLite's own is used. */
const char *journal_vfs_name(void);
