/* SPDX-License-Identifier: MIT */
/* The loop-agnostic core of the HTTPS transport: libcurl multi in socket-action mode. */
#include <arpa/inet.h>
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "payment/http/http-internal.h"
#include "payment/http/http.h"

#define HTTP_USER_AGENT "f2fpayd/" F2FPAY_VERSION

static const char *const outcome_names[_HTTP_OUTCOME_MAX] = {
	[HTTP_OUTCOME_OK] = "ok",
	[HTTP_OUTCOME_NOT_DELIVERED] = "not-delivered",
	[HTTP_OUTCOME_NO_ANSWER] = "no-answer",
	[HTTP_OUTCOME_TOO_LARGE] = "too-large",
};

const char *
http_outcome_to_string(enum http_outcome o)
{
	if ((unsigned)o >= _HTTP_OUTCOME_MAX)
		return NULL;
	return outcome_names[o];
}

static const char *
method_name(enum http_method m)
{
	return m == HTTP_METHOD_POST ? "POST" : "GET";
}

bool
http_host_is_loopback(const char *host)
{
	char tmp[64];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	if (isempty(host))
		return false;
	if (strcasecmp(host, "localhost") == 0)
		return true; /* libcurl resolves it to loopback itself, without DNS */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return false;
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = 0;
		host = tmp;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* Parses `url` with libcurl's own parser, so the policy judges exactly what libcurl will use. */
int
url_parse(const char *url, CURLU **ret)
{
	CURLU *u;

	if (!url || strlen(url) > HTTP_URL_MAX)
		return -EINVAL;
	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		curl_url_cleanup(u);
		return -EINVAL;
	}
	*ret = u;
	return 0;
}

int
url_policy(CURLU *u)
{
	_cleanup_(curl_freep) char *scheme = NULL, *host = NULL;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		return -EINVAL;
	if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)
		return -EPERM;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		return -EINVAL;
	if (strcasecmp(scheme, "https") == 0)
		return 0;
	/* doc/design.md §12.1: plain HTTP only to a gateway on this machine (the sandbox). */
	return http_host_is_loopback(host) ? 0 : -EPERM;
}

int
http_url_check_policy(const char *url)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	int r;

	r = url_parse(url, &u);
	if (r < 0)
		return r;
	return url_policy(u);
}

static bool
has_ctl(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return true;
	return false;
}

static int
header_check(const char *h)
{
	const char *colon;
	size_t n = strnlen(h, HTTP_HEADER_LINE_MAX + 1);

	if (n > HTTP_HEADER_LINE_MAX || has_ctl(h))
		return -EINVAL;
	colon = strchr(h, ':');
	if (!colon || colon == h)
		return -EINVAL;
	for (const char *p = h; p < colon; p++)
		if (*p <= ' ' || *p >= 127)
			return -EINVAL;
	return 0;
}

int
http_request_spec_validate(const struct http_request_spec *spec, const char **ret_reason)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	const char *reason = NULL;
	size_t n = 0;

	if (!spec)
		reason = "no request";
	else if ((unsigned)spec->method >= _HTTP_METHOD_MAX)
		reason = "unknown method";
	else if (url_parse(spec->url, &u) < 0)
		reason = "not a URL, or longer than HTTP_URL_MAX";
	else if (spec->method == HTTP_METHOD_GET && (spec->body_len > 0 || spec->content_type))
		reason = "a GET request has no body";
	else if (spec->body_len > HTTP_REQUEST_BODY_MAX)
		reason = "body larger than HTTP_REQUEST_BODY_MAX";
	else if (spec->body_len > 0 && !spec->body)
		reason = "body length without body";
	else if (spec->content_type &&
		 (has_ctl(spec->content_type) || strlen(spec->content_type) > 256))
		reason = "bad content type";
	else if (spec->response_cap > HTTP_RESPONSE_CAP_MAX)
		reason = "response cap larger than HTTP_RESPONSE_CAP_MAX";
	else if (spec->timeout_usec > INT64_C(24) * 3600 * 1000000 ||
		 spec->connect_timeout_usec > INT64_C(24) * 3600 * 1000000)
		reason = "timeout longer than a day";
	else if (spec->headers)
		for (; spec->headers[n]; n++) {
			if (n >= HTTP_HEADERS_MAX) {
				reason = "more than HTTP_HEADERS_MAX headers";
				break;
			}
			if (header_check(spec->headers[n]) < 0) {
				reason = "malformed header line";
				break;
			}
		}
	if (reason) {
		if (ret_reason)
			*ret_reason = reason;
		return -EINVAL;
	}
	return 0;
}

