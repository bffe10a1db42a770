/* SPDX-License-Identifier: MIT */
/* The engine on sd-event against an in-memory gateway: scenarios, QR, refunds, recovery. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/engine/engine.h"
#include "fake-gateway.h"
#include "journal-reader.h"
#include "test.h"

static char dir[] = "/tmp/test-engine-XXXXXX";
static char path[256];

struct ctx {
	sd_event *event;
	struct journal *journal;
	struct fake_gateway fake;
	struct engine *engine;
	struct engine_config cfg;
	unsigned transitions;
	unsigned refund_transitions;
	unsigned bugs;
};

static void
observer(const struct engine_transition *t, void *userdata)
{
	struct ctx *c = userdata;

	CHECK(t->order);
	if (t->refund)
		c->refund_transitions++;
	else {
		c->transitions++;
		CHECK(t->from != t->order->fsm.state);
	}
}

static void
ctx_engine_up(struct ctx *c)
{
	CHECK_INT_EQ(engine_new(c->event, c->journal, &c->cfg, &c->fake.gw, &c->engine), 0);
	CHECK_INT_EQ(engine_subscribe(c->engine, observer, c, NULL), 0);
	CHECK_INT_EQ(engine_start(c->engine), 0);
}

static void
ctx_init(struct ctx *c, bool fresh)
{
	*c = (struct ctx){};
	if (fresh) {
		char p[300];
		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	CHECK_INT_EQ(sd_event_new(&c->event), 0);
	CHECK_INT_EQ(journal_open(path, &c->journal), 0);
	fake_gateway_init(&c->fake, c->event);
	order_config_init(&c->cfg.fsm);
	c->cfg.fsm.query_interval_usec = 5 * USEC_PER_MSEC;
	c->cfg.fsm.max_queries = 6;
	c->cfg.fsm.cancel_interval_usec = 2 * USEC_PER_MSEC;
	c->cfg.fsm.attention_initial_usec = 10 * USEC_PER_MSEC;
	c->cfg.fsm.attention_max_usec = 40 * USEC_PER_MSEC;
	c->cfg.fsm.qr_timeout_usec = 150 * USEC_PER_MSEC;
	c->cfg.fsm.qr_poll_interval_usec = 10 * USEC_PER_MSEC;
	c->cfg.fsm.refund_retry_usec = 2 * USEC_PER_MSEC;
	c->cfg.terminal = "T1";
	c->fake.confirm_usec = 5 * USEC_PER_MSEC;
	ctx_engine_up(c);
}

static void
ctx_done(struct ctx *c)
{
	engine_free(c->engine);
	journal_close(c->journal);
	sd_event_unref(c->event);
}

/* Runs the loop until nothing is active; a generous bound only guards against a hang. */
static void
run_until_idle(struct ctx *c)
{
	for (unsigned i = 0; engine_active_count(c->engine) > 0; i++) {
		CHECK(i < 200000);
		CHECK(sd_event_run(c->event, 100 * USEC_PER_MSEC) >= 0);
	}
}

/* The order's state as the engine holds it, or as its journal row says (journaled). */
static enum order_state
state_in(struct ctx *c, const char *id, bool journaled)
{
	struct journal_order o;
	CHECK_INT_EQ(journaled ? journal_order_get(c->journal, id, &o)
			       : engine_order_get(c->engine, id, &o),
		     0);
	return o.fsm.state;
}

static enum order_state
state_of(struct ctx *c, const char *id)
{
	return state_in(c, id, false);
}

static enum order_state
journaled_state_of(struct ctx *c, const char *id)
{
	return state_in(c, id, true);
}

/* One turn of the loop at a time until the order's state is s: the turn that committed it. */
static void
run_until_state_in(struct ctx *c, const char *id, enum order_state s, bool journaled)
{
	for (unsigned i = 0; state_in(c, id, journaled) != s; i++) {
		CHECK(i < 200000);
		CHECK(sd_event_run(c->event, 100 * USEC_PER_MSEC) >= 0);
	}
}

static void
run_until_state(struct ctx *c, const char *id, enum order_state s)
{
	run_until_state_in(c, id, s, false);
}

static unsigned n_events;

static int
first_event(const struct journal_event *e, void *userdata)
{
	if (n_events++ == 0)
		*(struct journal_event *)userdata = *e;
	return 0;
}

static void
auth_code(char buf[static 19], char digit)
{
	snprintf(buf, 19, "28000000000000000%c", digit);
}

