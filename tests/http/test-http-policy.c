/* SPDX-License-Identifier: MIT */
/* Unit tests of the transport's pure parts: URL policy, outcome table, limits, loop contract. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "payment/http/http.h"
#include "test.h"

/* libcurl's numbers, spelled out so that this table does not lean on the code under test. */
enum {
	C_OK = 0,
	C_UNSUPPORTED_PROTOCOL = 1,
	C_COULDNT_RESOLVE_HOST = 6,
	C_COULDNT_CONNECT = 7,
	C_WEIRD_SERVER_REPLY = 8,
	C_PARTIAL_FILE = 18,
	C_WRITE_ERROR = 23,
	C_OPERATION_TIMEDOUT = 28,
	C_SSL_CONNECT_ERROR = 35,
	C_GOT_NOTHING = 52,
	C_SEND_ERROR = 55,
	C_RECV_ERROR = 56,
	C_PEER_FAILED_VERIFICATION = 60,
	C_FILESIZE_EXCEEDED = 63,
	C_SSL_CACERT_BADFILE = 77,
};

static void
test_outcome_names(void)
{
	CHECK_STR_EQ(http_outcome_to_string(HTTP_OUTCOME_OK), "ok");
	CHECK_STR_EQ(http_outcome_to_string(HTTP_OUTCOME_NOT_DELIVERED), "not-delivered");
	CHECK_STR_EQ(http_outcome_to_string(HTTP_OUTCOME_NO_ANSWER), "no-answer");
	CHECK_STR_EQ(http_outcome_to_string(HTTP_OUTCOME_TOO_LARGE), "too-large");
	CHECK(http_outcome_to_string(_HTTP_OUTCOME_MAX) == NULL);
	CHECK(http_outcome_to_string((enum http_outcome) - 1) == NULL);
}

static void
test_classify(void)
{
	static const struct {
		int code;
		bool sent, over_cap;
		enum http_outcome expect;
	} t[] = {
		{C_OK, true, false, HTTP_OUTCOME_OK},
		/* Never left the machine. */
		{C_COULDNT_RESOLVE_HOST, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_COULDNT_CONNECT, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_SSL_CONNECT_ERROR, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_PEER_FAILED_VERIFICATION, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_SSL_CACERT_BADFILE, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_UNSUPPORTED_PROTOCOL, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_OPERATION_TIMEDOUT, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		{C_SEND_ERROR, false, false, HTTP_OUTCOME_NOT_DELIVERED},
		/* doc/protocol.md §8: sent once on a dead reused connection, then the fresh connect
		   failed. */
		{C_COULDNT_CONNECT, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_COULDNT_RESOLVE_HOST, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_OPERATION_TIMEDOUT, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_SEND_ERROR, true, false, HTTP_OUTCOME_NO_ANSWER},
		/* Reading the answer failed: unknown, whatever the byte count says. */
		{C_RECV_ERROR, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_RECV_ERROR, false, false, HTTP_OUTCOME_NO_ANSWER},
		{C_GOT_NOTHING, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_GOT_NOTHING, false, false, HTTP_OUTCOME_NO_ANSWER},
		{C_PARTIAL_FILE, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_PARTIAL_FILE, false, false, HTTP_OUTCOME_NO_ANSWER},
		{C_WEIRD_SERVER_REPLY, true, false, HTTP_OUTCOME_NO_ANSWER},
		{C_WRITE_ERROR, true, false, HTTP_OUTCOME_NO_ANSWER},
		{9999, false, false, HTTP_OUTCOME_NO_ANSWER}, /* unknown: assume the worst */
		/* Over the cap. */
		{C_WRITE_ERROR, true, true, HTTP_OUTCOME_TOO_LARGE},
		{C_FILESIZE_EXCEEDED, true, false, HTTP_OUTCOME_TOO_LARGE},
	};

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		enum http_outcome o = http_outcome_classify(t[i].code, t[i].sent, t[i].over_cap);
		if (o != t[i].expect) {
			fprintf(stderr, "classify(%d, sent=%d, cap=%d) = %s, expected %s\n",
				t[i].code, t[i].sent, t[i].over_cap, http_outcome_to_string(o),
				http_outcome_to_string(t[i].expect));
			abort();
		}
	}
}

static void
test_loopback(void)
{
	static const struct {
		const char *host;
		bool expect;
	} t[] = {
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"127.1.2.3", true},
		{"localhost", true},
		{"LocalHost", true},
		{"::1", true},
		{"[::1]", true},
		{"128.0.0.1", false},
		{"126.255.255.255", false},
		{"0.0.0.0", false},
		{"::", false},
		{"[::]", false},
		{"10.0.0.1", false},
		{"localhost.", false},
		{"localhost.example.com", false},
		{"127.0.0.1.nip.io", false},
		{"::ffff:127.0.0.1", false},
		{"", false},
		{"[::1", false},
		{"openapi.alipay.com", false},
	};

	CHECK(!http_host_is_loopback(NULL));
	for (size_t i = 0; i < ELEMENTSOF(t); i++)
		if (http_host_is_loopback(t[i].host) != t[i].expect) {
			fprintf(stderr, "http_host_is_loopback(\"%s\") != %d\n", t[i].host,
				t[i].expect);
			abort();
		}
}

