/* SPDX-License-Identifier: MIT */
/* Connections opened before their request, and the tunnel that carries one request on one. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "payment/http/http-internal.h"

static const char *
preconn_state_name(enum preconn_state s)
{
	switch (s) {
	case PRECONN_OPENING:
		return "still opening";
	case PRECONN_READY:
		return "established";
	case PRECONN_FAILED:
		return "failed";
	}
	return "?";
}

static int tunnel_listen(int *ret_fd, char name[static 64]);

static void
preconn_unlink(struct http_preconn *pc)
{
	struct http_client *c = pc->client;

	if (pc->prev)
		pc->prev->next = pc->next;
	else if (c->preconns == pc)
		c->preconns = pc->next;
	if (pc->next)
		pc->next->prev = pc->prev;
	pc->prev = pc->next = NULL;
}

static void
preconn_drop_easy(struct http_preconn *pc)
{
	if (!pc->easy)
		return;
	/* For a CONNECT_ONLY transfer, this also closes its connection. */
	curl_multi_remove_handle(pc->client->multi, pc->easy);
	curl_easy_cleanup(pc->easy);
	pc->easy = NULL;
}

struct http_preconn *
http_preconn_close(struct http_preconn *pc)
{
	if (!pc)
		return NULL;
	preconn_unlink(pc);
	preconn_drop_easy(pc);
	if (pc->listen_fd >= 0)
		close(pc->listen_fd);
	if (pc->url)
		curl_url_cleanup(pc->url);
	free(pc->origin);
	free(pc->log_url);
	free(pc);
	return NULL;
}

bool
http_preconn_is_ready(const struct http_preconn *pc)
{
	return pc && pc->state == PRECONN_READY;
}

int
http_preconn_open(struct http_client *c, const char *url, uint64_t connect_timeout_usec,
		  struct http_preconn **ret)
{
	uint64_t ct =
		connect_timeout_usec ? connect_timeout_usec : HTTP_DEFAULT_CONNECT_TIMEOUT_USEC;
	struct http_preconn *pc;
	bool ok = true;
	int r;

