/* SPDX-License-Identifier: MIT */
/* A misbehaving-on-demand HTTP/1.1 server on 127.0.0.1 for the transport tests (threads). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "test-server.h"
#include "test.h"

#define MAX_CONNS    128
#define MAX_REQUESTS 256
#define HEAD_MAX     (64u * 1024u)
#define BODY_MAX     (4u * 1024u * 1024u)

struct conn {
	struct test_server *server;
	int fd;
	SSL *ssl;
	pthread_t thread;
	bool started;
};

struct test_server {
	enum test_server_mode mode;
	int listen_fd;
	int wake[2];
	uint16_t port;
	SSL_CTX *ctx;
	pthread_t accept_thread;
	pthread_mutex_t lock;
	bool stopping;
	unsigned n_conns;
	struct conn conns[MAX_CONNS];
	unsigned connections, requests, tls_failures, tls_resumed, closed, handshakes;
	char *log[MAX_REQUESTS];
	char *paths[MAX_REQUESTS];
};

static ssize_t
conn_read(struct conn *c, void *p, size_t n)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, p, (int)MIN(n, (size_t)INT32_MAX));
		return r > 0 ? r : -1;
	}
	return recv(c->fd, p, n, 0);
}

static int
conn_write(struct conn *c, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w;

		if (c->ssl) {
			int r = SSL_write(c->ssl, q, (int)MIN(n, (size_t)INT32_MAX));
			w = r > 0 ? r : -1;
		} else
			w = send(c->fd, q, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Closes the connection's fd under the lock, so that stop() never shuts down a reused fd. */
static void
conn_close(struct conn *c, bool reset)
{
	struct test_server *s = c->server;

	pthread_mutex_lock(&s->lock);
	if (c->fd >= 0) {
		if (reset) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};
			(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd);
		c->fd = -1;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Reads one request into buf (head + body); returns its total length, 0 on EOF, -1 on error.
 * `*have` carries bytes already read beyond the previous request. */
static ssize_t
read_request(struct conn *c, char *buf, size_t *have, size_t *ret_head_len)
{
	char *end;
	size_t head_len, body_len = 0;

	for (;;) {
		ssize_t n;

		buf[*have] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (*have >= HEAD_MAX)
			return -1;
		n = conn_read(c, buf + *have, HEAD_MAX - *have);
		if (n <= 0)
			return n == 0 ? 0 : -1;
		*have += (size_t)n;
	}
	head_len = (size_t)(end - buf) + 4;
	for (const char *p = buf; p < end; p = strstr(p, "\r\n") + 2) {
		if (strncasecmp(p, "Content-Length:", 15) == 0) {
			long v = strtol(p + 15, NULL, 10);
			CHECK(v >= 0 && (size_t)v <= BODY_MAX);
			body_len = (size_t)v;
		}
		if (!strstr(p, "\r\n"))
			break;
	}
	while (*have < head_len + body_len) {
		ssize_t n = conn_read(c, buf + *have, head_len + body_len - *have);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	*ret_head_len = head_len;
	return (ssize_t)(head_len + body_len);
}

static unsigned
record_request(struct test_server *s, const char *req, size_t len)
{
	char path[256] = "";
	unsigned i;

	(void)sscanf(req, "%*s %255s", path);
	pthread_mutex_lock(&s->lock);
	i = s->requests++;
	if (i < MAX_REQUESTS) {
		s->log[i] = strndup(req, len);
		s->paths[i] = strdup(path);
	}
	pthread_mutex_unlock(&s->lock);
	return i;
}

static int
answer_normal(struct conn *c, const char *req, size_t head_len, size_t total)
{
	char head[256], path[256] = "";
	int status = 200, n;

	(void)sscanf(req, "%*s %255s", path);
	if (strncmp(path, "/status/", 8) == 0)
		status = (int)strtol(path + 8, NULL, 10);
	n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %d Test\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\nok ",
		status, total - head_len + 3);
	CHECK(n > 0 && (size_t)n < sizeof(head));
	if (conn_write(c, head, (size_t)n) < 0)
		return -1;
	return conn_write(c, req + head_len, total - head_len);
}

static void
answer_big(struct conn *c, bool with_length)
{
	static char chunk[64 * 1024];
	char head[256];
	int n;

	memset(chunk, 'x', sizeof(chunk));
	if (with_length)
		n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
			     TEST_SERVER_BIG_SIZE);
	else
		n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
	if (conn_write(c, head, (size_t)n) < 0)
		return;
	for (size_t sent = 0; sent < TEST_SERVER_BIG_SIZE; sent += sizeof(chunk))
		if (conn_write(c, chunk, sizeof(chunk)) < 0)
			return; /* the client gave up: expected */
}

