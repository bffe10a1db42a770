/* SPDX-License-Identifier: MIT */
/* The order engine: pure machine → journal (write-ahead) → request, timer, observers. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/paycode.h"
#include "daemon/engine/engine.h"

struct engine_order {
	struct engine *engine;
	struct engine_order *next;
	struct journal_order rec;
	char *auth_code;        /* scan orders until the pay is handed over; wiped */
	sd_event_source *timer; /* the FSM's timer, or a deferred "unknown" result */
	bool deliver_unknown;   /* the timer delivers an unknown answer to call_req */
	bool resume;            /* the timer resumes the order after a failed journal write */
	void *call;             /* gateway handle of the request in flight */
	enum order_request call_req;
	enum order_request resend; /* the timer re-sends this throttled request */
	char buyer[33];            /* buyer_user_id the gateway named first (not journaled) */
	unsigned throttled;        /* throttled answers in a row */
	/* A final transition committed without its own sync, told once it is on the disk. */
	bool late;
	enum order_event late_event;
	enum order_state late_from;
	struct engine_order *late_next;
};

struct engine_refund {
	struct engine *engine;
	struct engine_refund *next;
	struct journal_refund rec;
	sd_event_source *timer;
	bool deliver_unknown;
	bool resume;
	void *call;
	enum refund_request call_req;
	enum refund_request resend;
	unsigned throttled;
};

struct engine_subscription {
	struct engine *engine;
	struct engine_subscription *next;
	engine_observer_t cb;
	void *userdata;
};

struct engine {
	sd_event *event;
	struct journal *journal;
	struct engine_config cfg;
	char terminal[JOURNAL_TERMINAL_MAX + 1];
	struct gateway gw;
	struct engine_order *orders;
	struct engine_refund *refunds;
	struct engine_subscription *subs;
	/* doc/engine.md "Final transitions share a sync": oldest first. */
	struct engine_order *late, **late_tail;
	sd_event_source *late_sync;  /* syncs and tells them once the loop has nothing else */
	sd_event_source *late_retry; /* after a failed sync */
	bool telling_late;
	bool started;
	uint64_t points;   /* write-ahead points passed */
	uint64_t crash_at; /* tests: SIGKILL at this point; 0 = never */
};

static const char *const call_kind_names[_GATEWAY_CALL_MAX] = {
	[GATEWAY_CALL_PAY] = "pay",       [GATEWAY_CALL_PRECREATE] = "precreate",
	[GATEWAY_CALL_QUERY] = "query",   [GATEWAY_CALL_CANCEL] = "cancel",
	[GATEWAY_CALL_REFUND] = "refund", [GATEWAY_CALL_REFUND_QUERY] = "refund_query",
};

const char *
gateway_call_kind_to_string(enum gateway_call_kind k)
{
	return (unsigned)k < _GATEWAY_CALL_MAX ? call_kind_names[k] : "(invalid)";
}

static usec_t
engine_now(struct engine *e)
{
	uint64_t t;

	/* The machine's times are journaled: wall-clock time survives a restart. */
	if (sd_event_now(e->event, CLOCK_REALTIME, &t) < 0)
		t = now_usec(CLOCK_REALTIME);
	return t;
}

/*
 * doc/engine.md "Time": deadlines are journaled in wall time, but every timer runs on
 * CLOCK_BOOTTIME, armed with the delay the machine asked for, so an NTP step of the wall clock
 * neither stalls nor fires the pending queries and cancels (and a suspend counts as time).
 */
static int
engine_arm(struct engine *e, sd_event_source **s, usec_t delay_usec, sd_event_time_handler_t cb,
	   void *userdata)
{
	*s = sd_event_source_disable_unref(*s);
	return sd_event_add_time_relative(e->event, s, CLOCK_BOOTTIME, delay_usec, USEC_PER_MSEC,
					  cb, userdata);
}

/* The delay until the wall-clock time at_usec, as seen at now_usec (both from one feed). */
static usec_t
delay_until(usec_t at_usec, usec_t now_usec)
{
	return at_usec > now_usec ? at_usec - now_usec : 0;
}

/* doc/engine.md "Throttling": its own backoff, doubling from throttle_initial to throttle_max. */
static usec_t
throttle_delay(const struct engine *e, unsigned n)
{
	usec_t t = e->cfg.throttle_initial_usec;

	while (n-- > 1 && t < e->cfg.throttle_max_usec)
		t = t > e->cfg.throttle_max_usec / 2 ? e->cfg.throttle_max_usec : t * 2;
	return MIN(t, e->cfg.throttle_max_usec);
}

/* Counts one more throttled answer in a row, logs it, returns the wait before the repeat. */
static usec_t
throttle_note(const struct engine *e, unsigned *count, const char *what, const char *id,
	      const char *request, const struct gateway_result *gr)
{
	usec_t d = throttle_delay(e, ++*count);

	log_warning("%s %s: %s throttled by the gateway (%s), again in %" PRIu64 " ms", what, id,
		    request, strna(gr->res.sub_code), d / USEC_PER_MSEC);
	return d;
}

/* doc/engine.md "Time": the gateway judged our timestamp; say so in words. */
static void
engine_check_clock(const struct gateway_result *gr, const char *what)
{
	if (gr && STR_EQ_PTR(gr->res.sub_code, "isv.invalid-timestamp"))
		log_error(
			"%s: the gateway refused the request's timestamp (isv.invalid-timestamp): "
			"the terminal's clock is wrong. Set the time (NTP) and check "
			"`timedatectl`: the gateway allows a few minutes either way.",
			what);
}

/* doc/design.md §6.1: the tests kill the engine at every write-ahead point in turn. */
static void
engine_write_ahead_point(struct engine *e)
{
	e->points++;
	if (e->crash_at != 0 && e->points == e->crash_at) {
		log_notice("F2FPAY_CRASH_AT=%" PRIu64 ": killing the engine", e->crash_at);
		raise(SIGKILL);
	}
}

static void engine_tell_late(struct engine *e);

