/* SPDX-License-Identifier: MIT */
/*
 * The read-only monitoring listener ([metrics] listen, loopback only): GET /metrics
 * (Prometheus text), GET /health (JSON; 503 while a problem condition holds) and GET /version.
 * Anything else is refused; nothing here changes state. Transport only: the daemon renders.
 */
#pragma once

#include <systemd/sd-event.h>

#include "common/buf.h"

/*
 * Renders the resource at `path` into out: returns the HTTP status (200, 503, 404) and sets
 * *ret_type to the Content-Type, or -errno for an internal failure (500).
 */
typedef int (*metrics_render_fn)(void *userdata, const char *path, struct buf *out,
				 const char **ret_type);

struct metrics_server;

/* Listens on `listen` ("127.0.0.1:9464", borrowed). 0 and a new server, or -errno (logged). */
int metrics_server_new(sd_event *event, const char *listen, metrics_render_fn fn, void *userdata,
		       struct metrics_server **ret);
struct metrics_server *metrics_server_free(struct metrics_server *s);
/* The bound port (useful with port 0). */
unsigned metrics_server_port(const struct metrics_server *s);