enum http_outcome
http_outcome_classify(int curl_code, bool request_sent, bool over_cap)
{
	if (curl_code == CURLE_OK)
		return HTTP_OUTCOME_OK;
	if (over_cap || curl_code == CURLE_FILESIZE_EXCEEDED)
		return HTTP_OUTCOME_TOO_LARGE;
	/* On the int: libcurl's enum is foreign and long, -Wswitch-enum would want all of it. */
	switch (curl_code) {
	/* Errors raised before the request is written: if, nonetheless, request bytes left on an
	 * earlier attempt (libcurl's silent re-send after a dead reused connection, doc/protocol.md
	 * §8), the server may have it. */
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_INTERFACE_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
	case CURLE_PROXY:
	/* These can strike before or after the request went out: the byte count decides. A
	 * timeout during connect or the TLS handshake has sent nothing. */
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
		return request_sent ? HTTP_OUTCOME_NO_ANSWER : HTTP_OUTCOME_NOT_DELIVERED;
	/* Everything else (CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, …) happens
	 * while reading an answer, or is not understood: the result is unknown. */
	default:
		return HTTP_OUTCOME_NO_ANSWER;
	}
}

size_t
http_client_in_flight(const struct http_client *c)
{
	return c ? c->n_requests : 0;
}

static unsigned
curl_to_io(int what)
{
	switch (what) {
	case CURL_POLL_IN:
		return HTTP_IO_IN;
	case CURL_POLL_OUT:
		return HTTP_IO_OUT;
	case CURL_POLL_INOUT:
		return HTTP_IO_IN | HTTP_IO_OUT;
	default:
		return 0; /* CURL_POLL_REMOVE */
	}
}

static int
on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	void *slot = socketp;
	int r;

	/* Failures are logged and not reported to libcurl: a -1 here marks the whole multi
	 * handle dead, failing every later request; unwatched, this one transfer still ends by
	 * its own timeout, and is classified by what it sent. */
	r = c->loop.watch(c->loop.userdata, fd, curl_to_io(what), &slot);
	if (r < 0) {
		log_error_errno(r, "Failed to watch HTTP socket %d: %m", (int)fd);
		return 0;
	}
	if (what != CURL_POLL_REMOVE && slot != socketp &&
	    curl_multi_assign(c->multi, fd, slot) != CURLM_OK)
		log_bug("curl_multi_assign() failed for socket %d", (int)fd);
	return 0;
}

static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	int r;

	/* As above: -1 would kill the multi handle for good. */
	r = c->loop.timer(c->loop.userdata, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000);
	if (r < 0)
		log_error_errno(r, "Failed to arm the HTTP timer: %m");
	return 0;
}

static size_t
on_curl_write(char *p, size_t size, size_t nmemb, void *userp)
{
	struct http_request *req = userp;
	size_t n = size * nmemb;
	int r;

	r = buf_append(&req->body, p, n);
	if (r == -ENOBUFS) {
		req->over_cap = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (r < 0) {
		req->oom = true;
		return 0;
	}
	return n;
}

static int
on_curl_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
	struct http_request *req = userp;
	const char *m;

	switch (type) {
	case CURLINFO_HEADER_OUT:
		/* doc/protocol.md §8: a chunk starting with the request line is one transmission.
		 */
		m = method_name(req->method);
		if (size > strlen(m) && memcmp(data, m, strlen(m)) == 0 && data[strlen(m)] == ' ')
			req->send_count++;
		req->bytes_sent += size;
		break;
	case CURLINFO_DATA_OUT:
		req->bytes_sent += size;
		break;
	case CURLINFO_TEXT:
		while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
			size--;
		log_debug("curl %s: %.*s", req->log_url, (int)MIN(size, (size_t)512), data);
		break;
	case CURLINFO_HEADER_IN:
	case CURLINFO_DATA_IN:
	case CURLINFO_SSL_DATA_IN:
	case CURLINFO_SSL_DATA_OUT:
	case CURLINFO_END:
		break;
	}
	return 0;
}