static void
engine_notify_observers(struct engine *e, const struct engine_transition *t)
{
	/* Told in the journal's order: the final transitions that waited for a sync first. This
	 * transition's commit was synced, and with it every commit before it. */
	if (e->late && !e->telling_late && !journal_unsynced(e->journal))
		engine_tell_late(e);
	for (struct engine_subscription *s = e->subs, *n; s; s = n) {
		n = s->next;
		s->cb(t, s->userdata);
	}
}

/* ---- orders ---- */

static void
engine_order_free(struct engine_order *eo)
{
	if (!eo)
		return;
	if (eo->call)
		eo->engine->gw.cancel(eo->engine->gw.userdata, eo->call);
	sd_event_source_disable_unref(eo->timer);
	erase_and_free(eo->auth_code);
	free(eo);
}

static void
engine_order_unlink(struct engine_order *eo)
{
	for (struct engine_order **p = &eo->engine->orders; *p; p = &(*p)->next)
		if (*p == eo) {
			*p = eo->next;
			return;
		}
}

static struct engine_order *
engine_order_find(struct engine *e, const char *id)
{
	for (struct engine_order *eo = e->orders; eo; eo = eo->next)
		if (STR_EQ(eo->rec.fsm.id, id))
			return eo;
	return NULL;
}

static int engine_order_feed(struct engine_order *eo, enum order_event ev,
			     const struct gateway_result *gr);
static void order_after_commit(struct engine_order *eo, enum order_event ev,
			       const struct order_actions *a, enum order_state from,
			       const struct gateway_result *gr, usec_t now, bool late);
static int order_arm_timer(struct engine_order *eo, usec_t delay_usec);

static void
order_call_done(const struct gateway_result *gr, void *userdata)
{
	struct engine_order *eo = userdata;
	enum order_event ev = ORDER_EV_QUERY_RESULT;

	eo->call = NULL;
	engine_check_clock(gr, eo->rec.fsm.id);
	/* doc/engine.md "Throttling": a throttled query or cancel was not looked at; the same
	 * request goes again after a backoff of its own, and the machine does not count it. A pay
	 * is never repeated: its throttled answer is an unknown one. */
	if (gr && gr->throttled &&
	    (eo->call_req == ORDER_REQ_QUERY || eo->call_req == ORDER_REQ_CANCEL)) {
		eo->resend = eo->call_req;
		(void)order_arm_timer(eo, throttle_note(eo->engine, &eo->throttled, "order",
							eo->rec.fsm.id,
							order_request_to_string(eo->call_req), gr));
		return;
	}
	eo->throttled = 0;
	switch (eo->call_req) {
	case ORDER_REQ_PAY:
		ev = ORDER_EV_PAY_RESULT;
		break;
	case ORDER_REQ_PRECREATE:
		ev = ORDER_EV_PRECREATE_RESULT;
		break;
	case ORDER_REQ_QUERY:
		ev = ORDER_EV_QUERY_RESULT;
		break;
	case ORDER_REQ_CANCEL:
		ev = ORDER_EV_CANCEL_RESULT;
		break;
	case ORDER_REQ_NONE:
	case _ORDER_REQ_MAX:
		log_bug("order %s: an answer without a request", eo->rec.fsm.id);
		return;
	}
	(void)engine_order_feed(eo, ev, gr);
}

static int order_send(struct engine_order *eo, enum order_request req);

static int
order_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct engine_order *eo = userdata;
	bool unknown = eo->deliver_unknown, resume = eo->resume;
	enum order_request resend = eo->resend;

	eo->timer = sd_event_source_disable_unref(eo->timer);
	eo->deliver_unknown = eo->resume = false;
	eo->resend = ORDER_REQ_NONE;
	if (resend != ORDER_REQ_NONE)
		/* The same request, still the one journaled as pending: the state is unchanged. */
		(void)order_send(eo, resend);
	else if (resume)
		(void)engine_order_feed(eo, ORDER_EV_RESUME, NULL);
	else if (unknown)
		order_call_done(NULL, eo);
	else
		(void)engine_order_feed(eo, ORDER_EV_TIMER, NULL);
	return 0;
}

static int
order_arm_timer(struct engine_order *eo, usec_t delay_usec)
{
	int r = engine_arm(eo->engine, &eo->timer, delay_usec, order_timer_cb, eo);

	if (r < 0)
		return log_error_errno(r, "order %s: failed to arm a timer: %m", eo->rec.fsm.id);
	return 0;
}

/* The gateway call for an order's request; false for none. Strings borrowed from rec. */
static bool
order_call(const struct engine *e, const struct journal_order *rec, const char *auth_code,
	   enum order_request req, struct gateway_call *call)
{
	*call = (struct gateway_call){
		.out_trade_no = rec->fsm.id,
		.operator_id = isempty(rec->operator_id) ? NULL : rec->operator_id,
		.subject = rec->subject,
		.amount_fen = rec->amount_fen,
		.timeout_express_usec = e->cfg.fsm.pay_timeout_usec,
		.qr_timeout_usec = e->cfg.fsm.qr_timeout_usec,
	};
	switch (req) {
	case ORDER_REQ_PAY:
		call->kind = GATEWAY_CALL_PAY;
		call->auth_code = auth_code;
		return true;
	case ORDER_REQ_PRECREATE:
		call->kind = GATEWAY_CALL_PRECREATE;
		call->timeout_express_usec = e->cfg.fsm.qr_timeout_usec;
		return true;
	case ORDER_REQ_QUERY:
		call->kind = GATEWAY_CALL_QUERY;
		return true;
	case ORDER_REQ_CANCEL:
		call->kind = GATEWAY_CALL_CANCEL;
		return true;
	case ORDER_REQ_NONE:
	case _ORDER_REQ_MAX:
		break;
	}
	return false;
}

/*
 * doc/engine.md "Write-ahead": a pay's request is built and signed while the commit before it
 * waits for the disk (the gateway's prepare(), off the event loop); it still leaves only after
 * the commit, through order_send(). Other requests are cheap to build and are not prepared.
 */