static void
test_scenarios(void)
{
	static const struct {
		char digit;
		enum order_state final;
		bool queried;
		unsigned cancels;
	} expect[] = {
		{'0', ORDER_PAID, false, 0},    {'1', ORDER_PAID, true, 0},
		{'2', ORDER_CANCELED, true, 1}, {'3', ORDER_FAILED, false, 0},
		{'4', ORDER_FAILED, false, 0},  {'5', ORDER_PAID, true, 0},
		{'6', ORDER_PAID, true, 0},     {'7', ORDER_PAID, true, 0},
		{'8', ORDER_CANCELED, true, 2}, {'9', ORDER_CANCELED, true, 1},
	};
	char ids[10][ORDER_ID_MAX + 1];
	struct ctx c;

	ctx_init(&c, true);
	for (unsigned i = 0; i < ELEMENTSOF(expect); i++) {
		char code[19];
		auth_code(code, expect[i].digit);
		CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 1000 + i, "scenario", code,
					      NULL, ids[i]),
			     0);
	}
	run_until_idle(&c);
	for (unsigned i = 0; i < ELEMENTSOF(expect); i++) {
		struct fake_trade *t = fake_gateway_trade(&c.fake, ids[i]);
		struct journal_order o;

		CHECK(t);
		CHECK_INT_EQ(engine_order_get(c.engine, ids[i], &o), 0);
		if (o.fsm.state != expect[i].final)
			fprintf(stderr, "digit %c: %s\n", expect[i].digit,
				order_state_to_string(o.fsm.state));
		CHECK_INT_EQ(o.fsm.state, expect[i].final);
		/* doc/protocol.md §8: never a second pay. */
		CHECK_INT_EQ(t->pays, 1);
		CHECK_INT_EQ(t->queries > 0, expect[i].queried);
		CHECK_INT_EQ(t->cancels, expect[i].cancels);
		CHECK(t->status != ORDER_TRADE_WAIT_BUYER_PAY);
		/* Paid in the journal exactly when paid at the gateway. */
		CHECK_INT_EQ(o.fsm.state == ORDER_PAID, t->status == ORDER_TRADE_SUCCESS);
		CHECK(o.pending == ORDER_REQ_NONE || order_state_is_final(o.fsm.state));
	}
	/* Digit 2 polled max_queries times before the cancel. */
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, ids[2])->queries, c.cfg.fsm.max_queries);
	CHECK(c.transitions >= 10 * 2);
	CHECK_INT_EQ(c.fake.in_flight, 0);
	ctx_done(&c);
}

static void
test_abort_and_pos_ref(void)
{
	char id[ORDER_ID_MAX + 1], id2[ORDER_ID_MAX + 1], code[19];
	struct ctx c;

	ctx_init(&c, true);
	auth_code(code, '2');
	c.cfg.fsm.max_queries = 1000; /* only the abort can end it */
	engine_free(c.engine);
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 500, "abort", code, "pos-7", id),
		     0);
	/* The same pos_ref: the same order, no second charge. */
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 500, "abort", code, "pos-7", id2),
		     1);
	CHECK_STR_EQ(id, id2);
	run_until_state(&c, id, ORDER_WAITING);
	CHECK_INT_EQ(engine_order_abort(c.engine, id), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, id), ORDER_CANCELED);
	CHECK_INT_EQ(engine_order_abort(c.engine, id), -EALREADY);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, id)->pays, 1);
	CHECK_INT_EQ(engine_order_abort(c.engine, "T1_20000101_999"), -ENOENT);
	/* Not a payment code. */
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 500, "x", "1234", NULL, id),
		     -EINVAL);
	ctx_done(&c);
}

static void
test_qr(void)
{
	char a[ORDER_ID_MAX + 1], b[ORDER_ID_MAX + 1], x[ORDER_ID_MAX + 1];
	struct journal_order o;
	struct ctx c;

	/* Paid by notification alone: polling off. */
	ctx_init(&c, true);
	c.cfg.fsm.qr_poll_interval_usec = 0;
	c.cfg.fsm.qr_timeout_usec = 10 * USEC_PER_SEC;
	engine_free(c.engine);
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 8888, "qr", NULL, NULL, a), 0);
	run_until_state(&c, a, ORDER_SHOWING_QR);
	CHECK_INT_EQ(engine_order_get(c.engine, a, &o), 0);
	CHECK(strncmp(o.qr_code, "https://qr.alipay.com/bax", 25) == 0);
	CHECK(strstr(o.qr_code, a));
	CHECK_INT_EQ(fake_gateway_scan(&c.fake, a, true), 0);
	CHECK_INT_EQ(engine_order_notify(c.engine, a, ORDER_TRADE_SUCCESS), 0);
	CHECK_INT_EQ(state_of(&c, a), ORDER_PAID);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, a)->queries, 0);
	/* Repeated notifications change nothing. */
	CHECK_INT_EQ(engine_order_notify(c.engine, a, ORDER_TRADE_SUCCESS), 0);
	CHECK_INT_EQ(engine_order_notify(c.engine, "nope", ORDER_TRADE_SUCCESS), -ENOENT);
	run_until_idle(&c);
	ctx_done(&c);

	/* Paid by polling alone: no notification. The QR stays up long enough for any load. */
	ctx_init(&c, true);
	c.cfg.fsm.qr_timeout_usec = 60 * USEC_PER_SEC;
	engine_free(c.engine);
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 100, "qr", NULL, NULL, b), 0);
	run_until_state(&c, b, ORDER_SHOWING_QR);
	/* Unscanned: queries answer TRADE_NOT_EXIST and polling goes on. */
	while (fake_gateway_trade(&c.fake, b)->queries < 2)
		CHECK(sd_event_run(c.event, 100 * USEC_PER_MSEC) >= 0);
	CHECK(!order_state_is_final(state_of(&c, b)));
	CHECK_INT_EQ(fake_gateway_scan(&c.fake, b, true), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, b), ORDER_PAID);

	/* Expired: canceled, and a late scan is refused. */
	c.cfg.fsm.qr_timeout_usec = 150 * USEC_PER_MSEC;
	engine_free(c.engine);
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 100, "qr", NULL, NULL, x), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(engine_order_get(c.engine, x, &o), 0);
	CHECK_INT_EQ(o.fsm.state, ORDER_CANCELED);
	CHECK(o.fsm.expired);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, x)->cancels, 1);
	CHECK_INT_EQ(fake_gateway_scan(&c.fake, x, true), -ESTALE);
	ctx_done(&c);
}