	if (!c || !ret || c->freeing)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->client = c;
	pc->listen_fd = -1;
	r = url_parse(url, &pc->url);
	if (r >= 0)
		r = url_policy(pc->url);
	if (r < 0)
		goto fail;
	pc->origin = url_origin(pc->url);
	pc->log_url = url_for_log(pc->url);
	pc->easy = curl_easy_init();
	if (!pc->origin || !pc->log_url || !pc->easy) {
		r = -ENOMEM;
		goto fail;
	}
	ok = easy_policy(c, pc->easy, pc->url, false, ct);
	/* TCP and TLS only: the connection stays with this handle, never in libcurl's pool of
	 * reusable connections, and carries nothing until a request is tunnelled on it. */
	ok = ok && curl_easy_setopt(pc->easy, CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(pc->easy, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK;
	ok = ok &&
	     curl_easy_setopt(pc->easy, CURLOPT_TIMEOUT_MS, (long)((ct + 999) / 1000)) == CURLE_OK;
	ok = ok && curl_easy_setopt(pc->easy, CURLOPT_ERRORBUFFER, pc->errbuf) == CURLE_OK;
	if (!ok) {
		r = -EIO;
		goto fail;
	}
	if (curl_multi_add_handle(c->multi, pc->easy) != CURLM_OK) {
		r = -EIO;
		goto fail;
	}
	r = tunnel_listen(&pc->listen_fd, pc->listen_name);
	if (r < 0)
		/* tunnel_attach() tries again when a request comes. */
		log_debug_errno(r, "HTTP %s: no listener for a tunnel yet: %m", pc->log_url);
	pc->state = PRECONN_OPENING;
	pc->next = c->preconns;
	if (c->preconns)
		c->preconns->prev = pc;
	c->preconns = pc;
	log_debug("HTTP %s: opening a connection in advance", pc->log_url);
	*ret = pc;
	return 0;
fail:
	if (pc->easy) {
		curl_easy_cleanup(pc->easy);
		pc->easy = NULL;
	}
	http_preconn_close(pc);
	return r;
}

static void tunnel_reopened(struct http_request *req);
static void tunnel_pump(struct http_request *req);

bool
preconn_transfer_done(struct http_client *c, CURL *easy, CURLcode code)
{
	struct http_request *waiter;
	struct http_preconn *pc;

	for (pc = c->preconns; pc; pc = pc->next)
		if (pc->easy == easy)
			break;
	if (!pc)
		return false;
	if (code == CURLE_OK) {
		pc->state = PRECONN_READY;
		pc->ready_usec = now_usec(CLOCK_MONOTONIC);
		log_debug("HTTP %s: connection opened in advance", pc->log_url);
	} else {
		/* Not a failure of anything: the request will open its own connection. */
		pc->state = PRECONN_FAILED;
		log_info("HTTP %s: opening a connection in advance failed (curl %d: %s)",
			 pc->log_url, (int)code,
			 pc->errbuf[0] ? pc->errbuf : curl_easy_strerror(code));
		preconn_drop_easy(pc);
	}
	waiter = pc->waiter;
	if (waiter) {
		pc->waiter = NULL;
		waiter->awaiting = NULL;
		request_resume(waiter, pc);
	}
	if (pc->tunnel_req)
		tunnel_reopened(pc->tunnel_req);
	return true;
}

bool
tunnel_await(struct http_request *req, struct http_preconn *pc)
{
	_cleanup_free_ char *origin = NULL;

	if (pc->state != PRECONN_OPENING || pc->waiter || req->policy_refused)
		return false;
	origin = url_origin(req->url);
	if (!origin || !STR_EQ(origin, pc->origin))
		return false;
	/* The handshake is under way: waiting for it costs less than starting another (bounded
	 * by the connect timeout it was opened with). */
	log_debug("HTTP %s: waits for the connection being opened in advance", req->log_url);
	pc->waiter = req;
	req->awaiting = pc;
	return true;
}

/*
 * Whether the connection can carry a request now: established, and the server neither closed
 * it nor sent anything (a TLS 1.3 session ticket is consumed by libcurl and is not "anything").
 * On success the connection is attached to its handle, which keeps libcurl from pruning it.
 */
static bool
preconn_alive(struct http_preconn *pc, int *ret_fd)
{
	curl_socket_t s = CURL_SOCKET_BAD;
	struct pollfd p;
	size_t n = 0;
	char b;

	if (pc->state != PRECONN_READY ||
	    curl_easy_getinfo(pc->easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
	    s == CURL_SOCKET_BAD)
		return false;
	p = (struct pollfd){.fd = s, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)))
		return false;
	/* EOF (OK with 0 bytes), unexpected bytes and errors all mean: do not use it. */
	if (curl_easy_recv(pc->easy, &b, 1, &n) != CURLE_AGAIN)
		return false;
	*ret_fd = (int)s;
	return true;
}

static int
tunnel_listen(int *ret_fd, char name[static 64])
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t rnd;
	size_t n;
	int fd;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		return -EIO;
	/* An abstract name: nothing in the file system, gone with the socket. */
	n = (size_t)snprintf(name, 64, "f2fpayd-tunnel-%d-%016" PRIx64, (int)getpid(), rnd);
	if (n >= 64 || n + 1 > sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path + 1, name, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
	    listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* Closes what connected to a listener opened in advance before libcurl could have: never
 * libcurl's, and left waiting it could fill the queue libcurl's connection needs. */
static void
tunnel_listen_drain(int fd)
{
	int s;

	while ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		log_warning("HTTP: closed a connection to a tunnel's listener made before its "
			    "request");
		close(s);
	}
}

static void
tunnel_watch(struct http_client *c, int fd, void **slot, unsigned *cur, unsigned want)
{
	int r;

	if (fd < 0 || *cur == want)
		return;
	r = c->loop.watch(c->loop.userdata, fd, want, slot);
	if (r < 0) {
		/* The request then ends by its own timeout, as NO_ANSWER once anything went. */
		log_error_errno(r, "Failed to watch a tunnel socket: %m");
		return;
	}
	*cur = want;
}

static void
tunnel_close_listener(struct http_request *req)
{
	struct tunnel *t = req->tunnel;

	tunnel_watch(req->client, t->listen_fd, &t->listen_slot, &t->listen_events, 0);
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	t->listen_fd = -1;
}

void
tunnel_free(struct http_request *req)
{
	struct tunnel *t = req->tunnel;

	if (req->awaiting) {
		req->awaiting->waiter = NULL;
		req->awaiting = http_preconn_close(req->awaiting);
	}
	if (!t)
		return;
	tunnel_close_listener(req);
	tunnel_watch(req->client, t->fd, &t->fd_slot, &t->fd_events, 0);
	tunnel_watch(req->client, t->gw_fd, &t->gw_slot, &t->gw_events, 0);
	if (t->fd >= 0)
		close(t->fd);
	/* Closes the connection opened in advance: it never carries another request. */
	http_preconn_close(t->pc);
	explicit_bzero(&t->up, sizeof(t->up)); /* may hold a payment code */
	free(t);
	req->tunnel = NULL;
}

int
tunnel_attach(struct http_request *req, struct http_preconn *pc)
{
	_cleanup_free_ char *origin = url_origin(req->url);
	struct tunnel *t = NULL;
	CURL *e = req->easy;
	int gw_fd = -1, r;
	bool ok = true;

	if (!origin || !STR_EQ(origin, pc->origin) || req->policy_refused) {
		log_debug("HTTP %s: the connection opened in advance goes elsewhere, not used",
			  req->log_url);
		http_preconn_close(pc);
		return 0;
	}
	if (!preconn_alive(pc, &gw_fd)) {
		/* Nothing was ever sent on it: a fresh connection is safe. */
		log_info("HTTP %s: the connection opened in advance is %s, the request goes on a "
			 "fresh one",
			 req->log_url,
			 pc->state == PRECONN_READY ? "closed or broken"
						    : preconn_state_name(pc->state));
		http_preconn_close(pc);
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		http_preconn_close(pc);
		return -ENOMEM;
	}
	*t = (struct tunnel){.listen_fd = -1, .fd = -1, .gw_fd = gw_fd};
	if (pc->listen_fd >= 0) {
		t->listen_fd = TAKE_FD(pc->listen_fd);
		memcpy(t->name, pc->listen_name, sizeof(t->name));
		tunnel_listen_drain(t->listen_fd);
		r = 0;
	} else
		r = tunnel_listen(&t->listen_fd, t->name);
	if (r >= 0) {
		req->tunnel_url = curl_url_dup(req->url);
		if (!req->tunnel_url ||
		    curl_url_set(req->tunnel_url, CURLUPART_SCHEME, "http", 0) != CURLUE_OK)
			r = -ENOMEM;
	}
	if (r < 0) {
		log_warning_errno(r,
				  "HTTP %s: no tunnel to the connection opened in advance (%m), "
				  "the request goes on a fresh one",
				  req->log_url);
		if (t->listen_fd >= 0)
			close(t->listen_fd);
		free(t);
		http_preconn_close(pc);
		return 0;
	}
	preconn_unlink(pc);
	t->pc = pc;
	req->tunnel = t;
	/* libcurl speaks plain HTTP to the tunnel, which holds the verified TLS connection. The
	 * Host header stays the gateway's (same host and port in the URL). */
	ok = ok && curl_easy_setopt(e, CURLOPT_CURLU, req->tunnel_url) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_ABSTRACT_UNIX_SOCKET, t->name) == CURLE_OK;
	if (!ok)
		return -EIO; /* the request is freed with its tunnel */
	tunnel_watch(req->client, t->listen_fd, &t->listen_slot, &t->listen_events, HTTP_IO_IN);
	log_debug("HTTP %s: on the connection opened in advance %.1f s ago", req->log_url,
		  (double)(now_usec(CLOCK_MONOTONIC) - pc->ready_usec) / 1e6);
	return 0;
}