static void
order_prepare(struct engine *e, const struct journal_order *rec, const char *auth_code,
	      enum order_request req)
{
	struct gateway_call call;

	if (req == ORDER_REQ_PAY && e->gw.prepare && order_call(e, rec, auth_code, req, &call))
		e->gw.prepare(e->gw.userdata, &call);
}

/* Drops a prepared request whose commit failed: it never leaves. */
static void
order_unprepare(struct engine *e)
{
	if (e->gw.prepare)
		e->gw.prepare(e->gw.userdata, NULL);
}

static int
order_send(struct engine_order *eo, enum order_request req)
{
	struct engine *e = eo->engine;
	struct gateway_call call;
	int r;

	if (!order_call(e, &eo->rec, eo->auth_code, req, &call))
		return 0;
	eo->call_req = req;
	r = e->gw.submit(e->gw.userdata, &call, order_call_done, eo, &eo->call);
	/* doc/protocol.md §8: the pay is handed over once; the payment code is not kept. */
	if (req == ORDER_REQ_PAY) {
		erase_and_free(eo->auth_code);
		eo->auth_code = NULL;
	}
	if (r < 0) {
		/* Not sent, or not known to be: the machine treats it as an unknown answer. */
		log_error_errno(r, "order %s: failed to submit %s: %m", eo->rec.fsm.id,
				order_request_to_string(req));
		eo->call = NULL;
		eo->deliver_unknown = true;
		return order_arm_timer(eo, 0);
	}
	return 0;
}

/*
 * doc/engine.md "Trades that are not ours": the gateway names a trade whose amount is not the
 * order's, or another trade_no or buyer than it named before. Logged here, held by the machine.
 */
static bool
order_answer_contradicts(const struct engine_order *eo, const struct gateway_result *gr)
{
	if (gr->total_amount_fen > 0 && gr->total_amount_fen != eo->rec.amount_fen &&
	    gr->res.cls != ALIPAY_CLASS_FAILED) {
		log_warning("order %s: the gateway's trade is for %" PRId64 " fen, the journal's "
			    "order for %" PRId64 " fen",
			    eo->rec.fsm.id, gr->total_amount_fen, eo->rec.amount_fen);
		return true;
	}
	if (!isempty(gr->trade_no) && !isempty(eo->rec.trade_no) &&
	    !STR_EQ(gr->trade_no, eo->rec.trade_no)) {
		log_warning("order %s: the gateway names trade_no %s, the journal has %s",
			    eo->rec.fsm.id, gr->trade_no, eo->rec.trade_no);
		return true;
	}
	/* The buyer is remembered from the first answer that named one, while the engine runs. */
	if (!isempty(gr->buyer_user_id) && !isempty(eo->buyer) &&
	    !STR_EQ(gr->buyer_user_id, eo->buyer)) {
		log_warning("order %s: the gateway names buyer %s, earlier %s", eo->rec.fsm.id,
			    gr->buyer_user_id, eo->buyer);
		return true;
	}
	return false;
}

/* Copies what an answer says of the payment into the receipt; true when anything changed.
 * Strings that do not fit are left out (logged): a receipt detail never stops an order. */
static bool
receipt_take(struct journal_receipt *rc, const struct gateway_receipt *g)
{
	struct journal_receipt n = *rc;

#define TAKE_STR(field, value)                                                           \
	do {                                                                             \
		if ((value) && *(value)) {                                               \
			if (strlen(value) < sizeof(n.field))                             \
				snprintf(n.field, sizeof(n.field), "%s", (value));       \
			else                                                             \
				log_warning("receipt: %s of %zu bytes left out", #field, \
					    strlen(value));                              \
		}                                                                        \
	} while (0)
#define TAKE_FEN(field, value)             \
	do {                               \
		if ((value) >= 0)          \
			n.field = (value); \
	} while (0)
	TAKE_STR(gmt_payment, g->gmt_payment);
	TAKE_STR(buyer_logon_id, g->buyer_logon_id);
	TAKE_STR(fund_bill_list, g->fund_bill_list);
	TAKE_FEN(receipt_fen, g->receipt_fen);
	TAKE_FEN(buyer_pay_fen, g->buyer_pay_fen);
	TAKE_FEN(point_fen, g->point_fen);
	TAKE_FEN(invoice_fen, g->invoice_fen);
	TAKE_FEN(discount_fen, g->discount_fen);
	TAKE_FEN(mdiscount_fen, g->mdiscount_fen);
#undef TAKE_STR
#undef TAKE_FEN
	if (memcmp(&n, rc, sizeof(n)) == 0)
		return false;
	*rc = n;
	return true;
}

/*
 * doc/engine.md "Final transitions share a sync": a transition into a final state that sends
 * nothing and arms nothing is committed without a sync of its own, and told once on the disk.
 * An order held for the operator (a collision, a contradicting answer) is told at once.
 */
static bool
order_shares_sync(const struct engine_order *eo, const struct order_actions *act)
{
	return !eo->engine->cfg.sync_each_final && !eo->late && act->changed &&
	       act->send == ORDER_REQ_NONE && act->timer_usec == 0 &&
	       order_state_is_final(eo->rec.fsm.state) &&
	       !STR_EQ(eo->rec.fsm.sub_code, ORDER_REASON_COLLISION) &&
	       !STR_EQ(eo->rec.fsm.sub_code, ORDER_REASON_MISMATCH);
}

