/* SPDX-License-Identifier: MIT */
/* The engine with the real client and transport against f2fpay-sandbox: scenarios, QR, refunds. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/gateway-alipay.h"
#include "payment/http/http-sd-event.h"
#include "payment/keys.h"
#include "payment/notify.h"
#include "sandbox-proc.h"
#include "test.h"

static const char *sandbox_bin, *keys_dir;
static char dir[] = "/tmp/test-engine-sandbox-XXXXXX";
static char path[256];

/* A gateway decorator that loses the answers of the first N refunds (they were applied). */
struct lossy {
	struct gateway inner;
	unsigned lose_refunds;
	unsigned lost;
};

struct lossy_call {
	struct lossy *l;
	enum gateway_call_kind kind;
	gateway_done_t done;
	void *userdata;
	void *inner;
};

static void
lossy_done(const struct gateway_result *gr, void *userdata)
{
	struct lossy_call *lc = userdata;
	struct gateway_result lost = {.res = {.cls = ALIPAY_CLASS_UNKNOWN}};
	gateway_done_t done = lc->done;
	void *ud = lc->userdata;

	if (lc->kind == GATEWAY_CALL_REFUND && lc->l->lose_refunds > 0) {
		lc->l->lose_refunds--;
		lc->l->lost++;
		gr = &lost;
	}
	free(lc);
	done(gr, ud);
}

static int
lossy_submit(void *userdata, const struct gateway_call *call, gateway_done_t done,
	     void *done_userdata, void **ret_handle)
{
	struct lossy *l = userdata;
	struct lossy_call *lc = calloc(1, sizeof(*lc));
	int r;

	if (!lc)
		return -ENOMEM;
	*lc = (struct lossy_call){
		.l = l, .kind = call->kind, .done = done, .userdata = done_userdata};
	r = l->inner.submit(l->inner.userdata, call, lossy_done, lc, &lc->inner);
	if (r < 0) {
		free(lc);
		return r;
	}
	*ret_handle = lc;
	return 0;
}

static void
lossy_cancel(void *userdata, void *handle)
{
	struct lossy *l = userdata;
	struct lossy_call *lc = handle;

	l->inner.cancel(l->inner.userdata, lc->inner);
	free(lc);
}

struct ctx {
	struct sandbox_proc sb;
	sd_event *event;
	struct http_client *http;
	struct alipay_keys *keys;
	struct alipay_client_config client;
	struct gateway_alipay *ga;
	struct journal *journal;
	struct engine *engine;
	struct engine_config cfg;
	struct lossy lossy;
	int notify_fd;
	sd_event_source *notify_source;
	char notify_url[64];
	unsigned notifications;
};

/* A minimal notify receiver on the loop: one request per connection, verified, answered. */
static int
notify_accept_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ctx *c = userdata;
	char req[16384];
	size_t len = 0;
	const char *body;
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	bool ok = false;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd < 0)
		return 0;
	/* Read headers and the Content-Length body (small, loopback). */
	for (;;) {
		struct pollfd p = {.fd = cfd, .events = POLLIN};
		const char *hdr_end, *cl;
		ssize_t k;

		if (poll(&p, 1, 5000) <= 0)
			break;
		k = read(cfd, req + len, sizeof(req) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		req[len] = '\0';
		hdr_end = strstr(req, "\r\n\r\n");
		cl = strcasestr(req, "Content-Length:");
		if (hdr_end && cl &&
		    (size_t)(hdr_end + 4 - req) + strtoul(cl + 15, NULL, 10) <= len)
			break;
		if (len >= sizeof(req) - 1)
			break;
	}
	body = strstr(req, "\r\n\r\n");
	if (body) {
		body += 4;
		if (alipay_notify_parse(body, len - (size_t)(body - req),
					alipay_keys_get_alipay_public_key(c->keys), &n) == 0 &&
		    n.out_trade_no) {
			enum order_trade_status st = order_trade_status_from_string(
				alipay_trade_status_to_string(n.trade_status));
			ok = engine_order_notify(c->engine, n.out_trade_no, st) >= 0;
			c->notifications++;
		}
	}
	alipay_notify_done(&n);
	{
		const char *answer = ok ? "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: "
					  "close\r\n\r\nsuccess"
					: "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: "
					  "close\r\n\r\nfailure";
		(void)!write(cfd, answer, strlen(answer));
	}
	close(cfd);
	return 0;
}

