/* SPDX-License-Identifier: MIT */
/* Refunds of other tills' orders: reserved in the central PostgreSQL, then run by the engine. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "daemon/engine/engine.h"

/*
 * doc/central.md "Refunds at any till". A refund of an order this till does not own is reserved
 * in the central database first (f2fpay.refund_reserve(): the order found by id or pos_ref, its
 * row locked, the amount checked against every till's refunds and reservations), over a libpq
 * connection of its own driven by the event loop; only a reserved refund is journaled (the order
 * imported) and handed to the engine, which sends it with an out_request_no of this till's. The
 * refund's rows, shipped like any refund, settle the reservation.
 */
struct central_refund;

/* What became of one request. */
enum central_refund_outcome {
	CENTRAL_REFUND_STARTED,     /* reserved, journaled and started: refund_id */
	CENTRAL_REFUND_REPLAYED,    /* the idempotency key named this refund before: refund_id */
	CENTRAL_REFUND_NOT_FOUND,   /* no till's order has that id or pos_ref */
	CENTRAL_REFUND_AMBIGUOUS,   /* the pos_ref names orders of several tills: message */
	CENTRAL_REFUND_NOT_PAID,    /* the order is not paid */
	CENTRAL_REFUND_EXCEEDS,     /* more than paid minus refunded and reserved: message */
	CENTRAL_REFUND_KEY_OTHER,   /* the idempotency key named a refund of another amount */
	CENTRAL_REFUND_UNAVAILABLE, /* the database cannot be reached or failed: message */
	CENTRAL_REFUND_FAILED,   /* reserved but not journaled (message); the reservation stays */
	CENTRAL_REFUND_SHUTDOWN, /* the daemon stopped or reloaded before the answer */
	/* central_refund_own(): */
	CENTRAL_REFUND_RESERVED,   /* reserved under refund_id: journal and start it now */
	CENTRAL_REFUND_UNRESERVED, /* not reserved (message says why): go on all the same */
};

struct central_refund_result {
	enum central_refund_outcome outcome;
	char refund_id[REFUND_ID_MAX + 1];
	char message[768];
};

/* Called exactly once per request, from the event loop (never from inside start). */
typedef void (*central_refund_done_t)(const struct central_refund_result *res, void *userdata);

/*
 * A refunder on the event loop for journal j and engine e (borrowed; must outlive it). cfg->url
 * must be set; cfg and terminal are read now and not kept. Returns 0, -ENOMEM, or the -errno of
 * reading the password (logged).
 */
int central_refund_new(sd_event *event, struct journal *j, struct engine *e,
		       const struct config_central *cfg, const char *terminal,
		       struct central_refund **ret);
/* Ends the requests in flight (their done gets CENTRAL_REFUND_SHUTDOWN) and frees (NULL-safe). */
struct central_refund *central_refund_free(struct central_refund *cr);

/*
 * Starts the refund of amount_fen of another till's order, named by order_id or by pos_ref
 * (exactly one non-NULL). reason and idem_key may be NULL. Strings are copied. Returns 0 (done
 * follows), -EINVAL, or -ENOMEM.
 */
int central_refund_start(struct central_refund *cr, const char *order_id, const char *pos_ref,
			 int64_t amount_fen, const char *reason, const char *idem_key,
			 central_refund_done_t done, void *userdata);

/*
 * doc/central.md "Refunds at any till": before this till refunds its own order order_id, the
 * amount is reserved in the central database too, under the id the journal gives the refund
 * next (journal_refund_next_id()), so that other tills' reservations and this refund are
 * checked against each other. done says RESERVED (journal and start the refund now, inside
 * done, with engine_refund_new_keyed()), UNRESERVED (the database cannot say: go on without,
 * the refund counts centrally once shipped), EXCEEDS or NOT_PAID (refuse it), or SHUTDOWN.
 * Refunds of one order are reserved one at a time; each waits at most min([central] timeout,
 * 5 s). A request with the idem_key (may be NULL) of one still waiting gets that one's answer.
 * Returns 0 (done follows), -EINVAL, or -ENOMEM.
 */
int central_refund_own(struct central_refund *cr, const char *order_id, int64_t amount_fen,
		       const char *idem_key, central_refund_done_t done, void *userdata);

/* Whether a refund of the own order order_id is waiting for its reservation: then every other
 * refund of it must queue behind (central_refund_own()), or the ids would not be the reserved
 * ones. */
bool central_refund_own_pending(const struct central_refund *cr, const char *order_id);
