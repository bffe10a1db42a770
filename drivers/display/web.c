/* SPDX-License-Identifier: MIT */
/*
 * The web display's listener: a deliberately small HTTP/1.1 server that answers GET (and HEAD)
 * for one page, its stylesheet, its script and its event stream, and nothing else. One request
 * per connection; no request bodies; every limit fixed here (doc/display.md §2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time-util.h"
#include "drivers/display/display-private.h"
#include "drivers/display/web-assets.h"

#define REQUEST_MAX        2048                /* bytes of request line + headers */
#define REQUEST_TIMEOUT    (3 * USEC_PER_SEC)  /* to send the whole request */
#define RESPONSE_TIMEOUT   (10 * USEC_PER_SEC) /* to read a page or an asset */
#define LINGER_TIMEOUT     (2 * USEC_PER_SEC)  /* to close after an answer */
#define HEARTBEAT_INTERVAL (15 * USEC_PER_SEC) /* a comment on every stream */
#define CLIENTS_MAX        32                  /* connections, of which ... */
#define STREAMS_MAX        16                  /* ... event streams */
#define STREAM_BACKLOG_MAX (256 * 1024)        /* unsent bytes before a viewer is dropped */
#define STATE_MAX          (64 * 1024)         /* one screen as JSON */
#define RETRY_MSEC         1000                /* EventSource reconnect delay */

enum client_state {
	CLIENT_READ,
	CLIENT_RESPOND, /* writing one response, then closing */
	CLIENT_LINGER,  /* response sent: reading what the client still sends until it closes,
			   so that closing does not reset the connection under the response */
	CLIENT_STREAM,  /* text/event-stream until the viewer goes */
};

struct client {
	struct display_web *w;
	struct client *next, *prev;
	int fd;
	enum client_state state;
	sd_event_source *io, *timer;
	char req[REQUEST_MAX + 1];
	size_t req_len;
	struct buf out;
	size_t out_off;
};

struct display_web {
	int fd;
	int port;
	sd_event *event;
	sd_event_source *listen_io, *heartbeat;
	struct client *clients;
	unsigned n_clients, n_streams;
	struct buf state; /* the current screen as JSON, "" before the first show */
	uint64_t seq;
	struct display_web_stats stats;
};

static const char security_headers[] =
	"Cache-Control: no-store\r\n"
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
	"connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
	"frame-ancestors 'none'\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Referrer-Policy: no-referrer\r\n";

static void
client_free(struct client *c)
{
	struct display_web *w = c->w;

	if (c->state == CLIENT_STREAM)
		w->n_streams--;
	w->n_clients--;
	if (w->listen_io)
		(void)sd_event_source_set_enabled(w->listen_io, SD_EVENT_ON);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	close(c->fd);
	buf_free(&c->out);
	free(c);
}

/* Writes what is pending without blocking. 1 = all sent, 0 = more to send, < 0 = gone. */
static int
client_flush(struct client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		c->out_off += (size_t)n;
	}
	if (c->out_off > 0) {
		/* Keep only what is unsent, so the bound is on the backlog alone. */
		memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
		buf_truncate(&c->out, c->out.len - c->out_off);
		c->out_off = 0;
	}
	(void)sd_event_source_set_io_events(c->io, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
	return c->out.len == 0;
}

static int client_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);

static void
client_deadline(struct client *c, uint64_t after)
{
	c->timer = sd_event_source_disable_unref(c->timer);
	if (after > 0)
		(void)sd_event_add_time_relative(c->w->event, &c->timer, CLOCK_MONOTONIC, after,
						 100 * USEC_PER_MSEC, client_timer_cb, c);
}

static int
client_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct client *c = userdata;

	if (c->state == CLIENT_READ)
		c->w->stats.timed_out++;
	client_free(c);
	return 0;
}

static int
respond(struct client *c, const char *status, const char *type, const char *body, size_t len,
	int head)
{
	int r = buf_printf(&c->out,
			   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			   "Connection: close\r\n\r\n",
			   status, type, len, security_headers);
	if (r >= 0 && !head)
		r = buf_append(&c->out, body, len);
	c->state = CLIENT_RESPOND;
	client_deadline(c, RESPONSE_TIMEOUT);
	return r;
}

