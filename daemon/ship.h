/* SPDX-License-Identifier: MIT */
/* Copies the journal to the store's central PostgreSQL in the background, never blocking. */
#pragma once

#include <systemd/sd-event.h>

#include "config/config.h"
#include "daemon/engine/journal.h"

/*
 * doc/central.md "Shipping". The shipper reads the journal's event log after the last sequence
 * the central database holds and sends it, with snapshots of the orders and refunds the events
 * touched, in batches of one statement each, over one libpq connection driven by the event loop
 * (connect, send and receive never block). The journal stays the source of truth: nothing waits
 * for the shipper, which retries every retry_interval while the database is away.
 */
struct ship;
struct json_object;

/*
 * A shipper for journal j (borrowed; must outlive it) on the event loop. cfg->url must be set;
 * cfg and terminal are read now and not kept; journal_path names the hint file
 * "<journal_path>.central-seq" (the install id and the last sequence known shipped, for the
 * status while the database is away). Returns 0 and a new shipper, -ENOMEM, or the -errno of
 * reading the password (logged).
 */
int ship_new(sd_event *event, struct journal *j, const struct config_central *cfg,
	     const struct config_terminal *terminal, const char *app_id, const char *journal_path,
	     struct ship **ret);
/* Drops the connection and frees the shipper (NULL-safe); what was not sent is sent next time. */
struct ship *ship_free(struct ship *s);

/* How far the database is behind, measured now (for the status and the metrics). */
struct ship_progress {
	const char *state; /* "connecting", "connected", "sending", "unreachable", "stopped" */
	bool connected;
	int64_t journal_seq, shipped_seq;
	bool shipped_confirmed; /* shipped_seq came from the database in this run */
	int64_t backlog_events;
	int64_t lag_seconds; /* the age of the oldest event not shipped, 0 when none */
	uint64_t events_shipped;
};
void ship_progress(struct ship *s, struct ship_progress *ret);

/* Adds "central": {state, journal_seq, shipped_seq, backlog, lag_seconds, …} to o. */
int ship_status_add(struct ship *s, struct json_object *o);
