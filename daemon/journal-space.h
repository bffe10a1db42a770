/* SPDX-License-Identifier: MIT */
/* Room for the journal: refuse new orders before the disk is full, recover when space returns. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "daemon/engine/journal.h"

/*
 * New orders need this much free space on the journal's filesystem; below it they are refused
 * (API `journal_full`) and what is left is for the orders in progress, which write a few pages
 * per step. New orders are taken again at JOURNAL_SPACE_RESUME_BYTES.
 */
#define JOURNAL_SPACE_HEADROOM_BYTES (1024u * 1024u)
#define JOURNAL_SPACE_RESUME_BYTES   (JOURNAL_SPACE_HEADROOM_BYTES + 256u * 1024u)
#define JOURNAL_SPACE_CHECK_USEC     (1 * USEC_PER_SEC)

struct journal_space;

/* Called when the journal stops or starts taking new orders. */
typedef void (*journal_space_changed_t)(void *userdata, bool writable);

/*
 * Refuses a journal f2fpayd could not write: the file (if it exists) and its directory (SQLite
 * creates the write-ahead and shared-memory files beside it) must be writable by this process,
 * on a filesystem mounted read-write. Returns 0 or -errno (logged, naming what to fix).
 */
int journal_space_check_writable(const char *path);

/*
 * Watches the filesystem of the journal at `path` (copied): when asked, and every
 * JOURNAL_SPACE_CHECK_USEC while room is short;
 * `journal` and `event` are borrowed. Returns 0 or -errno.
 */
int journal_space_new(struct journal_space **ret, sd_event *event, struct journal *journal,
		      const char *path, journal_space_changed_t changed, void *userdata);
struct journal_space *journal_space_free(struct journal_space *s);

/*
 * Whether a new order may start now (the space is measured again): 0, or -ENOSPC (logged once
 * per episode).
 */
int journal_space_admit(struct journal_space *s);

/* A write failed with -errno `r` (ENOSPC, EROFS, EIO...): new orders stop until space returns. */
void journal_space_write_failed(struct journal_space *s, int r);

/* Whether new orders are taken; the free bytes last measured. */
bool journal_space_writable(const struct journal_space *s);
uint64_t journal_space_free_bytes(const struct journal_space *s);