static void
test_refunds(void)
{
	char a[ORDER_ID_MAX + 1], b[ORDER_ID_MAX + 1], n[ORDER_ID_MAX + 1], code[19];
	char r1[REFUND_ID_MAX + 1], r2[REFUND_ID_MAX + 1], r3[REFUND_ID_MAX + 1];
	struct journal_order o;
	struct journal_refund rf;
	struct fake_trade *t;
	struct ctx c;

	ctx_init(&c, true);
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 1000, "full", code, NULL, a), 0);
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 1000, "partial", code, NULL, b),
		     0);
	auth_code(code, '3');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 1000, "declined", code, NULL, n),
		     0);
	run_until_idle(&c);

	/* Full refund. */
	CHECK_INT_EQ(engine_refund_new(c.engine, a, 1000, "return", r1), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(journal_refund_get(c.journal, r1, &rf), 0);
	CHECK_INT_EQ(rf.fsm.state, REFUND_DONE);
	CHECK_INT_EQ(engine_order_get(c.engine, a, &o), 0);
	CHECK_INT_EQ(o.refunded_fen, 1000);
	/* Over-refund refused locally: nothing reaches the gateway. */
	t = fake_gateway_trade(&c.fake, a);
	CHECK_INT_EQ(engine_refund_new(c.engine, a, 1, "again", r2), -EOVERFLOW);
	CHECK_INT_EQ(t->refund_calls, 1);
	/* Unpaid orders cannot be refunded. */
	CHECK_INT_EQ(engine_refund_new(c.engine, n, 1, "no", r2), -EPERM);

	/* Two partials; the second answered "unknown" once and retried with the same number. */
	CHECK_INT_EQ(engine_refund_new(c.engine, b, 300, "part 1", r2), 0);
	run_until_idle(&c);
	c.fake.unknown_refund_answers = 1;
	CHECK_INT_EQ(engine_refund_new(c.engine, b, 700, "part 2", r3), 0);
	CHECK(!STR_EQ(r2, r3));
	run_until_idle(&c);
	t = fake_gateway_trade(&c.fake, b);
	CHECK_INT_EQ(t->n_refunds, 2);
	CHECK_INT_EQ(t->refunded_fen, 1000);
	CHECK_INT_EQ(t->refund_calls, 3);   /* r2 once, r3 twice */
	CHECK_INT_EQ(t->refund_queries, 1); /* r3's repeat said fund_change=N: confirmed */
	CHECK_INT_EQ(journal_refund_get(c.journal, r3, &rf), 0);
	CHECK_INT_EQ(rf.fsm.state, REFUND_DONE);
	CHECK_INT_EQ(engine_order_get(c.engine, b, &o), 0);
	CHECK_INT_EQ(o.refunded_fen, 1000);
	CHECK(c.refund_transitions >= 4);
	ctx_done(&c);
}

/* A crash (the engine vanishes with calls in flight) and a restart on the same journal. */
static void
test_recovery(void)
{
	char w[ORDER_ID_MAX + 1], p[ORDER_ID_MAX + 1], q[ORDER_ID_MAX + 1], code[19];
	char r[REFUND_ID_MAX + 1];
	struct fake_trade saved_w;
	struct ctx c;

	ctx_init(&c, true);
	auth_code(code, '2');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "waiting", code, NULL, w), 0);
	run_until_state(&c, w, ORDER_WAITING);
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "paid", code, NULL, q), 0);
	run_until_state(&c, q, ORDER_PAID);
	c.fake.delay_usec = 50 * USEC_PER_MSEC;
	CHECK_INT_EQ(engine_refund_new(c.engine, q, 100, "refund in flight", r), 0);
	/* This pay is in flight when the engine dies: never delivered. */
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "paying", code, NULL, p), 0);
	CHECK_INT_EQ(state_of(&c, p), ORDER_PAYING);
	saved_w = *fake_gateway_trade(&c.fake, w);

	/* Crash: the engine and its in-flight calls vanish; the gateway keeps its ledger. */
	engine_free(c.engine);
	c.engine = NULL;
	journal_close(c.journal);
	CHECK_INT_EQ(journal_open(path, &c.journal), 0);
	c.fake.delay_usec = 200;
	{
		char id[ORDER_ID_MAX + 1];
		CHECK_INT_EQ(engine_new(c.event, c.journal, &c.cfg, &c.fake.gw, &c.engine), 0);
		/* New orders wait for recovery. */
		CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_QR, 1, "x", NULL, NULL, id),
			     -EBUSY);
		CHECK_INT_EQ(engine_start(c.engine), 0);
		CHECK_INT_EQ(engine_active_count(c.engine), 3);
	}
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, w), ORDER_CANCELED);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, w)->pays, saved_w.pays);
	/* The pay in flight was never re-sent: queries found nothing, then a cancel closed it. */
	CHECK_INT_EQ(state_of(&c, p), ORDER_CANCELED);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, p)->pays, 0);
	CHECK(fake_gateway_trade(&c.fake, p)->queries > 0);
	/* The refund went out once after the restart, with its fixed number. */
	{
		struct journal_refund rf;
		CHECK_INT_EQ(journal_refund_get(c.journal, r, &rf), 0);
		CHECK_INT_EQ(rf.fsm.state, REFUND_DONE);
		CHECK_INT_EQ(fake_gateway_trade(&c.fake, q)->n_refunds, 1);
	}
	ctx_done(&c);
}