static void
notify_listen(struct ctx *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	c->notify_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(c->notify_fd >= 0);
	CHECK(bind(c->notify_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(c->notify_fd, 16) == 0);
	CHECK(getsockname(c->notify_fd, (struct sockaddr *)&a, &alen) == 0);
	snprintf(c->notify_url, sizeof(c->notify_url), "http://127.0.0.1:%u/alipay/notify",
		 ntohs(a.sin_port));
	CHECK(sd_event_add_io(c->event, &c->notify_source, c->notify_fd, EPOLLIN, notify_accept_cb,
			      c) >= 0);
}

static void
ctx_init_args(struct ctx *c, bool notify, usec_t qr_poll_usec, const char *const *extra)
{
	char p[512];
	struct gateway_alipay_config gcfg = {.timeout_usec = 1 * USEC_PER_SEC, .store_id = "S1"};
	struct gateway ops;

	*c = (struct ctx){.notify_fd = -1};
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	sandbox_proc_start(&c->sb, sandbox_bin, keys_dir, extra);
	CHECK_INT_EQ(sd_event_new(&c->event), 0);
	CHECK_INT_EQ(http_client_new_sd_event(c->event, NULL, &c->http), 0);
	CHECK_INT_EQ(alipay_keys_new(&c->keys), 0);
	snprintf(p, sizeof(p), "%s/app-private.pem", keys_dir);
	CHECK_INT_EQ(alipay_keys_set_app_private_key_file(c->keys, p), 0);
	snprintf(p, sizeof(p), "%s/alipay-public.pem", keys_dir);
	CHECK_INT_EQ(alipay_keys_set_alipay_public_key_file(c->keys, p), 0);
	if (notify)
		notify_listen(c);
	c->client = (struct alipay_client_config){
		.gateway_url = c->sb.gateway,
		.app_id = "2021000000000001",
		.sign_type = ALIPAY_SIGN_RSA2,
		.charset = ALIPAY_CHARSET_UTF8,
		.notify_url = notify ? c->notify_url : NULL,
		.keys = c->keys,
	};
	gcfg.client = &c->client;
	CHECK_INT_EQ(gateway_alipay_new(c->event, c->http, &gcfg, &c->ga), 0);
	CHECK_INT_EQ(journal_open(path, &c->journal), 0);
	order_config_init(&c->cfg.fsm);
	c->cfg.fsm.query_interval_usec = 100 * USEC_PER_MSEC;
	c->cfg.fsm.max_queries = 8;
	c->cfg.fsm.cancel_interval_usec = 100 * USEC_PER_MSEC;
	c->cfg.fsm.attention_initial_usec = 200 * USEC_PER_MSEC;
	c->cfg.fsm.qr_timeout_usec = 1500 * USEC_PER_MSEC;
	c->cfg.fsm.qr_poll_interval_usec = qr_poll_usec;
	c->cfg.fsm.refund_retry_usec = 100 * USEC_PER_MSEC;
	c->cfg.terminal = "POS1";
	ops = gateway_alipay_ops(c->ga);
	CHECK_INT_EQ(engine_new(c->event, c->journal, &c->cfg, &ops, &c->engine), 0);
	CHECK_INT_EQ(engine_start(c->engine), 0);
}

static void
ctx_init(struct ctx *c, bool notify, usec_t qr_poll_usec)
{
	static const char *const extra[] = {"--confirm-after", "0.3", "--slow-delay", "3", NULL};

	ctx_init_args(c, notify, qr_poll_usec, extra);
}

static void
ctx_done(struct ctx *c)
{
	engine_free(c->engine);
	gateway_alipay_free(c->ga);
	http_client_free(c->http);
	journal_close(c->journal);
	sd_event_source_disable_unref(c->notify_source);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	alipay_keys_free(c->keys);
	sd_event_unref(c->event);
	sandbox_proc_stop(&c->sb);
}

static void
run_until_idle(struct ctx *c)
{
	for (unsigned i = 0; engine_active_count(c->engine) > 0; i++) {
		CHECK(i < 100000);
		CHECK(sd_event_run(c->event, 200 * USEC_PER_MSEC) >= 0);
	}
}

static enum order_state
state_of(struct ctx *c, const char *id, struct journal_order *ret)
{
	struct journal_order o;
	CHECK_INT_EQ(engine_order_get(c->engine, id, &o), 0);
	if (ret)
		*ret = o;
	return o.fsm.state;
}

static void
run_until_state(struct ctx *c, const char *id, enum order_state s)
{
	for (unsigned i = 0; state_of(c, id, NULL) != s; i++) {
		CHECK(i < 100000);
		CHECK(sd_event_run(c->event, 200 * USEC_PER_MSEC) >= 0);
	}
}

static void
test_scenarios(void)
{
	static const struct {
		char digit;
		enum order_state final;
		const char *status; /* the sandbox's view at the end */
		bool queried;
		int cancels;
	} expect[] = {
		{'0', ORDER_PAID, "TRADE_SUCCESS", false, 0},
		{'1', ORDER_PAID, "TRADE_SUCCESS", true, 0},
		{'2', ORDER_CANCELED, "TRADE_CLOSED", true, 1},
		{'3', ORDER_FAILED, NULL, false, 0},
		{'4', ORDER_FAILED, NULL, false, 0},
		{'5', ORDER_PAID, "TRADE_SUCCESS", true, 0},
		{'6', ORDER_PAID, "TRADE_SUCCESS", true, 0},
		{'7', ORDER_PAID, "TRADE_SUCCESS", true, 0},
		{'8', ORDER_CANCELED, "TRADE_CLOSED", true, 2},
		{'9', ORDER_CANCELED, NULL, true, 1},
	};
	char ids[10][ORDER_ID_MAX + 1];
	struct json_object *root;
	struct ctx c;

	ctx_init(&c, false, 0);
	for (unsigned i = 0; i < ELEMENTSOF(expect); i++) {
		char code[19];
		snprintf(code, sizeof(code), "28765432109876543%c", expect[i].digit);
		CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100 + i, "scenario", code,
					      NULL, ids[i]),
			     0);
	}
	run_until_idle(&c);
	root = sandbox_proc_trades(&c.sb);
	for (unsigned i = 0; i < ELEMENTSOF(expect); i++) {
		struct json_object *t = sandbox_proc_trade(root, ids[i]);
		enum order_state s = state_of(&c, ids[i], NULL);

		fprintf(stderr,
			"digit %c: %s, sandbox %s pay=%" PRId64 " query=%" PRId64 " cancel=%" PRId64
			"\n",
			expect[i].digit, order_state_to_string(s),
			sandbox_proc_str(t, "trade_status"), sandbox_proc_int(t, "pay_requests"),
			sandbox_proc_int(t, "query_requests"),
			sandbox_proc_int(t, "cancel_requests"));
		CHECK_INT_EQ(s, expect[i].final);
		if (expect[i].status)
			CHECK_STR_EQ(sandbox_proc_str(t, "trade_status"), expect[i].status);
		/* Never WAIT_BUYER_PAY at the end, and never a second pay (doc/protocol.md §8). */
		CHECK(!STR_EQ(sandbox_proc_str(t, "trade_status"), "WAIT_BUYER_PAY"));
		if (t)
			CHECK_INT_EQ(sandbox_proc_int(t, "pay_requests"), 1);
		CHECK_INT_EQ(sandbox_proc_int(t, "query_requests") > 0, expect[i].queried);
		CHECK_INT_EQ(sandbox_proc_int(t, "cancel_requests"), expect[i].cancels);
		/* Paid in the journal exactly when paid at the gateway. */
		CHECK_INT_EQ(s == ORDER_PAID,
			     STR_EQ(sandbox_proc_str(t, "trade_status"), "TRADE_SUCCESS"));
	}
	/* Digit 2: every allowed query, then the cancel. */
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, ids[2]), "query_requests"),
		     c.cfg.fsm.max_queries);
	/* The pays went out exactly once from our side too, each signed during its commit. */
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), ELEMENTSOF(expect));
	CHECK_INT_EQ(gateway_alipay_prepared_used(c.ga), ELEMENTSOF(expect));
	json_object_put(root);
	ctx_done(&c);
}

