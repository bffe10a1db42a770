/* SPDX-License-Identifier: MIT */
/* Integration tests of the HTTPS transport on sd-event against a local misbehaving server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "payment/http/http-sd-event.h"
#include "test-server.h"
#include "test.h"

#define MSEC 1000ull
#define SEC  1000000ull

/*
 * Timeouts that must outlast connecting and sending (so that the request is surely out when
 * they fire) are stretched under valgrind, which slows TLS by two orders of magnitude.
 */
static uint64_t
slow(uint64_t usec)
{
	return getenv("F2FPAY_UNDER_VALGRIND") ? usec * 10 : usec;
}

static sd_event *event;
static unsigned pending;
static const char *certs_script;

struct result {
	bool done;
	enum http_outcome outcome;
	long status;
	char *body;
	size_t body_len;
	char *error;
	int curl_code;
	unsigned send_count;
};

static void
result_clear(struct result *r)
{
	free(r->body);
	free(r->error);
	*r = (struct result){0};
}

static void
on_done(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct result *r = userdata;

	CHECK(!r->done); /* exactly once */
	CHECK(resp->error);
	CHECK((resp->outcome == HTTP_OUTCOME_OK) == (resp->body != NULL));
	r->done = true;
	r->outcome = resp->outcome;
	r->status = resp->status;
	r->body = TAKE_PTR(resp->body);
	r->body_len = resp->body_len;
	r->error = strdup(resp->error);
	CHECK(r->error);
	r->curl_code = resp->curl_code;
	r->send_count = resp->send_count;
	fprintf(stderr, "  -> %s status=%ld body=%zu curl=%d sent=%u error=\"%s\"\n",
		http_outcome_to_string(resp->outcome), resp->status, resp->body_len,
		resp->curl_code, resp->send_count, resp->error);
	CHECK(pending > 0);
	pending--;
}

static int
on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	fprintf(stderr, "watchdog: the event loop did not finish in time\n");
	abort();
}

/* Runs the loop until every submitted request has completed (a hang aborts after 20 s). */
static void
run_until_done(void)
{
	sd_event_source *wd = NULL;

	CHECK(sd_event_add_time_relative(event, &wd, CLOCK_MONOTONIC, 20 * SEC, 0, on_watchdog,
					 NULL) >= 0);
	while (pending > 0)
		CHECK(sd_event_run(event, UINT64_MAX) >= 0);
	sd_event_source_disable_unref(wd);
}

static int
on_flag_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	*(bool *)userdata = true;
	return 0;
}

/* Runs the loop for `usec` whatever happens. */
static void
run_for(uint64_t usec)
{
	sd_event_source *t = NULL;
	bool fired = false;

	CHECK(sd_event_add_time_relative(event, &t, CLOCK_MONOTONIC, usec, 0, on_flag_timer,
					 &fired) >= 0);
	while (!fired)
		CHECK(sd_event_run(event, UINT64_MAX) >= 0);
	sd_event_source_disable_unref(t);
}

static void
submit(struct http_client *c, const struct http_request_spec *spec, struct result *r)
{
	result_clear(r);
	pending++;
	CHECK_INT_EQ(http_client_submit(c, spec, on_done, r, NULL), 0);
}

static struct http_client *
client_new(const char *ca_file)
{
	struct http_client_config cfg = {.ca_file = ca_file};
	struct http_client *c = NULL;

	CHECK_INT_EQ(http_client_new_sd_event(event, &cfg, &c), 0);
	return c;
}

static char *
url(const char *scheme, const char *host, struct test_server *s, const char *path)
{
	char *u = NULL;

	CHECK(asprintf(&u, "%s://%s:%u%s", scheme, host, (unsigned)test_server_port(s), path) > 0);
	return u;
}

static struct http_request_spec
post_spec(const char *u, const char *body)
{
	return (struct http_request_spec){
		.method = HTTP_METHOD_POST,
		.url = u,
		.body = body,
		.body_len = strlen(body),
		.content_type = "application/x-www-form-urlencoded;charset=utf-8",
		/* Generous: a success must not depend on the machine's speed. The cases about
		 * timeouts set short ones themselves. */
		.connect_timeout_usec = 10 * SEC,
		.timeout_usec = 10 * SEC,
	};
}

/* --- the cases --- */