/* A scan order waiting for its code: journaled, resumed after a crash, paid by the code;
 * another one lapses at the end of its wait; keys replay and refuse as the journal says. */
static void
test_waiting_for_code(void)
{
	char w[ORDER_ID_MAX + 1], x[ORDER_ID_MAX + 1], id[ORDER_ID_MAX + 1], code[19];
	struct engine_order_request req = {
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 321,
		.subject = "waits",
		.idem_key = "K-9",
		.fingerprint = "321|scan",
		.code_wait_usec = 3600 * USEC_PER_SEC,
	};
	struct ctx c;

	ctx_init(&c, true);
	CHECK_INT_EQ(engine_order_create(c.engine, &req, w), 0);
	CHECK_INT_EQ(state_of(&c, w), ORDER_WAITING_CODE);
	CHECK_INT_EQ(engine_active_count(c.engine), 1);
	CHECK(fake_gateway_trade(&c.fake, w) == NULL);

	/* Crash and restart: still waiting, same id; the key replays, another request is refused.
	 */
	engine_free(c.engine);
	journal_close(c.journal);
	CHECK_INT_EQ(journal_open(path, &c.journal), 0);
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_active_count(c.engine), 1);
	CHECK_INT_EQ(state_of(&c, w), ORDER_WAITING_CODE);
	CHECK_INT_EQ(engine_order_create(c.engine, &req, id), 1);
	CHECK_STR_EQ(id, w);
	req.fingerprint = "322|scan";
	CHECK_INT_EQ(engine_order_create(c.engine, &req, id), -EKEYREJECTED);
	CHECK_STR_EQ(id, w);

	CHECK_INT_EQ(engine_order_code(c.engine, w, "1234"), -EINVAL);
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_code(c.engine, w, code), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, w), ORDER_PAID);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, w)->pays, 1);
	/* A second code for a paid order starts nothing. */
	CHECK_INT_EQ(engine_order_code(c.engine, w, code), -ESTALE);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, w)->pays, 1);

	/* Nobody scans: canceled at the end of the wait, nothing ever sent. */
	req = (struct engine_order_request){.kind = ORDER_KIND_SCAN,
					    .amount_fen = 100,
					    .subject = "lapses",
					    .code_wait_usec = 20 * USEC_PER_MSEC};
	CHECK_INT_EQ(engine_order_create(c.engine, &req, x), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, x), ORDER_CANCELED);
	CHECK(fake_gateway_trade(&c.fake, x) == NULL);
	/* Without a wait a scan order needs its code. */
	req.code_wait_usec = 0;
	CHECK_INT_EQ(engine_order_create(c.engine, &req, x), -EINVAL);
	ctx_done(&c);
}

/* Sits between the engine and the fake gateway: the journal's commits when each pay leaves. */
static struct pay_spy {
	struct gateway inner;
	struct journal *journal;
	struct journal_commits at_pay, at_prepare;
	unsigned pays, prepares, drops;
	char prepared[ORDER_ID_MAX + 1];
} spy;

/* The pay is prepared inside the transaction that takes it, before its commit. */
static void
spy_prepare(void *userdata, const struct gateway_call *call)
{
	if (!call) {
		spy.drops++;
		return;
	}
	CHECK_INT_EQ(call->kind, GATEWAY_CALL_PAY);
	spy.at_prepare = journal_commit_count(spy.journal);
	spy.prepares++;
	snprintf(spy.prepared, sizeof(spy.prepared), "%s", call->out_trade_no);
}

static int
spy_submit(void *userdata, const struct gateway_call *call, gateway_done_t done, void *cb_userdata,
	   void **ret_handle)
{
	if (call->kind == GATEWAY_CALL_PAY) {
		spy.at_pay = journal_commit_count(spy.journal);
		spy.pays++;
		CHECK_STR_EQ(call->out_trade_no, spy.prepared);
	}
	return spy.inner.submit(spy.inner.userdata, call, done, cb_userdata, ret_handle);
}