static void
prepared_done(const struct gateway_result *gr, void *userdata)
{
	int *done = userdata;

	CHECK_INT_EQ(gr->res.cls, ALIPAY_CLASS_SUCCESS);
	(*done)++;
}

/* A pay of 1 yuan for trade_no, with a payment code of the sandbox's scenario digit. */
static struct gateway_call
pay_call(const char *trade_no, char code[static 19], char digit, const char *subject)
{
	return (struct gateway_call){
		.kind = GATEWAY_CALL_PAY,
		.out_trade_no = trade_no,
		.auth_code = test_paycode(code, digit),
		.subject = subject,
		.amount_fen = 100,
		.timeout_express_usec = 60 * USEC_PER_SEC,
	};
}

/* A prepared request leaves only through the submit() of the very same call; anything else
 * drops it, and a dropped one never reaches the gateway. */
static void
test_prepared(void)
{
	char code[19], code_b[19], code_d[19], code_e[19];
	struct gateway_call a = pay_call("POS1_PREPARED_A", code, '0', "prepared");
	struct gateway_call b = a, d = a;
	struct json_object *root;
	struct gateway ops;
	void *handle = NULL;
	int done = 0;
	struct ctx c;

	ctx_init(&c, false, 0);
	ops = gateway_alipay_ops(c.ga);
	CHECK(ops.prepare);
	/* A payment code pays once: each pay its own. */
	b.out_trade_no = "POS1_PREPARED_B";
	b.auth_code = test_paycode(code_b, '0');
	d.out_trade_no = "POS1_PREPARED_D";
	d.auth_code = test_paycode(code_d, '0');

	/* Prepared for A, submitted for B: B is built anew and is what leaves. */
	ops.prepare(ops.userdata, &a);
	CHECK_INT_EQ(ops.submit(ops.userdata, &b, prepared_done, &done, &handle), 0);
	/* Prepared, then dropped (its commit failed): nothing leaves. */
	ops.prepare(ops.userdata, &a);
	ops.prepare(ops.userdata, NULL);
	/* The same amount and code, another subject: not the call it was built for. */
	ops.prepare(ops.userdata, &d);
	d.subject = "another";
	CHECK_INT_EQ(ops.submit(ops.userdata, &d, prepared_done, &done, &handle), 0);
	CHECK_INT_EQ(gateway_alipay_prepared_used(c.ga), 0);
	/* Prepared and submitted as it was: taken. */
	d.out_trade_no = "POS1_PREPARED_E";
	d.auth_code = test_paycode(code_e, '0');
	ops.prepare(ops.userdata, &d);
	CHECK_INT_EQ(ops.submit(ops.userdata, &d, prepared_done, &done, &handle), 0);
	CHECK_INT_EQ(gateway_alipay_prepared_used(c.ga), 1);
	for (unsigned i = 0; i < 1000 && done < 3; i++)
		CHECK(sd_event_run(c.event, 200 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(done, 3);
	/* A prepared request left over is dropped with the gateway. */
	ops.prepare(ops.userdata, &a);

	root = sandbox_proc_trades(&c.sb);
	CHECK(!sandbox_proc_trade(root, "POS1_PREPARED_A"));
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, "POS1_PREPARED_B"), "pay_requests"),
		     1);
	CHECK_STR_EQ(sandbox_proc_str(sandbox_proc_trade(root, "POS1_PREPARED_D"), "subject"),
		     "another");
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, "POS1_PREPARED_E"), "pay_requests"),
		     1);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), 3);
	json_object_put(root);
	ctx_done(&c);
}