static void
test_post(void)
{
	static const char body[] = "app_id=2021&biz_content=%7B%22a%22%3A1%7D&x=%E4%B8%AD";
	static const char *const headers[] = {"X-Test: yes", NULL};
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/gateway.do?charset=utf-8");
	_cleanup_free_ char *seen = NULL, *expect_body = NULL;
	struct http_request_spec spec = post_spec(u, body);
	struct result r = {0};

	spec.headers = headers;
	submit(c, &spec, &r);
	CHECK_INT_EQ(http_client_in_flight(c), 1);
	run_until_done();
	CHECK_INT_EQ(http_client_in_flight(c), 0);
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.send_count, 1);
	CHECK_STR_EQ(r.error, "");
	CHECK(asprintf(&expect_body, "ok %s", body) > 0);
	CHECK_MEM_EQ(r.body, r.body_len, expect_body, strlen(expect_body));

	/* What went on the wire: method, path with query, headers, the exact body. */
	CHECK_INT_EQ(test_server_requests(s), 1);
	seen = test_server_request(s, 0);
	CHECK(seen);
	CHECK(strncmp(seen, "POST /gateway.do?charset=utf-8 HTTP/1.1\r\n", 41) == 0);
	CHECK(strstr(seen, "\r\nUser-Agent: f2fpayd/" F2FPAY_VERSION "\r\n"));
	CHECK(strstr(seen,
		     "\r\nContent-Type: application/x-www-form-urlencoded;charset=utf-8\r\n"));
	CHECK(strstr(seen, "\r\nX-Test: yes\r\n"));
	CHECK(!strstr(seen, "Expect:"));
	CHECK(strcmp(strstr(seen, "\r\n\r\n") + 4, body) == 0);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_get_status(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/status/503");
	_cleanup_free_ char *seen = NULL;
	struct http_request_spec spec = {.method = HTTP_METHOD_GET, .url = u};
	struct result r = {0};

	submit(c, &spec, &r);
	run_until_done();
	/* Any complete response is OK: the status is the caller's business. */
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(r.status, 503);
	CHECK_MEM_EQ(r.body, r.body_len, "ok ", 3);
	seen = test_server_request(s, 0);
	CHECK(seen && strncmp(seen, "GET /status/503 HTTP/1.1\r\n", 26) == 0);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_keepalive(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/query");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0};

	/* By default one connection serves request after request. */
	for (unsigned i = 0; i < 2; i++) {
		submit(c, &spec, &r);
		run_until_done();
		CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	}
	CHECK_INT_EQ(test_server_connections(s), 1);
	/* no_reuse: a connection of its own, which is not kept for anybody else. */
	spec.no_reuse = true;
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_connections(s), 2);
	spec.no_reuse = false;
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_connections(s), 2);
	CHECK_INT_EQ(test_server_requests(s), 4);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_stall(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_STALL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0};

	spec.timeout_usec = slow(800 * MSEC);
	submit(c, &spec, &r);
	run_until_done();
	/* The server has the request and said nothing: the result is unknown. */
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NO_ANSWER);
	CHECK_INT_EQ(r.curl_code, 28); /* CURLE_OPERATION_TIMEDOUT */
	CHECK_INT_EQ(r.send_count, 1);
	CHECK_INT_EQ(r.status, 0);
	CHECK(r.body == NULL && r.error[0]);
	CHECK_INT_EQ(test_server_requests(s), 1);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_handshake_timeout(void)
{
	/* A TCP peer that never speaks TLS: the connect timeout fires before a request byte. */
	struct test_server *s = test_server_start(TEST_SERVER_STALL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("https", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0};

	spec.connect_timeout_usec = 300 * MSEC;
	spec.timeout_usec = 5 * SEC;
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK_INT_EQ(r.curl_code, 28);
	CHECK_INT_EQ(r.send_count, 0);
	CHECK_INT_EQ(test_server_connections(s), 1);
	CHECK_INT_EQ(test_server_requests(s), 0);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_reset(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_RESET, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0};

	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NO_ANSWER);
	CHECK_INT_EQ(r.send_count, 1);
	CHECK_INT_EQ(test_server_requests(s), 1);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_garbage(void)
{
	/* libcurl refuses an answer without a status line (HTTP/0.9) with
	 * CURLE_UNSUPPORTED_PROTOCOL, a code otherwise seen before anything is sent: only the
	 * byte count tells that the server has the request. */
	struct test_server *s = test_server_start(TEST_SERVER_GARBAGE, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0};

	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NO_ANSWER);
	CHECK_INT_EQ(r.send_count, 1);
	CHECK_INT_EQ(test_server_requests(s), 1);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static uint16_t
closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd); /* bound, never listened: connecting is refused */
	return ntohs(sa.sin_port);
}

static void
test_refused(void)
{
	struct http_client *c = client_new(NULL);
	char u[64];
	struct http_request_spec spec;
	struct result r = {0};

	snprintf(u, sizeof(u), "http://127.0.0.1:%u/pay", (unsigned)closed_port());
	spec = post_spec(u, "a=1");
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK_INT_EQ(r.curl_code, 7); /* CURLE_COULDNT_CONNECT */
	CHECK_INT_EQ(r.send_count, 0);

	result_clear(&r);
	http_client_free(c);
}

static void
test_dns(void)
{
	/* .invalid never resolves (RFC 6761). Whether the resolver says so at once or hangs until
	 * the connect timeout, nothing was sent. */
	struct http_client *c = client_new(NULL);
	struct http_request_spec spec = post_spec("https://f2fpay-test.invalid/gateway.do", "a=1");
	struct result r = {0};

	spec.connect_timeout_usec = 2 * SEC;
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK(r.curl_code == 6 || r.curl_code == 28); /* COULDNT_RESOLVE_HOST, OPERATION_TIMEDOUT */
	CHECK_INT_EQ(r.send_count, 0);

	result_clear(&r);
	http_client_free(c);
}

static void
test_too_large(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_BIG, NULL, NULL, false);
	struct test_server *s2 = test_server_start(TEST_SERVER_BIG_NOLEN, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/bill.zip");
	_cleanup_free_ char *u2 = url("http", "127.0.0.1", s2, "/bill.zip");
	struct http_request_spec spec = {
		.method = HTTP_METHOD_GET,
		.url = u,
		.timeout_usec = 10 * SEC,
		.response_cap = 1024 * 1024,
	};
	struct result r = {0}, r2 = {0}, r3 = {0};

	/* With a Content-Length: refused as soon as the headers arrive. */
	submit(c, &spec, &r);
	/* Without one: refused once the body passes the cap. */
	spec.url = u2;
	submit(c, &spec, &r2);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_TOO_LARGE);
	CHECK_INT_EQ(r.status, 200);
	CHECK(r.body == NULL);
	CHECK_INT_EQ(r2.outcome, HTTP_OUTCOME_TOO_LARGE);
	CHECK(r2.body == NULL);

	/* The same 10 MiB under a cap that fits: delivered whole. */
	spec.url = u;
	spec.response_cap = 16 * 1024 * 1024;
	submit(c, &spec, &r3);
	run_until_done();
	CHECK_INT_EQ(r3.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(r3.body_len, TEST_SERVER_BIG_SIZE);
	CHECK(r3.body[0] == 'x' && r3.body[TEST_SERVER_BIG_SIZE - 1] == 'x');

	result_clear(&r);
	result_clear(&r2);
	result_clear(&r3);
	http_client_free(c);
	test_server_stop(s);
	test_server_stop(s2);
}

