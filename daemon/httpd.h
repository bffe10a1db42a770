/* SPDX-License-Identifier: MIT */
/* libmicrohttpd on sd-event: one MHD daemon in MHD_USE_EPOLL mode, and its listening sockets. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

struct httpd;

/*
 * Starts an MHD daemon on `listen_fd` (taken, closed on failure too) and attaches it to `event`
 * (borrowed): MHD's epoll fd becomes an I/O source and MHD_get_timeout() a timer. Suspend and
 * resume are allowed; after MHD_resume_connection() call httpd_kick(). The handler and the
 * completion callback get their own cls. Returns 0 and a new httpd, or -errno (logged).
 */
int httpd_start(struct httpd **ret, sd_event *event, int listen_fd, unsigned max_connections,
		unsigned timeout_sec, MHD_AccessHandlerCallback handler, void *handler_cls,
		MHD_RequestCompletedCallback completed, void *completed_cls);

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
