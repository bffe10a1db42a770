/* SPDX-License-Identifier: MIT */
/* libmicrohttpd on sd-event: one MHD daemon in MHD_USE_EPOLL mode, and its listening sockets. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"

struct httpd;

/*
 * What one listener lets its clients hold (doc/operations.md, "Connection limits"). A
 * connection is *reading* from its accept (or the end of its previous request) until its whole
 * request is in, then *handled* (answered, waiting for the engine, or streaming events) with no
 * deadline. Reading connections have absolute deadlines that no byte restarts; when the slots
 * or a source's share are all taken, the reading connection that has waited longest is shed
 * to make room, so idle and slow clients go first and requests in progress are never cut.
 */
struct httpd_limits {
	unsigned max_connections;     /* all sources together */
	unsigned max_per_source;      /* per peer address (TCP) or peer uid (unix socket) */
	usec_t header_deadline_usec;  /* accept (or previous answer) to the end of the headers */
	usec_t request_deadline_usec; /* accept (or previous answer) to the end of the body */
	usec_t keepalive_usec;        /* added to both after an answer on a kept-alive connection */
	unsigned idle_timeout_sec;    /* MHD's inactivity timeout, for handled connections too */
};

/* Counters of one listener since its start. */
struct httpd_stats {
	unsigned connections; /* open now, shed ones not counted */
	uint64_t accepted, shed_for_room, shed_for_deadline;
};

/*
 * Starts an MHD daemon on `listen_fd` (taken, closed on failure too) and attaches it to `event`
 * (borrowed): MHD's epoll fd becomes an I/O source and MHD_get_timeout() a timer. Suspend and
 * resume are allowed; after MHD_resume_connection() call httpd_kick(). The handler and the
 * completion callback get their own cls; `limits` is copied. Returns 0 and a new httpd, or
 * -errno (logged).
 */
int httpd_start(struct httpd **ret, sd_event *event, int listen_fd,
		const struct httpd_limits *limits, MHD_AccessHandlerCallback handler,
		void *handler_cls, MHD_RequestCompletedCallback completed, void *completed_cls);

/* The listener's counters. */
void httpd_get_stats(const struct httpd *h, struct httpd_stats *ret);

/* The priority of the listener's event sources (sd-event's: lower runs first). */
void httpd_set_priority(struct httpd *h, int64_t priority);

/* Makes MHD run once more from the loop soon (needed after resuming a connection). */
void httpd_kick(struct httpd *h);

/* Runs MHD once now. */
void httpd_run(struct httpd *h);

/* Stops the daemon: resume every suspended connection first (MHD's rule). NULL is fine. */
struct httpd *httpd_free(struct httpd *h);

/*
 * Binds and listens on a unix socket at `path` (a stale socket there is removed), then sets
 * the group (unless NULL) and the mode. Returns the fd (O_CLOEXEC|O_NONBLOCK) or -errno.
 */
int httpd_bind_unix(const char *path, unsigned mode, const char *group);

/*
 * Binds and listens on "IPv4:PORT" or "[IPv6]:PORT" (numeric; port 0 picks one). With
 * loopback_only, other addresses are refused. Writes the bound port. Returns the fd or -errno.
 */
int httpd_bind_tcp(const char *addr, bool loopback_only, unsigned *ret_port);
