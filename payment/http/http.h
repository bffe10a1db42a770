/* SPDX-License-Identifier: MIT */
/* Asynchronous HTTPS transport on libcurl multi, driven by an external event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

/*
 * The transport sends bytes and reports what happened; it knows nothing about Alipay. One
 * `struct http_client` wraps one libcurl multi handle and is driven by an event loop through
 * `struct http_loop` (fd watches and one timer). `http-sd-event.h` provides the sd-event glue
 * the daemon uses; this core stays loop-agnostic.
 *
 * Policy, fixed for every request: TLS peer and host verification always on (CA file from the
 * client configuration, else the system store), TLS >= 1.2, HTTP/1.1 only, protocols http and
 * https only, no redirects, no proxy, no signals, User-Agent "f2fpayd/<version>". http:// is
 * refused unless the host is loopback (127.0.0.0/8, ::1, localhost); the refusal costs no
 * network traffic and arrives as HTTP_OUTCOME_NOT_DELIVERED.
 */

/* What the caller may conclude from a finished request. */
enum http_outcome {
	/* A complete response was received, whatever its HTTP status. */
	HTTP_OUTCOME_OK,
	/* The server never saw the request: DNS failure, connection refused, TLS handshake or
	 * verification failure, timeout before any request byte left, or refused by policy.
	 * Safe to retry. */
	HTTP_OUTCOME_NOT_DELIVERED,
	/* The request may have been received and processed, then the answer was lost (timeout,
	 * reset, truncated or empty reply): the result is unknown. */
	HTTP_OUTCOME_NO_ANSWER,
	/* The response exceeded the size cap and was abandoned. For money purposes this is
	 * NO_ANSWER (the server did process the request), reported separately for the logs. */
	HTTP_OUTCOME_TOO_LARGE,
	_HTTP_OUTCOME_MAX,
};

/* "ok", "not-delivered", "no-answer", "too-large"; NULL for an out-of-range value. */
const char *http_outcome_to_string(enum http_outcome o);

enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_POST,
	_HTTP_METHOD_MAX,
};

/* Input limits (doc/style.md §5: every input has one). */
#define HTTP_URL_MAX          8192u
#define HTTP_HEADERS_MAX      32u
#define HTTP_HEADER_LINE_MAX  8192u
#define HTTP_REQUEST_BODY_MAX (4u * 1024u * 1024u)
#define HTTP_RESPONSE_CAP_MAX (64u * 1024u * 1024u)
#define HTTP_ERROR_MAX        256u

/* Defaults used when a request leaves the field 0. */
#define HTTP_DEFAULT_CONNECT_TIMEOUT_USEC (10ull * 1000000ull)
#define HTTP_DEFAULT_TIMEOUT_USEC         (30ull * 1000000ull)
#define HTTP_DEFAULT_RESPONSE_CAP         (1024u * 1024u)

/*
 * One request. Everything is borrowed and copied by http_client_submit(): the caller may free
 * it as soon as submit returns.
 */
struct http_request_spec {
	enum http_method method;
	const char *url; /* http(s)://…, at most HTTP_URL_MAX bytes */
	/* NULL-terminated list of "Name: value" lines without CR/LF; may be NULL. */
	const char *const *headers;
	/* POST only: body bytes and their Content-Type (NULL = curl's form default). */
	const void *body;
	size_t body_len;
	const char *content_type;
	uint64_t connect_timeout_usec; /* DNS + TCP + TLS handshake; 0 = default */
	uint64_t timeout_usec;         /* whole request; 0 = default */
	size_t response_cap; /* max body bytes kept; 0 = default; <= HTTP_RESPONSE_CAP_MAX */
	/*
	 * doc/protocol.md §8: libcurl silently re-sends a request, POST included, when a reused
	 * keep-alive connection dies before the first response byte. Set this for requests
	 * that must never reach the server twice (alipay.trade.pay): the request then goes on
	 * a fresh connection that is closed afterwards, and a lost answer is NO_ANSWER.
	 */
	bool no_reuse;
	/*
	 * A connection opened in advance by http_preconn_open(), for this request alone (with
	 * no_reuse only). http_client_submit() takes it over whatever it returns: the caller
	 * drops its pointer. A connection still being opened to this URL's origin is waited for
	 * (at most the connect timeout it was opened with). When the request starts, and again
	 * right before its first byte is written, the connection is checked: if it is established,
	 * to this URL's scheme, host and port, and neither closed by the server nor broken (nothing
	 * was ever sent on it, so nothing is lost), the request goes out on it; otherwise it is
	 * closed and the request goes on a fresh connection as without it. Either way the
	 * connection carries no other request and is closed afterwards.
	 */
	struct http_preconn *preconn;
};

