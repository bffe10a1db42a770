/* SPDX-License-Identifier: MIT */
/* The back office's view of the store: every till's progress and the orders of all tills. */
#pragma once

#include <libpq-fe.h>
#include <stdio.h>

#include "central/table.h"

/*
 * doc/central.md "Back office". Per till: terminal, install id, store, database role, last seen
 * (UTC+8) and how long ago, the backlog and lag the till last reported, and its orders in
 * ATTENTION. Prints to f; 0, -EIO on a server error (logged), another -errno.
 */
int central_view_status(PGconn *c, enum central_format fmt, FILE *f);

/* Filters of central_view_orders(); NULL or "" for none. */
struct central_order_filter {
	const char *date;     /* "yyyy-MM-dd": created that day, UTC+8 */
	const char *state;    /* PAID, ATTENTION, … (any case) */
	const char *terminal; /* terminal id */
};

/* The latest state of every order of every till that matches, oldest first. */
int central_view_orders(PGconn *c, const struct central_order_filter *flt, enum central_format fmt,
			FILE *f);

/*
 * doc/central.md "Refunds at any till": every refund reservation (flt->state: HELD, DONE,
 * RELEASED; flt->terminal: the refunding till), oldest first.
 */
int central_view_reservations(PGconn *c, const struct central_order_filter *flt,
			      enum central_format fmt, FILE *f);

/*
 * Deletes the reservation refund_id when nothing will ever settle it: no refund row of it, and
 * its till caught up 10 minutes after it. 0; -ENOENT; -EBUSY (logged why); -EIO. Needs a role
 * that may delete reservations (the database's owner).
 */
int central_reservation_release(PGconn *c, const char *refund_id);