struct certs {
	char dir[64];
	char ca[128], server[128], server_key[128], self[128], self_key[128];
};

static void
certs_make(struct certs *k)
{
	char cmd[512];

	snprintf(k->dir, sizeof(k->dir), "/tmp/f2fpay-http-certs-XXXXXX");
	CHECK(mkdtemp(k->dir));
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", certs_script, k->dir);
	CHECK_INT_EQ(system(cmd), 0);
	snprintf(k->ca, sizeof(k->ca), "%s/ca.pem", k->dir);
	snprintf(k->server, sizeof(k->server), "%s/server.pem", k->dir);
	snprintf(k->server_key, sizeof(k->server_key), "%s/server.key", k->dir);
	snprintf(k->self, sizeof(k->self), "%s/self.pem", k->dir);
	snprintf(k->self_key, sizeof(k->self_key), "%s/self.key", k->dir);
}

static void
certs_remove(struct certs *k)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
	CHECK_INT_EQ(system(cmd), 0);
}

static void
test_tls_ok(void)
{
	struct certs k;
	struct test_server *s, *st;
	struct http_client *c;
	_cleanup_free_ char *u = NULL, *u2 = NULL, *ust = NULL;
	struct http_request_spec spec;
	struct result r = {0}, r2 = {0}, r3 = {0};

	certs_make(&k);
	s = test_server_start(TEST_SERVER_NORMAL, k.server, k.server_key, false);
	st = test_server_start(TEST_SERVER_STALL, k.server, k.server_key, false);
	c = client_new(k.ca);
	u = url("https", "127.0.0.1", s, "/gateway.do");
	u2 = url("https", "localhost", s, "/gateway.do");
	ust = url("https", "127.0.0.1", st, "/gateway.do");
	spec = post_spec(u, "a=1");
	submit(c, &spec, &r);
	spec.url = u2;
	submit(c, &spec, &r2);
	/* Over TLS too, a request that went out and got no answer is NO_ANSWER. */
	spec.url = ust;
	spec.timeout_usec = slow(1500 * MSEC);
	submit(c, &spec, &r3);
	run_until_done();
	CHECK_INT_EQ(r3.outcome, HTTP_OUTCOME_NO_ANSWER);
	CHECK_INT_EQ(r3.send_count, 1);
	CHECK_INT_EQ(test_server_requests(st), 1);
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(r.status, 200);
	CHECK_MEM_EQ(r.body, r.body_len, "ok a=1", 6);
	CHECK_INT_EQ(r2.outcome, HTTP_OUTCOME_OK);
	CHECK_MEM_EQ(r2.body, r2.body_len, "ok a=1", 6);
	CHECK_INT_EQ(test_server_tls_failures(s), 0);

	result_clear(&r);
	result_clear(&r2);
	result_clear(&r3);
	http_client_free(c);
	test_server_stop(s);
	test_server_stop(st);
	certs_remove(&k);
}

/*
 * Pays go out one at a time, each on a fresh connection used for it only (doc/protocol.md §8),
 * and from the second on the TLS handshake resumes the gateway's session.
 */
static void
test_tls_resume(void)
{
	struct certs k;
	struct test_server *s;
	struct http_client *c;
	_cleanup_free_ char *u = NULL;
	struct http_request_spec spec;

	certs_make(&k);
	s = test_server_start(TEST_SERVER_NORMAL, k.server, k.server_key, false);
	c = client_new(k.ca);
	u = url("https", "127.0.0.1", s, "/gateway.do");
	spec = post_spec(u, "a=1");
	spec.no_reuse = true;
	for (unsigned i = 0; i < 3; i++) {
		struct result r = {0};
		submit(c, &spec, &r);
		run_until_done();
		CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
		CHECK_INT_EQ(r.send_count, 1);
		result_clear(&r);
	}
	CHECK_INT_EQ(test_server_requests(s), 3);
	CHECK_INT_EQ(test_server_connections(s), 3);
	CHECK_INT_EQ(test_server_tls_failures(s), 0);
	CHECK_INT_EQ(test_server_tls_resumed(s), 2);

	http_client_free(c);
	test_server_stop(s);
	certs_remove(&k);
}

