/* SPDX-License-Identifier: MIT */
/* Inside the transport: the structures http.c and http-preconn.c share. Not for callers. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/time-util.h"
#include "payment/http/http.h"

/* One direction of a tunnel: bytes read from one side, not yet written to the other. */
struct tunnel_buf {
	size_t len, off;
	char data[16384];
};

/*
 * A request carried on a pre-opened connection. libcurl speaks plain HTTP/1.1 to a Unix
 * socket of ours (an abstract name, accepted from this process only, then closed); the
 * tunnel copies the bytes both ways to and from the pre-opened connection, which libcurl
 * holds (CONNECT_ONLY, TLS verified like any other). libcurl's request therefore goes on a
 * fresh connection of its own, which it never re-sends on, and the bytes reach the gateway
 * on the connection opened before.
 */
struct tunnel {
	struct http_preconn *pc; /* owned: closed with the tunnel */
	int listen_fd, fd;       /* our Unix listener (until accepted), our end of libcurl's */
	int gw_fd;               /* the pre-opened connection's socket, libcurl's: borrowed */
	void *listen_slot, *fd_slot, *gw_slot; /* the loop's watches */
	unsigned listen_events, fd_events, gw_events;
	struct tunnel_buf up, down; /* up: libcurl → gateway; down: gateway → libcurl */
	bool up_eof, gw_eof, gw_dead, shut;
	/* A byte may have been written towards the gateway: from here on, the request may be
	 * there. Before it, the connection may still be replaced (once). */
	bool forwarded;
	bool reopened, reopening;
	char name[64]; /* the abstract socket name, without its leading NUL */
};

struct http_request {
	struct http_client *client;
	struct http_request *prev, *next; /* in client->requests */
	CURL *easy;
	CURLU *url;
	CURLU *tunnel_url; /* the URL libcurl sees through a tunnel (plain http), or NULL */
	struct curl_slist *headers;
	char *log_url; /* scheme://host[:port]/path: no query, no user info */
	enum http_method method;
	struct buf body;
	char *post; /* our copy of the request body: it may hold a payment code, wiped */
	size_t post_len;
	http_done_t done;
	void *userdata;
	uint64_t bytes_sent;
	unsigned send_count;
	bool policy_refused;
	bool over_cap;
	bool oom;
	bool in_callback;
	struct tunnel *tunnel;         /* on a pre-opened connection, or NULL */
	uint64_t connect_timeout_usec; /* as in the spec */
	/* The pre-opened connection still opening that this request waits for (owned), or NULL:
	 * the request is not in the multi handle yet. */
	struct http_preconn *awaiting;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	CURLM *multi;
	bool no_tls_resume;
	CURLSH *share; /* TLS sessions only: resumed on a fresh connection, never a connection */
	struct http_loop loop;
	char *ca_file;
	struct http_request *requests;
	size_t n_requests;
	struct http_preconn *preconns; /* opened and not yet handed to a request */
	unsigned dispatching;          /* > 0 while completion callbacks run */
	bool freeing;
};

enum preconn_state {
	PRECONN_OPENING,
	PRECONN_READY,
	PRECONN_FAILED,
};

struct http_preconn {
	struct http_client *client;
	struct http_preconn *prev, *next; /* in client->preconns while not in a tunnel */
	CURL *easy;                       /* CONNECT_ONLY, in the multi until closed */
	CURLU *url;
	char *origin; /* scheme://host:port, to match a request's URL */
	char *log_url;
	enum preconn_state state;
	struct http_request *waiter;     /* the request that starts once this one is open */
	struct http_request *tunnel_req; /* the tunnel that resumes once this one is open */
	usec_t ready_usec;               /* CLOCK_MONOTONIC: when the handshake completed */
	/* The tunnel's listener, opened with the connection so that none of its system calls
	 * falls between a pay's commit and its first byte; -1 when it could not be. */
	int listen_fd;
	char listen_name[64];
	char errbuf[CURL_ERROR_SIZE];
};

/* http.c */
int url_parse(const char *url, CURLU **ret);
int url_policy(CURLU *u);
char *url_for_log(CURLU *u);
/* scheme://host:port of `u` (port explicit, lower-case scheme); NULL when out of memory. */
char *url_origin(CURLU *u);
/* The options every transfer shares: the policy, TLS, sessions, timeouts of connecting. */
bool easy_policy(struct http_client *c, CURL *e, CURLU *url, bool policy_refused,
		 uint64_t connect_timeout_usec);

/* Starts a request that waited for `pc` (consumed) to finish opening; completes it as not
 * delivered when it cannot start. */
void request_resume(struct http_request *req, struct http_preconn *pc);

/* http-preconn.c */
/* When `pc` is still opening and goes where req goes, req waits for it (taking it over) and
 * true is returned; false otherwise (pc untouched). */
bool tunnel_await(struct http_request *req, struct http_preconn *pc);
/* A finished transfer of libcurl's: true when it was a pre-opening (now handled). */
bool preconn_transfer_done(struct http_client *c, CURL *easy, CURLcode code);
/* Hands `pc` (owned, consumed) to `req`: its request goes on it when it is established and
 * alive and to req's origin; otherwise it is closed and the request goes on a fresh
 * connection as usual. Call after request_setup(). Returns 0 or -errno (then pc is closed). */
int tunnel_attach(struct http_request *req, struct http_preconn *pc);
/* An fd event for a tunnel: true when `fd` was a tunnel's (and handled). */
bool tunnel_socket_event(struct http_client *c, int fd, unsigned events);
/* After libcurl acted: takes in at once what it connected or wrote into a tunnel, rather
 * than at the loop's next turn. */
void tunnel_kick(struct http_client *c);
void tunnel_free(struct http_request *req);

static inline void
curl_url_cleanupp(CURLU **u)
{
	if (*u)
		curl_url_cleanup(*u);
}

static inline void
curl_freep(char **p)
{
	if (*p)
		curl_free(*p);
}
