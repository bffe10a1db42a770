/* SPDX-License-Identifier: MIT */
/* POST /v1/orders?wait=qr: the 201 of a QR order held until precreate answered, bounded. */
#include <json-c/json.h>
#include <stdio.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager-private.h"

static bool
precreate_pending(enum order_state s)
{
	return s == ORDER_NEW || s == ORDER_PRECREATING;
}

static void
qr_wait_reply(struct manager *m, struct qr_wait *w, const struct journal_order *o)
{
	struct journal_order now;
	struct api_call *call = w->call;

	w->call = NULL;
	w->timer = sd_event_source_disable_unref(w->timer);
	if (!o && engine_order_get(m->s->engine, w->id, &now) >= 0)
		o = &now;
	if (!o)
		api_call_fail(call, 500, "internal", "order %s cannot be read", w->id);
	else
		api_call_reply(call, w->status, order_to_json(o));
}

static int
qr_wait_expired(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct qr_wait *w = userdata;

	/* Bounded: the order as it is now; the QR follows on the event stream. */
	qr_wait_reply(w->manager, w, NULL);
	return 0;
}

bool
qr_wait_start(struct manager *m, struct api_call *call, const struct journal_order *o,
	      unsigned status)
{
	if (!precreate_pending(o->fsm.state))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(m->qr_waits); i++) {
		struct qr_wait *w = &m->qr_waits[i];
		if (w->call)
			continue;
		if (sd_event_add_time_relative(m->event, &w->timer, CLOCK_MONOTONIC, QR_WAIT_USEC,
					       USEC_PER_SEC / 10, qr_wait_expired, w) < 0)
			return false;
		w->manager = m;
		w->call = call;
		w->status = status;
		snprintf(w->id, sizeof(w->id), "%s", o->fsm.id);
		return true;
	}
	return false; /* every slot taken: answer now, the QR follows on the event stream */
}

void
qr_wait_transition(struct manager *m, const struct journal_order *o)
{
	if (precreate_pending(o->fsm.state))
		return;
	for (size_t i = 0; i < ELEMENTSOF(m->qr_waits); i++)
		if (m->qr_waits[i].call && STR_EQ(m->qr_waits[i].id, o->fsm.id))
			qr_wait_reply(m, &m->qr_waits[i], o);
}

void
qr_wait_free_all(struct manager *m)
{
	for (size_t i = 0; i < ELEMENTSOF(m->qr_waits); i++) {
		struct qr_wait *w = &m->qr_waits[i];
		w->timer = sd_event_source_disable_unref(w->timer);
		if (w->call) {
			api_call_fail(w->call, 503, "shutting_down", "f2fpayd is stopping");
			w->call = NULL;
		}
	}
}