static void
test_tls_untrusted(void)
{
	struct certs k;
	struct test_server *s;
	struct http_client *c, *c_sys;
	_cleanup_free_ char *u = NULL;
	struct http_request_spec spec;
	struct result r = {0}, r2 = {0};

	certs_make(&k);
	s = test_server_start(TEST_SERVER_NORMAL, k.self, k.self_key, false);
	c = client_new(k.ca);     /* trusts the test CA only */
	c_sys = client_new(NULL); /* the system store */
	u = url("https", "127.0.0.1", s, "/gateway.do");
	spec = post_spec(u, "a=1");
	submit(c, &spec, &r);
	submit(c_sys, &spec, &r2);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK_INT_EQ(r.curl_code, 60); /* CURLE_PEER_FAILED_VERIFICATION */
	CHECK_INT_EQ(r.send_count, 0);
	CHECK_INT_EQ(r2.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK_INT_EQ(r2.send_count, 0);
	CHECK_INT_EQ(test_server_requests(s), 0);

	result_clear(&r);
	result_clear(&r2);
	http_client_free(c);
	http_client_free(c_sys);
	test_server_stop(s);
	certs_remove(&k);
}

static void
test_policy(void)
{
	/* Listening on every address: http://0.0.0.0:port reaches it on Linux, unless refused. */
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, true);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "0.0.0.0", s, "/pay");
	_cleanup_free_ char *u2 = url("ftp", "127.0.0.1", s, "/pay");
	_cleanup_free_ char *u3 = url("http", "localhost", s, "/pay");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(test_server_port(s))};
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0}, r2 = {0}, r3 = {0};
	int fd;

	submit(c, &spec, &r);
	spec.url = u2;
	submit(c, &spec, &r2);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK(strstr(r.error, "policy"));
	CHECK_INT_EQ(r.send_count, 0);
	CHECK_INT_EQ(r2.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK(strstr(r2.error, "policy"));
	CHECK_INT_EQ(test_server_connections(s), 0);

	/* The refused address was reachable: the refusal, not the network, stopped it. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);

	/* Loopback by name is allowed. */
	spec.url = u3;
	submit(c, &spec, &r3);
	run_until_done();
	CHECK_INT_EQ(r3.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_requests(s), 1);

	result_clear(&r);
	result_clear(&r2);
	result_clear(&r3);
	http_client_free(c);
	test_server_stop(s);
}

/*
 * doc/protocol.md §8. The server answers the first request on a keep-alive connection, then reads
 * the second request on that same connection and closes it without a byte of answer (and does the
 * same with any later request). Observed with libcurl 7.88: when reuse is allowed, libcurl
 * retries the dead connection on a fresh one and the server receives the second request twice;
 * with `no_reuse` it receives it exactly once. Both end as NO_ANSWER.
 */
static void
resend_run(bool no_reuse, unsigned *ret_server_count, unsigned *ret_send_count)
{
	struct test_server *s = test_server_start(TEST_SERVER_DROP_LATER, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u1 = url("http", "127.0.0.1", s, "/query");
	_cleanup_free_ char *u2 = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u1, "method=alipay.trade.query");
	struct result r = {0};

	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_connections(s), 1);

	spec = post_spec(u2, "method=alipay.trade.pay");
	spec.no_reuse = no_reuse;
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NO_ANSWER);
	*ret_server_count = test_server_count_path(s, "/pay");
	*ret_send_count = r.send_count;
	fprintf(stderr, "%s: the server received the pay request %u time(s), libcurl reports %u\n",
		no_reuse ? "no_reuse" : "reuse allowed", *ret_server_count, *ret_send_count);
	/* The transport's own count matches what the server saw. */
	CHECK_INT_EQ(*ret_send_count, *ret_server_count);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

/*
 * doc/protocol.md §8, worse: the pay request goes out on a reused connection that dies, and
 * libcurl's silent retry is refused. libcurl reports CURLE_COULDNT_CONNECT, which by itself would
 * read "never delivered, safe to retry" — but the server has the request. The transport must say
 * NO_ANSWER.
 */
static void
test_resend_refused(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_DROP_LATER_GONE, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u1 = url("http", "127.0.0.1", s, "/query");
	_cleanup_free_ char *u2 = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u1, "method=alipay.trade.query");
	struct result r = {0};

	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);

	spec = post_spec(u2, "method=alipay.trade.pay");
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(test_server_count_path(s, "/pay"), 1);
	CHECK_INT_EQ(r.curl_code, 7); /* CURLE_COULDNT_CONNECT, from the retry */
	CHECK_INT_EQ(r.send_count, 1);
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_NO_ANSWER);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static void
test_resend(void)
{
	unsigned server_count, send_count;

	resend_run(false, &server_count, &send_count);
	CHECK_INT_EQ(server_count, 2); /* the hazard: sent twice behind the caller's back */
	resend_run(true, &server_count, &send_count);
	CHECK_INT_EQ(server_count, 1); /* the fix */
}

static void
on_done_never(struct http_request *req, struct http_response *resp, void *userdata)
{
	fprintf(stderr, "callback of a cancelled request was called\n");
	abort();
}

