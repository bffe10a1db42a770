/* SPDX-License-Identifier: MIT */
/* The order engine: runs orders and refunds on sd-event, journaled before every request. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "daemon/engine/gateway.h"
#include "daemon/engine/journal.h"
#include "payment/order/order-fsm.h"

/*
 * doc/design.md §5 and §6. For every event (a gateway answer, a
 * timer, the cashier's abort, a verified notification) the engine runs the pure machine, commits
 * the new state and the request it calls for (write-ahead), then sends the request, arms the
 * timer and tells the observers. At start, every order and refund not final is resumed before
 * new orders are accepted.
 */

struct engine;
struct engine_subscription;

/* doc/engine.md "Throttling": a throttled call is repeated after 10 s, 20 s, … up to 5 min. */
#define ENGINE_THROTTLE_INITIAL_USEC (10 * USEC_PER_SEC)
#define ENGINE_THROTTLE_MAX_USEC     (300 * USEC_PER_SEC)

struct engine_config {
	struct order_config fsm;      /* intervals and counts */
	const char *terminal;         /* out_trade_no prefix: letters, digits, '_'; copied */
	usec_t journal_retry_usec;    /* after a failed journal write, resume after this; 0 = 1 s */
	usec_t throttle_initial_usec; /* first wait after a throttled answer; 0 = the default */
	usec_t throttle_max_usec;     /* cap of its doubling; 0 = the default */
	/* doc/engine.md "Final transitions share a sync": false (the default) lets a final
	 * transition that sends nothing wait for the next sync; true syncs each one alone. */
	bool sync_each_final;
};

/* The final transitions waiting for their sync are synced and told once no event of this
 * priority or above (the loop's I/O) is pending: those that come together share it. */
#define ENGINE_LATE_SYNC_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 5)

/* What observers (display, local API) are told after each committed transition. */
struct engine_transition {
	const char *event;                   /* the event's name */
	const struct journal_order *order;   /* the order after the transition (borrowed) */
	enum order_state from;               /* order transitions */
	const struct journal_refund *refund; /* non-NULL for a refund transition (borrowed) */
	enum refund_state refund_from;
};

typedef void (*engine_observer_t)(const struct engine_transition *t, void *userdata);

/*
 * Creates an engine. event and journal are borrowed (referenced / kept) and must outlive it;
 * gw is copied, its userdata borrowed. Reads F2FPAY_CRASH_AT (tests: SIGKILL at the Nth
 * write-ahead point, counting one point just before and one just after each commit).
 */
int engine_new(sd_event *event, struct journal *journal, const struct engine_config *cfg,
	       const struct gateway *gw, struct engine **ret);
/* Frees the engine, abandoning calls in flight (they are resumed at the next start). */
void engine_free(struct engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct engine *, engine_free);

/*
 * Syncs the final transitions that wait for their sync and tells the observers of them, oldest
 * first (doc/engine.md "Final transitions share a sync"). The local API calls it before it
 * answers, so what it says is on the disk. 0 (also with nothing waiting) or -errno (logged).
 */
int engine_flush(struct engine *e);

/* Recovery: resumes every unfinished order and refund. Must be called once before new orders. */
int engine_start(struct engine *e);

/*
 * Takes a new order and starts it. subject, auth_code (scan orders) and pos_ref (may be NULL)
 * are borrowed. Returns 0 and the new order's id in ret_id, 1 and the existing order's id when
 * pos_ref was seen before (never a second charge), -EBUSY before engine_start(), -EINVAL for a
 * bad argument, or a journal error.
 */
int engine_order_new(struct engine *e, enum order_kind kind, int64_t amount_fen,
		     const char *subject, const char *auth_code, const char *pos_ref,
		     char ret_id[static ORDER_ID_MAX + 1]);

/* A new order as the daemon makes it; strings borrowed, NULL when absent. */
struct engine_order_request {
	enum order_kind kind;
	int64_t amount_fen;
	const char *subject;
	const char *auth_code; /* scan: NULL waits for engine_order_code() (WAITING_FOR_CODE) */
	const char *pos_ref;
	const char *idem_key;    /* pos_ref or the Idempotency-Key header */
	const char *fingerprint; /* what the key asks for (journal_order_new()) */
	usec_t code_wait_usec;   /* how long a scan order waits for its code */
	/* The cashier (at most JOURNAL_OPERATOR_MAX), journaled with the order and sent with its
	 * pay or precreate; NULL: the gateway's configured one. */
	const char *operator_id;
};

/*
 * Journals and starts the order. Returns 0 and the new id, 1 and the existing order's id when
 * the key was used before for the same request (never a second charge), -EKEYREJECTED (and
 * that id) when it was used for another request, -EBUSY before engine_start(), -EINVAL for a
 * bad argument, or a journal error.
 */
int engine_order_create(struct engine *e, const struct engine_order_request *req,
			char ret_id[static ORDER_ID_MAX + 1]);

/*
 * The scanner read a payment code for order id (in WAITING_FOR_CODE): the pay starts.
 * -ESTALE when the order is not waiting for a code (any more), -EINVAL for a code that is not
 * Alipay's. The code is not kept once the pay is handed over.
 */
int engine_order_code(struct engine *e, const char *id, const char *auth_code);

/* The cashier gives up. -ENOENT unknown order, -EALREADY if it is already final. */
int engine_order_abort(struct engine *e, const char *id);

/*
 * A verified notification (doc/protocol.md §4) for an order: applied idempotently. Returns 0, or
 * -ENOENT for an order the journal does not know.
 */
int engine_order_notify(struct engine *e, const char *id, enum order_trade_status status);

/*
 * Starts a refund. The journal enforces the rules before anything is sent: -EPERM for an order
 * not paid, -EOVERFLOW for more than paid minus refunded (both logged with a clear message).
 * ret_refund_id receives the out_request_no.
 */
int engine_refund_new(struct engine *e, const char *order_id, int64_t amount_fen,
		      const char *reason, char ret_refund_id[static REFUND_ID_MAX + 1]);
/*
 * With an idempotency key (unique per order, may be NULL): 1 and the existing refund's id when
 * the order has a refund with that key and amount, -EKEYREJECTED (and its id) for another
 * amount.
 */
int engine_refund_new_keyed(struct engine *e, const char *order_id, int64_t amount_fen,
			    const char *reason, const char *idem_key,
			    char ret_refund_id[static REFUND_ID_MAX + 1]);

/*
 * doc/central.md "Refunds at any till": a refund of another till's order fo (borrowed), whose
 * amount the central database reserved under refund_id (its out_request_no). Imports the order
 * and journals the refund (journal_foreign_refund_create()), then runs it like any refund: sent,
 * retried and resumed after a restart with the same out_request_no. -EBUSY before
 * engine_start(), or the journal's error.
 */
int engine_refund_foreign(struct engine *e, const struct journal_foreign_order *fo,
			  const char *refund_id, int64_t amount_fen, const char *reason,
			  const char *idem_key);

/* The current record of an order (live or from the journal). */
int engine_order_get(struct engine *e, const char *id, struct journal_order *ret);

/* Orders and refunds not final yet. */
unsigned engine_active_count(const struct engine *e);

/* Write-ahead points passed so far (see F2FPAY_CRASH_AT). */
uint64_t engine_write_ahead_points(const struct engine *e);

/* Observers: cb is called after every committed transition. userdata borrowed. */
int engine_subscribe(struct engine *e, engine_observer_t cb, void *userdata,
		     struct engine_subscription **ret);
void engine_unsubscribe(struct engine_subscription *s);
