/* SPDX-License-Identifier: MIT */
/* The notify receiver (doc/protocol.md §4). */
#include <stdio.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager-private.h"
#include "payment/notify.h"

/*
 * doc/engine.md "Notifications": how long a notification's row may wait for an order's commit
 * to carry it to the disk before it is synced on its own. Alipay waits seconds for its answer.
 */
#define NOTIFY_SYNC_DELAY_USEC (2 * USEC_PER_MSEC)

/* doc/engine.md "Notifications": kept exactly, once; a replay of one kept writes nothing. */
static bool
notify_record(struct manager *m, const struct alipay_notify *n, const char *body, size_t len,
	      bool verified, const char *outcome)
{
	int r = journal_notification_add_deferred(m->journal, n->out_trade_no, n->notify_id, body,
						  len, verified, outcome, manager_now(m));
	if (r < 0)
		log_error_errno(r, "Failed to record a notification: %m");
	return r >= 0;
}

/* Arms the sync of the held rows, unless it is armed already; false if it cannot be. */
static bool
notify_sync_soon(struct manager *m)
{
	if (!m->notify || !m->notify_sync)
		return false;
	if (sd_event_source_get_enabled(m->notify_sync, NULL) > 0)
		return true;
	return sd_event_source_set_time_relative(m->notify_sync, NOTIFY_SYNC_DELAY_USEC) >= 0 &&
	       sd_event_source_set_enabled(m->notify_sync, SD_EVENT_ONESHOT) >= 0;
}

enum notify_verdict
manager_notify(void *userdata, const char *content_type, const char *body, size_t len)
{
	struct manager *m = userdata;
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	const struct config_alipay *a = &m->s->cfg->alipay;
	struct journal_order o;
	const char *why = NULL;
	bool ok = false;
	int r;

	m->notifications++;
	r = alipay_notify_parse(body, len, alipay_keys_get_alipay_public_key(m->s->keys), &n);
	if (r < 0) {
		/* Unverified, it is a stranger's: nothing is written (the listener counts it). */
		m->notifications_forged++;
		return NOTIFY_FORGED;
	}
	/* doc/protocol.md §4 business checks: ours, for this app and seller, for this amount. */
	if (!n.app_id || !STR_EQ(n.app_id, a->app_id))
		why = "app_id is not ours";
	else if (a->seller_id && (!n.seller_id || !STR_EQ(n.seller_id, a->seller_id)))
		why = "seller_id is not ours";
	else if (!n.out_trade_no || engine_order_get(m->s->engine, n.out_trade_no, &o) < 0)
		why = "out_trade_no is not one of our orders";
	else if (n.total_amount_fen != o.amount_fen)
		why = "total_amount differs from the order's amount";
	if (why) {
		(void)notify_record(m, &n, body, len, true, why);
		log_warning("Notification for %s refused: %s", strna(n.out_trade_no), why);
		alipay_notify_done(&n);
		return NOTIFY_REFUSED;
	}
	/* The raw record first: if it cannot be kept, Alipay must send it again. */
	if (notify_record(m, &n, body, len, true, alipay_trade_status_to_string(n.trade_status))) {
		enum order_trade_status st = order_trade_status_from_string(
			alipay_trade_status_to_string(n.trade_status));
		r = engine_order_notify(m->s->engine, n.out_trade_no, st);
		ok = r >= 0;
		if (r < 0)
			log_error_errno(r, "Notification for %s not applied: %m", n.out_trade_no);
	}
	alipay_notify_done(&n);
	if (!ok)
		return NOTIFY_REFUSED;
	/* "success" stops Alipay's resends: only once what was kept (this row, or a replay's
	 * first) is on the disk. Held for the next sync when the listener can hold it, else
	 * synced now. */
	if (journal_unsynced(m->journal) && notify_sync_soon(m))
		return NOTIFY_HELD;
	return journal_sync(m->journal) < 0 ? NOTIFY_REFUSED : NOTIFY_ACCEPTED;
}

/* An order's commit or the timer put the held rows on the disk. */
static void
on_synced(void *userdata)
{
	struct manager *m = userdata;

	(void)sd_event_source_set_enabled(m->notify_sync, SD_EVENT_OFF);
	notify_release(m->notify, true);
}

static int
on_notify_sync(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	/* Success releases them through on_synced(). */
	if (journal_sync(m->journal) < 0)
		notify_release(m->notify, false);
	return 0;
}

void
manager_set_notify(struct manager *m, struct notify *n)
{
	if (m->notify) {
		/* Whatever is held is answered now, as its rows allow. */
		notify_release(m->notify, journal_sync(m->journal) >= 0);
		journal_set_synced_cb(m->journal, NULL, NULL);
		m->notify_sync = sd_event_source_disable_unref(m->notify_sync);
	}
	m->notify = n;
	if (!n)
		return;
	/* After the loop's I/O: notifications that came together share one sync. Accuracy 1 us:
	 * sd-event's default (0) lets a timer slip by up to 250 ms. */
	if (sd_event_add_time_relative(m->event, &m->notify_sync, CLOCK_MONOTONIC,
				       NOTIFY_SYNC_DELAY_USEC, 1, on_notify_sync, m) >= 0) {
		(void)sd_event_source_set_enabled(m->notify_sync, SD_EVENT_OFF);
		(void)sd_event_source_set_priority(m->notify_sync, SD_EVENT_PRIORITY_NORMAL + 10);
	}
	journal_set_synced_cb(m->journal, on_synced, m);
}