static void
test_url_policy(void)
{
	static const struct {
		const char *url;
		int expect;
	} t[] = {
		{"https://openapi.alipay.com/gateway.do", 0},
		{"https://openapi-sandbox.dl.alipaydev.com/gateway.do?charset=utf-8", 0},
		{"HTTPS://openapi.alipay.com/gateway.do", 0},
		{"http://127.0.0.1:8080/gateway.do", 0},
		{"http://127.9.8.7/", 0},
		{"http://[::1]:8080/gateway.do", 0},
		{"http://localhost:8080/", 0},
		{"HTTP://LOCALHOST/", 0},
		{"https://127.0.0.1/", 0},
		/* doc/protocol.md §1 gateways, in the clear: refused. */
		{"http://openapi.alipay.com/gateway.do", -EPERM},
		{"http://openapi.alipaydev.com/gateway.do", -EPERM},
		{"http://0.0.0.0:80/", -EPERM},
		{"http://192.168.1.1/", -EPERM},
		{"http://localhost.example.com/", -EPERM},
		{"http://127.0.0.1.nip.io/", -EPERM},
		{"http://127.0.0.1@evil.example/", -EPERM},
		{"http://evil.example#@127.0.0.1/", -EPERM},
		{"ftp://127.0.0.1/", -EPERM},
		{"gopher://127.0.0.1/", -EPERM},
		{"file:///etc/passwd", -EPERM},
		{"foo://127.0.0.1/", -EPERM},
		{"", -EINVAL},
		{"not a url", -EINVAL},
		{"https://[::1/", -EINVAL},
	};
	_cleanup_free_ char *huge = NULL;

	CHECK_INT_EQ(http_url_check_policy(NULL), -EINVAL);
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		int r = http_url_check_policy(t[i].url);
		if (r != t[i].expect) {
			fprintf(stderr, "http_url_check_policy(\"%s\") = %d, expected %d\n",
				t[i].url, r, t[i].expect);
			abort();
		}
	}
	huge = malloc(HTTP_URL_MAX + 64);
	CHECK(huge);
	snprintf(huge, HTTP_URL_MAX + 64, "https://a.example/%0*d", (int)HTTP_URL_MAX, 0);
	CHECK_INT_EQ(http_url_check_policy(huge), -EINVAL);
}

static void
test_spec_validate(void)
{
	static const char *const good_headers[] = {"X-A: 1", "X-Empty:", NULL};
	static const char *const crlf[] = {"X-A: 1\r\nX-Injected: 2", NULL};
	static const char *const no_colon[] = {"X-A 1", NULL};
	static const char *const bad_name[] = {"X A: 1", NULL};
	static const char *const empty_name[] = {": 1", NULL};
	const char *many[HTTP_HEADERS_MAX + 2];
	struct http_request_spec ok = {
		.method = HTTP_METHOD_POST,
		.url = "https://openapi.alipay.com/gateway.do",
		.headers = good_headers,
		.body = "a=1",
		.body_len = 3,
		.content_type = "application/x-www-form-urlencoded;charset=utf-8",
	};
	struct http_request_spec s;
	const char *reason = NULL;

	CHECK_INT_EQ(http_request_spec_validate(&ok, &reason), 0);
	CHECK(reason == NULL); /* not written on success */
	/* Refused by policy is not a validation error: it is an outcome. */
	s = ok;
	s.url = "http://openapi.alipay.com/gateway.do";
	CHECK_INT_EQ(http_request_spec_validate(&s, NULL), 0);

#define BAD(field, value)                                                       \
	do {                                                                    \
		s = ok;                                                         \
		s.field = value;                                                \
		reason = NULL;                                                  \
		CHECK_INT_EQ(http_request_spec_validate(&s, &reason), -EINVAL); \
		CHECK(reason &&reason[0]);                                      \
	} while (0)

	CHECK_INT_EQ(http_request_spec_validate(NULL, &reason), -EINVAL);
	BAD(url, NULL);
	BAD(url, "nonsense");
	BAD(headers, crlf);
	BAD(headers, no_colon);
	BAD(headers, bad_name);
	BAD(headers, empty_name);
	BAD(content_type, "text/plain\r\nX-Injected: 1");
	BAD(body_len, (size_t)HTTP_REQUEST_BODY_MAX + 1);
	BAD(body, NULL);
	BAD(response_cap, (size_t)HTTP_RESPONSE_CAP_MAX + 1);
	BAD(method, _HTTP_METHOD_MAX);
	BAD(timeout_usec, UINT64_MAX);
	s = ok;
	s.method = HTTP_METHOD_GET;
	CHECK_INT_EQ(http_request_spec_validate(&s, NULL), -EINVAL); /* GET with a body */
	s.body = NULL;
	s.body_len = 0;
	s.content_type = NULL;
	CHECK_INT_EQ(http_request_spec_validate(&s, NULL), 0);

	for (size_t i = 0; i < HTTP_HEADERS_MAX; i++)
		many[i] = "X-A: 1";
	many[HTTP_HEADERS_MAX] = NULL;
	s = ok;
	s.headers = many;
	CHECK_INT_EQ(http_request_spec_validate(&s, NULL), 0);
	many[HTTP_HEADERS_MAX] = "X-A: 1";
	many[HTTP_HEADERS_MAX + 1] = NULL;
	CHECK_INT_EQ(http_request_spec_validate(&s, NULL), -EINVAL);
#undef BAD
}

