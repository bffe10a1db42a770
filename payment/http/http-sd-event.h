/* SPDX-License-Identifier: MIT */
/* Runs the HTTPS transport on an sd-event loop (the daemon's loop). */
#pragma once

#include <systemd/sd-event.h>

#include "payment/http/http.h"

/*
 * Creates an HTTP client whose sockets and timer are sources on `event` (borrowed; a reference
 * is held until http_client_free()). `config` as for http_client_new(). Returns 0 and a new
 * client in *ret, or -errno. Free it with http_client_free() before the event loop goes away
 * or while it still runs: in-flight requests are cancelled without callbacks.
 */
int http_client_new_sd_event(sd_event *event, const struct http_client_config *config,
			     struct http_client **ret);