static void
request_free(struct http_request *req)
{
	struct http_client *c;

	if (!req)
		return;
	c = req->client;
	if (req->easy) {
		if (c && c->multi)
			curl_multi_remove_handle(c->multi, req->easy);
		curl_easy_cleanup(req->easy);
	}
	tunnel_free(req);
	if (c) {
		if (req->prev)
			req->prev->next = req->next;
		else if (c->requests == req)
			c->requests = req->next;
		if (req->next)
			req->next->prev = req->prev;
		c->n_requests--;
	}
	curl_slist_free_all(req->headers);
	if (req->url)
		curl_url_cleanup(req->url);
	if (req->tunnel_url)
		curl_url_cleanup(req->tunnel_url);
	buf_free(&req->body);
	if (req->post) {
		explicit_bzero(req->post, req->post_len);
		free(req->post);
	}
	free(req->log_url);
	free(req);
}

void
http_request_cancel(struct http_request *req)
{
	if (!req || req->in_callback)
		return;
	log_debug("HTTP %s %s: cancelled", method_name(req->method), req->log_url);
	request_free(req);
}

static void
request_finish(struct http_request *req, CURLcode code)
{
	struct http_response resp = {.curl_code = (int)code};
	long status = 0, request_size = 0;
	curl_off_t total_usec = 0;
	bool sent;
	const char *error;

	(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(req->easy, CURLINFO_REQUEST_SIZE, &request_size);
	(void)curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME_T, &total_usec);
	curl_multi_remove_handle(req->client->multi, req->easy);

	sent = req->bytes_sent > 0 || request_size > 0;
	resp.outcome = http_outcome_classify(code, sent, req->over_cap);
	if (req->policy_refused && sent)
		/* Cannot happen (libcurl was told to refuse the scheme); if it ever does, the
		 * byte count wins: a sent request is never reported as not delivered. */
		log_bug("HTTP %s %s: refused by policy, yet sent", method_name(req->method),
			req->log_url);
	else if (req->policy_refused)
		resp.outcome = HTTP_OUTCOME_NOT_DELIVERED;
	resp.send_count = req->send_count;
	if (sent && resp.send_count == 0)
		resp.send_count = 1;
	if (req->tunnel && !req->tunnel->forwarded && resp.outcome != HTTP_OUTCOME_OK) {
		/* libcurl wrote into the tunnel, but the tunnel knows no byte of it went towards
		 * the gateway (no connection could carry it): it never left. */
		resp.outcome = HTTP_OUTCOME_NOT_DELIVERED;
		resp.send_count = 0;
		sent = false;
	}
	resp.elapsed_usec = total_usec > 0 ? (uint64_t)total_usec : 0;

	if (req->tunnel && !req->tunnel->forwarded && resp.outcome == HTTP_OUTCOME_NOT_DELIVERED)
		error = "no connection to the gateway could carry the request";
	else if (req->policy_refused && !sent)
		error = "refused by policy: plain http:// only to a loopback host, https:// "
			"otherwise";
	else if (req->over_cap)
		error = "response larger than the cap";
	else if (req->oom)
		error = "out of memory while receiving the response";
	else if (code == CURLE_OK)
		error = "";
	else if (req->errbuf[0])
		error = req->errbuf;
	else
		error = curl_easy_strerror(code);
	resp.error = error;

	if (resp.outcome == HTTP_OUTCOME_OK) {
		size_t len = req->body.len;

		resp.status = status;
		resp.body = buf_steal(&req->body);
		resp.body_len = len;
		if (!resp.body) {
			resp.outcome = HTTP_OUTCOME_NO_ANSWER;
			resp.error = "out of memory while receiving the response";
			resp.body_len = 0;
		}
	}
	if (resp.outcome == HTTP_OUTCOME_OK)
		log_debug("HTTP %s %s: %ld, %zu bytes, sent %u time(s)", method_name(req->method),
			  req->log_url, resp.status, resp.body_len, resp.send_count);
	else {
		if (resp.outcome == HTTP_OUTCOME_TOO_LARGE)
			resp.status = status;
		buf_free(&req->body);
		log_warning("HTTP %s %s: %s (curl %d: %s), sent %u time(s)",
			    method_name(req->method), req->log_url,
			    http_outcome_to_string(resp.outcome), (int)code, resp.error,
			    resp.send_count);
	}
	if (resp.send_count > 1)
		log_warning("HTTP %s %s: libcurl sent the request %u times (doc/protocol.md §8)",
			    method_name(req->method), req->log_url, resp.send_count);

	req->in_callback = true;
	req->client->dispatching++;
	req->done(req, &resp, req->userdata);
	req->client->dispatching--;
	free(resp.body);
	request_free(req);
}