static int
respond_error(struct client *c, const char *status)
{
	c->w->stats.refused++;
	return respond(c, status, "text/plain; charset=utf-8", status, strlen(status), 0);
}

static int
stream_event(struct client *c, const struct buf *state)
{
	if (c->out.len - c->out_off + state->len > STREAM_BACKLOG_MAX)
		return -ENOBUFS; /* a viewer that does not read is dropped; it reconnects */
	return buf_printf(&c->out, "data: %s\n\n", state->data);
}

static int
start_stream(struct client *c)
{
	struct display_web *w = c->w;
	int r;

	if (w->n_streams >= STREAMS_MAX)
		return respond_error(c, "503 Service Unavailable");
	r = buf_printf(&c->out,
		       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n%s"
		       "Connection: close\r\n\r\nretry: %d\n\n",
		       security_headers, RETRY_MSEC);
	if (r >= 0 && w->state.len > 0)
		r = stream_event(c, &w->state);
	c->state = CLIENT_STREAM;
	w->n_streams++;
	client_deadline(c, 0);
	return r;
}

/* The one routing table of the listener: anything not listed here is 404. */
static int
route(struct client *c, int head, const char *path)
{
	static const struct {
		const char *path, *type;
		const char *body;
		const size_t *len;
	} files[] = {
		{"/", "text/html; charset=utf-8", web_asset_display_html,
		 &web_asset_display_html_len},
		{"/display.css", "text/css; charset=utf-8", web_asset_display_css,
		 &web_asset_display_css_len},
		{"/display.js", "text/javascript; charset=utf-8", web_asset_display_js,
		 &web_asset_display_js_len},
	};

	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		if (STR_EQ(path, files[i].path))
			return respond(c, "200 OK", files[i].type, files[i].body, *files[i].len,
				       head);
	if (STR_EQ(path, "/events") && !head)
		return start_stream(c);
	return respond_error(c, "404 Not Found");
}

/* A complete request head is in c->req. */
static int
handle_request(struct client *c)
{
	struct display_web_request req;
	const char *error = display_web_request_parse(c->req, &req);

	if (error)
		return respond_error(c, error);
	c->w->stats.served++;
	return route(c, req.head, req.path);
}

static int
client_read(struct client *c)
{
	for (;;) {
		char sink[512];
		ssize_t n;

		if (c->state != CLIENT_READ) {
			/* Nothing more is expected: read to notice the viewer leaving. */
			n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		} else {
			if (c->req_len >= REQUEST_MAX) {
				c->req_len = 0;
				return respond_error(c, "431 Request Header Fields Too Large");
			}
			n = recv(c->fd, c->req + c->req_len, REQUEST_MAX - c->req_len,
				 MSG_DONTWAIT);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		if (c->state != CLIENT_READ)
			continue;
		c->req_len += (size_t)n;
		c->req[c->req_len] = 0;
		if (memchr(c->req, 0, c->req_len))
			return respond_error(c, "400 Bad Request");
		if (strstr(c->req, "\r\n\r\n"))
			return handle_request(c);
	}
}

static int
client_io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct client *c = userdata;
	int r = 0;

	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		r = client_read(c);
	if (r >= 0)
		r = client_flush(c);
	if (r < 0) {
		client_free(c);
		return 0;
	}
	if (r == 1 && c->state == CLIENT_RESPOND) {
		(void)shutdown(c->fd, SHUT_WR);
		c->state = CLIENT_LINGER;
		client_deadline(c, LINGER_TIMEOUT);
	}
	return 0;
}

static int
listen_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct display_web *w = userdata;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (cfd < 0) {
			/* Out of descriptors or memory: stop accepting until a viewer leaves,
			 * rather than being woken for the same connection again and again. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				(void)sd_event_source_set_enabled(w->listen_io, SD_EVENT_OFF);
			return 0; /* EAGAIN, or a transient error: the next event tries again */
		}
		if (w->n_clients >= CLIENTS_MAX) {
			w->stats.refused++;
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || sd_event_add_io(w->event, &c->io, cfd, EPOLLIN, client_io_cb, c) < 0) {
			free(c);
			close(cfd);
			continue;
		}
		c->w = w;
		c->fd = cfd;
		c->out = BUF_INIT(STREAM_BACKLOG_MAX + STATE_MAX + 4096);
		c->next = w->clients;
		if (c->next)
			c->next->prev = c;
		w->clients = c;
		w->n_clients++;
		client_deadline(c, REQUEST_TIMEOUT);
	}
}

