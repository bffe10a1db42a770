/* SPDX-License-Identifier: MIT */
/* The journal's room as the cashier, the POS and systemd see it (doc/operations.md). */
#include <inttypes.h>
#include <json-c/json.h>

#include "common/macro.h"
#include "daemon/manager-private.h"

void
manager_space_changed(void *userdata, bool writable)
{
	struct manager *m = userdata;

	manager_notify_status(m);
	/* The display says it between orders; an order in progress keeps its screen. */
	if (m->s && isempty(m->waiting_id) && isempty(m->display_order))
		show_idle(m);
}

bool
manager_space_refuses(struct manager *m, struct api_call *call)
{
	if (journal_space_admit(m->space) == 0)
		return false;
	api_call_fail(call, 503, "journal_full",
		      "the journal cannot be written (%" PRIu64
		      " KiB free, %u KiB kept for the orders in progress): free space on its "
		      "filesystem; new orders are taken again without a restart",
		      journal_space_free_bytes(m->space) / 1024,
		      JOURNAL_SPACE_HEADROOM_BYTES / 1024);
	return true;
}

void
manager_space_status(struct manager *m, struct json_object *o)
{
	struct json_object *j = json_object_new_object();

	if (!j)
		return;
	/* Measured now: with room enough nothing measures it between orders. */
	(void)journal_space_admit(m->space);
	json_object_object_add(j, "writable",
			       json_object_new_boolean(journal_space_writable(m->space)));
	json_object_object_add(j, "free_bytes",
			       json_object_new_int64((int64_t)journal_space_free_bytes(m->space)));
	json_object_object_add(j, "headroom_bytes",
			       json_object_new_int64(JOURNAL_SPACE_HEADROOM_BYTES));
	json_object_object_add(o, "journal", j);
}