static void
tunnel_accept(struct http_request *req)
{
	struct tunnel *t = req->tunnel;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd;

	fd = accept4(t->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error_errno(errno, "HTTP %s: tunnel accept failed: %m", req->log_url);
		return;
	}
	/* An abstract name can be seen and connected to by any process in the network namespace:
	 * only libcurl, in this process, is taken; others are closed (they never see a byte).
	 * Taking the name first only makes bind() fail, and the request goes on a fresh
	 * connection. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.pid != getpid()) {
		log_warning("HTTP %s: refused a connection to the tunnel from process %d",
			    req->log_url, len == sizeof(cr) ? (int)cr.pid : -1);
		close(fd);
		return;
	}
	t->fd = fd;
	tunnel_close_listener(req);
}

static bool
buf_pending(const struct tunnel_buf *b)
{
	return b->off < b->len;
}

static void
buf_advance(struct tunnel_buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

/*
 * The connection opened in advance died before a byte of the request was written on it: the
 * request goes on a fresh one (once), opened the same way; the tunnel resumes when it is open.
 * Nothing was sent, so this is no re-send.
 */
static void
tunnel_reopen(struct http_request *req)
{
	struct tunnel *t = req->tunnel;
	_cleanup_(curl_freep) char *url = NULL;
	int r = -EALREADY;

	tunnel_watch(req->client, t->gw_fd, &t->gw_slot, &t->gw_events, 0);
	t->gw_fd = -1;
	t->pc = http_preconn_close(t->pc);
	if (!t->reopened) {
		log_info("HTTP %s: the connection opened in advance was closed before the request "
			 "was written, the request goes on a fresh one",
			 req->log_url);
		t->reopened = true;
		r = curl_url_get(req->url, CURLUPART_URL, &url, 0) == CURLUE_OK ? 0 : -ENOMEM;
		if (r >= 0)
			r = http_preconn_open(req->client, url, req->connect_timeout_usec, &t->pc);
	}
	if (r < 0) {
		t->gw_dead = true; /* libcurl's request ends, as not delivered */
		return;
	}
	t->pc->tunnel_req = req;
	t->reopening = true;
}

static void
tunnel_reopened(struct http_request *req)
{
	struct tunnel *t = req->tunnel;
	int fd = -1;

	t->reopening = false;
	t->pc->tunnel_req = NULL;
	if (preconn_alive(t->pc, &fd)) {
		preconn_unlink(t->pc);
		t->gw_fd = fd;
		t->forwarded = true;
	} else
		t->gw_dead = true;
	tunnel_pump(req);
}

/* Copies what can be copied both ways without blocking, then watches for the rest. */
static void
tunnel_pump(struct http_request *req)
{
	struct tunnel *t = req->tunnel;
	bool progress;

	if (t->fd < 0)
		return;
	do {
		progress = false;
		/* libcurl → gateway */
		if (!t->up_eof && !buf_pending(&t->up)) {
			ssize_t n = recv(t->fd, t->up.data, sizeof(t->up.data), 0);
			if (n > 0) {
				t->up.len = (size_t)n;
				t->up.off = 0;
				progress = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				t->up_eof = true;
		}
		if (buf_pending(&t->up) && !t->forwarded && !t->reopening && !t->gw_dead) {
			/* doc/protocol.md §8: the last moment a dead connection can be replaced
			 * without any risk, nothing having been written on it. */
			int fd;

			if (preconn_alive(t->pc, &fd))
				t->forwarded = true;
			else
				tunnel_reopen(req);
		}
		if (buf_pending(&t->up) && t->forwarded && !t->gw_dead) {
			size_t n = 0;
			CURLcode cc = curl_easy_send(t->pc->easy, t->up.data + t->up.off,
						     t->up.len - t->up.off, &n);
			if (cc == CURLE_OK && n > 0) {
				buf_advance(&t->up, n);
				progress = true;
			} else if (cc != CURLE_AGAIN && cc != CURLE_OK)
				t->gw_dead = true;
		}
		/* gateway → libcurl (also what TLS holds decrypted without the socket being
		 * readable) */
		if (t->forwarded && !t->gw_eof && !t->gw_dead && !buf_pending(&t->down)) {
			size_t n = 0;
			CURLcode cc =
				curl_easy_recv(t->pc->easy, t->down.data, sizeof(t->down.data), &n);
			if (cc == CURLE_OK && n > 0) {
				t->down.len = n;
				t->down.off = 0;
				progress = true;
			} else if (cc == CURLE_OK)
				t->gw_eof = true;
			else if (cc != CURLE_AGAIN)
				t->gw_dead = true;
		}
		if (buf_pending(&t->down)) {
			ssize_t n = send(t->fd, t->down.data + t->down.off,
					 t->down.len - t->down.off, MSG_NOSIGNAL);
			if (n > 0) {
				buf_advance(&t->down, (size_t)n);
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				t->down.len = t->down.off = 0; /* libcurl is gone */
				t->up_eof = true;
			}
		}
	} while (progress);

	if (t->gw_dead && !t->shut) {
		/* libcurl sees its connection fail: a request that went out is NO_ANSWER. */
		if (t->forwarded)
			log_warning("HTTP %s: the connection opened in advance failed during the "
				    "request",
				    req->log_url);
		t->up.len = t->up.off = 0;
		t->down.len = t->down.off = 0;
		(void)shutdown(t->fd, SHUT_RDWR);
		t->shut = true;
	} else if (t->gw_eof && !buf_pending(&t->down) && !t->shut) {
		(void)shutdown(t->fd, SHUT_WR);
		t->shut = true;
	}
	tunnel_watch(req->client, t->fd, &t->fd_slot, &t->fd_events,
		     (!t->up_eof && !t->shut && !buf_pending(&t->up) ? HTTP_IO_IN : 0) |
			     (buf_pending(&t->down) ? HTTP_IO_OUT : 0));
	tunnel_watch(req->client, t->gw_fd, &t->gw_slot, &t->gw_events,
		     (t->gw_dead || t->up_eof || !t->forwarded
			      ? 0
			      : (!t->gw_eof && !buf_pending(&t->down) ? HTTP_IO_IN : 0) |
					(buf_pending(&t->up) ? HTTP_IO_OUT : 0)));
}

bool
tunnel_socket_event(struct http_client *c, int fd, unsigned events)
{
	for (struct http_request *req = c->requests; req; req = req->next) {
		struct tunnel *t = req->tunnel;

		if (!t || (fd != t->listen_fd && fd != t->fd && fd != t->gw_fd))
			continue;
		if (fd == t->listen_fd)
			tunnel_accept(req);
		tunnel_pump(req);
		return true;
	}
	return false;
}

void
tunnel_kick(struct http_client *c)
{
	for (struct http_request *req = c->requests; req; req = req->next) {
		struct tunnel *t = req->tunnel;

		if (!t || t->listen_fd < 0)
			continue;
		tunnel_accept(req);
		tunnel_pump(req);
	}
}
