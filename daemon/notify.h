/* SPDX-License-Identifier: MIT */
/* The HTTP listener for Alipay's asynchronous notifications (doc/protocol.md §4): transport only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"

struct notify;

struct notify_options {
	const char *listen; /* "ADDR:PORT" (numeric; port 0 picks one) */
	const char *path;   /* e.g. "/alipay/notify" */
	size_t body_limit;
	unsigned max_connections;
};

/* What the handler made of a notification. */
enum notify_verdict {
	NOTIFY_ACCEPTED, /* verified and kept: answered "success", Alipay stops resending */
	NOTIFY_REFUSED,  /* verified but refused, or not kept: "failure", Alipay resends */
	NOTIFY_FORGED,   /* does not verify: "failure"; nothing of it was written anywhere */
	NOTIFY_HELD,     /* accepted, but not on the disk yet: answered at notify_release() */
};

/*
 * Called with the raw body of each POST to the path (`body` is NUL-terminated, `len` bytes;
 * both borrowed). The handler verifies the signature before anything else and writes nothing
 * for a forgery (doc/protocol.md §4); it checks and records a verified notification. The
 * Content-Type Alipay sends is malformed, so it is only passed on.
 */
typedef enum notify_verdict (*notify_handler_t)(void *userdata, const char *content_type,
						const char *body, size_t len);

/*
 * Forgeries are counted and logged at most once per NOTIFY_FORGERY_LOG_USEC with how many
 * were suppressed, the peer's address and the first bytes of one body as a sample: a flood
 * costs no disk write and a bounded amount of log.
 */
#define NOTIFY_FORGERY_LOG_USEC (10 * USEC_PER_SEC)
#define NOTIFY_FORGERY_SAMPLE   64

/* Binds the listener and attaches it to `event` (borrowed). Returns 0 or -errno (logged). */
int notify_new(struct notify **ret, sd_event *event, const struct notify_options *opts,
	       notify_handler_t handler, void *userdata);

/* Stops listening; held notifications are answered "failure". NULL is fine. */
struct notify *notify_free(struct notify *n);

/*
 * Answers every held notification: "success" when ok (what they wrote is on the disk),
 * "failure" when not (Alipay sends them again).
 */
void notify_release(struct notify *n, bool ok);

/* The bound TCP port. */
unsigned notify_port(const struct notify *n);

/* Forged notifications received since the start. */
uint64_t notify_forgeries(const struct notify *n);