static void
test_cancel(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_STALL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct http_request *req = NULL, *req2 = NULL;
	struct result r = {0};

	spec.timeout_usec = slow(800 * MSEC);
	/* Cancelled before the loop ever ran. */
	CHECK_INT_EQ(http_client_submit(c, &spec, on_done_never, NULL, &req), 0);
	CHECK_INT_EQ(http_client_submit(c, &spec, on_done_never, NULL, &req2), 0);
	CHECK_INT_EQ(http_client_in_flight(c), 2);
	http_request_cancel(req);
	CHECK_INT_EQ(http_client_in_flight(c), 1);

	/* Cancelled in flight, once the server holds it. */
	for (unsigned i = 0; i < 1000 && test_server_requests(s) < 1; i++)
		run_for(10 * MSEC);
	CHECK_INT_EQ(test_server_requests(s), 1);
	CHECK_INT_EQ(test_server_closed(s), 0);
	http_request_cancel(req2);
	CHECK_INT_EQ(http_client_in_flight(c), 0);
	/* The abort reaches the socket: the server sees the connection close. */
	for (unsigned i = 0; i < 1000 && test_server_closed(s) < 1; i++)
		run_for(10 * MSEC);
	CHECK_INT_EQ(test_server_closed(s), 1);
	/* Past the request's own timeout: had it survived, its callback would run now. */
	run_for(spec.timeout_usec + 100 * MSEC);

	/* The client still works afterwards. */
	spec.timeout_usec = 200 * MSEC;
	submit(c, &spec, &r);
	run_until_done();
	CHECK(r.outcome == HTTP_OUTCOME_NO_ANSWER || r.outcome == HTTP_OUTCOME_NOT_DELIVERED);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

struct chain {
	struct http_client *client;
	struct http_request *to_cancel;
	struct http_request_spec next;
	struct result first, second;
};

static void
on_chain_second(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct chain *ch = userdata;

	on_done(req, resp, &ch->second);
}

static void
on_chain_first(struct http_request *req, struct http_response *resp, void *userdata)
{
	struct chain *ch = userdata;

	on_done(req, resp, &ch->first);
	/* What the engine does: drop a request that lost its purpose, start the next one. */
	http_request_cancel(ch->to_cancel);
	pending--; /* the cancelled one will never complete */
	pending++;
	CHECK_INT_EQ(http_client_submit(ch->client, &ch->next, on_chain_second, ch, NULL), 0);
}

static void
test_reentrant(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct test_server *st = test_server_start(TEST_SERVER_STALL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	_cleanup_free_ char *u2 = url("http", "127.0.0.1", s, "/query");
	_cleanup_free_ char *ust = url("http", "127.0.0.1", st, "/slow");
	struct http_request_spec slow = post_spec(ust, "slow");
	struct http_request_spec first = post_spec(u, "pay");
	struct chain ch = {.client = c, .next = post_spec(u2, "query")};

	CHECK_INT_EQ(http_client_submit(c, &slow, on_done_never, NULL, &ch.to_cancel), 0);
	pending++;
	/* Start the first one only once the slow one is on the wire, so cancelling it aborts a
	 * live connection. */
	for (unsigned i = 0; i < 1000 && test_server_requests(st) < 1; i++)
		run_for(10 * MSEC);
	CHECK_INT_EQ(test_server_requests(st), 1);
	pending++;
	CHECK_INT_EQ(http_client_submit(c, &first, on_chain_first, &ch, NULL), 0);
	run_until_done();
	CHECK_INT_EQ(ch.first.outcome, HTTP_OUTCOME_OK);
	CHECK_MEM_EQ(ch.first.body, ch.first.body_len, "ok pay", 6);
	CHECK_INT_EQ(ch.second.outcome, HTTP_OUTCOME_OK);
	CHECK_MEM_EQ(ch.second.body, ch.second.body_len, "ok query", 8);
	CHECK_INT_EQ(http_client_in_flight(c), 0);

	result_clear(&ch.first);
	result_clear(&ch.second);
	http_client_free(c);
	test_server_stop(s);
	test_server_stop(st);
}

static void
test_teardown(void)
{
	/* Both requests go to a server that never answers, so they are surely still in flight
	 * when the client is freed (a fast server could finish the GET first and race the test). */
	struct test_server *s = test_server_start(TEST_SERVER_STALL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	_cleanup_free_ char *u2 = url("http", "127.0.0.1", s, "/bill.zip");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct http_request_spec get = {
		.method = HTTP_METHOD_GET,
		.url = u2,
		.response_cap = 32 * 1024 * 1024,
		.timeout_usec = 10 * SEC,
	};

	spec.timeout_usec = 10 * SEC;
	for (unsigned i = 0; i < 3; i++)
		CHECK_INT_EQ(http_client_submit(c, &spec, on_done_never, NULL, NULL), 0);
	CHECK_INT_EQ(http_client_submit(c, &get, on_done_never, NULL, NULL), 0);
	/* Run until the server holds all four requests, then free with everything in flight. */
	for (unsigned i = 0; i < 1000 && test_server_requests(s) < 4; i++)
		run_for(10 * MSEC);
	CHECK_INT_EQ(test_server_requests(s), 4);
	CHECK_INT_EQ(http_client_in_flight(c), 4);
	http_client_free(c);
	/* Nothing left on the loop that refers to the client. */
	run_for(50 * MSEC);
	test_server_stop(s);
}

static void
test_parallel(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct test_server *st = test_server_start(TEST_SERVER_STALL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/echo");
	_cleanup_free_ char *ust = url("http", "127.0.0.1", st, "/pay");
	struct result r[8] = {{0}}, rst = {0};
	char bodies[8][16];
	struct http_request_spec spec = post_spec(ust, "stall");

	spec.timeout_usec = slow(800 * MSEC);
	submit(c, &spec, &rst);
	for (unsigned i = 0; i < ELEMENTSOF(r); i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "n=%u", i);
		spec = post_spec(u, bodies[i]);
		spec.no_reuse = i % 2;
		submit(c, &spec, &r[i]);
	}
	run_until_done();
	for (unsigned i = 0; i < ELEMENTSOF(r); i++) {
		char expect[160]; /* roomy: aarch64 gcc cannot bound bodies[i] */

		snprintf(expect, sizeof(expect), "ok %s", bodies[i]);
		CHECK_INT_EQ(r[i].outcome, HTTP_OUTCOME_OK);
		CHECK_MEM_EQ(r[i].body, r[i].body_len, expect, strlen(expect));
		result_clear(&r[i]);
	}
	CHECK_INT_EQ(rst.outcome, HTTP_OUTCOME_NO_ANSWER);
	result_clear(&rst);
	http_client_free(c);
	test_server_stop(s);
	test_server_stop(st);
}

/* --- connections opened before their request (doc/protocol.md §8) --- */

/* Runs the loop until cond() holds (a hang aborts after 10 s). */
static void
run_until(bool (*cond)(void *), void *userdata)
{
	for (unsigned i = 0; i < 1000 && !cond(userdata); i++)
		run_for(10 * MSEC);
	CHECK(cond(userdata));
}

static bool
preconn_ready(void *userdata)
{
	return http_preconn_is_ready(userdata);
}

static bool
server_closed_one(void *userdata)
{
	return test_server_closed(userdata) >= 1;
}

static bool
server_handshaken(void *userdata)
{
	return test_server_handshakes(userdata) >= 1;
}

static struct http_preconn *
preconn_open_ready(struct http_client *c, const char *u)
{
	struct http_preconn *pc = NULL;

	CHECK_INT_EQ(http_preconn_open(c, u, 10 * SEC, &pc), 0);
	CHECK(pc);
	run_until(preconn_ready, pc);
	return pc;
}

/* A TLS server in `mode`, a client trusting it, and a pay's spec to `path` on it. */
struct tls_case {
	struct certs k;
	struct test_server *s;
	struct http_client *c;
	char *u;
	struct http_request_spec spec;
	struct result r;
};

static void
tls_case_start(struct tls_case *t, enum test_server_mode mode, const char *path)
{
	*t = (struct tls_case){0};
	certs_make(&t->k);
	t->s = test_server_start(mode, t->k.server, t->k.server_key, false);
	t->c = client_new(t->k.ca);
	t->u = url("https", "127.0.0.1", t->s, path);
	t->spec = post_spec(t->u, "method=alipay.trade.pay");
	t->spec.no_reuse = true;
}

/* Submits the pay on `pc` (taken over) and runs the loop until it completed. */
static void
tls_case_pay(struct tls_case *t, struct http_preconn *pc)
{
	t->spec.preconn = pc;
	submit(t->c, &t->spec, &t->r);
	run_until_done();
}

static void
tls_case_stop(struct tls_case *t)
{
	result_clear(&t->r);
	http_client_free(t->c);
	test_server_stop(t->s);
	certs_remove(&t->k);
	free(t->u);
}

/*
 * The connection and its TLS handshake happen before the request exists; the request then goes
 * out on that connection, the only one it ever carries, and the connection is closed after it.
 */
static void
test_preconn(void)
{
	struct tls_case t;
	struct http_preconn *pc;
	_cleanup_free_ char *req0 = NULL;
	char host[64];

	tls_case_start(&t, TEST_SERVER_NORMAL, "/gateway.do");
	pc = preconn_open_ready(t.c, t.u);
	/* Before any request: one connection, handshaken (the server's side may finish a little
	 * after the client's), nothing on it. */
	run_until(server_handshaken, t.s);
	CHECK_INT_EQ(test_server_connections(t.s), 1);
	CHECK_INT_EQ(test_server_handshakes(t.s), 1);
	CHECK_INT_EQ(test_server_requests(t.s), 0);
	run_for(100 * MSEC); /* idle: still nothing */
	CHECK_INT_EQ(test_server_requests(t.s), 0);

	tls_case_pay(&t, pc);
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(t.r.status, 200);
	CHECK_MEM_EQ(t.r.body, t.r.body_len, "ok method=alipay.trade.pay", 26);
	CHECK_INT_EQ(t.r.send_count, 1);
	/* The same connection, no new one, no new handshake: exactly one request on it. */
	CHECK_INT_EQ(test_server_connections(t.s), 1);
	CHECK_INT_EQ(test_server_handshakes(t.s), 1);
	CHECK_INT_EQ(test_server_requests(t.s), 1);
	/* The gateway's Host, as on a connection of libcurl's own. */
	req0 = test_server_request(t.s, 0);
	CHECK(req0);
	CHECK(strstr(req0, "POST /gateway.do HTTP/1.1\r\n") == req0);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", (unsigned)test_server_port(t.s));
	CHECK(strstr(req0, host));
	/* Closed after its one request. */
	run_until(server_closed_one, t.s);

	/* The next request opens its own: the used connection is never reused. */
	tls_case_pay(&t, NULL);
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_connections(t.s), 2);
	CHECK_INT_EQ(test_server_tls_failures(t.s), 0);
	tls_case_stop(&t);
}

/*
 * The resend hazard, before the request: the server closed the connection opened in advance
 * (an idle timeout). It is found dead before a byte is written, and the request goes once, on
 * a fresh connection.
 */
static void
test_preconn_dead(void)
{
	struct tls_case t;
	struct http_preconn *pc;

	tls_case_start(&t, TEST_SERVER_NORMAL, "/pay");
	pc = preconn_open_ready(t.c, t.u);
	test_server_drop_connections(t.s);
	run_until(server_closed_one, t.s);
	run_for(50 * MSEC); /* the FIN has arrived */
	tls_case_pay(&t, pc);
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(t.r.send_count, 1);
	CHECK_INT_EQ(test_server_count_path(t.s, "/pay"), 1);
	CHECK_INT_EQ(test_server_connections(t.s), 2);
	tls_case_stop(&t);
}

/*
 * The connection dies after the request took it, before a byte was written on it (here: right
 * after submit, before the loop runs). The check right before the first byte finds it dead; the
 * request goes once, on a fresh connection. If no fresh connection can be opened either, the
 * request never left: NOT_DELIVERED, sent 0 times.
 */
static void
test_preconn_late(void)
{
	struct tls_case t;

	tls_case_start(&t, TEST_SERVER_NORMAL, "/pay");
	t.spec.preconn = preconn_open_ready(t.c, t.u);
	submit(t.c, &t.spec, &t.r);
	test_server_drop_connections(t.s);
	for (unsigned i = 0; i < 1000 && test_server_closed(t.s) < 1; i++)
		usleep(10 * 1000);
	CHECK_INT_EQ(test_server_closed(t.s), 1);
	usleep(50 * 1000); /* the FIN has arrived */
	run_until_done();
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(t.r.send_count, 1);
	CHECK_INT_EQ(test_server_count_path(t.s, "/pay"), 1);
	CHECK_INT_EQ(test_server_connections(t.s), 2);

	/* Again, and the server is gone: nothing can carry the request. */
	t.spec.preconn = preconn_open_ready(t.c, t.u);
	submit(t.c, &t.spec, &t.r);
	test_server_stop(t.s);
	t.s = NULL;
	run_until_done();
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK_INT_EQ(t.r.send_count, 0);
	tls_case_stop(&t);
}

/* The abstract name of this process's tunnel listener in /proc/net/unix, or "" for none. */
static void
tunnel_listener_name(char name[static 108])
{
	char line[512], prefix[64];
	FILE *f = fopen("/proc/net/unix", "re");

	CHECK(f);
	name[0] = 0;
	snprintf(prefix, sizeof(prefix), "@f2fpayd-tunnel-%d-", (int)getpid());
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, prefix);

		if (at) {
			at[strcspn(at, "\n")] = 0;
			snprintf(name, 108, "%s", at + 1);
		}
	}
	fclose(f);
}

