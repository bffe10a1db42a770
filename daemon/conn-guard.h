/* SPDX-License-Identifier: MIT */
/* Which HTTP connection to shed: slot caps per source and in all, whole-request deadlines. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"

/* Who is at the other end: a peer address, or a peer uid on a unix socket. */
struct conn_source {
	int family; /* AF_INET, AF_INET6, AF_UNIX; 0: unknown (all unknowns are one source) */
	uint8_t addr[16];
};

enum conn_guard_state {
	CONN_GUARD_READING_HEAD, /* accepted or kept alive, headers not all in */
	CONN_GUARD_READING_BODY, /* headers in, body not all in */
	CONN_GUARD_HANDLED,      /* request complete: answered, waiting or streaming */
};

struct guarded_conn {
	struct conn_source src;
	enum conn_guard_state state;
	usec_t since; /* accept, or the answer of the previous request: who waited longest */
	usec_t grace; /* added to the deadlines: the keep-alive time after an answer */
	bool shed;
	void *userdata;
	struct guarded_conn *prev, *next;
};

struct conn_guard_limits {
	unsigned max_connections, max_per_source;
	usec_t header_deadline_usec, request_deadline_usec, keepalive_usec;
};

struct conn_guard {
	struct conn_guard_limits limits;
	struct guarded_conn *conns; /* newest first */
	unsigned live;              /* not shed */
	uint64_t accepted, shed_for_room, shed_for_deadline;
};

/*
 * A new connection (`c` borrowed until conn_guard_remove) joins at `now_usec`. Returns the
 * connection to shed to make room (marked shed, possibly `c` itself when every other one of its
 * source or of all is busy with a request), or NULL. At most one is ever needed per arrival.
 */
struct guarded_conn *conn_guard_add(struct conn_guard *g, struct guarded_conn *c,
				    const struct conn_source *src, usec_t now_usec);

/* The connection's request has its headers in / its body in / was answered. */
void conn_guard_set_state(struct conn_guard *g, struct guarded_conn *c, enum conn_guard_state state,
			  usec_t now_usec);

/* The connection is closed: it leaves the guard. */
void conn_guard_remove(struct conn_guard *g, struct guarded_conn *c);

/*
 * The next reading connection past its deadline at `now_usec` (marked shed), or NULL. Call
 * until NULL.
 */
struct guarded_conn *conn_guard_next_expired(struct conn_guard *g, usec_t now_usec);

/* Whether some live connection is still reading (a deadline may pass). */
bool conn_guard_has_reading(const struct conn_guard *g);