/* doc/engine.md "Write-ahead": between the cashier's order (or the scanned code) and its pay,
 * exactly one commit, and it is durable: the order, its pay and the event rows together. */
static void
test_one_commit_per_pay(void)
{
	char id[ORDER_ID_MAX + 1], w[ORDER_ID_MAX + 1], code[19];
	struct engine_order_request req = {
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 100,
		.subject = "one commit",
		.auth_code = code,
	};
	struct gateway g;
	struct journal_commits before;
	struct journal_event ev;
	struct ctx c;

	ctx_init(&c, true);
	engine_free(c.engine);
	spy = (struct pay_spy){.inner = c.fake.gw, .journal = c.journal};
	g = c.fake.gw;
	g.submit = spy_submit;
	g.prepare = spy_prepare;
	CHECK_INT_EQ(engine_new(c.event, c.journal, &c.cfg, &g, &c.engine), 0);
	CHECK_INT_EQ(engine_subscribe(c.engine, observer, &c, NULL), 0);
	CHECK_INT_EQ(engine_start(c.engine), 0);

	/* The POS sends the code with the order. */
	auth_code(code, '0');
	before = journal_commit_count(c.journal);
	CHECK_INT_EQ(engine_order_create(c.engine, &req, id), 0);
	CHECK_INT_EQ(spy.pays, 1);
	/* Signed while its commit was under way, sent after it. */
	CHECK_INT_EQ(spy.prepares, 1);
	CHECK_INT_EQ(spy.at_prepare.commits, before.commits);
	CHECK_STR_EQ(spy.prepared, id);
	CHECK_INT_EQ(spy.at_pay.commits - before.commits, 1);
	CHECK_INT_EQ(spy.at_pay.synced - before.synced, 1);
	CHECK_INT_EQ(state_of(&c, id), ORDER_PAYING);
	{
		/* What that commit holds: the order in paying with its pay, the whole log. */
		struct journal_order o;
		CHECK_INT_EQ(journal_order_get(c.journal, id, &o), 0);
		CHECK_INT_EQ(o.fsm.state, ORDER_PAYING);
		CHECK_INT_EQ(o.pending, ORDER_REQ_PAY);
		CHECK_STR_EQ(o.auth_code_masked, "28************0000");
		CHECK_INT_EQ(journal_event_foreach(c.journal, id, first_event, &ev), 0);
		CHECK_INT_EQ(n_events, 1);
		CHECK_STR_EQ(ev.what, "created");
		CHECK_STR_EQ(ev.from_state, "");
		CHECK_STR_EQ(ev.to_state, "paying");
		CHECK_STR_EQ(ev.request, "alipay.trade.pay");
	}
	/* Observers hear of the order's start as before. */
	CHECK_INT_EQ(c.transitions, 1);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, id), ORDER_PAID);

	/* The scanner's code for an order waiting for it. */
	req.auth_code = NULL;
	req.code_wait_usec = 3600 * USEC_PER_SEC;
	CHECK_INT_EQ(engine_order_create(c.engine, &req, w), 0);
	auth_code(code, '0');
	before = journal_commit_count(c.journal);
	CHECK_INT_EQ(engine_order_code(c.engine, w, code), 0);
	CHECK_INT_EQ(spy.pays, 2);
	CHECK_INT_EQ(spy.prepares, 2);
	CHECK_INT_EQ(spy.at_prepare.commits, before.commits);
	CHECK_STR_EQ(spy.prepared, w);
	CHECK_INT_EQ(spy.at_pay.commits - before.commits, 1);
	CHECK_INT_EQ(spy.at_pay.synced - before.synced, 1);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, w), ORDER_PAID);

	/* A commit that fails drops what was prepared for it: nothing leaves. */
	CHECK_INT_EQ(spy.drops, 0);
	CHECK_INT_EQ(engine_order_create(c.engine, &req, w), 0);
	auth_code(code, '0');
	journal_inject_failures(c.journal, 1);
	CHECK(engine_order_code(c.engine, w, code) < 0);
	CHECK_INT_EQ(spy.prepares, 3);
	CHECK_INT_EQ(spy.drops, 1);
	CHECK_INT_EQ(spy.pays, 2);
	CHECK_INT_EQ(state_of(&c, w), ORDER_WAITING_CODE);
	ctx_done(&c);
}

/* What an observer was told, in order, and whether the journal was on the disk then. */
struct told {
	char id[ORDER_ID_MAX + 1];
	enum order_state state;
	bool unsynced;
};
static struct told told[16];
static unsigned n_told;

static void
told_observer(const struct engine_transition *t, void *userdata)
{
	struct ctx *c = userdata;

	if (t->refund || n_told >= ELEMENTSOF(told))
		return;
	snprintf(told[n_told].id, sizeof(told[n_told].id), "%s", t->order->fsm.id);
	told[n_told].state = t->order->fsm.state;
	told[n_told].unsynced = journal_unsynced(c->journal);
	n_told++;
}