/*
 * The signer, held at a gate while the test closes it: the pay's signature on the worker then
 * waits there. This definition comes before libcrypto's for the code linked into the test.
 */
static int (*real_pkey_sign)(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
			     const unsigned char *tbs, size_t tbslen);
static pthread_mutex_t sign_gate = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool sign_gated;
static atomic_uint signs_held;

int
EVP_PKEY_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
	      size_t tbslen)
{
	if (atomic_load(&sign_gated)) {
		atomic_fetch_add(&signs_held, 1);
		pthread_mutex_lock(&sign_gate);
		pthread_mutex_unlock(&sign_gate);
	}
	return real_pkey_sign(ctx, sig, siglen, tbs, tbslen);
}

/* The worker's wake-ups of the loop (gateway-alipay.c), counted the same way. */
static int (*real_eventfd_write)(int fd, eventfd_t value);
static atomic_uint eventfd_writes;

int
eventfd_write(int fd, eventfd_t value)
{
	atomic_fetch_add(&eventfd_writes, 1);
	return real_eventfd_write(fd, value);
}

static void
sign_gate_close(void)
{
	pthread_mutex_lock(&sign_gate);
	atomic_store(&signs_held, 0);
	atomic_store(&sign_gated, true);
}

static void
sign_gate_open(void)
{
	atomic_store(&sign_gated, false);
	pthread_mutex_unlock(&sign_gate);
}

static void
run_for(struct ctx *c, usec_t usec)
{
	usec_t end = now_usec(CLOCK_MONOTONIC) + usec;

	while (now_usec(CLOCK_MONOTONIC) < end)
		CHECK(sd_event_run(c->event, 10 * USEC_PER_MSEC) >= 0);
}