void
request_resume(struct http_request *req, struct http_preconn *pc)
{
	int r;

	r = tunnel_attach(req, pc);
	if (r >= 0 && curl_multi_add_handle(req->client->multi, req->easy) == CURLM_OK)
		return;
	/* Out of memory, in effect. Nothing was sent: not delivered. */
	log_error("HTTP %s %s: failed to start the request", method_name(req->method),
		  req->log_url);
	request_finish(req, CURLE_COULDNT_CONNECT);
}

static void
client_process_done(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct http_request *req = NULL;
		CURLcode code;

		if (msg->msg != CURLMSG_DONE)
			continue;
		code = msg->data.result; /* msg dies with curl_multi_remove_handle() */
		if (preconn_transfer_done(c, msg->easy_handle, code))
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req) !=
			    CURLE_OK ||
		    !req) {
			log_bug("HTTP transfer without its request");
			curl_multi_remove_handle(c->multi, msg->easy_handle);
			continue;
		}
		request_finish(req, code);
	}
}

static int
client_action(struct http_client *c, curl_socket_t fd, int flags)
{
	int running;
	CURLMcode mc;

	mc = curl_multi_socket_action(c->multi, fd, flags, &running);
	tunnel_kick(c);
	client_process_done(c);
	if (mc != CURLM_OK)
		return log_error_errno(EIO, "curl_multi_socket_action failed: %s",
				       curl_multi_strerror(mc));
	return 0;
}

int
http_client_socket_event(struct http_client *c, int fd, unsigned events)
{
	int flags = 0;

	if (tunnel_socket_event(c, fd, events))
		return 0;
	if (events & HTTP_IO_IN)
		flags |= CURL_CSELECT_IN;
	if (events & HTTP_IO_OUT)
		flags |= CURL_CSELECT_OUT;
	if (events & HTTP_IO_ERR)
		flags |= CURL_CSELECT_ERR;
	return client_action(c, fd, flags);
}

int
http_client_timer_event(struct http_client *c)
{
	return client_action(c, CURL_SOCKET_TIMEOUT, 0);
}

int
http_client_new(const struct http_client_config *config, const struct http_loop *loop,
		struct http_client **ret)
{
	struct http_client *c;

	assert(loop && loop->watch && loop->timer && loop->release && ret);

	if (config && config->ca_file && access(config->ca_file, R_OK) < 0)
		return log_error_errno(errno, "CA file %s is not readable: %m", config->ca_file);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error_errno(EIO, "Failed to initialise libcurl");

	c = calloc(1, sizeof(*c));
	if (!c) {
		curl_global_cleanup();
		return log_error_errno(ENOMEM, "Failed to allocate the HTTP client: %m");
	}
	c->loop = *loop;
	c->no_tls_resume = config && config->no_tls_resume;
	if (config && config->ca_file) {
		c->ca_file = strdup(config->ca_file);
		if (!c->ca_file)
			goto oom;
	}
	c->multi = curl_multi_init();
	if (!c->multi)
		goto oom;
	/*
	 * TLS session resumption: a fresh connection (every pay's, doc/protocol.md §8) resumes the
	 * gateway's session instead of a full handshake. Only sessions are shared, not connections,
	 * so nothing changes for re-sends. One thread: no locking.
	 */
	c->share = curl_share_init();
	if (!c->share ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
		goto oom;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) != CURLM_OK)
		goto oom;
	*ret = c;
	return 0;