/* A fresh journal and engine whose observers include told_observer, nothing told yet. */
static void
told_init(struct ctx *c)
{
	ctx_init(c, true);
	CHECK_INT_EQ(engine_subscribe(c->engine, told_observer, c, NULL), 0);
	n_told = 0;
}

static void
check_told(unsigned i, const char *id, enum order_state state)
{
	CHECK(i < n_told);
	CHECK_STR_EQ(told[i].id, id);
	CHECK_INT_EQ(told[i].state, state);
	CHECK(!told[i].unsynced);
}

/*
 * doc/engine.md "Final transitions share a sync": a pay's answer that ends the order is
 * committed without its own fsync and told only once on the disk: by the next order's pay,
 * which syncs it on the way (and is told after it), by the loop once idle, or by
 * engine_flush(). The event log does not publish it before.
 */
static void
test_final_shares_sync(void)
{
	char a[ORDER_ID_MAX + 1], b[ORDER_ID_MAX + 1], d[ORDER_ID_MAX + 1], code[19];
	struct engine_order_request req = {
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 100,
		.subject = "shared sync",
		.auth_code = code,
	};
	struct journal_commits before;
	int64_t seq, seq_before;
	struct ctx c;

	told_init(&c);

	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_create(c.engine, &req, a), 0);
	check_told(0, a, ORDER_PAYING);
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq_before), 0);
	before = journal_commit_count(c.journal);
	run_until_state_in(&c, a, ORDER_PAID, true);
	/* Committed, not synced, not told, its event not published. */
	CHECK_INT_EQ(journal_commit_count(c.journal).commits - before.commits, 1);
	CHECK_INT_EQ(journal_commit_count(c.journal).synced - before.synced, 0);
	CHECK(journal_unsynced(c.journal));
	CHECK_INT_EQ(n_told, 1);
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq), 0);
	CHECK_INT_EQ(seq, seq_before);
	CHECK_INT_EQ(engine_active_count(c.engine), 1);

	/* The next order's pay syncs it on the way: one fsync for both, told in the journal's
	 * order. */
	before = journal_commit_count(c.journal);
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_create(c.engine, &req, b), 0);
	CHECK_INT_EQ(journal_commit_count(c.journal).synced - before.synced, 1);
	CHECK_INT_EQ(journal_commit_count(c.journal).flushes - before.flushes, 0);
	CHECK(!journal_unsynced(c.journal));
	CHECK_INT_EQ(n_told, 3);
	check_told(1, a, ORDER_PAID);
	check_told(2, b, ORDER_PAYING);
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq), 0);
	CHECK_INT_EQ(seq, seq_before + 2);

	/* Alone, it is synced once the loop is idle. */
	run_until_state_in(&c, b, ORDER_PAID, true);
	CHECK(journal_unsynced(c.journal));
	CHECK_INT_EQ(n_told, 3);
	before = journal_commit_count(c.journal);
	run_until_idle(&c);
	CHECK_INT_EQ(journal_commit_count(c.journal).flushes - before.flushes, 1);
	CHECK_INT_EQ(n_told, 4);
	check_told(3, b, ORDER_PAID);
	CHECK_INT_EQ(state_of(&c, b), ORDER_PAID);

	/* engine_flush() (the local API, before it answers) syncs and tells it at once. */
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_create(c.engine, &req, d), 0);
	run_until_state_in(&c, d, ORDER_PAID, true);
	CHECK_INT_EQ(n_told, 5);
	CHECK_INT_EQ(engine_flush(c.engine), 0);
	CHECK(!journal_unsynced(c.journal));
	CHECK_INT_EQ(n_told, 6);
	check_told(5, d, ORDER_PAID);
	CHECK_INT_EQ(engine_active_count(c.engine), 0);
	CHECK_INT_EQ(engine_flush(c.engine), 0);

	/* A read of the event log syncs first: nothing unsynced leaves the process from it. */
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_create(c.engine, &req, d), 0);
	run_until_state_in(&c, d, ORDER_PAID, true);
	CHECK(journal_unsynced(c.journal));
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq_before), 0);
	CHECK_INT_EQ(journal_log_last(c.journal, &seq, NULL), 0);
	CHECK(!journal_unsynced(c.journal));
	CHECK_INT_EQ(seq, seq_before + 1);
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq), 0);
	CHECK_INT_EQ(seq, seq_before + 1);
	run_until_idle(&c);
	check_told(7, d, ORDER_PAID);
	ctx_done(&c);

	/* sync_each_final: told at once, synced by its own commit. */
	ctx_init(&c, true);
	engine_free(c.engine);
	c.cfg.sync_each_final = true;
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_subscribe(c.engine, told_observer, &c, NULL), 0);
	n_told = 0;
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_create(c.engine, &req, a), 0);
	run_until_state_in(&c, a, ORDER_PAID, true);
	CHECK(!journal_unsynced(c.journal));
	CHECK_INT_EQ(n_told, 2);
	check_told(1, a, ORDER_PAID);
	ctx_done(&c);
}