static void *
conn_thread(void *userdata)
{
	struct conn *c = userdata;
	struct test_server *s = c->server;
	char *buf = malloc(HEAD_MAX + BODY_MAX + 1);
	size_t have = 0;

	CHECK(buf);
	if (s->ctx) {
		c->ssl = SSL_new(s->ctx);
		CHECK(c->ssl);
		SSL_set_fd(c->ssl, c->fd);
		if (SSL_accept(c->ssl) != 1) {
			pthread_mutex_lock(&s->lock);
			s->tls_failures++;
			pthread_mutex_unlock(&s->lock);
			goto out;
		}
		pthread_mutex_lock(&s->lock);
		s->handshakes++;
		if (SSL_session_reused(c->ssl))
			s->tls_resumed++;
		pthread_mutex_unlock(&s->lock);
	}
	for (;;) {
		size_t head_len = 0;
		ssize_t total = read_request(c, buf, &have, &head_len);
		unsigned idx;

		if (total <= 0)
			break;
		idx = record_request(s, buf, (size_t)total);
		switch (s->mode) {
		case TEST_SERVER_NORMAL:
		case TEST_SERVER_CLOSE_FIRST:
			if (answer_normal(c, buf, head_len, (size_t)total) < 0)
				goto out;
			break;
		case TEST_SERVER_STALL:
			/* Never answer: wait for the client to go away or the server to stop. */
			while (conn_read(c, buf, HEAD_MAX) > 0)
				;
			goto out;
		case TEST_SERVER_RESET:
			conn_close(c, true);
			goto out;
		case TEST_SERVER_BIG:
		case TEST_SERVER_BIG_NOLEN:
			answer_big(c, s->mode == TEST_SERVER_BIG);
			goto out;
		case TEST_SERVER_GARBAGE:
			(void)conn_write(c, "hello, world\r\n", 14);
			goto out;
		case TEST_SERVER_DROP_LATER_GONE:
			if (idx > 0) {
				/* Linux: shutting down a listening socket makes it refuse. */
				(void)shutdown(s->listen_fd, SHUT_RDWR);
				goto out;
			}
			if (answer_normal(c, buf, head_len, (size_t)total) < 0)
				goto out;
			break;
		case TEST_SERVER_DROP_LATER:
			if (idx > 0)
				goto out; /* read it, then close without a byte of answer */
			if (answer_normal(c, buf, head_len, (size_t)total) < 0)
				goto out;
			break;
		}
		memmove(buf, buf + total, have - (size_t)total);
		have -= (size_t)total;
	}
out:
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	conn_close(c, false);
	free(buf);
	pthread_mutex_lock(&s->lock);
	s->closed++;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void *
accept_thread(void *userdata)
{
	struct test_server *s = userdata;

	for (;;) {
		struct pollfd p[2] = {
			{.fd = s->listen_fd, .events = POLLIN},
			{.fd = s->wake[0], .events = POLLIN},
		};
		struct conn *c;
		int fd;

		if (poll(p, 2, -1) < 0) {
			CHECK(errno == EINTR);
			continue;
		}
		if (p[1].revents)
			break;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && errno == EINVAL) {
			/* No longer listening (DROP_LATER_GONE): wait for stop(). */
			struct pollfd w = {.fd = s->wake[0], .events = POLLIN};
			while (poll(&w, 1, -1) < 0)
				CHECK(errno == EINTR);
			break;
		}
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		s->connections++;
		if (s->stopping || s->n_conns >= MAX_CONNS) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		if (s->mode == TEST_SERVER_CLOSE_FIRST && s->connections == 1) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		c = &s->conns[s->n_conns++];
		c->server = s;
		c->fd = fd;
		c->started = true;
		CHECK(pthread_create(&c->thread, NULL, conn_thread, c) == 0);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

struct test_server *
test_server_start(enum test_server_mode mode, const char *cert, const char *key, bool any_addr)
{
	struct test_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int one = 1;

	CHECK(s);
	s->mode = mode;
	CHECK(pthread_mutex_init(&s->lock, NULL) == 0);
	if (cert) {
		s->ctx = SSL_CTX_new(TLS_server_method());
		CHECK(s->ctx);
		CHECK(SSL_CTX_use_certificate_chain_file(s->ctx, cert) == 1);
		CHECK(SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) == 1);
	}
	sa.sin_addr.s_addr = htonl(any_addr ? INADDR_ANY : INADDR_LOOPBACK);
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s->listen_fd >= 0);
	CHECK(setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	CHECK(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(s->listen_fd, 64) == 0);
	CHECK(getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) == 0);
	s->port = ntohs(sa.sin_port);
	CHECK(pipe2(s->wake, O_CLOEXEC) == 0);
	CHECK(pthread_create(&s->accept_thread, NULL, accept_thread, s) == 0);
	return s;
}