/*
 * The tunnel's listener is opened with the connection, before the request exists: none of its
 * system calls falls between a pay's commit and its first byte. What connected to it before the
 * request is closed unheard, and the request goes as usual; the listener is gone after it.
 */
static void
test_preconn_listener(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct tls_case t;
	char name[108], b;
	struct http_preconn *pc;
	int fd;

	tls_case_start(&t, TEST_SERVER_NORMAL, "/pay");
	pc = preconn_open_ready(t.c, t.u);
	tunnel_listener_name(name);
	CHECK(name[0]);
	memcpy(sa.sun_path + 1, name, strlen(name));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(connect(fd, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) == 0);
	tls_case_pay(&t, pc);
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(t.r.send_count, 1);
	CHECK_INT_EQ(test_server_count_path(t.s, "/pay"), 1);
	CHECK_INT_EQ(test_server_connections(t.s), 1);
	CHECK_INT_EQ(read(fd, &b, 1), 0); /* closed, nothing heard */
	close(fd);
	tunnel_listener_name(name);
	CHECK_STR_EQ(name, "");
	tls_case_stop(&t);
}

/*
 * The resend hazard, during the request: the server reads the request on the connection opened
 * in advance and closes it without answering. The request is not sent again: NO_ANSWER, one
 * request at the server, no second connection.
 */
