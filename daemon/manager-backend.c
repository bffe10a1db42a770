/* SPDX-License-Identifier: MIT */
/* The API backend: the local API's calls answered from the engine and the journal. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "common/time-util.h"
#include "daemon/manager-private.h"

static void
reply_order(struct manager *m, struct api_call *call, unsigned status, const char *id)
{
	struct journal_order o;
	struct json_object *j;
	int r;

	r = engine_order_get(m->s->engine, id, &o);
	if (r < 0) {
		api_call_fail(call, 500, "internal", "order %s cannot be read: %s", id,
			      strerror(-r));
		return;
	}
	j = order_to_json(&o);
	if (!j) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	api_call_reply(call, status, j);
}

static int
copy_order(const struct journal_order *o, void *userdata)
{
	*(struct journal_order *)userdata = *o;
	return 0;
}

static void
be_order_create(void *userdata, struct api_call *call, const struct api_order_request *req)
{
	struct manager *m = userdata;
	const char *subject = req->subject                     ? req->subject
			      : m->s->cfg->terminal.store_name ? m->s->cfg->terminal.store_name
							       : DEFAULT_SUBJECT;
	struct engine_order_request er = {
		.kind = req->mode == API_ORDER_QR ? ORDER_KIND_QR : ORDER_KIND_SCAN,
		.amount_fen = req->amount_fen,
		.subject = subject,
		.auth_code = req->auth_code,
		.pos_ref = req->pos_ref,
		.idem_key = req->idem_key,
		.fingerprint = req->fingerprint,
		/* Nobody scanned in time: the order lapses like a QR leaving the screen. */
		.code_wait_usec = m->s->cfg->timing.qr_shown_usec,
		/* Each order names its cashier; the configured one unless the POS says otherwise.
		 */
		.operator_id =
			req->operator_id ? req->operator_id : m->s->cfg->terminal.operator_id,
	};
	bool waits = er.kind == ORDER_KIND_SCAN && !req->auth_code;
	struct journal_order w;
	char id[ORDER_ID_MAX + 1];
	int r;

	if (strlen(subject) > JOURNAL_SUBJECT_MAX) {
		api_call_fail(call, 400, "invalid_field", "'subject' is longer than %d bytes",
			      JOURNAL_SUBJECT_MAX);
		return;
	}
	if (manager_space_refuses(m, call))
		return;
	if (waits && waiting_get(m, &w) >= 0 &&
	    !(req->idem_key && STR_EQ(w.idem_key, req->idem_key))) {
		api_call_fail(call, 409, "scan_order_waiting",
			      "order %s is already waiting for the scanner: cancel it or send an "
			      "auth_code",
			      w.fsm.id);
		return;
	}
	r = engine_order_create(m->s->engine, &er, id);
	if (r == -EKEYREJECTED) {
		api_call_fail(call, 409, "idempotency_mismatch",
			      "this key was used for a different order (%s)", id);
		return;
	}
	if (r == -EINVAL) {
		api_call_fail(call, 400, "invalid_field",
			      "'auth_code' is not an Alipay payment code (digits, 25-30 first, "
			      "16-24 long)");
		return;
	}
	if (r == -EBUSY) {
		api_call_fail(call, 503, "engine_unavailable", "recovery is still running");
		return;
	}
	if (r == -ENOSPC || r == -EROFS || r == -EIO) {
		journal_space_write_failed(m->space, r);
		(void)manager_space_refuses(m, call);
		return;
	}
	if (r < 0) {
		api_call_fail(call, 500, "internal", "the order could not be journaled: %s",
			      strerror(-r));
		return;
	}
	if (r == 1) {
		/* The key was used before, maybe before a restart: that order, never another. */
		api_call_mark_replayed(call);
		reply_order(m, call, 200, id);
		return;
	}
	if (waits) {
		waiting_set(m, id);
		log_info("Scan order %s for %" PRId64 " fen waits for a payment code", id,
			 req->amount_fen);
		if (engine_order_get(m->s->engine, id, &w) >= 0) {
			manager_broadcast(m, "order", order_to_json(&w));
			show_order(m, &w);
		}
		manager_notify_status(m);
	}
	if (req->wait_qr) {
		if (engine_order_get(m->s->engine, id, &w) >= 0 && qr_wait_start(m, call, &w, 201))
			return;
	}
	reply_order(m, call, 201, id);
}

