/* SPDX-License-Identifier: MIT */
/* Integration tests of the local API over real sockets: routes, errors, limits, idempotency, SSE.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "test.h"

/* Usage: test-api FAKE_SERVER_BINARY */

static const char *server_bin;
static char sock_path[108];

struct server {
	pid_t pid;
	unsigned port, notify_port;
};

static struct server
server_start(const char *const *extra)
{
	const char *argv[24] = {server_bin, "--socket", sock_path};
	int pfd[2], n = 3;
	struct server s = {};
	char line[64] = {};
	ssize_t got = 0;

	for (; extra && *extra && n < 22; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	s.pid = fork();
	CHECK(s.pid >= 0);
	if (s.pid == 0) {
		dup2(pfd[1], 1);
		execv(server_bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got < (ssize_t)sizeof(line) - 1) {
		ssize_t k = read(pfd[0], line + got, 1);
		if (k <= 0)
			break;
		got += k;
		if (line[got - 1] == '\n')
			break;
	}
	close(pfd[0]);
	CHECK(strncmp(line, "READY ", 6) == 0);
	char *end;
	s.port = (unsigned)strtoul(line + 6, &end, 10);
	s.notify_port = (unsigned)strtoul(end, NULL, 10);
	return s;
}

static void
server_stop(struct server *s)
{
	int status;

	CHECK(kill(s->pid, SIGTERM) == 0);
	CHECK(waitpid(s->pid, &status, 0) == s->pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct resp {
	long status;
	char body[1 << 16];
	size_t len;
	char headers[4096];
	size_t hlen;
	struct json_object *json;
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;

	if (r->len + k >= sizeof(r->body))
		k = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = 0;
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;

	if (r->hlen + k >= sizeof(r->headers))
		k = sizeof(r->headers) - 1 - r->hlen;
	memcpy(r->headers + r->hlen, p, k);
	r->hlen += k;
	r->headers[r->hlen] = 0;
	return size * n;
}

static CURL *
easy_new(const char *method, const char *path, const char *body, struct curl_slist *hdrs,
	 struct resp *r, unsigned tcp_port)
{
	CURL *c = curl_easy_init();
	char url[512];

	CHECK(c);
	if (tcp_port)
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", tcp_port, path);
	else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock_path);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	return c;
}

static void
resp_parse(struct resp *r, CURL *c)
{
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->json = r->len ? json_tokener_parse(r->body) : NULL;
}

static void
resp_done(struct resp *r)
{
	json_object_put(r->json);
	r->json = NULL;
}

/* One request; hdr may be NULL or "Name: value". */
static void
req_full(struct resp *r, const char *method, const char *path, const char *body, const char *hdr,
	 unsigned tcp_port)
{
	struct curl_slist *h = NULL;
	CURL *c;

	memset(r, 0, sizeof(*r));
	h = curl_slist_append(h, "Content-Type: application/json");
	if (hdr)
		h = curl_slist_append(h, hdr);
	c = easy_new(method, path, body, h, r, tcp_port);
	CHECK_INT_EQ(curl_easy_perform(c), CURLE_OK);
	resp_parse(r, c);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
}

static void
req(struct resp *r, const char *method, const char *path, const char *body)
{
	req_full(r, method, path, body, NULL, 0);
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static const char *
err_code(struct resp *r)
{
	struct json_object *e;

	if (!r->json || !json_object_object_get_ex(r->json, "error", &e))
		return NULL;
	const char *m = jstr(e, "message");
	CHECK(m && m[0]);
	return jstr(e, "code");
}

static void
expect_error(const char *method, const char *path, const char *body, long status, const char *code)
{
	struct resp r;

	req(&r, method, path, body);
	if (r.status != status || !err_code(&r) || !STR_EQ(err_code(&r), code)) {
		fprintf(stderr, "%s %s %s: got %ld %s, expected %ld %s\n", method, path,
			body ? body : "", r.status, r.body, status, code);
		abort();
	}
	resp_done(&r);
}

static int
status_int(const char *key)
{
	struct resp r;
	struct json_object *v;
	int n;

	req(&r, "GET", "/v1/status", NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK(json_object_object_get_ex(r.json, key, &v));
	n = json_object_get_int(v);
	resp_done(&r);
	return n;
}

static void
create_order(const char *body, char id[64], const char *want_state)
{
	struct resp r;

	req(&r, "POST", "/v1/orders", body);
	CHECK_INT_EQ(r.status, 201);
	CHECK(jstr(r.json, "id"));
	snprintf(id, 64, "%s", jstr(r.json, "id"));
	CHECK_STR_EQ(jstr(r.json, "state"), want_state);
	resp_done(&r);
}

static void
test_routes(void)
{
	struct resp r;
	char paid[64], qr[64], path[256];

	create_order(
		"{\"amount\":\"88.88\",\"subject\":\"tea\",\"auth_code\":\"283456789012345670\"}",
		paid, "PAID");
	snprintf(path, sizeof(path), "/v1/orders/%s", paid);
	req(&r, "GET", path, NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(jstr(r.json, "id"), paid);
	CHECK_STR_EQ(jstr(r.json, "amount"), "88.88");
	CHECK_STR_EQ(jstr(r.json, "subject"), "tea");
	CHECK(strstr(r.headers, "Content-Type: application/json"));
	resp_done(&r);

	create_order("{\"amount\":\"1.50\",\"mode\":\"qr\"}", qr, "SHOWING_QR");

	/* List, filtered and not. */
	req(&r, "GET", "/v1/orders", NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK(strstr(r.body, paid) && strstr(r.body, qr));
	resp_done(&r);
	req(&r, "GET", "/v1/orders?state=PAID&date=2026-11-26", NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK(strstr(r.body, paid) && !strstr(r.body, qr));
	resp_done(&r);
	expect_error("GET", "/v1/orders?state=paid", NULL, 400, "invalid_state");
	expect_error("GET", "/v1/orders?date=2026-13-01", NULL, 400, "invalid_date");

	/* Cancel. */
	snprintf(path, sizeof(path), "/v1/orders/%s/cancel", qr);
	req(&r, "POST", path, NULL);
	CHECK_INT_EQ(r.status, 202);
	CHECK_STR_EQ(jstr(r.json, "state"), "CANCELED");
	resp_done(&r);
	expect_error("POST", path, NULL, 409, "not_cancelable");
	expect_error("POST", "/v1/orders/T01_20261126_999/cancel", NULL, 404, "order_not_found");

	/* Refunds. */
	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", paid);
	req(&r, "POST", path, "{\"amount\":\"8.88\",\"reason\":\"broken cup\"}");
	CHECK_INT_EQ(r.status, 201);
	CHECK_STR_EQ(jstr(r.json, "amount"), "8.88");
	CHECK_STR_EQ(jstr(r.json, "reason"), "broken cup");
	resp_done(&r);
	expect_error("POST", path, "{\"amount\":\"80.01\"}", 409, "refund_exceeds_paid");
	expect_error("POST", path, "{\"amount\":\"0.001\"}", 400, "invalid_amount");
	expect_error("POST", path, "{\"amount\":\"1.00\",\"why\":\"x\"}", 400, "unknown_field");
	/* The same Idempotency-Key refunds once. */
	char refund_id[96] = "";
	for (int i = 0; i < 2; i++) {
		req_full(&r, "POST", path, "{\"amount\":\"10.00\"}", "Idempotency-Key: rf-1", 0);
		CHECK_INT_EQ(r.status, 201);
		CHECK(jstr(r.json, "id"));
		if (i == 0)
			snprintf(refund_id, sizeof(refund_id), "%s", jstr(r.json, "id"));
		CHECK_STR_EQ(jstr(r.json, "id"), refund_id);
		resp_done(&r);
	}
	snprintf(path, sizeof(path), "/v1/orders/%s", paid);
	req(&r, "GET", path, NULL);
	CHECK_STR_EQ(jstr(r.json, "refunded"), "18.88");
	resp_done(&r);

	/* Status and reconciliation. */
	req(&r, "GET", "/v1/status", NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK(jstr(r.json, "version"));
	resp_done(&r);
	req(&r, "GET", "/v1/reconciliation/2026-11-25", NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(jstr(r.json, "date"), "2026-11-25");
	resp_done(&r);
	expect_error("GET", "/v1/reconciliation/2000-01-01", NULL, 404, "bill_not_available");
	expect_error("GET", "/v1/reconciliation/yesterday", NULL, 400, "invalid_date");

	/* Unknown resources and methods. */
	expect_error("GET", "/v1/orders/T01_20261126_999", NULL, 404, "order_not_found");
	expect_error("GET", "/v1/orders/bad$id", NULL, 404, "order_not_found");
	expect_error("GET", "/v2/orders", NULL, 404, "not_found");
	expect_error("GET", "/v1/nothing", NULL, 404, "not_found");
	expect_error("GET", "/v1/orders/", NULL, 404, "not_found");
	req(&r, "DELETE", "/v1/orders", NULL);
	CHECK_INT_EQ(r.status, 405);
	CHECK(strstr(r.headers, "Allow: GET, POST"));
	resp_done(&r);
	expect_error("POST", "/v1/status", NULL, 405, "method_not_allowed");
	expect_error("GET", "/v1/orders/x/cancel", NULL, 405, "method_not_allowed");
	printf("routes: ok\n");
}

/* An answer is made durable before it leaves, a read's before it is made (the backend's
 * settle): when that fails, the answer is 503 journal_full, and the next one that can be made
 * durable says what happened. */
static void
test_settle(void)
{
	struct resp r;

	expect_error("POST", "/v1/orders",
		     "{\"amount\":\"3.00\",\"subject\":\"sync-fails\",\"auth_code\":"
		     "\"283456789012345670\"}",
		     503, "journal_full");
	expect_error("GET", "/v1/orders", NULL, 503, "journal_full");
	/* Errors do not wait for the disk: they say nothing about an order. */
	expect_error("GET", "/v1/orders/T01_20261126_999", NULL, 404, "order_not_found");
	req(&r, "GET", "/v1/orders", NULL);
	CHECK_INT_EQ(r.status, 200);
	CHECK(strstr(r.body, "sync-fails"));
	resp_done(&r);
	/* A read is settled before the backend makes its answer, not only before it leaves. */
	for (unsigned i = 0; i < 2; i++) {
		req(&r, "GET", "/v1/status", NULL);
		CHECK_INT_EQ(r.status, 200);
		CHECK(i == 0 || strstr(r.body, "\"settled\":true"));
		resp_done(&r);
	}
}

static void
test_bad_input(void)
{
	static const char *const amounts[] = {
		"\"-1\"",   "\"1e3\"", "\"0.001\"", "\"abc\"", "\"\"",     "\"100000000.01\"",
		"\"0.00\"", "5",       "1e3",       "null",    "\" 1.00\""};
	struct resp r;
	char body[128], id[64];

	for (size_t i = 0; i < ELEMENTSOF(amounts); i++) {
		snprintf(body, sizeof(body), "{\"amount\":%s}", amounts[i]);
		expect_error("POST", "/v1/orders", body, 400, "invalid_amount");
	}
	expect_error("POST", "/v1/orders", "{}", 400, "invalid_amount");
	req(&r, "POST", "/v1/orders", "{\"amount\":\"1.00\",");
	CHECK_INT_EQ(r.status, 400);
	CHECK_STR_EQ(err_code(&r), "malformed_json");
	CHECK(strstr(r.body, "at byte 17"));
	resp_done(&r);
	req(&r, "POST", "/v1/orders", "{\"amount\":\"1.00\"} x");
	CHECK_INT_EQ(r.status, 400);
	CHECK(strstr(r.body, "at byte 18"));
	resp_done(&r);
	expect_error("POST", "/v1/orders", "{\"amount\" \"1.00\"}", 400, "malformed_json");
	expect_error("POST", "/v1/orders", "[1]", 400, "malformed_json");
	expect_error("POST", "/v1/orders", "", 400, "malformed_json");
	expect_error("POST", "/v1/orders",
		     "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}", 400,
		     "malformed_json");
	expect_error("POST", "/v1/orders", "{\"amount\":\"1.00\",\"tip\":\"1\"}", 400,
		     "unknown_field");
	expect_error("POST", "/v1/orders", "{\"amount\":\"1.00\",\"mode\":\"cash\"}", 400,
		     "invalid_field");
	expect_error("POST", "/v1/orders", "{\"amount\":\"1.00\",\"auth_code\":\"28abc\"}", 400,
		     "invalid_field");
	expect_error("POST", "/v1/orders",
		     "{\"amount\":\"1.00\",\"mode\":\"qr\",\"auth_code\":\"283456789012345670\"}",
		     400, "invalid_field");
	expect_error("POST", "/v1/orders", "{\"amount\":\"1.00\",\"subject\":5}", 400,
		     "invalid_field");
	expect_error("POST", "/v1/orders", "{\"amount\":\"1.00\",\"subject\":\"a\\u0001b\"}", 400,
		     "invalid_field");

	/* Nothing of that created an order. */
	int before = status_int("orders");
	/* One scan order may wait for the scanner; a second one is refused. */
	create_order("{\"amount\":\"3.00\"}", id, "WAITING_SCAN");
	expect_error("POST", "/v1/orders", "{\"amount\":\"4.00\"}", 409, "scan_order_waiting");
	CHECK_INT_EQ(status_int("orders"), before + 1);
	char path[128];
	snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
	req(&r, "POST", path, NULL);
	CHECK_INT_EQ(r.status, 202);
	resp_done(&r);
	printf("bad input: ok\n");
}

static void
test_idempotency(void)
{
	struct resp r;
	char id[64];
	int creates = status_int("creates");

	create_order(
		"{\"amount\":\"5.00\",\"auth_code\":\"283456789012345670\",\"pos_ref\":\"A1\"}", id,
		"PAID");
	req(&r, "POST", "/v1/orders",
	    "{\"amount\":\"5.00\",\"auth_code\":\"283456789012345670\",\"pos_ref\":\"A1\"}");
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(jstr(r.json, "id"), id);
	CHECK(strstr(r.headers, "Idempotent-Replayed: true"));
	resp_done(&r);
	/* The header works alike, and agrees with pos_ref. */
	req_full(&r, "POST", "/v1/orders",
		 "{\"amount\":\"5.00\",\"auth_code\":\"283456789012345670\"}",
		 "Idempotency-Key: A1", 0);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(jstr(r.json, "id"), id);
	resp_done(&r);
	/* The same key for another order is refused. */
	expect_error(
		"POST", "/v1/orders",
		"{\"amount\":\"6.00\",\"auth_code\":\"283456789012345670\",\"pos_ref\":\"A1\"}",
		409, "idempotency_mismatch");
	req_full(&r, "POST", "/v1/orders", "{\"amount\":\"5.00\",\"pos_ref\":\"A1\"}",
		 "Idempotency-Key: B2", 0);
	CHECK_INT_EQ(r.status, 400);
	CHECK_STR_EQ(err_code(&r), "idempotency_conflict");
	resp_done(&r);
	CHECK_INT_EQ(status_int("creates"), creates + 1);

	/* Concurrent duplicates while the first is in flight: one create, the same order. */
	CURLM *m = curl_multi_init();
	struct resp rs[3];
	CURL *cs[3];
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	int running = 1;
	for (int i = 0; i < 3; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		cs[i] = easy_new("POST", "/v1/orders",
				 "{\"amount\":\"7.00\",\"subject\":\"slow\",\"auth_code\":"
				 "\"283456789012345670\",\"pos_ref\":\"C1\"}",
				 h, &rs[i], 0);
		curl_multi_add_handle(m, cs[i]);
	}
	while (running) {
		CHECK_INT_EQ(curl_multi_perform(m, &running), CURLM_OK);
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	for (int i = 0; i < 3; i++) {
		resp_parse(&rs[i], cs[i]);
		CHECK(rs[i].status == 201 || rs[i].status == 200);
		CHECK_STR_EQ(jstr(rs[i].json, "id"), jstr(rs[0].json, "id"));
		curl_multi_remove_handle(m, cs[i]);
		curl_easy_cleanup(cs[i]);
	}
	int firsts = 0;
	for (int i = 0; i < 3; i++) {
		firsts += rs[i].status == 201;
		resp_done(&rs[i]);
	}
	CHECK_INT_EQ(firsts, 1);
	curl_slist_free_all(h);
	curl_multi_cleanup(m);
	CHECK_INT_EQ(status_int("creates"), creates + 2);
	printf("idempotency: ok\n");
}

/* An SSE stream read through curl multi. */
struct stream {
	CURLM *m;
	CURL *c;
	struct resp r;
	int running;
};

static void
stream_open(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	s->m = curl_multi_init();
	s->c = easy_new("GET", "/v1/events", NULL, NULL, &s->r, 0);
	curl_easy_setopt(s->c, CURLOPT_TIMEOUT, 0L);
	curl_multi_add_handle(s->m, s->c);
	s->running = 1;
}

/* Reads until `text` is in the body or the transfer ends; 20 s at most. */
static bool
stream_wait(struct stream *s, const char *text)
{
	for (int i = 0; i < 200 && s->running; i++) {
		curl_multi_perform(s->m, &s->running);
		if (text && strstr(s->r.body, text))
			return true;
		if (s->running)
			curl_multi_poll(s->m, NULL, 0, 100, NULL);
	}
	return text ? strstr(s->r.body, text) != NULL : !s->running;
}

static void
stream_close(struct stream *s)
{
	curl_multi_remove_handle(s->m, s->c);
	curl_easy_cleanup(s->c);
	curl_multi_cleanup(s->m);
}

static void
test_sse(void)
{
	struct stream s1, s2, s3;
	char id[64], want[128];

	stream_open(&s1);
	CHECK(stream_wait(&s1, ": f2fpayd events"));
	create_order("{\"amount\":\"2.00\",\"auth_code\":\"283456789012345670\"}", id, "PAID");
	snprintf(want, sizeof(want), "\"id\":\"%s\"", id);
	CHECK(stream_wait(&s1, want));
	CHECK(strstr(s1.r.body, "event: order\n"));
	CHECK(strstr(s1.r.body, "\ndata: {"));
	long code;
	curl_easy_getinfo(s1.c, CURLINFO_RESPONSE_CODE, &code);
	CHECK_INT_EQ(code, 200);
	CHECK(strstr(s1.r.headers, "Content-Type: text/event-stream"));

	/* The client cap (2 in this server). */
	stream_open(&s2);
	CHECK(stream_wait(&s2, ": f2fpayd events"));
	CHECK_INT_EQ(status_int("sse_clients"), 2);
	expect_error("GET", "/v1/events", NULL, 503, "too_many_clients");
	stream_close(&s2);
	stream_close(&s1);

	/* A client that cannot keep up (1000 events at once) is disconnected. The server may
	 * still count the two streams just closed for a moment: retry while it says 503. */
	for (int i = 0;; i++) {
		stream_open(&s3);
		if (stream_wait(&s3, ": f2fpayd events"))
			break;
		CHECK(strstr(s3.r.body, "too_many_clients"));
		CHECK(i < 100);
		stream_close(&s3);
		usleep(50 * 1000);
	}
	create_order(
		"{\"amount\":\"2.00\",\"subject\":\"flood\",\"auth_code\":\"2834567890123456701\"}",
		id, "PAYING");
	CHECK(stream_wait(&s3, NULL));
	CHECK(!s3.running);
	size_t scans = 0;
	for (const char *p = s3.r.body; (p = strstr(p, "event: scan")); p++)
		scans++;
	CHECK(scans < 1000);
	stream_close(&s3);
	printf("sse: ok (slow client got %zu of 1000 events before the cut)\n", scans);
}

static void
test_body_limit(void)
{
	char big[1200];
	struct resp r;

	/* This server's limit is 1024 bytes. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "{\"amount\":\"1.00\"}", 17);
	expect_error("POST", "/v1/orders", big, 413, "body_too_large");
	/* Without Content-Length (chunked), the limit holds too. */
	struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	memset(&r, 0, sizeof(r));
	CURL *c = easy_new("POST", "/v1/orders", NULL, h, &r, 0);
	FILE *f = fmemopen(big, strlen(big), "r");
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
	curl_easy_setopt(c, CURLOPT_READDATA, f);
	CHECK_INT_EQ(curl_easy_perform(c), CURLE_OK);
	resp_parse(&r, c);
	CHECK_INT_EQ(r.status, 413);
	CHECK_STR_EQ(err_code(&r), "body_too_large");
	resp_done(&r);
	fclose(f);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	/* Just under the limit is fine. */
	big[1000] = 0;
	req(&r, "POST", "/v1/orders", big);
	CHECK_INT_EQ(r.status, 409); /* parsed: one scan order already waits in this server */
	resp_done(&r);
	printf("body limit: ok\n");
}

static int
raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static void
test_connection_limit(void)
{
	static const char get[] = "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	int a = raw_connect(), b, c;
	struct pollfd p;
	char buf[512];
	ssize_t n;

	/* Two half-sent requests hold both slots this server has (a first: it waited longest). */
	CHECK(write(a, get, 20) == 20);
	usleep(50 * 1000);
	b = raw_connect();
	CHECK(write(b, get, 20) == 20);
	usleep(50 * 1000);
	/* A third client is not kept waiting behind them: the longest waiting one is shed... */
	c = raw_connect();
	CHECK(write(c, get, STRLEN(get)) == (ssize_t)STRLEN(get));
	p = (struct pollfd){.fd = c, .events = POLLIN};
	CHECK_INT_EQ(poll(&p, 1, 20000), 1);
	n = read(c, buf, sizeof(buf) - 1);
	CHECK(n > 12);
	buf[n] = 0;
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	p = (struct pollfd){.fd = a, .events = POLLIN};
	CHECK_INT_EQ(poll(&p, 1, 20000), 1);
	CHECK_INT_EQ(read(a, buf, sizeof(buf)), 0);
	/* ...and the other one still has its slot and is answered once its request is in. */
	CHECK(write(b, get + 20, STRLEN(get) - 20) == (ssize_t)(STRLEN(get) - 20));
	p = (struct pollfd){.fd = b, .events = POLLIN};
	CHECK_INT_EQ(poll(&p, 1, 20000), 1);
	n = read(b, buf, sizeof(buf) - 1);
	CHECK(n > 12);
	buf[n] = 0;
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	close(a);
	close(b);
	close(c);
	printf("connection limit: ok\n");
}

static void
test_tcp(unsigned port)
{
	struct resp r;

	req_full(&r, "GET", "/v1/status", NULL, NULL, port);
	CHECK_INT_EQ(r.status, 401);
	CHECK_STR_EQ(err_code(&r), "unauthorized");
	CHECK(strstr(r.headers, "WWW-Authenticate: Bearer"));
	resp_done(&r);
	req_full(&r, "GET", "/v1/status", NULL, "Authorization: Bearer 0123456789abcdeX", port);
	CHECK_INT_EQ(r.status, 401);
	resp_done(&r);
	req_full(&r, "GET", "/v1/status", NULL, "Authorization: Bearer 0123456789abcde", port);
	CHECK_INT_EQ(r.status, 401);
	resp_done(&r);
	req_full(&r, "POST", "/v1/orders", "{\"amount\":\"1.00\",\"mode\":\"qr\"}",
		 "Authorization: Bearer 0123456789abcdef", port);
	CHECK_INT_EQ(r.status, 201);
	resp_done(&r);
	req_full(&r, "GET", "/v1/status", NULL, "Authorization: Bearer 0123456789abcdef", port);
	CHECK_INT_EQ(r.status, 200);
	resp_done(&r);
	/* The unix socket needs no token. */
	req(&r, "GET", "/v1/status", NULL);
	CHECK_INT_EQ(r.status, 200);
	resp_done(&r);
	printf("tcp: ok\n");
}

/* A POST to the notification listener; returns the HTTP status, the body in `out`. */
static long
notify_post(unsigned port, const char *path, const char *body, const char *ctype, char *out,
	    size_t size, const char *method)
{
	struct resp r = {};
	struct curl_slist *h = NULL;
	char url[128], hdr[128];
	CURL *c = curl_easy_init();

	CHECK(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	CHECK_INT_EQ(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	size_t n = MIN(r.len, size - 1);
	memcpy(out, r.body, n);
	out[n] = 0;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r.status;
}

static void
test_notify(unsigned port)
{
	/* doc/protocol.md §4: Alipay's Content-Type is malformed like this. */
	static const char ct[] = "application/x-www-form-urlencoded; text/html; charset=utf-8";
	char out[256], big[3000];

	CHECK_INT_EQ(notify_post(port, "/alipay/notify",
				 "trade_status=TRADE_SUCCESS&out_trade_no=T01_1&sign=good", ct, out,
				 sizeof(out), "POST"),
		     200);
	CHECK_STR_EQ(out, "success"); /* exactly the 7 bytes */
	CHECK_INT_EQ(notify_post(port, "/alipay/notify",
				 "trade_status=TRADE_SUCCESS&out_trade_no=T01_1&sign=forged", ct,
				 out, sizeof(out), "POST"),
		     200);
	CHECK_STR_EQ(out, "failure");
	CHECK_INT_EQ(notify_post(port, "/alipay/notify", NULL, ct, out, sizeof(out), "GET"), 405);
	CHECK_INT_EQ(notify_post(port, "/other", "sign=good", ct, out, sizeof(out), "POST"), 404);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_INT_EQ(notify_post(port, "/alipay/notify", big, ct, out, sizeof(out), "POST"), 413);
	/* Only the two well-formed posts reached the handler. */
	CHECK_INT_EQ(status_int("notifications"), 2);
	CHECK_INT_EQ(status_int("notify_ok"), 1);
	printf("notify: ok\n");
}

/* A connection with one whole request written on it, the answer left to read_all(). */
static int
send_raw(bool unix_socket, unsigned port, const char *request)
{
	int fd = socket(unix_socket ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = strlen(request);

	CHECK(fd >= 0);
	if (unix_socket) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
		CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	}
	CHECK(write(fd, request, n) == (ssize_t)n);
	return fd;
}

static void
read_all(int fd, char *out, size_t size)
{
	size_t len = 0;
	ssize_t k;

	while (len < size - 1 && (k = read(fd, out + len, size - 1 - len)) > 0)
		len += (size_t)k;
	out[len] = 0;
	close(fd);
}

/*
 * The POS's calls before Alipay's notifications (api.c): with a notification and a call of the
 * POS both waiting when the loop looks, the call is answered first, although the notification
 * came first.
 */
static void
test_priority(const struct server *s)
{
	static const char notification[] =
		"trade_status=TRADE_SUCCESS&out_trade_no=T01_2&sign=good";
	char request[512], out[8192];
	const char *body;
	int n0, nfd, afd;
	struct json_object *j, *v;

	n0 = status_int("notifications");
	CHECK(kill(s->pid, SIGSTOP) == 0);
	snprintf(request, sizeof(request),
		 "POST /alipay/notify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(notification), notification);
	nfd = send_raw(false, s->notify_port, request);
	afd = send_raw(true, 0, "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	CHECK(kill(s->pid, SIGCONT) == 0);
	read_all(afd, out, sizeof(out));
	body = strstr(out, "\r\n\r\n");
	CHECK(strncmp(out, "HTTP/1.1 200", 12) == 0 && body);
	j = json_tokener_parse(body + 4);
	CHECK(j && json_object_object_get_ex(j, "notifications", &v));
	/* Answered before the notification was read. */
	CHECK_INT_EQ(json_object_get_int(v), n0);
	json_object_put(j);
	read_all(nfd, out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200", 12) == 0 && strstr(out, "\r\n\r\nsuccess"));
	CHECK_INT_EQ(status_int("notifications"), n0 + 1);
	printf("priority: ok\n");
}

int
main(int argc, char **argv)
{
	struct server s;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FAKE_SERVER\n", argv[0]);
		return 2;
	}
	server_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock_path, sizeof(sock_path), "/tmp/f2fpay-api-test-%d.sock", (int)getpid());
	curl_global_init(CURL_GLOBAL_DEFAULT);

	s = server_start((const char *const[]){"--max-sse", "2", "--tcp", "127.0.0.1:0", "--token",
					       "0123456789abcdef", "--notify", "127.0.0.1:0",
					       NULL});
	CHECK(s.port > 0 && s.notify_port > 0);
	test_notify(s.notify_port);
	test_priority(&s);
	test_routes();
	test_bad_input();
	test_settle();
	test_idempotency();
	test_sse();
	test_tcp(s.port);
	server_stop(&s);
	CHECK(access(sock_path, F_OK) < 0); /* the socket is removed on exit */

	/* Stopping with a create in flight: the client gets 503, nothing leaks or crashes. */
	s = server_start(NULL);
	{
		struct stream st;
		memset(&st, 0, sizeof(st));
		st.m = curl_multi_init();
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
		st.c = easy_new("POST", "/v1/orders", "{\"amount\":\"1.00\",\"subject\":\"stuck\"}",
				h, &st.r, 0);
		curl_multi_add_handle(st.m, st.c);
		st.running = 1;
		for (int i = 0; status_int("pending") == 0; i++) {
			CHECK(i < 400);
			curl_multi_perform(st.m, &st.running);
			curl_multi_poll(st.m, NULL, 0, 50, NULL);
		}
		server_stop(&s);
		CHECK(stream_wait(&st, NULL));
		resp_parse(&st.r, st.c);
		CHECK_INT_EQ(st.r.status, 503);
		CHECK_STR_EQ(err_code(&st.r), "shutting_down");
		resp_done(&st.r);
		curl_slist_free_all(h);
		stream_close(&st);
		printf("shutdown with a call in flight: ok\n");
	}

	s = server_start((const char *const[]){"--body-limit", "1024", "--max-connections", "2",
					       "--sse-queue", "16", NULL});
	char id[64];
	create_order("{\"amount\":\"3.00\"}", id, "WAITING_SCAN");
	test_body_limit();
	test_connection_limit();
	server_stop(&s);

	curl_global_cleanup();
	printf("all api tests passed\n");
	return 0;
}