oom:
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->share)
		curl_share_cleanup(c->share);
	free(c->ca_file);
	free(c);
	curl_global_cleanup();
	return log_error_errno(ENOMEM, "Failed to set up the HTTP client: %m");
}

struct http_client *
http_client_free(struct http_client *c)
{
	if (!c)
		return NULL;
	assert(c->dispatching == 0);
	c->freeing = true;
	while (c->requests)
		request_free(c->requests);
	if (c->preconns)
		log_bug("HTTP client freed with pre-opened connections left open");
	while (c->preconns)
		http_preconn_close(c->preconns);
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	curl_share_cleanup(c->share);
	c->loop.release(c->loop.userdata);
	free(c->ca_file);
	free(c);
	curl_global_cleanup();
	return NULL;
}

char *
url_for_log(CURLU *u)
{
	_cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	struct buf b = BUF_INIT(HTTP_URL_MAX + 64);

	(void)curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	(void)curl_url_get(u, CURLUPART_HOST, &host, 0);
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	(void)curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (buf_printf(&b, "%s://%s%s%s%s", strna(scheme), strna(host), port ? ":" : "",
		       strempty(port), strempty(path)) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *
url_origin(CURLU *u)
{
	_cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *port = NULL;
	char *o = NULL;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		return NULL;
	for (char *p = scheme; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	if (asprintf(&o, "%s://%s:%s", scheme, host, port) < 0)
		return NULL;
	return o;
}

bool
easy_policy(struct http_client *c, CURL *e, CURLU *url, bool policy_refused,
	    uint64_t connect_timeout_usec)
{
	uint64_t ct =
		connect_timeout_usec ? connect_timeout_usec : HTTP_DEFAULT_CONNECT_TIMEOUT_USEC;
	bool ok = true;

	/* The policy: libcurl is told to speak https only when the URL may not use http, so a
	 * refused URL fails inside libcurl before any name lookup or connection, and completes
	 * through the normal path. */
	ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
				    policy_refused ? "https" : "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_CURLU, url) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	ok = ok &&
	     curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
	if (c->ca_file) {
		ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) == CURLE_OK;
		/* The configured file is the whole trust store: no system directory besides. */
		ok = ok && curl_easy_setopt(e, CURLOPT_CAPATH, NULL) == CURLE_OK;
	}
	/* HTTP/2 has retry paths of its own (refused streams, GOAWAY); HTTP/1.1 keeps one request
	 * per connection at a time and makes the byte accounting below exact. */
	ok = ok &&
	     curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK; /* ignore *_proxy env */
	ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	/* Without it, aborting a transfer (timeout, cancel, free) while its name lookup still
	 * runs makes libcurl join the resolver thread: the event loop would block for as long
	 * as the DNS query hangs. With it, the thread is left to finish and free itself. */
	ok = ok && curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT) == CURLE_OK;
	ok = ok &&
	     curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)((ct + 999) / 1000)) == CURLE_OK;
	if (c->no_tls_resume)
		ok = ok && curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L) == CURLE_OK;
	else
		ok = ok && curl_easy_setopt(e, CURLOPT_SHARE, c->share) == CURLE_OK;
	return ok;
}

