/* SPDX-License-Identifier: MIT */
/* The notification listener: POST at one path, a bounded body, "success" or "failure" back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/httpd.h"
#include "daemon/notify.h"

#define NOTIFY_TIMEOUT_SEC 30

struct notify {
	struct httpd *httpd;
	char *path;
	size_t body_limit;
	unsigned port;
	notify_handler_t handler;
	void *userdata;
};

struct notify_request {
	struct buf body;
	bool too_large;
};

static enum MHD_Result
reply(struct MHD_Connection *mc, unsigned status, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
	r = MHD_queue_response(mc, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct notify *n = cls;
	struct notify_request *req = *con_cls;

	if (!req) {
		const char *cl;

		if (!STR_EQ(url, n->path))
			return reply(mc, 404, "not found");
		if (!STR_EQ(method, "POST"))
			return reply(mc, 405, "failure");
		cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(cl, &end, 10);
			if (errno || *end || v > n->body_limit)
				return reply(mc, 413, "failure");
		}
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->body = BUF_INIT(n->body_limit);
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!req->too_large && buf_append(&req->body, upload_data, *upload_data_size) < 0)
			req->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->too_large)
		return reply(mc, 413, "failure");
	if (req->body.len == 0 || memchr(req->body.data, 0, req->body.len))
		return reply(mc, 400, "failure");
	/* doc/protocol.md §4: exactly the 7 bytes "success" stops Alipay's resends. */
	const char *ct =
		MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	bool ok = n->handler(n->userdata, ct, req->body.data, req->body.len);
	return reply(mc, 200, ok ? "success" : "failure");
}

static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct notify_request *req = *con_cls;

	if (!req)
		return;
	buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

int
notify_new(struct notify **ret, sd_event *event, const struct notify_options *opts,
	   notify_handler_t handler, void *userdata)
{
	struct notify *n;
	int fd, r;

	if (!opts->listen || !opts->path || opts->path[0] != '/' || opts->body_limit == 0 ||
	    opts->max_connections == 0 || !handler)
		return log_error_errno(EINVAL, "Bad notification listener options");
	n = calloc(1, sizeof(*n));
	if (!n)
		return log_error_errno(ENOMEM, "Out of memory");
	n->path = strdup(opts->path);
	if (!n->path) {
		free(n);
		return log_error_errno(ENOMEM, "Out of memory");
	}
	n->body_limit = opts->body_limit;
	n->handler = handler;
	n->userdata = userdata;
	/* Any address: it sits behind the store's reverse proxy, which may be on another host. */
	fd = httpd_bind_tcp(opts->listen, false, &n->port);
	if (fd < 0) {
		notify_free(n);
		return fd;
	}
	r = httpd_start(&n->httpd, event, fd, opts->max_connections, NOTIFY_TIMEOUT_SEC, on_request,
			n, on_completed, n);
	if (r < 0) {
		notify_free(n);
		return r;
	}
	log_info("Listening for Alipay notifications on %s%s", opts->listen, opts->path);
	*ret = n;
	return 0;
}

struct notify *
notify_free(struct notify *n)
{
	if (!n)
		return NULL;
	n->httpd = httpd_free(n->httpd);
	free(n->path);
	free(n);
	return NULL;
}

unsigned
notify_port(const struct notify *n)
{
	return n->port;
}