static int
heartbeat_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct display_web *w = userdata;
	struct client *next;

	for (struct client *c = w->clients; c; c = next) {
		next = c->next;
		if (c->state == CLIENT_STREAM &&
		    (buf_puts(&c->out, ":\n\n") < 0 || client_flush(c) < 0))
			client_free(c);
	}
	(void)sd_event_source_set_time(s, usec + HEARTBEAT_INTERVAL);
	return 0;
}

int
display_web_attach(struct display_web *w, sd_event *event)
{
	int r;

	if (w->event)
		return 0;
	r = sd_event_add_io(event, &w->listen_io, w->fd, EPOLLIN, listen_cb, w);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(event, &w->heartbeat, CLOCK_MONOTONIC, HEARTBEAT_INTERVAL,
				       USEC_PER_SEC, heartbeat_cb, w);
	if (r >= 0)
		r = sd_event_source_set_enabled(w->heartbeat, SD_EVENT_ON);
	if (r < 0) {
		w->listen_io = sd_event_source_disable_unref(w->listen_io);
		w->heartbeat = sd_event_source_disable_unref(w->heartbeat);
		return r;
	}
	w->event = sd_event_ref(event);
	return 0;
}

int
display_web_open(const char *addr, int port, sd_event *event, struct display_web **ret)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa = {0};
	socklen_t salen;
	struct display_web *w;
	int one = 1, r;

	if (inet_pton(AF_INET, addr, &sa.in.sin_addr) == 1) {
		sa.in.sin_family = AF_INET;
		sa.in.sin_port = htons((uint16_t)port);
		salen = sizeof(sa.in);
	} else if (inet_pton(AF_INET6, addr, &sa.in6.sin6_addr) == 1) {
		sa.in6.sin6_family = AF_INET6;
		sa.in6.sin6_port = htons((uint16_t)port);
		salen = sizeof(sa.in6);
	} else
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->state = BUF_INIT(STATE_MAX);
	w->fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0) {
		r = -errno;
		goto fail;
	}
	(void)setsockopt(w->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(w->fd, &sa.sa, salen) < 0 || listen(w->fd, 64) < 0) {
		r = -errno;
		goto fail;
	}
	salen = sizeof(sa);
	if (getsockname(w->fd, &sa.sa, &salen) < 0) {
		r = -errno;
		goto fail;
	}
	w->port = ntohs(sa.sa.sa_family == AF_INET ? sa.in.sin_port : sa.in6.sin6_port);
	if (event) {
		r = display_web_attach(w, event);
		if (r < 0)
			goto fail;
	}
	*ret = w;
	return 0;
fail:
	display_web_close(w);
	return r;
}

int
display_web_port(const struct display_web *w)
{
	return w->port;
}

void
display_web_get_stats(const struct display_web *w, struct display_web_stats *ret)
{
	*ret = w->stats;
	ret->clients = w->n_clients;
	ret->streams = w->n_streams;
}

int
display_web_show(struct display_web *w, const struct display_screen *s)
{
	struct client *next;
	int r;

	buf_truncate(&w->state, 0);
	r = display_web_state(s, ++w->seq, &w->state);
	if (r < 0) {
		buf_truncate(&w->state, 0);
		return r;
	}
	for (struct client *c = w->clients; c; c = next) {
		next = c->next;
		if (c->state != CLIENT_STREAM)
			continue;
		if (stream_event(c, &w->state) < 0 || client_flush(c) < 0) {
			w->stats.dropped++;
			client_free(c);
		}
	}
	return 0;
}

struct display_web *
display_web_close(struct display_web *w)
{
	if (!w)
		return NULL;
	while (w->clients)
		client_free(w->clients);
	sd_event_source_disable_unref(w->listen_io);
	sd_event_source_disable_unref(w->heartbeat);
	if (w->event)
		sd_event_unref(w->event);
	if (w->fd >= 0)
		close(w->fd);
	buf_free(&w->state);
	free(w);
	return NULL;
}
