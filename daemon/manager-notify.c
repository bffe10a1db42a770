/* SPDX-License-Identifier: MIT */
/* The notify receiver (doc/protocol.md §4). */
#include <stdio.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager-private.h"
#include "payment/notify.h"

/* doc/engine.md "Notifications": kept exactly, once; a replay of one kept writes nothing. */
static bool
notify_record(struct manager *m, const struct alipay_notify *n, const char *body, size_t len,
	      bool verified, const char *outcome)
{
	int r = journal_notification_add(m->journal, n->out_trade_no, n->notify_id, body, len,
					 verified, outcome, manager_now(m));
	if (r < 0)
		log_error_errno(r, "Failed to record a notification: %m");
	return r >= 0;
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
	return ok ? NOTIFY_ACCEPTED : NOTIFY_REFUSED;
}