static void
on_submit_stuck(int sig)
{
	static const char msg[] = "submit() waited for the pay's signature\n";

	(void)sig;
	(void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

static void
any_done(const struct gateway_result *gr, void *userdata)
{
	(*(int *)userdata)++;
}

/*
 * doc/engine.md "Write-ahead": a pay submitted while its request is still being signed, with
 * another request in flight, does not hold the loop; it leaves once signed, exactly once.
 * Canceled meanwhile, it never leaves.
 */
static void
test_prepared_async(void)
{
	char code_g[19], code_h[19], code_s[19];
	struct gateway_call g = pay_call("POS1_ASYNC_G", code_g, '0', "async");
	struct gateway_call h = pay_call("POS1_ASYNC_H", code_h, '0', "async");
	char code_k[19];
	struct gateway_call k = pay_call("POS1_ASYNC_K", code_k, '0', "at once");
	/* Answered after the client's timeout. */
	struct gateway_call slow = pay_call("POS1_ASYNC_SLOW", code_s, '9', "async");
	struct json_object *root;
	struct gateway ops;
	void *handle = NULL, *slow_handle = NULL;
	int done = 0, slow_done = 0;
	struct ctx c;

	ctx_init(&c, false, 0);
	ops = gateway_alipay_ops(c.ga);
	/* With nothing in flight the submit takes the request from the worker itself, waiting
	 * for it if need be: the worker does not wake the loop for it. */
	atomic_store(&eventfd_writes, 0);
	ops.prepare(ops.userdata, &k);
	CHECK_INT_EQ(ops.submit(ops.userdata, &k, prepared_done, &done, &handle), 0);
	for (unsigned i = 0; i < 1000 && done < 1; i++)
		CHECK(sd_event_run(c.event, 200 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(done, 1);
	CHECK_INT_EQ(atomic_load(&eventfd_writes), 0);
	done = 0;

	/* Another request in flight: the loop has an answer to wait for. */
	CHECK_INT_EQ(ops.submit(ops.userdata, &slow, any_done, &slow_done, &slow_handle), 0);
	run_for(&c, 50 * USEC_PER_MSEC);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), 2);

	sign_gate_close();
	ops.prepare(ops.userdata, &g);
	signal(SIGALRM, on_submit_stuck);
	alarm(20);
	CHECK_INT_EQ(ops.submit(ops.userdata, &g, prepared_done, &done, &handle), 0);
	alarm(0);
	CHECK_INT_EQ(gateway_alipay_prepared_used(c.ga), 2);
	/* The loop runs; the pay waits for its signature, the worker at the gate. */
	run_for(&c, 100 * USEC_PER_MSEC);
	CHECK_INT_EQ(atomic_load(&signs_held), 1);
	CHECK_INT_EQ(done, 0);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), 2);
	sign_gate_open();
	for (unsigned i = 0; i < 1000 && done < 1; i++)
		CHECK(sd_event_run(c.event, 200 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(done, 1);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), 3);
	/* This one the worker woke the loop for. */
	CHECK(atomic_load(&eventfd_writes) >= 1);

	/* Canceled while it is being signed: dropped once signed, never sent. The slow pay is
	 * still in flight (its answer comes after the client's timeout of 1 s). */
	CHECK_INT_EQ(slow_done, 0);
	sign_gate_close();
	ops.prepare(ops.userdata, &h);
	alarm(20);
	CHECK_INT_EQ(ops.submit(ops.userdata, &h, prepared_done, &done, &handle), 0);
	ops.cancel(ops.userdata, handle);
	alarm(0);
	sign_gate_open();
	run_for(&c, 300 * USEC_PER_MSEC);
	CHECK_INT_EQ(done, 1);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), 3);
	for (unsigned i = 0; i < 1000 && slow_done < 1; i++)
		CHECK(sd_event_run(c.event, 200 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(slow_done, 1);

	root = sandbox_proc_trades(&c.sb);
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, "POS1_ASYNC_G"), "pay_requests"), 1);
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, "POS1_ASYNC_K"), "pay_requests"), 1);
	CHECK(!sandbox_proc_trade(root, "POS1_ASYNC_H"));
	json_object_put(root);
	ctx_done(&c);
}