static int
engine_order_feed(struct engine_order *eo, enum order_event ev, const struct gateway_result *gr)
{
	struct engine *e = eo->engine;
	struct journal_order saved = eo->rec;
	struct order_actions act;
	struct order_result res;
	bool extras = false, late = false;
	usec_t now = engine_now(e);
	int r;

	if (gr) {
		res = gr->res;
		res.contradicts = order_answer_contradicts(eo, gr);
	}
	r = order_dispatch(&eo->rec.fsm, &e->cfg.fsm, ev, gr ? &res : NULL, now, &act);
	if (r < 0)
		return r;
	/* doc/protocol.md §6: the same out_trade_no with other parameters is a bug on our side,
	 * unless the number was someone else's (held as a collision, logged below). */
	if (gr && STR_EQ_PTR(gr->res.sub_code, "ACQ.CONTEXT_INCONSISTENT") &&
	    !order_is_held(&eo->rec.fsm))
		log_error("order %s: the gateway says ACQ.CONTEXT_INCONSISTENT: this out_trade_no "
			  "was sent before with other parameters",
			  eo->rec.fsm.id);

	if (gr && gr->res.cls == ALIPAY_CLASS_SUCCESS && ev == ORDER_EV_PRECREATE_RESULT &&
	    gr->qr_code && !STR_EQ(gr->qr_code, eo->rec.qr_code)) {
		if (strlen(gr->qr_code) > JOURNAL_QR_CODE_MAX)
			log_error("order %s: qr_code longer than %d bytes ignored", eo->rec.fsm.id,
				  JOURNAL_QR_CODE_MAX);
		else {
			snprintf(eo->rec.qr_code, sizeof(eo->rec.qr_code), "%s", gr->qr_code);
			extras = true;
		}
	}
	if (gr && !isempty(gr->buyer_user_id) && isempty(eo->buyer) && !res.contradicts &&
	    !order_is_held(&eo->rec.fsm) && strlen(gr->buyer_user_id) < sizeof(eo->buyer) &&
	    (gr->res.cls == ALIPAY_CLASS_SUCCESS || gr->res.cls == ALIPAY_CLASS_IN_PROGRESS))
		snprintf(eo->buyer, sizeof(eo->buyer), "%s", gr->buyer_user_id);
	/* Only a trade the gateway says is this order's (never a held order's stranger). */
	if (gr && gr->trade_no && *gr->trade_no && strlen(gr->trade_no) <= JOURNAL_TRADE_NO_MAX &&
	    isempty(eo->rec.trade_no) && !order_is_held(&eo->rec.fsm) &&
	    (gr->res.cls == ALIPAY_CLASS_SUCCESS || gr->res.cls == ALIPAY_CLASS_IN_PROGRESS)) {
		snprintf(eo->rec.trade_no, sizeof(eo->rec.trade_no), "%s", gr->trade_no);
		extras = true;
	}

	if (gr && gr->receipt && eo->rec.fsm.state == ORDER_PAID &&
	    receipt_take(&eo->rec.receipt, gr->receipt))
		extras = true;

	if (act.changed || act.send != ORDER_REQ_NONE || extras) {
		/* doc/design.md §6.1, write-ahead: the state and the request are on disk before it
		 * leaves. */
		eo->rec.pending = act.send;
		late = order_shares_sync(eo, &act);
		engine_write_ahead_point(e);
		order_prepare(e, &eo->rec, eo->auth_code, act.send);
		r = (late ? journal_order_save_deferred : journal_order_save)(
			e->journal, &eo->rec, order_event_to_string(ev), saved.fsm.state, now);
		if (r < 0) {
			order_unprepare(e);
			/* Back to what is on disk; later, redo what that state requires, as a
			 * restart would. An answer in flight belongs to a state we left. */
			eo->rec = saved;
			if (eo->call) {
				e->gw.cancel(e->gw.userdata, eo->call);
				eo->call = NULL;
			}
			eo->deliver_unknown = false;
			eo->resend = ORDER_REQ_NONE;
			eo->resume = true;
			(void)order_arm_timer(eo, e->cfg.journal_retry_usec);
			return log_error_errno(r, "order %s: not journaled, nothing sent: %m",
					       eo->rec.fsm.id);
		}
		engine_write_ahead_point(e);
	}

	order_after_commit(eo, ev, &act, saved.fsm.state, gr, now, late);
	return 0;
}

/* An order that is final, idle and told leaves the engine (eo is then freed). */
static void
order_release_if_done(struct engine_order *eo)
{
	if (order_state_is_final(eo->rec.fsm.state) && !eo->call && !eo->timer && !eo->late) {
		engine_order_unlink(eo);
		engine_order_free(eo);
	}
}

static void order_tell(struct engine_order *eo, enum order_event ev, enum order_state from,
		       const struct gateway_result *gr);
static int late_retry_cb(sd_event_source *s, uint64_t usec, void *userdata);

static int
late_sync_cb(sd_event_source *s, void *userdata)
{
	struct engine *e = userdata;
	int r = engine_flush(e);

	/* The rows wait in the write-ahead file; the next synced commit or this retry tells. */
	if (r < 0)
		(void)engine_arm(e, &e->late_retry, e->cfg.journal_retry_usec, late_retry_cb, e);
	return 0;
}

static int
late_retry_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	return late_sync_cb(s, userdata);
}

/* Queued after the final transitions committed before it; synced once the loop is idle. */
static void
order_wait_for_sync(struct engine_order *eo, enum order_event ev, enum order_state from)
{
	struct engine *e = eo->engine;

	eo->late = true;
	eo->late_event = ev;
	eo->late_from = from;
	eo->late_next = NULL;
	*e->late_tail = eo;
	e->late_tail = &eo->late_next;
	if (!e->late_sync && sd_event_add_defer(e->event, &e->late_sync, late_sync_cb, e) >= 0)
		(void)sd_event_source_set_priority(e->late_sync, ENGINE_LATE_SYNC_PRIORITY);
	if (!e->late_sync || sd_event_source_set_enabled(e->late_sync, SD_EVENT_ONESHOT) < 0)
		(void)late_sync_cb(NULL, e);
}