static void
test_preconn_midway(void)
{
	struct tls_case t;

	tls_case_start(&t, TEST_SERVER_RESET, "/pay");
	tls_case_pay(&t, preconn_open_ready(t.c, t.u));
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_NO_ANSWER);
	CHECK_INT_EQ(t.r.send_count, 1);
	run_for(200 * MSEC); /* time for a re-send, which must not come */
	CHECK_INT_EQ(test_server_count_path(t.s, "/pay"), 1);
	CHECK_INT_EQ(test_server_connections(t.s), 1);
	tls_case_stop(&t);
}

static bool
preconn_settled(void *userdata)
{
	struct test_server *s = userdata;
	return test_server_connections(s) >= 1;
}

/*
 * Opening in advance fails (the server drops that connection at once): nothing is reported,
 * and the request still goes out, once, on a fresh connection. A connection to another origin
 * is not used either.
 */
static void
test_preconn_failed(void)
{
	struct tls_case t;
	struct test_server *other;
	struct http_preconn *pc = NULL;
	_cleanup_free_ char *uo = NULL;

	tls_case_start(&t, TEST_SERVER_CLOSE_FIRST, "/pay");
	other = test_server_start(TEST_SERVER_NORMAL, t.k.server, t.k.server_key, false);
	uo = url("https", "127.0.0.1", other, "/pay");
	CHECK_INT_EQ(http_preconn_open(t.c, t.u, 10 * SEC, &pc), 0);
	run_until(preconn_settled, t.s);
	run_for(200 * MSEC);
	CHECK(!http_preconn_is_ready(pc));
	tls_case_pay(&t, pc);
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_count_path(t.s, "/pay"), 1);
	CHECK_INT_EQ(test_server_connections(t.s), 2);

	/* Opened to another server: not used for this one, and closed. */
	tls_case_pay(&t, preconn_open_ready(t.c, uo));
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(test_server_count_path(t.s, "/pay"), 2);
	CHECK_INT_EQ(test_server_requests(other), 0);
	run_until(server_closed_one, other);
	test_server_stop(other);
	tls_case_stop(&t);
}

/*
 * The request comes while the connection is still being opened: it waits for it and goes out on
 * it (one connection, one handshake, one request). Cancelled while waiting: no callback, and the
 * connection is closed.
 */
