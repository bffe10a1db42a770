/* SPDX-License-Identifier: MIT */
/* The notification listener: POST at one path, a bounded body, "success" or "failure" back. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/httpd.h"
#include "daemon/notify.h"

/*
 * Alipay sends a small form at once: 5 s for the headers and 10 s for all of it are plenty, and
 * bound what a client sending one byte at a time can hold.
 */
#define HEADER_DEADLINE_USEC  (5 * USEC_PER_SEC)
#define REQUEST_DEADLINE_USEC (10 * USEC_PER_SEC)
#define KEEPALIVE_USEC        (2 * USEC_PER_SEC)
#define IDLE_TIMEOUT_SEC      10

struct notify {
	struct httpd *httpd;
	char *path;
	size_t body_limit;
	unsigned port;
	notify_handler_t handler;
	void *userdata;
	uint64_t forgeries, forgeries_unlogged;
	usec_t forgery_logged_usec;
	struct notify_request *held; /* suspended until notify_release() */
};

struct notify_request {
	struct buf body;
	bool too_large;
	/* NOTIFY_HELD: suspended on the held list; then released with its answer. */
	bool released, release_ok;
	struct MHD_Connection *mc;
	struct notify_request *next_held;
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

/* A forgery: counted always, logged with a sample at most once per NOTIFY_FORGERY_LOG_USEC. */
static void
forgery_note(struct notify *n, struct MHD_Connection *mc, const struct buf *body)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	usec_t now = now_usec(CLOCK_MONOTONIC);
	char peer[INET6_ADDRSTRLEN] = "?", sample[NOTIFY_FORGERY_SAMPLE + 1];
	size_t i;

	n->forgeries++;
	if (n->forgery_logged_usec && now - n->forgery_logged_usec < NOTIFY_FORGERY_LOG_USEC) {
		n->forgeries_unlogged++;
		return;
	}
	if (ci && ci->client_addr) {
		/* Copied out: MHD's pointer is only as aligned as a struct sockaddr. */
		const struct sockaddr *sa = ci->client_addr;
		struct sockaddr_in s4;
		struct sockaddr_in6 s6;
		if (sa->sa_family == AF_INET) {
			memcpy(&s4, sa, sizeof(s4));
			inet_ntop(AF_INET, &s4.sin_addr, peer, sizeof(peer));
		} else if (sa->sa_family == AF_INET6) {
			memcpy(&s6, sa, sizeof(s6));
			inet_ntop(AF_INET6, &s6.sin6_addr, peer, sizeof(peer));
		}
	}
	/* Printable ASCII only: the sample is whatever a stranger sent. */
	for (i = 0; i < body->len && i < NOTIFY_FORGERY_SAMPLE; i++) {
		unsigned char c = (unsigned char)body->data[i];
		sample[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	sample[i] = 0;
	log_warning("Forged notification from %s refused (%" PRIu64 " forged in all, %" PRIu64
		    " not logged since the last): %s%s",
		    peer, n->forgeries, n->forgeries_unlogged, sample,
		    body->len > NOTIFY_FORGERY_SAMPLE ? "..." : "");
	n->forgeries_unlogged = 0;
	n->forgery_logged_usec = now;
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
	if (req->released)
		return reply(mc, 200, req->release_ok ? "success" : "failure");
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
	enum notify_verdict v = n->handler(n->userdata, ct, req->body.data, req->body.len);
	if (v == NOTIFY_FORGED)
		forgery_note(n, mc, &req->body);
	if (v == NOTIFY_HELD) {
		/* MHD calls again once resumed, with nothing to upload: `released` answers. */
		req->mc = mc;
		req->next_held = n->held;
		n->held = req;
		MHD_suspend_connection(mc);
		return MHD_YES;
	}
	return reply(mc, 200, v == NOTIFY_ACCEPTED ? "success" : "failure");
}

void
notify_release(struct notify *n, bool ok)
{
	if (!n || !n->held)
		return;
	while (n->held) {
		struct notify_request *req = n->held;

		n->held = req->next_held;
		req->next_held = NULL;
		req->released = true;
		req->release_ok = ok;
		MHD_resume_connection(req->mc);
	}
	httpd_kick(n->httpd);
}

static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct notify *n = cls;
	struct notify_request *req = *con_cls;

	if (!req)
		return;
	for (struct notify_request **p = &n->held; *p; p = &(*p)->next_held)
		if (*p == req) {
			*p = req->next_held;
			break;
		}
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
	/* One source (the reverse proxy, or anyone if exposed) may take half the slots. */
	struct httpd_limits limits = {
		.max_connections = opts->max_connections,
		.max_per_source = MAX(1u, opts->max_connections / 2),
		.header_deadline_usec = HEADER_DEADLINE_USEC,
		.request_deadline_usec = REQUEST_DEADLINE_USEC,
		.keepalive_usec = KEEPALIVE_USEC,
		.idle_timeout_sec = IDLE_TIMEOUT_SEC,
	};
	r = httpd_start(&n->httpd, event, fd, &limits, on_request, n, on_completed, n);
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
	/* MHD refuses to stop with suspended connections. */
	notify_release(n, false);
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

uint64_t
notify_forgeries(const struct notify *n)
{
	return n->forgeries;
}