/* The journal's files as they are now, to `suffix` beside them (".cut"), or back from there. */
static void
journal_files_copy(bool back, const char *suffix)
{
	static const char *const ext[] = {"", "-wal"};

	for (size_t i = 0; i < ELEMENTSOF(ext); i++) {
		char a[300], b[300];
		snprintf(a, sizeof(a), "%s%s", path, ext[i]);
		snprintf(b, sizeof(b), "%s%s%s", path, ext[i], suffix);
		journal_file_copy(back ? b : a, back ? a : b);
		if (back)
			CHECK(unlink(b) == 0);
	}
	if (back) {
		char shm[300];
		snprintf(shm, sizeof(shm), "%s-shm", path);
		(void)unlink(shm);
	}
}

/*
 * A power cut takes back an outcome that waited for its sync: the journal's files are put back
 * as they were at the last sync (the order's pay). Nobody was told the outcome, and its event
 * number was never given out; after the restart the query finds the trade paid, and the number
 * is given out then, once, for that.
 */
static void
test_final_power_cut(void)
{
	char a[ORDER_ID_MAX + 1], code[19];
	struct engine_order_request req = {
		.kind = ORDER_KIND_SCAN,
		.amount_fen = 100,
		.subject = "power cut",
		.auth_code = code,
	};
	int64_t seq_paying, seq;
	struct ctx c;

	told_init(&c);
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_create(c.engine, &req, a), 0);
	/* On the disk: the order paying, its pay pending. */
	CHECK(!journal_unsynced(c.journal));
	journal_files_copy(false, ".cut");
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq_paying), 0);
	run_until_state_in(&c, a, ORDER_PAID, true);
	CHECK(journal_unsynced(c.journal));
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq), 0);
	CHECK_INT_EQ(seq, seq_paying);
	CHECK_INT_EQ(n_told, 1);

	/* The power goes: the engine is gone, the files are what the disk had. */
	engine_free(c.engine);
	c.engine = NULL;
	journal_close(c.journal);
	journal_files_copy(true, ".cut");
	CHECK_INT_EQ(journal_open(path, &c.journal), 0);
	CHECK_INT_EQ(journaled_state_of(&c, a), ORDER_PAYING);
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq), 0);
	CHECK_INT_EQ(seq, seq_paying);
	ctx_engine_up(&c);
	CHECK_INT_EQ(engine_subscribe(c.engine, told_observer, &c, NULL), 0);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, a), ORDER_PAID);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, a)->pays, 1);
	check_told(n_told - 1, a, ORDER_PAID);
	for (unsigned i = 0; i + 1 < n_told; i++)
		CHECK(told[i].state != ORDER_PAID);
	CHECK_INT_EQ(journal_event_seq(c.journal, &seq), 0);
	CHECK(seq > seq_paying);
	ctx_done(&c);
}

/* A failed journal write sends nothing; the order is resumed from what is on disk. */
static void
test_journal_failure(void)
{
	char a[ORDER_ID_MAX + 1], code[19];
	char r1[REFUND_ID_MAX + 1];
	struct journal_refund rf;
	struct fake_trade *t;
	struct ctx c;

	ctx_init(&c, true);
	c.cfg.journal_retry_usec = 5 * USEC_PER_MSEC;
	engine_free(c.engine);
	ctx_engine_up(&c);
	auth_code(code, '0');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 700, "flaky disk", code, NULL, a),
		     0);
	CHECK_INT_EQ(state_of(&c, a), ORDER_PAYING);
	/* The pay's answer cannot be journaled: it is dropped, and the order queries instead. */
	journal_inject_failures(c.journal, 1);
	run_until_idle(&c);
	CHECK_INT_EQ(state_of(&c, a), ORDER_PAID);
	t = fake_gateway_trade(&c.fake, a);
	CHECK_INT_EQ(t->pays, 1);
	CHECK_INT_EQ(t->queries, 1);

	/* Same for a refund's answer: re-sent with the same number, applied once. */
	CHECK_INT_EQ(engine_refund_new(c.engine, a, 700, "flaky disk", r1), 0);
	journal_inject_failures(c.journal, 1);
	run_until_idle(&c);
	CHECK_INT_EQ(journal_refund_get(c.journal, r1, &rf), 0);
	CHECK_INT_EQ(rf.fsm.state, REFUND_DONE);
	CHECK_INT_EQ(t->n_refunds, 1);
	CHECK_INT_EQ(t->refund_calls, 2);
	CHECK_INT_EQ(t->refund_queries, 1);
	ctx_done(&c);
}

/*
 * doc/engine.md "Throttling": three throttled answers in a row. The same query goes again after
 * 40, 80, then 100 ms (the capped doubling), not after the 5 ms query interval, and none of
 * them uses up one of max_queries; then a throttled cancel is repeated, not counted as failed.
 */
