/* SPDX-License-Identifier: MIT */
/* The scan order waiting for a payment code: a journaled order in WAITING_FOR_CODE. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager-private.h"

/* doc/engine.md: while a scan order waits for its code, its pay's connection is opened. */
void
waiting_set(struct manager *m, const char *id)
{
	snprintf(m->waiting_id, sizeof(m->waiting_id), "%s", strempty(id));
	if (m->s)
		gateway_alipay_warm(m->s->ga, !isempty(m->waiting_id));
}

static int
find_one(const struct journal_order *o, void *userdata)
{
	struct manager *m = userdata;

	if (o->fsm.state == ORDER_WAITING_CODE)
		waiting_set(m, o->fsm.id);
	return 0;
}

void
waiting_find(struct manager *m)
{
	waiting_set(m, NULL);
	if (journal_order_foreach(m->journal, true, find_one, m) < 0)
		log_warning("Cannot look for a scan order waiting for its code");
	else if (!isempty(m->waiting_id))
		log_info("Scan order %s still waits for a payment code", m->waiting_id);
}

int
waiting_get(struct manager *m, struct journal_order *ret)
{
	int r;

	if (isempty(m->waiting_id))
		return -ENOENT;
	r = engine_order_get(m->s->engine, m->waiting_id, ret);
	if (r < 0 || ret->fsm.state != ORDER_WAITING_CODE) {
		waiting_set(m, NULL);
		return -ENOENT;
	}
	return 0;
}

void
waiting_follow(struct manager *m, const struct journal_order *o)
{
	if (STR_EQ(m->waiting_id, o->fsm.id) && o->fsm.state != ORDER_WAITING_CODE) {
		if (o->fsm.state == ORDER_CANCELED)
			log_info("Scan order %s ended before a payment code arrived", o->fsm.id);
		waiting_set(m, NULL);
	}
}

/* A payment code for the waiting order: the engine takes it from here. */
void
waiting_pay(struct manager *m, const char *code)
{
	char id[ORDER_ID_MAX + 1];
	int r;

	snprintf(id, sizeof(id), "%s", m->waiting_id);
	r = engine_order_code(m->s->engine, id, code);
	if (r < 0)
		/* still waiting: the cashier may cancel, the buyer may scan again */
		log_error_errno(r, "Scan order %s: the engine refused the code: %m", id);
}