/* Tells the queued final transitions, oldest first: they are on the disk. */
static void
engine_tell_late(struct engine *e)
{
	struct engine_order *eo = e->late;

	/* One told may make another order final: that one waits for a sync of its own. */
	e->late = NULL;
	e->late_tail = &e->late;
	e->telling_late = true;
	while (eo) {
		struct engine_order *next = eo->late_next;

		eo->late_next = NULL;
		eo->late = false;
		order_tell(eo, eo->late_event, eo->late_from, NULL);
		order_release_if_done(eo);
		eo = next;
	}
	e->telling_late = false;
	if (!e->late)
		(void)sd_event_source_set_enabled(e->late_sync, SD_EVENT_OFF);
	e->late_retry = sd_event_source_disable_unref(e->late_retry);
}

int
engine_flush(struct engine *e)
{
	int r;

	if (!e->late)
		return 0;
	r = journal_sync(e->journal);
	if (r < 0)
		return r;
	/* From an observer while others are told (one answering the local API): on the disk
	 * now, told after them. */
	if (!e->telling_late)
		engine_tell_late(e);
	return 0;
}

/* The transition is on disk: drop a stale call, arm the timer, send the request, tell the
 * observers (a final transition committed without its sync: once synced); an order that is
 * final, idle and told leaves the engine (eo is then freed). */
static void
order_after_commit(struct engine_order *eo, enum order_event ev, const struct order_actions *a,
		   enum order_state from, const struct gateway_result *gr, usec_t now, bool late)
{
	struct engine *e = eo->engine;
	struct order_actions act = *a;

	/* A request still in flight belongs to the previous state: its answer is stale. */
	if (act.changed && eo->call) {
		e->gw.cancel(e->gw.userdata, eo->call);
		eo->call = NULL;
	}
	if (act.changed || act.timer_usec != 0) {
		eo->timer = sd_event_source_disable_unref(eo->timer);
		eo->resend = ORDER_REQ_NONE;
	}
	if (act.timer_usec != 0)
		(void)order_arm_timer(eo, delay_until(act.timer_usec, now));
	if (act.send != ORDER_REQ_NONE)
		(void)order_send(eo, act.send);
	if (late)
		order_wait_for_sync(eo, ev, from);
	else if (act.changed)
		order_tell(eo, ev, from, gr);
	order_release_if_done(eo);
}

/* The observers hear of a transition on the disk; an order held for the operator is logged. */
static void
order_tell(struct engine_order *eo, enum order_event ev, enum order_state from,
	   const struct gateway_result *gr)
{
	struct engine *e = eo->engine;
	struct engine_transition t = {
		.event = order_event_to_string(ev),
		.order = &eo->rec,
		.from = from,
	};
	if (STR_EQ(eo->rec.fsm.sub_code, ORDER_REASON_COLLISION))
		log_error("order %s needs attention: trade-number collision: the gateway "
			  "already holds a trade under this out_trade_no%s%s%s (%s) that "
			  "this terminal did not pay. It is not reported paid and nothing "
			  "more is sent for it (a cancel would close or refund that trade); "
			  "check the customer's phone and take the payment again as a new "
			  "order.",
			  eo->rec.fsm.id, gr && gr->trade_no ? ", trade_no " : "",
			  gr && gr->trade_no ? gr->trade_no : "", gr && gr->trade_no ? "," : "",
			  gr ? strna(gr->res.sub_code) : "n/a");
	else if (STR_EQ(eo->rec.fsm.sub_code, ORDER_REASON_MISMATCH))
		log_error("order %s needs attention: the gateway's trade contradicts the "
			  "journal (see the warning above); it is not reported paid and "
			  "nothing more is sent for it.",
			  eo->rec.fsm.id);
	else if (eo->rec.fsm.state == ORDER_ATTENTION)
		log_warning("order %s needs attention: %s", eo->rec.fsm.id,
			    isempty(eo->rec.fsm.sub_code) ? "the cancel keeps failing"
							  : eo->rec.fsm.sub_code);
	engine_notify_observers(e, &t);
}

/* ---- refunds ---- */

static void
engine_refund_free(struct engine_refund *er)
{
	if (!er)
		return;
	if (er->call)
		er->engine->gw.cancel(er->engine->gw.userdata, er->call);
	sd_event_source_disable_unref(er->timer);
	free(er);
}

static void
engine_refund_unlink(struct engine_refund *er)
{
	for (struct engine_refund **p = &er->engine->refunds; *p; p = &(*p)->next)
		if (*p == er) {
			*p = er->next;
			return;
		}
}

static int engine_refund_feed(struct engine_refund *er, enum refund_event ev,
			      const struct gateway_result *gr);
static int refund_arm_timer(struct engine_refund *er, usec_t delay_usec);

static void
refund_call_done(const struct gateway_result *gr, void *userdata)
{
	struct engine_refund *er = userdata;

	er->call = NULL;
	engine_check_clock(gr, er->rec.fsm.id);
	/* doc/engine.md "Throttling": the same out_request_no again, after the throttle backoff. */
	if (gr && gr->throttled && er->call_req != REFUND_REQ_NONE) {
		er->resend = er->call_req;
		(void)refund_arm_timer(
			er, throttle_note(er->engine, &er->throttled, "refund", er->rec.fsm.id,
					  refund_request_to_string(er->call_req), gr));
		return;
	}
	er->throttled = 0;
	switch (er->call_req) {
	case REFUND_REQ_REFUND:
		(void)engine_refund_feed(er, REFUND_EV_REFUND_RESULT, gr);
		return;
	case REFUND_REQ_QUERY:
		(void)engine_refund_feed(er, REFUND_EV_QUERY_RESULT, gr);
		return;
	case REFUND_REQ_NONE:
	case _REFUND_REQ_MAX:
		break;
	}
	log_bug("refund %s: an answer without a request", er->rec.fsm.id);
}

static int refund_send(struct engine_refund *er, enum refund_request req);

static int
refund_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct engine_refund *er = userdata;
	bool unknown = er->deliver_unknown, resume = er->resume;
	enum refund_request resend = er->resend;

	er->timer = sd_event_source_disable_unref(er->timer);
	er->deliver_unknown = er->resume = false;
	er->resend = REFUND_REQ_NONE;
	if (resend != REFUND_REQ_NONE)
		(void)refund_send(er, resend);
	else if (resume)
		(void)engine_refund_feed(er, REFUND_EV_RESUME, NULL);
	else if (unknown)
		refund_call_done(NULL, er);
	else
		(void)engine_refund_feed(er, REFUND_EV_TIMER, NULL);
	return 0;
}

