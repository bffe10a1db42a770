/* SPDX-License-Identifier: MIT */
/* Room for the journal: statvfs when asked and, while short, on a timer; a headroom; a WAL
 * truncate. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/journal-space.h"

struct journal_space {
	sd_event_source *timer;
	struct journal *journal;
	char *path, *dir;
	bool writable;     /* new orders taken */
	bool write_failed; /* a write failed since the last recovery */
	uint64_t free_bytes;
	journal_space_changed_t changed;
	void *userdata;
};

static char *
dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);

	return copy ? strdup(dirname(copy)) : NULL;
}

int
journal_space_check_writable(const char *path)
{
	_cleanup_free_ char *dir = dir_of(path);
	struct statvfs sv;

	if (!dir)
		return log_error_errno(ENOMEM, "Out of memory");
	if (statvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return log_error_errno(
			EROFS,
			"Journal %s is on a read-only filesystem: f2fpayd must write "
			"every order to it. Refusing to start.",
			path);
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0 && errno != ENOENT)
		return log_error_errno(errno,
				       "Journal %s is not writable by this user (%m): f2fpayd must "
				       "write every order to it. Refusing to start; fix its owner "
				       "or mode.",
				       path);
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		return log_error_errno(errno,
				       "The journal's directory %s is not writable by this user "
				       "(%m): SQLite creates %s-wal and %s-shm there. Refusing to "
				       "start; fix its owner or mode.",
				       dir, path, path);
	return 0;
}

static void
space_set(struct journal_space *s, bool writable)
{
	if (s->writable == writable)
		return;
	s->writable = writable;
	if (writable)
		log_info("Journal %s has room again (%" PRIu64 " KiB free): new orders are taken",
			 s->path, s->free_bytes / 1024);
	else
		log_error("Journal %s cannot take new orders: %" PRIu64
			  " KiB free, %u KiB are kept for the orders in progress%s",
			  s->path, s->free_bytes / 1024, JOURNAL_SPACE_HEADROOM_BYTES / 1024,
			  s->write_failed ? " (a write failed)" : "");
	if (s->changed)
		s->changed(s->userdata, writable);
}

/*
 * The timer runs only while room is short or orders are refused, to see space come back without
 * a restart; with room enough the space is measured when an order or the status asks, so an idle
 * daemon is never woken.
 */
static void
space_arm(struct journal_space *s)
{
	bool short_of_room = !s->writable || s->write_failed ||
			     s->free_bytes < 2 * (uint64_t)JOURNAL_SPACE_HEADROOM_BYTES;

	if (!s->timer)
		return;
	if (!short_of_room) {
		(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		return;
	}
	if (sd_event_source_get_enabled(s->timer, NULL) > 0)
		return;
	(void)sd_event_source_set_time_relative(s->timer, JOURNAL_SPACE_CHECK_USEC);
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

/* Measures; while short of room keeps trying to give the write-ahead file's space back. */
static void
space_measure_once(struct journal_space *s)
{
	struct statvfs sv;

	if (statvfs(s->dir, &sv) < 0) {
		log_debug_errno(errno, "statvfs %s: %m", s->dir);
		return;
	}
	s->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (s->writable && !s->write_failed && s->free_bytes >= 2 * JOURNAL_SPACE_HEADROOM_BYTES)
		return;
	if (s->writable && !s->write_failed) {
		/* Getting short: give back what the write-ahead file holds before it is needed. */
		if (journal_checkpoint(s->journal) == 0 && statvfs(s->dir, &sv) == 0)
			s->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
		if (s->free_bytes >= JOURNAL_SPACE_HEADROOM_BYTES)
			return;
	}
	if (s->writable) {
		space_set(s, false);
		return;
	}
	/*
	 * Short of room: a checkpoint moves the write-ahead file into the journal and frees it.
	 * Only a checkpoint that succeeds (the journal was written) lets new orders in again.
	 */
	if (journal_checkpoint(s->journal) < 0 || statvfs(s->dir, &sv) < 0)
		return;
	s->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (s->free_bytes >= JOURNAL_SPACE_RESUME_BYTES) {
		s->write_failed = false;
		space_set(s, true);
	}
}

static void
space_measure(struct journal_space *s)
{
	space_measure_once(s);
	space_arm(s);
}

static int
space_on_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
	(void)es, (void)usec;
	space_measure(userdata);
	return 0;
}

int
journal_space_new(struct journal_space **ret, sd_event *event, struct journal *journal,
		  const char *path, journal_space_changed_t changed, void *userdata)
{
	struct journal_space *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->journal = journal;
	s->writable = true;
	s->changed = changed;
	s->userdata = userdata;
	s->path = strdup(path);
	s->dir = dir_of(path);
	if (!s->path || !s->dir) {
		journal_space_free(s);
		return -ENOMEM;
	}
	r = sd_event_add_time_relative(event, &s->timer, CLOCK_MONOTONIC, 0, 100 * USEC_PER_MSEC,
				       space_on_timer, s);
	if (r < 0) {
		journal_space_free(s);
		return log_error_errno(r, "Failed to add the journal space timer: %m");
	}
	space_measure(s);
	*ret = s;
	return 0;
}

struct journal_space *
journal_space_free(struct journal_space *s)
{
	if (!s)
		return NULL;
	s->timer = sd_event_source_disable_unref(s->timer);
	free(s->path);
	free(s->dir);
	free(s);
	return NULL;
}

int
journal_space_admit(struct journal_space *s)
{
	if (!s)
		return 0;
	space_measure(s);
	return s->writable ? 0 : -ENOSPC;
}

void
journal_space_write_failed(struct journal_space *s, int r)
{
	if (!s || (r != -ENOSPC && r != -EROFS && r != -EIO && r != -EDQUOT))
		return;
	s->write_failed = true;
	space_set(s, false);
	space_arm(s);
}

bool
journal_space_writable(const struct journal_space *s)
{
	return !s || s->writable;
}

uint64_t
journal_space_free_bytes(const struct journal_space *s)
{
	return s ? s->free_bytes : 0;
}