static void
test_qr(void)
{
	char a[ORDER_ID_MAX + 1], b[ORDER_ID_MAX + 1], x[ORDER_ID_MAX + 1];
	struct journal_order o;
	struct json_object *root;
	struct ctx c;

	/* Paid by a verified notification alone: polling off. */
	ctx_init(&c, true, 0);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 8888, "qr notify", NULL, NULL, a),
		     0);
	run_until_state(&c, a, ORDER_SHOWING_QR);
	state_of(&c, a, &o);
	CHECK(strlen(o.qr_code) > 0);
	CHECK_INT_EQ(sandbox_proc_scan(&c.sb, o.qr_code, true), 200);
	run_until_state(&c, a, ORDER_PAID);
	CHECK(c.notifications >= 1);
	root = sandbox_proc_trades(&c.sb);
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, a), "query_requests"), 0);
	json_object_put(root);
	ctx_done(&c);

	/* Paid by polling alone: no notify_url. */
	ctx_init(&c, false, 100 * USEC_PER_MSEC);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 100, "qr poll", NULL, NULL, b), 0);
	run_until_state(&c, b, ORDER_SHOWING_QR);
	state_of(&c, b, &o);
	CHECK_INT_EQ(sandbox_proc_scan(&c.sb, o.qr_code, true), 200);
	run_until_state(&c, b, ORDER_PAID);
	CHECK_INT_EQ(c.notifications, 0);

	/* Expired: canceled, and the sandbox refuses a late scan of that QR. */
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 100, "qr expire", NULL, NULL, x), 0);
	run_until_state(&c, x, ORDER_SHOWING_QR);
	state_of(&c, x, &o);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, x, NULL), ORDER_CANCELED);
	{
		struct journal_order done;
		state_of(&c, x, &done);
		CHECK(done.fsm.expired);
	}
	CHECK(sandbox_proc_scan(&c.sb, o.qr_code, true) != 200);
	root = sandbox_proc_trades(&c.sb);
	CHECK(!STR_EQ(sandbox_proc_str(sandbox_proc_trade(root, x), "trade_status"),
		      "TRADE_SUCCESS"));
	json_object_put(root);
	ctx_done(&c);
}

static unsigned
refunds_in_ledger(struct json_object *t)
{
	struct json_object *arr;
	return t && json_object_object_get_ex(t, "refunds", &arr)
		       ? (unsigned)json_object_array_length(arr)
		       : 0;
}

static void
test_refunds(void)
{
	char a[ORDER_ID_MAX + 1], b[ORDER_ID_MAX + 1], d[ORDER_ID_MAX + 1];
	char code[19];
	char r1[REFUND_ID_MAX + 1], r2[REFUND_ID_MAX + 1], r3[REFUND_ID_MAX + 1];
	char r4[REFUND_ID_MAX + 1];
	struct journal_refund rf;
	struct journal_order o;
	struct json_object *root;
	struct ctx c;

	ctx_init(&c, false, 0);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 1000, "full",
				      test_paycode(code, '0'), NULL, a),
		     0);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 1000, "partial",
				      test_paycode(code, '0'), NULL, b),
		     0);
	run_until_idle(&c);

	/* Full. */
	CHECK_INT_EQ(engine_refund_new(c.engine, a, 1000, "full", r1), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(journal_refund_get(c.journal, r1, &rf), 0);
	CHECK_INT_EQ(rf.fsm.state, REFUND_DONE);
	/* Over-refund refused locally with a clear error, nothing sent. */
	CHECK_INT_EQ(engine_refund_new(c.engine, a, 1, "more", r2), -EOVERFLOW);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_REFUND), 1);

	/* Two partials. */
	CHECK_INT_EQ(engine_refund_new(c.engine, b, 400, "part 1", r2), 0);
	CHECK_INT_EQ(engine_refund_new(c.engine, b, 600, "part 2", r3), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, b, &o), ORDER_PAID);
	CHECK_INT_EQ(o.refunded_fen, 1000);

	/* A refund whose answer is lost is retried with the same number: one refund only. */
	engine_free(c.engine);
	c.lossy.inner = gateway_alipay_ops(c.ga);
	c.lossy.lose_refunds = 1;
	{
		struct gateway ops = {
			.submit = lossy_submit, .cancel = lossy_cancel, .userdata = &c.lossy};
		CHECK_INT_EQ(engine_new(c.event, c.journal, &c.cfg, &ops, &c.engine), 0);
	}
	CHECK_INT_EQ(engine_start(c.engine), 0);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 500, "lossy",
				      test_paycode(code, '0'), NULL, d),
		     0);
	run_until_idle(&c);
	CHECK_INT_EQ(engine_refund_new(c.engine, d, 500, "lost answer", r4), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(c.lossy.lost, 1);
	CHECK_INT_EQ(journal_refund_get(c.journal, r4, &rf), 0);
	CHECK_INT_EQ(rf.fsm.state, REFUND_DONE);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_REFUND), 5);
	/* fund_change=N on the repeat: confirmed by fastpay.refund.query. */
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_REFUND_QUERY), 1);
	CHECK_INT_EQ(state_of(&c, d, &o), ORDER_PAID);
	CHECK_INT_EQ(o.refunded_fen, 500);

	root = sandbox_proc_trades(&c.sb);
	CHECK_INT_EQ(refunds_in_ledger(sandbox_proc_trade(root, a)), 1);
	/* Exactly two refunds for b although r3 went out twice. */
	CHECK_INT_EQ(refunds_in_ledger(sandbox_proc_trade(root, b)), 2);
	CHECK_STR_EQ(sandbox_proc_str(sandbox_proc_trade(root, b), "refund_fee"), "10.00");
	/* The lost answer's refund: sent twice, applied once. */
	CHECK_INT_EQ(refunds_in_ledger(sandbox_proc_trade(root, d)), 1);
	CHECK_INT_EQ(sandbox_proc_int(sandbox_proc_trade(root, d), "refund_requests"), 2);
	CHECK_STR_EQ(sandbox_proc_str(sandbox_proc_trade(root, d), "refund_fee"), "5.00");
	json_object_put(root);
	ctx_done(&c);
}