static int
refund_arm_timer(struct engine_refund *er, usec_t delay_usec)
{
	int r = engine_arm(er->engine, &er->timer, delay_usec, refund_timer_cb, er);

	if (r < 0)
		return log_error_errno(r, "refund %s: failed to arm a timer: %m", er->rec.fsm.id);
	return 0;
}

static int
refund_send(struct engine_refund *er, enum refund_request req)
{
	struct engine *e = er->engine;
	struct gateway_call call = {
		.out_trade_no = er->rec.order_id,
		.amount_fen = er->rec.amount_fen,
		/* doc/protocol.md §5.5: the same out_request_no and amount on every attempt. */
		.out_request_no = er->rec.fsm.id,
		.refund_reason = isempty(er->rec.reason) ? NULL : er->rec.reason,
	};
	int r;

	switch (req) {
	case REFUND_REQ_REFUND:
		call.kind = GATEWAY_CALL_REFUND;
		break;
	case REFUND_REQ_QUERY:
		call.kind = GATEWAY_CALL_REFUND_QUERY;
		break;
	case REFUND_REQ_NONE:
	case _REFUND_REQ_MAX:
		return 0;
	}
	er->call_req = req;
	r = e->gw.submit(e->gw.userdata, &call, refund_call_done, er, &er->call);
	if (r < 0) {
		log_error_errno(r, "refund %s: failed to submit %s: %m", er->rec.fsm.id,
				refund_request_to_string(req));
		er->call = NULL;
		er->deliver_unknown = true;
		return refund_arm_timer(er, 0);
	}
	return 0;
}

static int
engine_refund_feed(struct engine_refund *er, enum refund_event ev, const struct gateway_result *gr)
{
	struct engine *e = er->engine;
	struct journal_refund saved = er->rec;
	struct refund_actions act;
	usec_t now = engine_now(e);
	int r;

	r = refund_dispatch(&er->rec.fsm, &e->cfg.fsm, ev, gr ? &gr->res : NULL, now, &act);
	if (r < 0)
		return r;
	if (act.changed || act.send != REFUND_REQ_NONE) {
		er->rec.pending = act.send;
		engine_write_ahead_point(e);
		r = journal_refund_save(e->journal, &er->rec, refund_event_to_string(ev),
					saved.fsm.state, now);
		if (r < 0) {
			er->rec = saved;
			if (er->call) {
				e->gw.cancel(e->gw.userdata, er->call);
				er->call = NULL;
			}
			er->deliver_unknown = false;
			er->resend = REFUND_REQ_NONE;
			er->resume = true;
			(void)refund_arm_timer(er, e->cfg.journal_retry_usec);
			return log_error_errno(r, "refund %s: not journaled, nothing sent: %m",
					       er->rec.fsm.id);
		}
		engine_write_ahead_point(e);
	}
	if (act.changed || act.timer_usec != 0) {
		er->timer = sd_event_source_disable_unref(er->timer);
		er->resend = REFUND_REQ_NONE;
	}
	if (act.timer_usec != 0)
		(void)refund_arm_timer(er, delay_until(act.timer_usec, now));
	if (act.send != REFUND_REQ_NONE)
		(void)refund_send(er, act.send);

	if (act.changed) {
		struct journal_order o;
		struct engine_transition t = {
			.event = refund_event_to_string(ev),
			.refund = &er->rec,
			.refund_from = saved.fsm.state,
		};
		if (engine_order_get(e, er->rec.order_id, &o) >= 0) {
			t.order = &o;
			t.from = o.fsm.state;
			engine_notify_observers(e, &t);
		}
	}
	if (refund_state_is_final(er->rec.fsm.state) && !er->call && !er->timer) {
		engine_refund_unlink(er);
		engine_refund_free(er);
	}
	return 0;
}

/* ---- public API ---- */

int
engine_new(sd_event *event, struct journal *journal, const struct engine_config *cfg,
	   const struct gateway *gw, struct engine **ret)
{
	_cleanup_free_ struct engine *e = NULL;
	const char *crash;

	if (!event || !journal || !cfg || !gw || !gw->submit || !gw->cancel ||
	    isempty(cfg->terminal) || strlen(cfg->terminal) > JOURNAL_TERMINAL_MAX)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->event = sd_event_ref(event);
	e->journal = journal;
	e->late_tail = &e->late;
	e->cfg = *cfg;
	snprintf(e->terminal, sizeof(e->terminal), "%s", cfg->terminal);
	e->cfg.terminal = e->terminal;
	if (e->cfg.journal_retry_usec == 0)
		e->cfg.journal_retry_usec = USEC_PER_SEC;
	if (e->cfg.throttle_initial_usec == 0)
		e->cfg.throttle_initial_usec = ENGINE_THROTTLE_INITIAL_USEC;
	if (e->cfg.throttle_max_usec == 0)
		e->cfg.throttle_max_usec = ENGINE_THROTTLE_MAX_USEC;
	e->cfg.throttle_max_usec = MAX(e->cfg.throttle_max_usec, e->cfg.throttle_initial_usec);
	e->gw = *gw;
	crash = getenv("F2FPAY_CRASH_AT");
	if (!isempty(crash)) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(crash, &end, 10);
		if (errno != 0 || *end != '\0')
			log_warning("Ignoring F2FPAY_CRASH_AT=%s: not a number", crash);
		else
			e->crash_at = v;
	}
	*ret = TAKE_PTR(e);
	return 0;
}