/* The result handed to the completion callback. Valid until the callback returns. */
struct http_response {
	enum http_outcome outcome;
	/* HTTP status of the response: meaningful for HTTP_OUTCOME_OK (and informative for
	 * TOO_LARGE), 0 otherwise. */
	long status;
	/* The complete body for HTTP_OUTCOME_OK, never NULL, NUL-terminated (and may contain
	 * NULs itself); NULL for every other outcome. The callback may take it (TAKE_PTR, then
	 * free() it later); otherwise it is freed after the callback. */
	char *body;
	size_t body_len;
	/* Human-readable reason for logs (curl's error buffer, or the policy that refused the
	 * request); "" for HTTP_OUTCOME_OK. Never NULL. */
	const char *error;
	int curl_code; /* the raw CURLcode, for logs and tests */
	/* How many times the request went on the wire. 0 for NOT_DELIVERED; more than 1 means
	 * libcurl re-sent it on a fresh connection (doc/protocol.md §8). */
	unsigned send_count;
	uint64_t elapsed_usec;
};

struct http_client;
struct http_request;
struct http_preconn;

/*
 * Called exactly once per submitted request that is not cancelled, from the event loop (never
 * from inside http_client_submit()). `req` is freed when the callback returns: drop any pointer
 * to it. The callback may submit and cancel other requests, but must not free the client.
 */
typedef void (*http_done_t)(struct http_request *req, struct http_response *resp, void *userdata);

/* Event bits exchanged between the core and the loop. */
#define HTTP_IO_IN  1u
#define HTTP_IO_OUT 2u
#define HTTP_IO_ERR 4u

/*
 * What the core needs from an event loop. The loop calls back http_client_socket_event() when a
 * watched fd is ready and http_client_timer_event() when the timer fires.
 */
struct http_loop {
	/*
	 * Watch `fd` for `events` (HTTP_IO_IN|HTTP_IO_OUT), or stop watching when `events` is 0.
	 * `*slot` is per-fd storage, NULL for an fd not watched yet; the loop keeps its watch
	 * object there and must set it to NULL when it stops watching. Borrowed fd: the loop
	 * never closes it. Returns 0 or -errno.
	 */
	int (*watch)(void *userdata, int fd, unsigned events, void **slot);
	/* Fire once after `timeout_usec` (0 = as soon as possible), or disarm when it is -1.
	 * Re-arming replaces the previous expiry. Returns 0 or -errno. */
	int (*timer)(void *userdata, int64_t timeout_usec);
	/* Called once by http_client_free() after the last watch/timer call: release the glue. */
	void (*release)(void *userdata);
	void *userdata;
};

struct http_client_config {
	/* PEM file with the CA certificates to trust, exclusively; NULL = system trust store.
	 * Borrowed, copied. Checked for readability at creation. */
	const char *ca_file;
	/* For measurements only: no TLS session resumption, a full handshake every time. */
	bool no_tls_resume;
};

/*
 * Creates a client driven by `loop` (copied; loop->userdata is borrowed until `release` is
 * called). `config` is borrowed and copied; NULL = defaults. Returns 0 and a new client in
 * *ret, or -errno (-ENOENT/-EACCES: CA file unreadable). On failure `loop->release` is not
 * called.
 */