/* A loop that records what the core asks of it, driven by hand. */
struct fake_loop {
	unsigned watches, timers, releases;
	int64_t timeout_usec;
};

static int
fake_watch(void *userdata, int fd, unsigned events, void **slot)
{
	struct fake_loop *f = userdata;

	f->watches++;
	*slot = events ? f : NULL;
	return 0;
}

static int
fake_timer(void *userdata, int64_t timeout_usec)
{
	struct fake_loop *f = userdata;

	f->timers++;
	f->timeout_usec = timeout_usec;
	return 0;
}

static void
fake_release(void *userdata)
{
	struct fake_loop *f = userdata;

	f->releases++;
}

static unsigned done_calls;
static enum http_outcome done_outcome;
static char done_error[HTTP_ERROR_MAX];

static void
on_done(struct http_request *req, struct http_response *resp, void *userdata)
{
	done_calls++;
	done_outcome = resp->outcome;
	snprintf(done_error, sizeof(done_error), "%s", resp->error);
	CHECK(resp->body == NULL);
	CHECK_INT_EQ(resp->send_count, 0);
	http_request_cancel(req); /* a no-op inside its own callback */
}

static void
test_loop_contract(void)
{
	struct fake_loop f = {0};
	struct http_loop loop = {
		.watch = fake_watch,
		.timer = fake_timer,
		.release = fake_release,
		.userdata = &f,
	};
	struct http_client_config bad = {.ca_file = "/nonexistent/ca.pem"};
	struct http_request_spec refused = {
		.method = HTTP_METHOD_POST,
		.url = "http://192.0.2.1/gateway.do",
		.body = "a=1",
		.body_len = 3,
	};
	struct http_request_spec good = refused;
	struct http_client *c = NULL;
	struct http_request *req = NULL;

	/* An unreadable CA file fails creation, and the glue is not released by the core. */
	CHECK_INT_EQ(http_client_new(&bad, &loop, &c), -ENOENT);
	CHECK(c == NULL);
	CHECK_INT_EQ(f.releases, 0);

	CHECK_INT_EQ(http_client_new(NULL, &loop, &c), 0);
	CHECK(c);
	CHECK_INT_EQ(http_client_in_flight(c), 0);

	/* Submitting never calls back synchronously; it asks for the timer at once. */
	CHECK_INT_EQ(http_client_submit(c, &refused, on_done, NULL, &req), 0);
	CHECK(req);
	CHECK_INT_EQ(done_calls, 0);
	CHECK(f.timers >= 1);
	CHECK_INT_EQ(f.timeout_usec, 0);

	/* A policy refusal completes on the first timer event, with no socket ever watched. */
	CHECK_INT_EQ(http_client_timer_event(c), 0);
	CHECK_INT_EQ(done_calls, 1);
	CHECK_INT_EQ(done_outcome, HTTP_OUTCOME_NOT_DELIVERED);
	CHECK(strstr(done_error, "policy"));
	CHECK_INT_EQ(f.watches, 0);
	CHECK_INT_EQ(http_client_in_flight(c), 0);

	/* An invalid spec is refused at submit, nothing starts. */
	good.url = "https://openapi.alipay.com/gateway.do";
	good.body_len = HTTP_REQUEST_BODY_MAX + 1;
	CHECK_INT_EQ(http_client_submit(c, &good, on_done, NULL, NULL), -EINVAL);
	CHECK_INT_EQ(http_client_in_flight(c), 0);

	/* Cancel before the loop runs: no callback, nothing in flight. */
	good.body_len = 3;
	CHECK_INT_EQ(http_client_submit(c, &good, on_done, NULL, &req), 0);
	CHECK_INT_EQ(http_client_in_flight(c), 1);
	http_request_cancel(req);
	CHECK_INT_EQ(http_client_in_flight(c), 0);
	http_request_cancel(NULL);

	/* Free with a request in flight: no callback, the glue released once. */
	CHECK_INT_EQ(http_client_submit(c, &good, on_done, NULL, NULL), 0);
	CHECK(http_client_free(c) == NULL);
	CHECK_INT_EQ(done_calls, 1);
	CHECK_INT_EQ(f.releases, 1);
	CHECK(http_client_free(NULL) == NULL);
}

int
main(void)
{
	test_outcome_names();
	test_classify();
	test_loopback();
	test_url_policy();
	test_spec_validate();
	test_loop_contract();
	return 0;
}
