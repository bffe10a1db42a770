/* SPDX-License-Identifier: MIT */
/* The HTTP listener for Alipay's asynchronous notifications (doc/protocol.md §4): transport only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

struct notify;

struct notify_options {
	const char *listen; /* "ADDR:PORT" (numeric; port 0 picks one) */
	const char *path;   /* e.g. "/alipay/notify" */
	size_t body_limit;
	unsigned max_connections;
};

/*
 * Called with the raw body of each POST to the path (`body` is NUL-terminated, `len` bytes;
 * both borrowed). The handler verifies, checks and records the notification (doc/protocol.md §4)
 * and returns true when Alipay may stop resending (the answer is then exactly "success"), false
 * otherwise ("failure"). The Content-Type Alipay sends is malformed, so it is only passed on.
 */
typedef bool (*notify_handler_t)(void *userdata, const char *content_type, const char *body,
				 size_t len);

/* Binds the listener and attaches it to `event` (borrowed). Returns 0 or -errno (logged). */
int notify_new(struct notify **ret, sd_event *event, const struct notify_options *opts,
	       notify_handler_t handler, void *userdata);

/* Stops listening. NULL is fine. */
struct notify *notify_free(struct notify *n);

/* The bound TCP port. */
unsigned notify_port(const struct notify *n);