static int
request_setup(struct http_request *req, const struct http_request_spec *spec)
{
	struct http_client *c = req->client;
	uint64_t tt = spec->timeout_usec ? spec->timeout_usec : HTTP_DEFAULT_TIMEOUT_USEC;
	size_t cap = spec->response_cap ? spec->response_cap : HTTP_DEFAULT_RESPONSE_CAP;
	CURL *e = req->easy;
	bool ok = true;

	req->body = BUF_INIT(cap);

	req->connect_timeout_usec = spec->connect_timeout_usec;
	ok = ok && easy_policy(c, e, req->url, req->policy_refused, spec->connect_timeout_usec);
	ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)((tt + 999) / 1000)) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_curl_write) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, req) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)req) == CURLE_OK;
	/* The debug callback is how we know whether request bytes left (the outcome depends on
	 * it) and how often (doc/protocol.md §8). It never prints headers or bodies. */
	ok = ok && curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_curl_debug) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_DEBUGDATA, req) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_VERBOSE, 1L) == CURLE_OK;
	if (spec->no_reuse) {
		/* doc/protocol.md §8: a fresh connection is never "reused", so libcurl never
		 * re-sends. */
		ok = ok && curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK;
		ok = ok && curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK;
	}
	if (spec->method == HTTP_METHOD_POST) {
		ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					    (curl_off_t)spec->body_len) == CURLE_OK;
		/* Not COPYPOSTFIELDS: libcurl's copy could not be wiped (doc/engine.md "Payment
		 * codes"); ours lives as long as the transfer and is wiped with the request. */
		req->post = malloc(spec->body_len + 1);
		if (!req->post)
			return -ENOMEM;
		if (spec->body_len > 0)
			memcpy(req->post, spec->body, spec->body_len);
		req->post[spec->body_len] = '\0';
		req->post_len = spec->body_len;
		ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->post) == CURLE_OK;
	} else
		ok = ok && curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	if (!ok)
		return -EIO;

	for (size_t i = 0; spec->headers && spec->headers[i]; i++) {
		struct curl_slist *l = curl_slist_append(req->headers, spec->headers[i]);
		if (!l)
			return -ENOMEM;
		req->headers = l;
	}
	if (spec->content_type) {
		_cleanup_free_ char *h = NULL;
		struct curl_slist *l;

		if (asprintf(&h, "Content-Type: %s", spec->content_type) < 0)
			return -ENOMEM;
		l = curl_slist_append(req->headers, h);
		if (!l)
			return -ENOMEM;
		req->headers = l;
	}
	if (spec->method == HTTP_METHOD_POST) {
		/* No "Expect: 100-continue" round trip for larger bodies. */
		struct curl_slist *l = curl_slist_append(req->headers, "Expect:");
		if (!l)
			return -ENOMEM;
		req->headers = l;
	}
	if (req->headers && curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK)
		return -EIO;
	return 0;
}

int
http_client_submit(struct http_client *c, const struct http_request_spec *spec, http_done_t done,
		   void *userdata, struct http_request **ret)
{
	struct http_preconn *pc = spec ? spec->preconn : NULL; /* ours from here on */
	struct http_request *req;
	const char *reason = NULL;
	int r;

	assert(c && done);
	if (c->freeing) {
		http_preconn_close(pc);
		return -ESHUTDOWN;
	}

	r = http_request_spec_validate(spec, &reason);
	if (r < 0) {
		http_preconn_close(pc);
		return log_error_errno(r, "Refusing HTTP request: %s", reason);
	}

	req = calloc(1, sizeof(*req));
	if (!req) {
		http_preconn_close(pc);
		return log_error_errno(ENOMEM, "Failed to allocate an HTTP request: %m");
	}
	req->client = c;
	req->method = spec->method;
	req->done = done;
	req->userdata = userdata;
	req->next = c->requests;
	if (c->requests)
		c->requests->prev = req;
	c->requests = req;
	c->n_requests++;

	r = url_parse(spec->url, &req->url);
	if (r < 0)
		goto fail;
	r = url_policy(req->url);
	if (r == -EPERM)
		req->policy_refused = true;
	else if (r < 0)
		goto fail;
	req->log_url = url_for_log(req->url);
	req->easy = curl_easy_init();
	if (!req->log_url || !req->easy) {
		r = -ENOMEM;
		goto fail;
	}
	r = request_setup(req, spec);
	if (r < 0)
		goto fail;
	if (pc && !spec->no_reuse) {
		log_bug("HTTP request with a connection opened in advance but without no_reuse");
		pc = http_preconn_close(pc);
	}
	if (pc && tunnel_await(req, pc)) {
		/* Starts once the connection is open (or failed to): request_resume(). */
		if (ret)
			*ret = req;
		return 0;
	}
	if (pc) {
		/* doc/protocol.md §8: on it for this one request only; see tunnel_attach(). */
		r = tunnel_attach(req, TAKE_PTR(pc));
		if (r < 0)
			goto fail;
	}
	if (curl_multi_add_handle(c->multi, req->easy) != CURLM_OK) {
		r = -EIO;
		goto fail;
	}
	if (ret)
		*ret = req;
	return 0;
fail:
	http_preconn_close(pc);
	request_free(req);
	return log_error_errno(r, "Failed to start an HTTP request: %m");
}