uint16_t
test_server_port(struct test_server *s)
{
	return s->port;
}

static unsigned
read_counter(struct test_server *s, const unsigned *p)
{
	unsigned v;

	pthread_mutex_lock(&s->lock);
	v = *p;
	pthread_mutex_unlock(&s->lock);
	return v;
}

unsigned
test_server_connections(struct test_server *s)
{
	return read_counter(s, &s->connections);
}

unsigned
test_server_requests(struct test_server *s)
{
	return read_counter(s, &s->requests);
}

unsigned
test_server_tls_failures(struct test_server *s)
{
	return read_counter(s, &s->tls_failures);
}

unsigned
test_server_tls_resumed(struct test_server *s)
{
	return read_counter(s, &s->tls_resumed);
}

unsigned
test_server_closed(struct test_server *s)
{
	return read_counter(s, &s->closed);
}

unsigned
test_server_handshakes(struct test_server *s)
{
	return read_counter(s, &s->handshakes);
}

void
test_server_drop_connections(struct test_server *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n_conns; i++)
		if (s->conns[i].fd >= 0)
			(void)shutdown(s->conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
}

unsigned
test_server_count_path(struct test_server *s, const char *path)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < MIN(s->requests, (unsigned)MAX_REQUESTS); i++)
		if (s->paths[i] && strcmp(s->paths[i], path) == 0)
			n++;
	pthread_mutex_unlock(&s->lock);
	return n;
}

char *
test_server_request(struct test_server *s, unsigned i)
{
	char *r = NULL;

	pthread_mutex_lock(&s->lock);
	if (i < MIN(s->requests, (unsigned)MAX_REQUESTS) && s->log[i])
		r = strdup(s->log[i]);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void
test_server_stop(struct test_server *s)
{
	unsigned n;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	for (unsigned i = 0; i < s->n_conns; i++)
		if (s->conns[i].fd >= 0)
			(void)shutdown(s->conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	CHECK(write(s->wake[1], "x", 1) == 1);
	CHECK(pthread_join(s->accept_thread, NULL) == 0);
	/* accept_thread is gone: n_conns no longer changes. */
	n = s->n_conns;
	for (unsigned i = 0; i < n; i++)
		if (s->conns[i].started)
			CHECK(pthread_join(s->conns[i].thread, NULL) == 0);
	close(s->listen_fd);
	close(s->wake[0]);
	close(s->wake[1]);
	for (unsigned i = 0; i < MAX_REQUESTS; i++) {
		free(s->log[i]);
		free(s->paths[i]);
	}
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
