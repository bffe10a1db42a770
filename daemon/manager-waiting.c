/* SPDX-License-Identifier: MIT */
/* The scan order waiting for a payment code. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager-private.h"

static void
resolved_add(struct manager *m, const struct resolved *r)
{
	if (m->n_resolved == RESOLVED_MAX) {
		memmove(&m->resolved[0], &m->resolved[1],
			sizeof(m->resolved[0]) * (RESOLVED_MAX - 1));
		m->n_resolved--;
	}
	m->resolved[m->n_resolved++] = *r;
}

const struct resolved *
resolved_find(struct manager *m, const char *waiting_id)
{
	for (unsigned i = 0; i < m->n_resolved; i++)
		if (STR_EQ(m->resolved[i].waiting_id, waiting_id))
			return &m->resolved[i];
	return NULL;
}

void
waiting_end(struct manager *m, const char *order_id, const char *final_state)
{
	struct resolved r = {.canceled = order_id == NULL};

	snprintf(r.waiting_id, sizeof(r.waiting_id), "%s", m->waiting.id);
	if (order_id)
		snprintf(r.order_id, sizeof(r.order_id), "%s", order_id);
	r.amount_fen = m->waiting.amount_fen;
	snprintf(r.subject, sizeof(r.subject), "%s", m->waiting.subject);
	snprintf(r.pos_ref, sizeof(r.pos_ref), "%s", m->waiting.pos_ref);
	resolved_add(m, &r);
	if (final_state)
		manager_broadcast(m, "order",
				  waiting_to_json(m->waiting.id, m->waiting.amount_fen,
						  m->waiting.subject, m->waiting.pos_ref,
						  final_state));
	m->waiting.expiry = sd_event_source_disable_unref(m->waiting.expiry);
	m->waiting.active = false;
	manager_notify_status(m);
}

int
waiting_expired_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;
	struct display_screen scr = {
		.kind = DISPLAY_SCREEN_CANCELED,
		.store_name = m->s->cfg->terminal.store_name,
		.amount_fen = m->waiting.amount_fen,
		.seconds_left = -1,
	};

	log_info("Scan order %s: no payment code arrived in time", m->waiting.id);
	waiting_end(m, NULL, "CANCELED");
	manager_show(m, &scr, NULL);
	screen_timer_arm(m, RESULT_SCREEN_USEC);
	if (m->pending_cfg)
		apply_pending_reload(m);
	return 0;
}

/* A payment code for the waiting order: the engine takes it from here. */
void
waiting_pay(struct manager *m, const char *code)
{
	char id[ORDER_ID_MAX + 1];
	int r;

	r = engine_order_new(m->s->engine, ORDER_KIND_SCAN, m->waiting.amount_fen,
			     m->waiting.subject, code,
			     isempty(m->waiting.pos_ref) ? NULL : m->waiting.pos_ref, id);
	if (r < 0) {
		log_error_errno(r, "Scan order %s: the engine refused the order: %m",
				m->waiting.id);
		return; /* still waiting: the cashier may cancel, the buyer may scan again */
	}
	log_info("Scan order %s is order %s%s", m->waiting.id, id,
		 r == 1 ? " (its pos_ref was used before)" : "");
	m->display_order[0] = '\0';
	waiting_end(m, id, NULL);
	{
		struct journal_order o;
		if (engine_order_get(m->s->engine, id, &o) >= 0)
			show_order(m, &o);
	}
}