static void
be_order_get(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	struct journal_order o;

	if (engine_order_get(m->s->engine, id, &o) < 0) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	api_call_reply(call, 200, order_to_json(&o));
}

static int
list_one(const struct journal_order *o, void *userdata)
{
	struct json_object *arr = userdata;

	return json_object_array_add(arr, order_to_json(o)) < 0 ? -ENOMEM : 0;
}

static void
be_order_list(void *userdata, struct api_call *call, const struct api_order_query *q)
{
	struct manager *m = userdata;
	struct journal_order_filter f = {
		.pos_ref = q->pos_ref,
		.from_usec = q->from_usec,
		.to_usec = q->to_usec,
		.after = q->after,
		.limit = q->limit,
	};
	struct json_object *arr, *j;
	char cursor[API_CURSOR_BUF];
	int64_t next = 0;
	int r = 0;

	if (q->state) {
		char lower[API_STATE_MAX + 1];
		size_t i = 0;
		for (; q->state[i] && i < API_STATE_MAX; i++)
			lower[i] = (char)tolower((unsigned char)q->state[i]);
		lower[i] = '\0';
		if (order_state_from_string(lower, &f.state) < 0) {
			api_call_fail(call, 400, "invalid_state",
				      "'state' %s is not an order state (PAID, FAILED, CANCELED, "
				      "ATTENTION, …)",
				      q->state);
			return;
		}
		f.by_state = true;
	}
	if (q->mode >= 0) {
		f.by_kind = true;
		f.kind = q->mode == API_ORDER_QR ? ORDER_KIND_QR : ORDER_KIND_SCAN;
	}
	arr = json_object_new_array();
	j = json_object_new_object();
	if (!arr || !j) {
		json_object_put(arr);
		json_object_put(j);
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	json_object_object_add(j, "orders", arr);
	r = journal_order_page(m->journal, &f, list_one, arr, &next);
	if (r < 0) {
		json_object_put(j);
		api_call_fail(call, 500, "internal", "the journal cannot be read: %s",
			      strerror(-r));
		return;
	}
	if (next > 0)
		json_add_str(j, "next_cursor", api_cursor_format(next, cursor));
	api_call_reply(call, 200, j);
}

static int
be_order_find(void *userdata, const char *pos_ref, char ret_id[static API_ORDER_ID_MAX + 1])
{
	struct manager *m = userdata;
	struct journal_order_filter f = {.pos_ref = pos_ref, .limit = 1};
	struct journal_order o = {};
	int64_t next;
	int r;

	r = journal_order_page(m->journal, &f, copy_order, &o, &next);
	if (r < 0)
		return r;
	if (isempty(o.fsm.id))
		return -ENOENT;
	snprintf(ret_id, API_ORDER_ID_MAX + 1, "%s", o.fsm.id);
	return 0;
}

static int
refund_one(const struct journal_refund *rf, void *userdata)
{
	return json_object_array_add(userdata, refund_to_json(rf)) < 0 ? -ENOMEM : 0;
}

static void
be_refund_list(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	struct json_object *arr, *j;
	struct journal_order o;
	int r;

	if (engine_order_get(m->s->engine, id, &o) < 0) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	arr = json_object_new_array();
	j = json_object_new_object();
	if (!arr || !j) {
		json_object_put(arr);
		json_object_put(j);
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	json_object_object_add(j, "refunds", arr);
	r = journal_refund_foreach_order(m->journal, id, refund_one, arr);
	if (r < 0) {
		json_object_put(j);
		api_call_fail(call, 500, "internal", "the journal cannot be read: %s",
			      strerror(-r));
		return;
	}
	api_call_reply(call, 200, j);
}

static void
be_refund_get(void *userdata, struct api_call *call, const char *id, const char *refund_id)
{
	struct manager *m = userdata;
	struct journal_refund rf;

	if (journal_refund_get(m->journal, refund_id, &rf) < 0 || !STR_EQ(rf.order_id, id)) {
		api_call_fail(call, 404, "refund_not_found", "order %s has no refund %s", id,
			      refund_id);
		return;
	}
	api_call_reply(call, 200, refund_to_json(&rf));
}

static void
be_order_cancel(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	int r;

	r = engine_order_abort(m->s->engine, id);
	if (r == -EALREADY) {
		struct journal_order o;
		char st[32], left[MONEY_BUF_SIZE];
		bool known = engine_order_get(m->s->engine, id, &o) >= 0;
		/* doc/protocol.md §5.3: Alipay's cancel is for unsettled payments only. */
		if (known && o.fsm.state == ORDER_PAID)
			api_call_fail(
				call, 409, "not_cancelable",
				"order %s is PAID: a paid order is reversed by refunding it, "
				"POST /v1/orders/%s/refunds with {\"amount\":\"%s\"}",
				id, id,
				money_format(o.amount_fen - o.refunded_fen - o.pending_refund_fen,
					     left));
		else
			api_call_fail(call, 409, "not_cancelable", "order %s is already %s", id,
				      known ? state_upper(o.fsm.state, st) : "final");
		return;
	}
	if (r == -ENOENT) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	if (r < 0) {
		api_call_fail(call, 500, "internal", "the cancel could not be journaled: %s",
			      strerror(-r));
		return;
	}
	reply_order(m, call, 202, id);
}

/* Answers a refund request with the journaled refund: 201, or 200 for a replayed key. */
static void
reply_refund(struct manager *m, struct api_call *call, const char *refund_id, bool replayed)
{
	struct journal_refund rf;

	if (journal_refund_get(m->journal, refund_id, &rf) < 0) {
		api_call_fail(call, 500, "internal", "the refund cannot be read");
		return;
	}
	if (replayed)
		api_call_mark_replayed(call);
	api_call_reply(call, replayed ? 200 : 201, refund_to_json(&rf));
}

struct refund_elsewhere {
	struct manager *m;
	struct api_call *call;
};

static void refund_elsewhere_answer(struct manager *m, struct api_call *call,
				    const struct central_refund_result *res);

static void
central_refund_done(const struct central_refund_result *res, void *userdata)
{
	struct refund_elsewhere *w = userdata;

	refund_elsewhere_answer(w->m, w->call, res);
	free(w);
}

/* doc/central.md "Refunds at any till": the outcome of a reservation, as the API says it. */
static void
refund_elsewhere_answer(struct manager *m, struct api_call *call,
			const struct central_refund_result *res)
{
	switch (res->outcome) {
	case CENTRAL_REFUND_STARTED:
	case CENTRAL_REFUND_REPLAYED:
		reply_refund(m, call, res->refund_id, res->outcome == CENTRAL_REFUND_REPLAYED);
		return;
	case CENTRAL_REFUND_NOT_FOUND:
		api_call_fail(call, 404, "order_not_found", "%s", res->message);
		return;
	case CENTRAL_REFUND_AMBIGUOUS:
		api_call_fail(call, 409, "pos_ref_ambiguous", "%s", res->message);
		return;
	case CENTRAL_REFUND_NOT_PAID:
		api_call_fail(call, 409, "not_refundable", "%s", res->message);
		return;
	case CENTRAL_REFUND_EXCEEDS:
		api_call_fail(call, 409, "refund_exceeds_paid", "%s", res->message);
		return;
	case CENTRAL_REFUND_KEY_OTHER:
		api_call_fail(call, 409, "idempotency_mismatch", "%s", res->message);
		return;
	case CENTRAL_REFUND_UNAVAILABLE:
		api_call_fail(call, 503, "central_unavailable",
			      "an order of another till is refunded through the central database, "
			      "and %s; this till's own orders are refunded as usual",
			      res->message);
		return;
	case CENTRAL_REFUND_SHUTDOWN:
		api_call_fail(call, 503, "shutting_down", "%s", res->message);
		return;
	case CENTRAL_REFUND_FAILED:
	case CENTRAL_REFUND_RESERVED:
	case CENTRAL_REFUND_UNRESERVED:
		break;
	}
	api_call_fail(call, 500, "internal", "%s", res->message);
}

/* A refund of an order this journal does not own: by id or pos_ref, through the database. */
static void
refund_elsewhere(struct manager *m, struct api_call *call, const char *id, const char *pos_ref,
		 const struct api_refund_request *req, const char *ref)
{
	struct refund_elsewhere *w;
	int r;

	if (!m->s->central_refund) {
		api_call_fail(call, 404, "order_not_found",
			      "no order %s %s here, and without a central database ([central] url) "
			      "other tills' orders cannot be refunded here",
			      id ? "" : "has pos_ref", id ?: pos_ref);
		return;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	*w = (struct refund_elsewhere){m, call};
	r = central_refund_start(m->s->central_refund, id, pos_ref, req->amount_fen, req->reason,
				 ref, central_refund_done, w);
	if (r < 0) {
		free(w);
		api_call_fail(call, 500, "internal", "the refund cannot be started: %s",
			      strerror(-r));
	}
}

/* A refund of this till's own order, journaled and started now. */
static void
refund_here(struct manager *m, struct api_call *call, const char *id, int64_t amount_fen,
	    const char *reason, const char *ref)
{
	char refund_id[REFUND_ID_MAX + 1];
	int r;

	/* The same Idempotency-Key on the same order never refunds twice: it is journaled with
	 * the refund, so a retry after a restart finds it too. */
	r = engine_refund_new_keyed(m->s->engine, id, amount_fen, reason, ref, refund_id);
	switch (r) {
	case 0:
	case 1:
		break;
	case -EKEYREJECTED:
		api_call_fail(call, 409, "idempotency_mismatch",
			      "Idempotency-Key was used for refund %s of another amount",
			      refund_id);
		return;
	case -ENOENT:
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	case -EPERM:
		api_call_fail(call, 409, "not_refundable", "order %s is not paid", id);
		return;
	case -EOVERFLOW:
		api_call_fail(call, 409, "refund_exceeds_paid",
			      "the refund is more than order %s has left to refund", id);
		return;
	default:
		api_call_fail(call, 500, "internal", "the refund could not be journaled: %s",
			      strerror(-r));
		return;
	}
	reply_refund(m, call, refund_id, r == 1);
}

/* An own refund waiting for its central reservation; strings are copies. */
struct refund_own {
	struct manager *m;
	struct api_call *call;
	int64_t amount_fen;
	char id[ORDER_ID_MAX + 1];
	char *reason, *ref;
};

static void
refund_own_done(const struct central_refund_result *res, void *userdata)
{
	struct refund_own *w = userdata;

	switch (res->outcome) {
	case CENTRAL_REFUND_RESERVED:
	case CENTRAL_REFUND_UNRESERVED:
		if (res->outcome == CENTRAL_REFUND_UNRESERVED)
			log_info("central: refund of order %s not reserved (%s): it counts "
				 "centrally once shipped",
				 w->id, res->message);
		refund_here(w->m, w->call, w->id, w->amount_fen, w->reason, w->ref);
		break;
	case CENTRAL_REFUND_EXCEEDS:
		api_call_fail(w->call, 409, "refund_exceeds_paid", "%s", res->message);
		break;
	case CENTRAL_REFUND_SHUTDOWN:
		api_call_fail(w->call, 503, "shutting_down", "%s", res->message);
		break;
	case CENTRAL_REFUND_STARTED:
	case CENTRAL_REFUND_REPLAYED:
	case CENTRAL_REFUND_NOT_FOUND:
	case CENTRAL_REFUND_AMBIGUOUS:
	case CENTRAL_REFUND_NOT_PAID:
	case CENTRAL_REFUND_KEY_OTHER:
	case CENTRAL_REFUND_UNAVAILABLE:
	case CENTRAL_REFUND_FAILED:
		/* Not an answer to an own refund: the journal alone decides. */
		refund_here(w->m, w->call, w->id, w->amount_fen, w->reason, w->ref);
		break;
	}
	free(w->reason);
	free(w->ref);
	free(w);
}

/*
 * doc/central.md "Refunds at any till": with the database connected, a refund of an own order
 * is reserved there too, so that it and other tills' refunds of the order are checked against
 * each other. Whatever the journal refuses (or replays) does not need the database.
 */
static bool
refund_own_reserve(struct manager *m, struct api_call *call, const char *id,
		   const struct api_refund_request *req, const char *ref)
{
	struct ship_progress p = {};
	struct journal_refund rf;
	struct journal_order o;
	struct refund_own *w;

	if (!m->s->central_refund || !m->s->ship)
		return false;
	ship_progress(m->s->ship, &p);
	/* Disconnected, an own refund does not wait for the database, unless another refund of
	 * the order does: then it queues behind it (central_refund_own_pending()). */
	if ((!p.connected && !central_refund_own_pending(m->s->central_refund, id)) ||
	    engine_order_get(m->s->engine, id, &o) < 0 || o.fsm.state != ORDER_PAID ||
	    req->amount_fen > o.amount_fen - o.refunded_fen - o.pending_refund_fen ||
	    (ref && journal_refund_find_key(m->journal, id, ref, req->amount_fen, &rf) != -ENOENT))
		return false;
	w = calloc(1, sizeof(*w));
	if (!w)
		return false;
	*w = (struct refund_own){.m = m, .call = call, .amount_fen = req->amount_fen};
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->reason = req->reason ? strdup(req->reason) : NULL;
	w->ref = ref ? strdup(ref) : NULL;
	if ((req->reason && !w->reason) || (ref && !w->ref) ||
	    central_refund_own(m->s->central_refund, id, req->amount_fen, ref, refund_own_done, w) <
		    0) {
		free(w->reason);
		free(w->ref);
		free(w);
		return false;
	}
	return true;
}

static void
be_order_refund(void *userdata, struct api_call *call, const char *id,
		const struct api_refund_request *req, const char *ref)
{
	struct manager *m = userdata;
	int r;

	/* Another till's order, unknown or imported before: its refunds are reserved centrally. */
	r = journal_order_is_foreign(m->journal, id);
	if (r > 0 ||
	    (r == 0 && journal_order_get(m->journal, id, &(struct journal_order){}) == -ENOENT)) {
		refund_elsewhere(m, call, id, NULL, req, ref);
		return;
	}
	if (!refund_own_reserve(m, call, id, req, ref))
		refund_here(m, call, id, req->amount_fen, req->reason, ref);
}

static void
be_refund_by_pos_ref(void *userdata, struct api_call *call, const char *pos_ref,
		     const struct api_refund_request *req, const char *ref)
{
	refund_elsewhere(userdata, call, NULL, pos_ref, req, ref);
}

static int
attention_one(const struct journal_order *o, void *userdata)
{
	struct json_object *arr = userdata;

	if (o->fsm.state != ORDER_ATTENTION)
		return 0;
	return json_object_array_add(arr, order_to_json(o)) < 0 ? -ENOMEM : 0;
}

static void
be_status(void *userdata, struct api_call *call)
{
	struct manager *m = userdata;
	struct json_object *o = json_object_new_object(), *scanners, *disp, *att;

	if (!o) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	json_add_str(o, "version", F2FPAY_VERSION);
	json_add_str(o, "engine", "running");
	json_add_str(o, "terminal_id", m->s->cfg->terminal.terminal_id);
	json_add_str(o, "install_id", journal_install_id(m->journal));
	if (m->s->cfg->terminal.store_name)
		json_add_str(o, "store_name", m->s->cfg->terminal.store_name);
	json_add_str(o, "gateway", m->s->cfg->alipay.gateway_url);
	/* The class of the gateway's last answer: "unknown" also covers no answer at all. */
	json_add_str(o, "gateway_last_answer",
		     m->s->watch.last == _ALIPAY_CLASS_MAX
			     ? "none"
			     : alipay_class_to_string(m->s->watch.last));
	if (m->s->watch.last != _ALIPAY_CLASS_MAX)
		json_add_time(o, "gateway_last_answer_at", m->s->watch.last_usec);
	{
		/* doc/api.md: "synchronized", "unsynchronized" (STA_UNSYNC) or "unknown". */
		int k = clock_is_synchronized();
		json_add_str(o, "clock",
			     k > 0    ? "synchronized"
			     : k == 0 ? "unsynchronized"
				      : "unknown");
	}
	json_object_object_add(o, "active_orders",
			       json_object_new_int((int)engine_active_count(m->s->engine)));
	json_object_object_add(o, "waiting_for_code",
			       !isempty(m->waiting_id) ? json_object_new_string(m->waiting_id)
						       : NULL);
	scanners = json_object_new_array();
	for (size_t i = 0; scanners && i < m->s->n_scanners; i++) {
		struct json_object *s = json_object_new_object();
		const struct scanner_config *sc = scanner_get_config(m->s->scanners[i]);
		if (!s)
			break;
		json_add_str(s, "name", sc->name);
		json_add_str(s, "kind", scanner_kind_to_string(sc->kind));
		json_add_str(s, "state",
			     scanner_state_to_string(scanner_get_state(m->s->scanners[i])));
		json_object_array_add(scanners, s);
	}
	json_object_object_add(o, "scanners", scanners);
	disp = json_object_new_object();
	if (disp) {
		json_object_object_add(disp, "configured",
				       json_object_new_boolean(m->s->display != NULL));
		json_object_object_add(
			disp, "up",
			json_object_new_boolean(m->s->display && display_set_is_up(m->s->display)));
		json_object_object_add(disp, "outputs", display_outputs_json(m));
		if (m->screen < _DISPLAY_SCREEN_MAX)
			json_add_str(disp, "screen", display_screen_kind_to_string(m->screen));
		json_object_object_add(o, "display", disp);
	}
	att = json_object_new_array();
	if (att)
		(void)journal_order_foreach(m->journal, true, attention_one, att);
	json_object_object_add(o, "attention", att);
	json_object_object_add(o, "sse_clients",
			       json_object_new_int(m->api ? (int)api_sse_clients(m->api) : 0));
	json_object_object_add(o, "scans", json_object_new_int64((int64_t)m->scans));
	json_object_object_add(o, "notifications",
			       json_object_new_int64((int64_t)m->notifications));
	json_object_object_add(o, "notifications_forged",
			       json_object_new_int64((int64_t)m->notifications_forged));
	manager_space_status(m, o);
	json_object_object_add(o, "config_reload_pending",
			       json_object_new_boolean(m->pending_cfg != NULL));
	{
		struct health h = {};
		manager_health(m, &h);
		json_object_object_add(o, "conditions", health_to_json(&h));
	}
	(void)reconcile_status_add(m->s->reconcile, o);
	(void)ship_status_add(m->s->ship, o);
	api_call_reply(call, 200, o);
}

static void
be_version(void *userdata, struct api_call *call)
{
	struct json_object *j = manager_version_json(userdata);

	if (!j)
		api_call_fail(call, 500, "internal", "out of memory");
	else
		api_call_reply(call, 200, j);
}

static int64_t
be_event_seq(void *userdata)
{
	struct manager *m = userdata;
	int64_t seq = 0;

	/* On a read error the ids go on counting from the last one: still unique. */
	(void)journal_event_seq(m->journal, &seq);
	return seq;
}

static int
be_settle(void *userdata)
{
	return manager_settle(userdata);
}

static void
be_reconciliation(void *userdata, struct api_call *call, const char *date)
{
	struct manager *m = userdata;

	reconcile_api_get(m->s->reconcile, call, date);
}

/*
 * GET /v1/backup: a consistent copy of the journal, made beside it (the only place the daemon
 * may write), unlinked at once and streamed from the open file, so nothing stays behind even
 * if the client goes away.
 */
static void
be_backup(void *userdata, struct api_call *call)
{
	struct manager *m = userdata;
	const char *jp = m->s->cfg->journal.path, *slash = strrchr(jp, '/');
	_cleanup_free_ char *tmp = NULL;
	struct stat st;
	int fd, r;

	if (asprintf(&tmp, "%.*s/.backup-XXXXXX", slash ? (int)(slash - jp) : 1, slash ? jp : ".") <
	    0) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		api_call_fail(call, 500, "backup_failed", "cannot create %s: %s", tmp,
			      strerror(errno));
		return;
	}
	close(fd);
	r = journal_backup(m->journal, tmp);
	fd = r < 0 ? -1 : open(tmp, O_RDONLY | O_CLOEXEC);
	if (r >= 0 && fd < 0)
		r = -errno;
	(void)unlink(tmp);
	if (r < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		api_call_fail(call, 500, "backup_failed", "the journal cannot be copied: %s",
			      strerror(r < 0 ? -r : errno));
		return;
	}
	log_info("Journal backup of %lld bytes sent", (long long)st.st_size);
	api_call_reply_file(call, fd, (uint64_t)st.st_size, "application/vnd.sqlite3");
}

static const struct api_backend manager_backend = {
	.order_create = be_order_create,
	.order_get = be_order_get,
	.order_list = be_order_list,
	.order_cancel = be_order_cancel,
	.order_find = be_order_find,
	.refund_list = be_refund_list,
	.refund_get = be_refund_get,
	.order_refund = be_order_refund,
	.refund_by_pos_ref = be_refund_by_pos_ref,
	.status = be_status,
	.version = be_version,
	.event_seq = be_event_seq,
	.reconciliation = be_reconciliation,
	.backup = be_backup,
	.settle = be_settle,
};

const struct api_backend *
manager_api_backend(void)
{
	return &manager_backend;
}