int http_client_new(const struct http_client_config *config, const struct http_loop *loop,
		    struct http_client **ret);

/*
 * Cancels every request in flight (their callbacks are never called), closes all connections
 * and releases the loop glue. NULL-safe; returns NULL. Must not be called from a completion
 * callback.
 */
struct http_client *http_client_free(struct http_client *c);

static inline void
http_client_freep(struct http_client **c)
{
	if (*c)
		http_client_free(*c);
}
#define _cleanup_http_client_ _cleanup_(http_client_freep)

/*
 * Starts a request. `spec` is borrowed (copied). `done` is called later with the result;
 * `userdata` is passed through. On success returns 0 and, when `ret` is not NULL, a borrowed
 * handle for http_request_cancel(), valid until the callback runs. Returns -EINVAL for a spec
 * that fails http_request_spec_validate() (logged), -ENOMEM, or -EIO when libcurl refuses.
 * A URL refused by policy is not an error here: it completes with NOT_DELIVERED.
 */
int http_client_submit(struct http_client *c, const struct http_request_spec *spec,
		       http_done_t done, void *userdata, struct http_request **ret);

/*
 * Aborts a request in flight: its callback will not be called and `req` is freed. NULL-safe.
 * A no-op when called on the request whose callback is running.
 */
void http_request_cancel(struct http_request *req);

/*
 * Starts opening a connection to the scheme, host and port of `url` (TCP and, for https://, the
 * TLS handshake with the same verification as every request) on the event loop, for one later
 * request (`http_request_spec.preconn`). Never blocks; a failure to connect is not reported
 * (the request will open its own connection). The caller owns it until it hands it to a
 * request or closes it. Returns 0, -EPERM for a URL refused by policy, -EINVAL, -ENOMEM.
 */
int http_preconn_open(struct http_client *c, const char *url, uint64_t connect_timeout_usec,
		      struct http_preconn **ret);
/* Closes the connection (nothing was sent on it). NULL-safe; returns NULL. */
struct http_preconn *http_preconn_close(struct http_preconn *pc);
/* Whether the connection is established (handshake done) and not known to be dead. */
bool http_preconn_is_ready(const struct http_preconn *pc);

/* Number of requests submitted and not yet completed or cancelled (a request whose callback
 * is running still counts). */
size_t http_client_in_flight(const struct http_client *c);

/* For loop glue: `fd` is ready with HTTP_IO_* `events`; the timer fired. Return 0 or -errno. */
int http_client_socket_event(struct http_client *c, int fd, unsigned events);
int http_client_timer_event(struct http_client *c);

/*
 * Pure helpers, exposed for configuration checks and tests.
 */

/* Whether `host` (as in a URL: "127.0.0.1", "[::1]", "::1", "localhost") is loopback. */
bool http_host_is_loopback(const char *host);

/*
 * The URL policy: 0 for https:// and for http:// to a loopback host; -EPERM for http:// to any
 * other host or any other scheme; -EINVAL for something that is not a URL. Does not log.
 */
int http_url_check_policy(const char *url);

/* Checks a spec against the input limits; 0 or -EINVAL with a reason in *ret_reason (static). */
int http_request_spec_validate(const struct http_request_spec *spec, const char **ret_reason);

/*
 * Maps a finished transfer to an outcome. `curl_code` is the CURLcode; `request_sent` says
 * whether any byte of the request reached a connection (on any attempt); `over_cap` that the
 * body exceeded the cap. A failure before anything was sent is NOT_DELIVERED only for errors
 * known to happen before the request goes out (resolve, connect, TLS, timeout, send); every
 * other failure, and any failure after bytes went out, is NO_ANSWER.
 */
enum http_outcome http_outcome_classify(int curl_code, bool request_sent, bool over_cap);