/*
 * A gateway decorator that sends every call under one out_trade_no: trade numbers cannot
 * collide by themselves any more (install and run ids), so the test forces the collision.
 */
struct rename {
	struct gateway inner;
	const char *out_trade_no;
};

static int
rename_submit(void *userdata, const struct gateway_call *call, gateway_done_t done,
	      void *done_userdata, void **ret_handle)
{
	struct rename *n = userdata;
	struct gateway_call renamed = *call;

	renamed.out_trade_no = n->out_trade_no;
	return n->inner.submit(n->inner.userdata, &renamed, done, done_userdata, ret_handle);
}

static void
rename_cancel(void *userdata, void *handle)
{
	struct rename *n = userdata;

	n->inner.cancel(n->inner.userdata, handle);
}

/* A new engine on the same journal, its calls renamed by n (NULL: the plain gateway). */
static void
engine_restart(struct ctx *c, struct rename *n)
{
	struct gateway ops = gateway_alipay_ops(c->ga);

	engine_free(c->engine);
	if (n) {
		n->inner = ops;
		ops = (struct gateway){
			.submit = rename_submit, .cancel = rename_cancel, .userdata = n};
	}
	CHECK_INT_EQ(engine_new(c->event, c->journal, &c->cfg, &ops, &c->engine), 0);
	CHECK_INT_EQ(engine_start(c->engine), 0);
}

/* Runs until the order is in ATTENTION; a final state on the way fails the test. */
static void
run_until_held(struct ctx *c, const char *id, struct journal_order *ret)
{
	for (unsigned i = 0; state_of(c, id, ret) != ORDER_ATTENTION; i++) {
		CHECK(i < 200);
		CHECK(!order_state_is_final(ret->fsm.state));
		CHECK(sd_event_run(c->event, 100 * USEC_PER_MSEC) >= 0);
	}
	CHECK(order_is_held(&ret->fsm));
}

/*
 * doc/engine.md "Trades that are not ours": a second customer's order meets, at the gateway, a
 * paid trade under its out_trade_no (as a cloned till or a restored journal once did). It is
 * never PAID and nothing is canceled (that would refund the first customer).
 */
static void
test_collision(void)
{
	char a[ORDER_ID_MAX + 1], b[ORDER_ID_MAX + 1], x[ORDER_ID_MAX + 1], code[19];
	struct rename n = {.out_trade_no = "FORCED_COLLISION_1"};
	struct journal_order o;
	struct json_object *root, *t;
	struct ctx c;

	ctx_init(&c, false, 0);
	engine_restart(&c, &n);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 500, "first",
				      test_paycode(code, '0'), NULL, a),
		     0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, a, NULL), ORDER_PAID);

	/* A second customer, the same amount: ACQ.TRADE_HAS_SUCCESS to a pay sent once. */
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 500, "first",
				      test_paycode(code, '0'), NULL, b),
		     0);
	run_until_held(&c, b, &o);
	CHECK_STR_EQ(o.fsm.sub_code, ORDER_REASON_COLLISION);
	CHECK(isempty(o.trade_no)); /* the stranger's trade is not recorded as ours */

	/* Another amount: ACQ.CONTEXT_INCONSISTENT, the same verdict. */
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 600, "first",
				      test_paycode(code, '0'), NULL, x),
		     0);
	run_until_held(&c, x, &o);
	CHECK_STR_EQ(o.fsm.sub_code, ORDER_REASON_COLLISION);

	/* Held: time passes, a restart comes, and nothing more is sent. */
	for (unsigned i = 0; i < 10; i++)
		CHECK(sd_event_run(c.event, 50 * USEC_PER_MSEC) >= 0);
	engine_restart(&c, &n);
	for (unsigned i = 0; i < 10; i++)
		CHECK(sd_event_run(c.event, 50 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(state_of(&c, b, &o), ORDER_ATTENTION);
	CHECK(order_is_held(&o.fsm));
	CHECK_INT_EQ(state_of(&c, x, &o), ORDER_ATTENTION);
	CHECK(order_is_held(&o.fsm));

	root = sandbox_proc_trades(&c.sb);
	t = sandbox_proc_trade(root, n.out_trade_no);
	/* The first customer's trade: still paid, three pays seen, never queried or canceled. */
	CHECK_STR_EQ(sandbox_proc_str(t, "trade_status"), "TRADE_SUCCESS");
	CHECK_STR_EQ(sandbox_proc_str(t, "total_amount"), "5.00");
	CHECK_INT_EQ(sandbox_proc_int(t, "pay_requests"), 3);
	CHECK_INT_EQ(sandbox_proc_int(t, "query_requests"), 0);
	CHECK_INT_EQ(sandbox_proc_int(t, "cancel_requests"), 0);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_CANCEL), 0);
	json_object_put(root);
	ctx_done(&c);
}

