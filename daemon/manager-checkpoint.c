/* SPDX-License-Identifier: MIT */
/* The journal's checkpoint between orders (doc/engine.md "Checkpoints"). */
#include "common/log.h"
#include "daemon/engine/journal.h"
#include "daemon/manager-private.h"

static int
checkpoint_cb(sd_event_source *s, void *userdata)
{
	struct manager *m = userdata;
	unsigned before = journal_wal_pages(m->journal);
	int r;

	(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	/* An order in progress may be about to commit its pay: the next order's end comes back. */
	if (!m->s || manager_busy(m) > 0)
		return 0;
	r = journal_checkpoint_idle(m->journal);
	if (r < 0)
		log_debug_errno(r, "Journal checkpoint between orders failed (%m), retried later");
	else
		log_debug("Journal checkpoint between orders: %u of %u pages left",
			  journal_wal_pages(m->journal), before);
	return 0;
}

/*
 * After a transition: once the write-ahead file holds JOURNAL_WAL_IDLE_PAGES, its pages are
 * copied into the journal when the loop has nothing else to do (after drawing) and no order is
 * in progress — never inside the commit that precedes a pay.
 */
void
manager_checkpoint_soon(struct manager *m)
{
	if (journal_wal_pages(m->journal) < JOURNAL_WAL_IDLE_PAGES)
		return;
	if (!m->checkpoint_defer) {
		if (sd_event_add_defer(m->event, &m->checkpoint_defer, checkpoint_cb, m) < 0)
			return; /* the write-ahead file's cap still holds */
		(void)sd_event_source_set_priority(m->checkpoint_defer, SD_EVENT_PRIORITY_IDLE + 1);
	}
	(void)sd_event_source_set_enabled(m->checkpoint_defer, SD_EVENT_ONESHOT);
}