static void
test_preconn_opening(void)
{
	struct tls_case t;
	struct http_preconn *pc = NULL;
	struct http_request *req = NULL;

	tls_case_start(&t, TEST_SERVER_NORMAL, "/pay");
	CHECK_INT_EQ(http_preconn_open(t.c, t.u, 10 * SEC, &pc), 0);
	CHECK(!http_preconn_is_ready(pc));
	t.spec.preconn = pc;
	submit(t.c, &t.spec, &t.r);
	CHECK_INT_EQ(http_client_in_flight(t.c), 1);
	run_until_done();
	CHECK_INT_EQ(t.r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(t.r.send_count, 1);
	CHECK_INT_EQ(test_server_connections(t.s), 1);
	CHECK_INT_EQ(test_server_requests(t.s), 1);
	run_until(server_closed_one, t.s);

	CHECK_INT_EQ(http_preconn_open(t.c, t.u, 10 * SEC, &pc), 0);
	t.spec.preconn = pc;
	CHECK_INT_EQ(http_client_submit(t.c, &t.spec, on_done_never, NULL, &req), 0);
	http_request_cancel(req);
	CHECK_INT_EQ(http_client_in_flight(t.c), 0);
	run_for(300 * MSEC);
	CHECK_INT_EQ(test_server_requests(t.s), 1);
	tls_case_stop(&t);
}

/* Plain HTTP to a loopback gateway (the sandbox without TLS): the same, without a handshake. */
static void
test_preconn_plain(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	struct http_preconn *pc = preconn_open_ready(c, u);
	struct http_request_spec spec = post_spec(u, "method=alipay.trade.pay");
	struct result r = {0};

	CHECK_INT_EQ(test_server_connections(s), 1);
	spec.no_reuse = true;
	spec.preconn = TAKE_PTR(pc);
	submit(c, &spec, &r);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_MEM_EQ(r.body, r.body_len, "ok method=alipay.trade.pay", 26);
	CHECK_INT_EQ(test_server_connections(s), 1);
	CHECK_INT_EQ(test_server_requests(s), 1);

	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

struct probe {
	struct test_server *s;
	unsigned requests;
	bool ran;
};

/* Work of the default priority that was pending before the request: by the time it runs, the
 * request is at the server already (given a second to arrive: only one sent can come). */
static int
on_probe(sd_event_source *es, void *userdata)
{
	struct probe *p = userdata;

	for (unsigned i = 0; i < 1000 && test_server_requests(p->s) < 1; i++)
		usleep(1000);
	p->requests = test_server_requests(p->s);
	p->ran = true;
	return 0;
}

/*
 * libcurl's "at once" is a defer source of the loop's, not a timer due now (http-sd-event.c):
 * a request just submitted is acted on at the loop's next turn with nothing armed in the
 * kernel and nothing to wait for. With a timer, the loop would first have to wait for the
 * timer's file descriptor (sd_event_prepare() says 0: nothing pending yet).
 */
static void
test_kick(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/gateway.do?charset=utf-8");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct result r = {0};

	submit(c, &spec, &r);
	CHECK(sd_event_prepare(event) > 0);
	CHECK(sd_event_dispatch(event) >= 0);
	CHECK_INT_EQ(http_client_in_flight(c), 1);
	run_until_done();
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.send_count, 1);
	CHECK_INT_EQ(test_server_requests(s), 1);
	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

/* The transfers go before the loop's other work of the moment (http-sd-event.c): a pay
 * submitted beside the POS's answer or a notification leaves first. */
static void
test_priority(void)
{
	struct test_server *s = test_server_start(TEST_SERVER_NORMAL, NULL, NULL, false);
	struct http_client *c = client_new(NULL);
	_cleanup_free_ char *u = url("http", "127.0.0.1", s, "/pay");
	struct http_request_spec spec = post_spec(u, "a=1");
	struct probe p = {.s = s};
	sd_event_source *d = NULL;
	struct result r = {0};

	CHECK(sd_event_add_defer(event, &d, on_probe, &p) >= 0);
	CHECK(sd_event_source_set_enabled(d, SD_EVENT_ONESHOT) >= 0);
	submit(c, &spec, &r);
	run_until_done();
	/* The transfer may even have ended before the probe's turn (a quick answer, a slow
	 * loop): the probe runs next then, and finds the request there all the same. */
	for (unsigned i = 0; i < 100 && !p.ran; i++)
		CHECK(sd_event_run(event, 10 * 1000) >= 0);
	CHECK(p.ran);
	CHECK_INT_EQ(p.requests, 1);
	CHECK_INT_EQ(r.outcome, HTTP_OUTCOME_OK);
	sd_event_source_disable_unref(d);
	result_clear(&r);
	http_client_free(c);
	test_server_stop(s);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	/* clang-format off */
	{"post", test_post},
	{"get-status", test_get_status},
	{"keepalive", test_keepalive},
	{"stall", test_stall},
	{"handshake-timeout", test_handshake_timeout},
	{"reset", test_reset},
	{"garbage", test_garbage},
	{"refused", test_refused},
	{"dns", test_dns},
	{"too-large", test_too_large},
	{"tls-ok", test_tls_ok},
	{"tls-resume", test_tls_resume},
	{"tls-untrusted", test_tls_untrusted},
	{"policy", test_policy},
	{"resend", test_resend},
	{"resend-refused", test_resend_refused},
	{"cancel", test_cancel},
	{"reentrant", test_reentrant},
	{"teardown", test_teardown},
	{"parallel", test_parallel},
	{"preconn", test_preconn},
	{"preconn-dead", test_preconn_dead},
	{"preconn-midway", test_preconn_midway},
	{"preconn-late", test_preconn_late},
	{"preconn-failed", test_preconn_failed},
	{"preconn-plain", test_preconn_plain},
	{"preconn-opening", test_preconn_opening},
	{"preconn-listener", test_preconn_listener},
	{"priority", test_priority},
	{"kick", test_kick},
	/* clang-format on */
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CASE MAKE-CERTS-SCRIPT\n", argv[0]);
		return 2;
	}
	certs_script = argv[2];
	signal(SIGPIPE, SIG_IGN); /* the server writes to clients that gave up */
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		if (strcmp(argv[1], cases[i].name) != 0)
			continue;
		CHECK(sd_event_new(&event) >= 0);
		cases[i].fn();
		CHECK_INT_EQ(pending, 0);
		event = sd_event_unref(event);
		return 0;
	}
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}
