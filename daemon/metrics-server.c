/* SPDX-License-Identifier: MIT */
/* The read-only monitoring listener: /metrics, /health, /version over HTTP on loopback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/httpd.h"
#include "daemon/metrics-server.h"

#define METRICS_BODY_MAX        (1024 * 1024)
#define METRICS_MAX_CONNECTIONS 8
#define METRICS_TIMEOUT_SEC     10

struct metrics_server {
	struct httpd *httpd;
	unsigned port;
	metrics_render_fn fn;
	void *userdata;
};

static enum MHD_Result
respond(struct MHD_Connection *mc, unsigned status, const char *type, const void *data, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(mc, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct metrics_server *s = cls;
	_cleanup_buf_ struct buf out = BUF_INIT(METRICS_BODY_MAX);
	const char *type = text;
	int status;

	/* Read-only: a body is never read, a method that could change something never served. */
	if (!STR_EQ(method, "GET") && !STR_EQ(method, "HEAD"))
		return respond(mc, MHD_HTTP_METHOD_NOT_ALLOWED, text, "read-only\n", 10);
	status = s->fn(s->userdata, url, &out, &type);
	if (status < 0)
		return respond(mc, 500, text, "internal error\n", 15);
	return respond(mc, (unsigned)status, type, out.data ? out.data : "", out.len);
}

int
metrics_server_new(sd_event *event, const char *listen, metrics_render_fn fn, void *userdata,
		   struct metrics_server **ret)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	int fd, r;

	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->userdata = userdata;
	fd = httpd_bind_tcp(listen, true, &s->port);
	if (fd < 0) {
		free(s);
		return log_error_errno(fd, "[metrics] listen %s: %m", listen);
	}
	/* GET only, from loopback: 2 s for the headers, 5 s for the request. */
	struct httpd_limits limits = {
		.max_connections = METRICS_MAX_CONNECTIONS,
		.max_per_source = METRICS_MAX_CONNECTIONS,
		.header_deadline_usec = 2 * USEC_PER_SEC,
		.request_deadline_usec = 5 * USEC_PER_SEC,
		.keepalive_usec = 5 * USEC_PER_SEC,
		.idle_timeout_sec = METRICS_TIMEOUT_SEC,
	};
	r = httpd_start(&s->httpd, event, fd, &limits, on_request, s, NULL, NULL);
	if (r < 0) {
		free(s);
		return r;
	}
	log_info("Metrics, health and version on http://%s/", listen);
	*ret = s;
	return 0;
}

struct metrics_server *
metrics_server_free(struct metrics_server *s)
{
	if (!s)
		return NULL;
	httpd_free(s->httpd);
	free(s);
	return NULL;
}

unsigned
metrics_server_port(const struct metrics_server *s)
{
	return s->port;
}