void
engine_free(struct engine *e)
{
	if (!e)
		return;
	sd_event_source_disable_unref(e->late_sync);
	sd_event_source_disable_unref(e->late_retry);
	while (e->orders) {
		struct engine_order *eo = e->orders;
		e->orders = eo->next;
		engine_order_free(eo);
	}
	while (e->refunds) {
		struct engine_refund *er = e->refunds;
		e->refunds = er->next;
		engine_refund_free(er);
	}
	while (e->subs) {
		struct engine_subscription *s = e->subs;
		e->subs = s->next;
		free(s);
	}
	sd_event_unref(e->event);
	free(e);
}

struct resume_list {
	struct journal_order *orders;
	size_t n_orders;
	struct journal_refund *refunds;
	size_t n_refunds;
};

static int
collect_order(const struct journal_order *o, void *userdata)
{
	struct resume_list *l = userdata;
	struct journal_order *a = reallocarray(l->orders, l->n_orders + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	l->orders = a;
	a[l->n_orders++] = *o;
	return 0;
}

static int
collect_refund(const struct journal_refund *rf, void *userdata)
{
	struct resume_list *l = userdata;
	struct journal_refund *a = reallocarray(l->refunds, l->n_refunds + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	l->refunds = a;
	a[l->n_refunds++] = *rf;
	return 0;
}

int
engine_start(struct engine *e)
{
	struct resume_list l = {};
	int r;

	if (e->started)
		return -EALREADY;
	/* Collect first: resuming writes to the journal while we would still be reading it. */
	r = journal_order_foreach(e->journal, true, collect_order, &l);
	if (r >= 0)
		r = journal_refund_foreach(e->journal, true, collect_refund, &l);
	if (r < 0) {
		free(l.orders);
		free(l.refunds);
		return log_error_errno(r, "Failed to list unfinished orders: %m");
	}
	if (l.n_orders + l.n_refunds > 0)
		log_info("Resuming %zu unfinished orders and %zu refunds", l.n_orders, l.n_refunds);

	/* doc/design.md §6.2: paying/unknown/waiting → query; canceling → cancel; refunds → the
	 * same out_request_no again. The machine decides which from the journaled state. */
	for (size_t i = 0; i < l.n_orders; i++) {
		struct engine_order *eo = calloc(1, sizeof(*eo));
		if (!eo) {
			r = -ENOMEM;
			break;
		}
		eo->engine = e;
		eo->rec = l.orders[i];
		eo->next = e->orders;
		e->orders = eo;
		(void)engine_order_feed(eo, ORDER_EV_RESUME, NULL);
	}
	for (size_t i = 0; r >= 0 && i < l.n_refunds; i++) {
		struct engine_refund *er = calloc(1, sizeof(*er));
		if (!er) {
			r = -ENOMEM;
			break;
		}
		er->engine = e;
		er->rec = l.refunds[i];
		er->next = e->refunds;
		e->refunds = er;
		(void)engine_refund_feed(er, REFUND_EV_RESUME, NULL);
	}
	free(l.orders);
	free(l.refunds);
	if (r < 0)
		return log_error_errno(r, "Failed to resume orders: %m");
	e->started = true;
	return 0;
}

int
engine_order_new(struct engine *e, enum order_kind kind, int64_t amount_fen, const char *subject,
		 const char *auth_code, const char *pos_ref, char ret_id[static ORDER_ID_MAX + 1])
{
	struct engine_order_request req = {
		.kind = kind,
		.amount_fen = amount_fen,
		.subject = subject,
		.auth_code = auth_code,
		.pos_ref = pos_ref,
	};

	return engine_order_create(e, &req, ret_id);
}

/* The machine's start, run inside the transaction that creates the order (journal.h). */
struct first_start {
	struct engine *engine;
	const char *auth_code;
	usec_t now;
	struct order_actions act;
	bool moved;
};

static int
order_first_start(struct journal_order *o, void *userdata)
{
	struct first_start *fs = userdata;
	int r;

	/* A scan order without its code only arms the end of its wait, after the commit. */
	if (o->fsm.state == ORDER_WAITING_CODE)
		return 0;
	r = order_dispatch(&o->fsm, &fs->engine->cfg.fsm, ORDER_EV_START, NULL, fs->now, &fs->act);
	if (r < 0)
		return r;
	o->pending = fs->act.send;
	fs->moved = true;
	/* doc/engine.md "Write-ahead": killed here, the transaction is not committed and the order
	 * never existed. */
	engine_write_ahead_point(fs->engine);
	order_prepare(fs->engine, o, fs->auth_code, fs->act.send);
	return 1;
}

int
engine_order_create(struct engine *e, const struct engine_order_request *req,
		    char ret_id[static ORDER_ID_MAX + 1])
{
	struct first_start fs = {.engine = e};
	struct journal_order_request jr = {
		.terminal = e->terminal,
		.kind = req->kind,
		.amount_fen = req->amount_fen,
		.subject = req->subject,
		.auth_code = req->kind == ORDER_KIND_SCAN ? req->auth_code : NULL,
		.pos_ref = req->pos_ref,
		.idem_key = req->idem_key,
		.fingerprint = req->fingerprint,
		.code_wait_usec = req->code_wait_usec,
		.operator_id = req->operator_id,
		.first_move = order_first_start,
		.first_move_userdata = &fs,
	};
	struct engine_order *eo;
	char existing[ORDER_ID_MAX + 1] = "";
	int r;

	if (!e->started)
		return -EBUSY;
	if (req->operator_id && strlen(req->operator_id) > JOURNAL_OPERATOR_MAX)
		return -E2BIG;
	if (req->kind == ORDER_KIND_SCAN &&
	    (req->auth_code ? !paycode_is_alipay_str(req->auth_code) : req->code_wait_usec == 0))
		return log_error_errno(EINVAL, "Not an Alipay payment code (%zu characters)",
				       req->auth_code ? strlen(req->auth_code) : 0);
	/* Ready before the commit: once the order is on disk, its pay must be able to leave. */
	eo = calloc(1, sizeof(*eo));
	if (!eo)
		return -ENOMEM;
	eo->engine = e;
	if (jr.auth_code) {
		eo->auth_code = strdup(jr.auth_code);
		if (!eo->auth_code) {
			free(eo);
			return -ENOMEM;
		}
	}
	fs.now = engine_now(e);
	fs.auth_code = eo->auth_code;
	r = journal_order_new(e->journal, &jr, fs.now, &eo->rec, existing);
	if (r < 0) {
		if (fs.moved)
			order_unprepare(e);
		engine_order_free(eo);
		if (r == -EEXIST || r == -EKEYREJECTED) {
			memcpy(ret_id, existing, sizeof(existing));
			return r == -EEXIST ? 1 : r;
		}
		return r;
	}
	eo->next = e->orders;
	e->orders = eo;
	memcpy(ret_id, eo->rec.fsm.id, sizeof(eo->rec.fsm.id));
	if (!fs.moved) {
		(void)engine_order_feed(eo, ORDER_EV_RESUME, NULL);
		return 0;
	}
	/* doc/engine.md "Write-ahead": the order and its first request went in one commit. */
	engine_write_ahead_point(e);
	order_after_commit(eo, ORDER_EV_START, &fs.act, ORDER_NEW, NULL, fs.now, false);
	return 0;
}

int
engine_order_code(struct engine *e, const char *id, const char *auth_code)
{
	struct engine_order *eo = engine_order_find(e, id);

	if (!eo || eo->rec.fsm.state != ORDER_WAITING_CODE)
		return -ESTALE;
	if (!paycode_is_alipay_str(auth_code))
		return -EINVAL;
	erase_and_free(eo->auth_code);
	eo->auth_code = strdup(auth_code);
	if (!eo->auth_code)
		return -ENOMEM;
	paycode_mask(auth_code, eo->rec.auth_code_masked);
	return engine_order_feed(eo, ORDER_EV_START, NULL);
}

int
engine_order_abort(struct engine *e, const char *id)
{
	struct engine_order *eo = engine_order_find(e, id);
	struct journal_order rec;
	int r;

	if (!eo) {
		r = journal_order_get(e->journal, id, &rec);
		if (r < 0)
			return r;
		return order_state_is_final(rec.fsm.state) ? -EALREADY : -ENOENT;
	}
	if (order_state_is_final(eo->rec.fsm.state))
		return -EALREADY;
	return engine_order_feed(eo, ORDER_EV_ABORT, NULL);
}

int
engine_order_notify(struct engine *e, const char *id, enum order_trade_status status)
{
	struct engine_order *eo = engine_order_find(e, id);
	struct gateway_result gr = {
		.res = {.cls = ALIPAY_CLASS_SUCCESS, .trade_status = status},
	};
	struct journal_order rec;

	if (!eo)
		/* Final orders take repeated notifications without change (doc/protocol.md §4). */
		return journal_order_get(e->journal, id, &rec);
	return engine_order_feed(eo, ORDER_EV_NOTIFY, &gr);
}

int
engine_refund_new(struct engine *e, const char *order_id, int64_t amount_fen, const char *reason,
		  char ret_refund_id[static REFUND_ID_MAX + 1])
{
	return engine_refund_new_keyed(e, order_id, amount_fen, reason, NULL, ret_refund_id);
}

/* A refund just journaled: tracked by the engine and started. */
static int
refund_start(struct engine *e, const struct journal_refund *rec)
{
	struct engine_refund *er = calloc(1, sizeof(*er));

	if (!er)
		return -ENOMEM;
	er->engine = e;
	er->rec = *rec;
	er->next = e->refunds;
	e->refunds = er;
	(void)engine_refund_feed(er, REFUND_EV_START, NULL);
	return 0;
}

int
engine_refund_new_keyed(struct engine *e, const char *order_id, int64_t amount_fen,
			const char *reason, const char *idem_key,
			char ret_refund_id[static REFUND_ID_MAX + 1])
{
	struct journal_refund rec;
	int r;

	if (!e->started)
		return -EBUSY;
	r = journal_refund_create_keyed(e->journal, order_id, amount_fen, reason, idem_key,
					engine_now(e), &rec);
	if (r == -EEXIST || r == -EKEYREJECTED) {
		memcpy(ret_refund_id, rec.fsm.id, sizeof(rec.fsm.id));
		return r == -EEXIST ? 1 : r;
	}
	if (r < 0)
		return r;
	memcpy(ret_refund_id, rec.fsm.id, sizeof(rec.fsm.id));
	return refund_start(e, &rec);
}

int
engine_order_get(struct engine *e, const char *id, struct journal_order *ret)
{
	struct engine_order *eo = engine_order_find(e, id);

	if (eo) {
		*ret = eo->rec;
		return 0;
	}
	return journal_order_get(e->journal, id, ret);
}

unsigned
engine_active_count(const struct engine *e)
{
	unsigned n = 0;

	for (struct engine_order *eo = e->orders; eo; eo = eo->next)
		n++;
	for (struct engine_refund *er = e->refunds; er; er = er->next)
		n++;
	return n;
}

uint64_t
engine_write_ahead_points(const struct engine *e)
{
	return e->points;
}

int
engine_subscribe(struct engine *e, engine_observer_t cb, void *userdata,
		 struct engine_subscription **ret)
{
	struct engine_subscription *s;

	if (!cb)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct engine_subscription){
		.engine = e, .next = e->subs, .cb = cb, .userdata = userdata};
	e->subs = s;
	if (ret)
		*ret = s;
	return 0;
}

void
engine_unsubscribe(struct engine_subscription *s)
{
	if (!s)
		return;
	for (struct engine_subscription **p = &s->engine->subs; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	free(s);
}

int
engine_refund_foreign(struct engine *e, const struct journal_foreign_order *fo,
		      const char *refund_id, int64_t amount_fen, const char *reason,
		      const char *idem_key)
{
	struct journal_refund rec;
	int r;

	if (!e->started)
		return -EBUSY;
	r = journal_foreign_refund_create(e->journal, fo, refund_id, amount_fen, reason, idem_key,
					  engine_now(e), &rec);
	return r < 0 ? r : refund_start(e, &rec);
}