static void
test_throttle(void)
{
	char id[ORDER_ID_MAX + 1], code[19];
	usec_t q[FAKE_LOG_MAX];
	unsigned n = 0;
	struct ctx c;

	ctx_init(&c, true);
	engine_free(c.engine);
	c.cfg.throttle_initial_usec = 40 * USEC_PER_MSEC;
	c.cfg.throttle_max_usec = 100 * USEC_PER_MSEC;
	ctx_engine_up(&c);
	auth_code(code, '2');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "busy", code, NULL, id), 0);
	run_until_state(&c, id, ORDER_WAITING);
	c.fake.throttle_answers = 3;
	run_until_idle(&c);
	for (unsigned i = 0; i < c.fake.n_log; i++)
		if (c.fake.log_kind[i] == GATEWAY_CALL_QUERY)
			q[n++] = c.fake.log_usec[i];
	CHECK_INT_EQ(c.fake.throttled, 3);
	CHECK(n >= 4);
	/* Queries 1–3 were throttled: 2, 3 and 4 follow after the throttle backoff. */
	CHECK(q[1] - q[0] >= 40 * USEC_PER_MSEC);
	CHECK(q[2] - q[1] >= 80 * USEC_PER_MSEC);
	CHECK(q[3] - q[2] >= 100 * USEC_PER_MSEC);
	/* All max_queries answered queries, plus the three throttled ones, then the cancel. */
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, id)->queries, c.cfg.fsm.max_queries);
	CHECK_INT_EQ(n, c.cfg.fsm.max_queries + 3);
	CHECK_INT_EQ(state_of(&c, id), ORDER_CANCELED);
	ctx_done(&c);

	/* A throttled cancel is sent again; the order does not drift into ATTENTION. */
	ctx_init(&c, true);
	engine_free(c.engine);
	c.cfg.throttle_initial_usec = 10 * USEC_PER_MSEC;
	c.cfg.throttle_max_usec = 20 * USEC_PER_MSEC;
	c.cfg.fsm.cancel_retries = 1;
	ctx_engine_up(&c);
	auth_code(code, '2');
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "busy", code, NULL, id), 0);
	run_until_state(&c, id, ORDER_WAITING);
	c.fake.throttle_answers = 0;
	CHECK_INT_EQ(engine_order_abort(c.engine, id), 0);
	c.fake.throttle_answers = 5;
	run_until_idle(&c);
	CHECK_INT_EQ(c.fake.throttled, 5);
	CHECK_INT_EQ(state_of(&c, id), ORDER_CANCELED);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, id)->cancels, 1);
	ctx_done(&c);
}

/*
 * doc/engine.md "Trades that are not ours": a query naming a paid trade of another amount
 * holds the order (never PAID, never canceled).
 */
static void
test_mismatch(void)
{
	char id[ORDER_ID_MAX + 1], code[19];
	struct journal_order o;
	struct ctx c;

	ctx_init(&c, true);
	auth_code(code, '1');
	c.fake.query_amount_fen = 9999;
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "other", code, NULL, id), 0);
	for (unsigned i = 0; state_of(&c, id) != ORDER_ATTENTION; i++) {
		CHECK(i < 1000);
		CHECK(!order_state_is_final(state_of(&c, id)));
		CHECK(sd_event_run(c.event, 100 * USEC_PER_MSEC) >= 0);
	}
	for (unsigned i = 0; i < 5; i++)
		CHECK(sd_event_run(c.event, 20 * USEC_PER_MSEC) >= 0);
	CHECK_INT_EQ(engine_order_get(c.engine, id, &o), 0);
	CHECK_INT_EQ(o.fsm.state, ORDER_ATTENTION);
	CHECK_STR_EQ(o.fsm.sub_code, ORDER_REASON_MISMATCH);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, id)->cancels, 0);
	CHECK_INT_EQ(c.fake.in_flight, 0);
	ctx_done(&c);

	/* The pay's 10003 named one buyer, the query that finds the trade paid another. */
	ctx_init(&c, true);
	auth_code(code, '1');
	c.fake.query_buyer = "2088999999999999";
	CHECK_INT_EQ(engine_order_new(c.engine, ORDER_KIND_SCAN, 100, "other", code, NULL, id), 0);
	for (unsigned i = 0; state_of(&c, id) != ORDER_ATTENTION; i++) {
		CHECK(i < 1000);
		CHECK(!order_state_is_final(state_of(&c, id)));
		CHECK(sd_event_run(c.event, 100 * USEC_PER_MSEC) >= 0);
	}
	CHECK_INT_EQ(engine_order_get(c.engine, id, &o), 0);
	CHECK_STR_EQ(o.fsm.sub_code, ORDER_REASON_MISMATCH);
	CHECK_INT_EQ(fake_gateway_trade(&c.fake, id)->cancels, 0);
	ctx_done(&c);
}

int
main(void)
{
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	log_set_max_level(LOG_WARNING);

	test_scenarios();
	test_abort_and_pos_ref();
	test_qr();
	test_refunds();
	test_recovery();
	test_journal_failure();
	test_throttle();
	test_mismatch();
	test_waiting_for_code();
	test_one_commit_per_pay();
	test_final_shares_sync();
	test_final_power_cut();

	{
		char p[300];
		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}