/*
 * doc/engine.md: a pay or precreate that provably never left (connection refused) fails at
 * once, "gateway unreachable, nothing was charged", with no query and no cancel after it.
 */
static void
test_unreachable(void)
{
	char a[ORDER_ID_MAX + 1], q[ORDER_ID_MAX + 1];
	struct journal_order o;
	struct ctx c;
	usec_t t0;

	ctx_init(&c, false, 0);
	/* The gateway goes away: its port now refuses connections. */
	sandbox_proc_stop(&c.sb);
	t0 = now_usec(CLOCK_MONOTONIC);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "down", "287654321098765400",
				      NULL, a),
		     0);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 100, "down", NULL, NULL, q), 0);
	run_until_idle(&c);
	/* Well within the transport's connect timeout (10 s), on a loaded machine. */
	CHECK(now_usec(CLOCK_MONOTONIC) - t0 < 5 * USEC_PER_SEC);
	CHECK_INT_EQ(state_of(&c, a, &o), ORDER_FAILED);
	CHECK_STR_EQ(o.fsm.sub_code, GATEWAY_REASON_UNREACHABLE);
	CHECK_INT_EQ(state_of(&c, q, &o), ORDER_FAILED);
	CHECK_STR_EQ(o.fsm.sub_code, GATEWAY_REASON_UNREACHABLE);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_PAY), 1);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_QUERY), 0);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_CANCEL), 0);
	ctx_done(&c);
}

/*
 * doc/engine.md "Throttling", against the sandbox's rate limit: the first three queries are
 * answered 40005. They are sent again after the throttle backoff and not counted, so the buyer
 * who never confirms still gets every one of max_queries answered queries before the cancel.
 */
static void
test_throttled(void)
{
	static const char *const extra[] = {"--throttle-queries", "3", NULL};
	char id[ORDER_ID_MAX + 1], code[19];
	struct json_object *root, *t;
	struct ctx c;
	usec_t t0;

	ctx_init_args(&c, false, 0, extra);
	c.cfg.throttle_initial_usec = 100 * USEC_PER_MSEC;
	c.cfg.throttle_max_usec = 200 * USEC_PER_MSEC;
	engine_restart(&c, NULL);
	t0 = now_usec(CLOCK_MONOTONIC);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "busy",
				      test_paycode(code, '2'), NULL, id),
		     0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, id, NULL), ORDER_CANCELED);
	root = sandbox_proc_trades(&c.sb);
	t = sandbox_proc_trade(root, id);
	CHECK_INT_EQ(sandbox_proc_int(t, "query_requests"), c.cfg.fsm.max_queries);
	CHECK_INT_EQ(gateway_alipay_sent(c.ga, GATEWAY_CALL_QUERY), c.cfg.fsm.max_queries + 3);
	CHECK_INT_EQ(sandbox_proc_int(t, "cancel_requests"), 1);
	/* 100 + 200 + 200 ms of throttle backoff, at the least, before the answered queries. */
	CHECK(now_usec(CLOCK_MONOTONIC) - t0 >= 500 * USEC_PER_MSEC);
	json_object_put(root);
	ctx_done(&c);
}

int
main(int argc, char **argv)
{
	CHECK(argc == 3);
	sandbox_bin = argv[1];
	keys_dir = argv[2];
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	log_set_max_level(LOG_WARNING);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	real_pkey_sign = dlsym(RTLD_NEXT, "EVP_PKEY_sign");
	CHECK(real_pkey_sign);
	real_eventfd_write = dlsym(RTLD_NEXT, "eventfd_write");
	CHECK(real_eventfd_write);

	test_scenarios();
	test_prepared();
	test_prepared_async();
	test_qr();
	test_refunds();
	test_collision();
	test_unreachable();
	test_throttled();

	{
		char p[300];
		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	rmdir(dir);
	curl_global_cleanup();
	return 0;
}
