/* SPDX-License-Identifier: MIT */
/* The manager: scanner codes to the waiting order, engine transitions to the display and API. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "common/time-util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/gateway-alipay.h"
#include "daemon/manager.h"
#include "daemon/reconcile/reconcile.h"
#include "drivers/display/display.h"
#include "drivers/scanner/scanner-sd-event.h"
#include "drivers/scanner/scanner.h"
#include "payment/http/http-sd-event.h"
#include "payment/keys.h"
#include "payment/notify.h"
#include "payment/request.h"

#define RESULT_SCREEN_USEC (5 * USEC_PER_SEC) /* paid/failed/canceled stay this long */
#define NOT_SUPPORTED_USEC (3 * USEC_PER_SEC) /* "not supported" before the order again */
#define RESOLVED_MAX       64                 /* waiting ids remembered after the scan */
#define REFUND_REFS_MAX    256                /* Idempotency-Key of refunds remembered */
#define ORDER_LIST_MAX     1000               /* newest orders in GET /v1/orders */
#define WAITING_STATE      "WAITING_FOR_CODE"
#define DEFAULT_SUBJECT    "f2fpayd"
#define WAITING_ID_MAX     ORDER_ID_MAX

/* The gateway as the engine sees it, noting the class of each answer for GET /v1/status. */
struct gateway_watch {
	struct gateway inner;
	enum alipay_class last; /* _ALIPAY_CLASS_MAX: no answer yet */
	usec_t last_usec;
};

struct gateway_watch_call {
	struct gateway_watch *w;
	gateway_done_t done;
	void *userdata;
	void *inner;
};

/* Everything built from one configuration; replaced whole on a reload. */
struct stack {
	const struct config *cfg;
	struct config *owned; /* cfg when it came from a reload */
	struct alipay_keys *keys;
	struct alipay_client_config client;
	struct http_client *http;
	struct gateway_alipay *ga;
	struct gateway_watch watch;
	struct engine *engine;
	struct engine_subscription *sub;
	struct reconcile *reconcile; /* the daily bill check (PROTOCOL §5.8) */
	struct scanner *scanners[CONFIG_MAX_SCANNERS];
	struct scanner_sd *scanner_sd[CONFIG_MAX_SCANNERS];
	size_t n_scanners;
	struct display *display;
};

/* The scan order waiting for a payment code (one per terminal). */
struct waiting {
	bool active;
	char id[WAITING_ID_MAX + 1];
	int64_t amount_fen;
	char subject[JOURNAL_SUBJECT_MAX + 1];
	char pos_ref[JOURNAL_POS_REF_MAX + 1];
	usec_t created_usec;
	sd_event_source *expiry;
};

struct resolved {
	char waiting_id[WAITING_ID_MAX + 1];
	char order_id[ORDER_ID_MAX + 1];
	bool canceled; /* canceled before a code arrived: no engine order */
	int64_t amount_fen;
	char subject[JOURNAL_SUBJECT_MAX + 1];
	char pos_ref[JOURNAL_POS_REF_MAX + 1];
};

struct refund_ref {
	char ref[API_POS_REF_MAX + 1];
	char refund_id[REFUND_ID_MAX + 1];
	char order_id[ORDER_ID_MAX + 1];
};

struct manager {
	sd_event *event;
	struct journal *journal;
	struct stack *s;            /* heap: the gateway keeps pointers into it */
	struct config *pending_cfg; /* a reload waiting for the terminal to be idle */
	struct api *api;
	struct waiting waiting;
	unsigned waiting_seq;
	time_t boot;
	struct resolved resolved[RESOLVED_MAX];
	unsigned n_resolved;
	struct refund_ref refund_refs[REFUND_REFS_MAX];
	unsigned n_refund_refs;
	char display_order[ORDER_ID_MAX + 1]; /* the order the customer display follows */
	enum display_screen_kind screen;
	sd_event_source *screen_timer;  /* result screen → idle, or the QR countdown */
	sd_event_source *display_retry; /* a display backend that failed */
	sd_event_source *reload_defer;  /* applies pending_cfg from the loop */
	uint64_t scans, notifications, notifications_forged;
	unsigned status_busy; /* the order count last sent in STATUS= */
	sd_event_source *status_defer;
};

/* ---- helpers ---- */

static usec_t
manager_now(struct manager *m)
{
	uint64_t t;

	if (sd_event_now(m->event, CLOCK_REALTIME, &t) < 0)
		t = now_usec(CLOCK_REALTIME);
	return t;
}

static const char *
state_upper(enum order_state s, char buf[static 32])
{
	const char *n = order_state_to_string(s);
	size_t i = 0;

	for (; n[i] && i < 31; i++)
		buf[i] = (char)toupper((unsigned char)n[i]);
	buf[i] = '\0';
	return buf;
}

static const char *
refund_state_upper(enum refund_state s, char buf[static 32])
{
	const char *n = refund_state_to_string(s);
	size_t i = 0;

	for (; n[i] && i < 31; i++)
		buf[i] = (char)toupper((unsigned char)n[i]);
	buf[i] = '\0';
	return buf;
}

static void
json_add_str(struct json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static void
json_add_money(struct json_object *o, const char *key, int64_t fen)
{
	char buf[MONEY_BUF_SIZE];

	json_add_str(o, key, money_format(fen, buf));
}

static void
json_add_time(struct json_object *o, const char *key, usec_t t)
{
	char buf[BEIJING_TIME_BUF];

	json_add_str(o, key, beijing_format_time((time_t)(t / USEC_PER_SEC), buf));
}

/* The API's view of an order (doc/api.md). New object or NULL. */
static struct json_object *
order_to_json(const struct journal_order *o)
{
	struct json_object *j = json_object_new_object();
	char st[32];

	if (!j)
		return NULL;
	json_add_str(j, "id", o->fsm.id);
	json_add_money(j, "amount", o->amount_fen);
	json_add_str(j, "subject", o->subject);
	json_add_str(j, "mode", o->fsm.kind == ORDER_KIND_QR ? "qr" : "scan");
	json_add_str(j, "state", state_upper(o->fsm.state, st));
	json_object_object_add(j, "final",
			       json_object_new_boolean(order_state_is_final(o->fsm.state)));
	if (!isempty(o->pos_ref))
		json_add_str(j, "pos_ref", o->pos_ref);
	if (!isempty(o->qr_code))
		json_add_str(j, "qr_code", o->qr_code);
	if (!isempty(o->trade_no))
		json_add_str(j, "trade_no", o->trade_no);
	if (!isempty(o->auth_code_masked))
		json_add_str(j, "auth_code", o->auth_code_masked);
	if (!isempty(o->fsm.sub_code))
		json_add_str(j, "reason", o->fsm.sub_code);
	if (o->fsm.kind == ORDER_KIND_QR && o->fsm.expires_usec)
		json_add_time(j, "expires_at", o->fsm.expires_usec);
	if (o->refunded_fen > 0 || o->pending_refund_fen > 0) {
		json_add_money(j, "refunded", o->refunded_fen);
		if (o->pending_refund_fen > 0)
			json_add_money(j, "refund_pending", o->pending_refund_fen);
	}
	json_add_time(j, "created_at", o->created_usec);
	return j;
}

static struct json_object *
waiting_to_json(const char *id, int64_t amount_fen, const char *subject, const char *pos_ref,
		const char *state)
{
	struct json_object *j = json_object_new_object();

	if (!j)
		return NULL;
	json_add_str(j, "id", id);
	json_add_money(j, "amount", amount_fen);
	json_add_str(j, "subject", subject);
	json_add_str(j, "mode", "scan");
	json_add_str(j, "state", state);
	json_object_object_add(j, "final", json_object_new_boolean(!STR_EQ(state, WAITING_STATE)));
	if (!isempty(pos_ref))
		json_add_str(j, "pos_ref", pos_ref);
	return j;
}

static struct json_object *
refund_to_json(const struct journal_refund *r)
{
	struct json_object *j = json_object_new_object();
	char st[32];

	if (!j)
		return NULL;
	json_add_str(j, "id", r->fsm.id);
	json_add_str(j, "order_id", r->order_id);
	json_add_money(j, "amount", r->amount_fen);
	json_add_str(j, "state", refund_state_upper(r->fsm.state, st));
	if (!isempty(r->reason))
		json_add_str(j, "reason", r->reason);
	if (!isempty(r->fsm.sub_code))
		json_add_str(j, "sub_code", r->fsm.sub_code);
	return j;
}

static void
manager_broadcast(struct manager *m, const char *event, struct json_object *j)
{
	if (m->api && j)
		(void)api_broadcast(
			m->api, event,
			json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/* ---- customer display ---- */

static int display_retry_cb(sd_event_source *s, uint64_t usec, void *userdata);

static void
display_arm_retry(struct manager *m)
{
	uint64_t at;

	if (!m->s->display || display_is_up(m->s->display))
		return;
	at = display_next_retry_usec(m->s->display);
	if (at == UINT64_MAX)
		return;
	m->display_retry = sd_event_source_disable_unref(m->display_retry);
	(void)sd_event_add_time(m->event, &m->display_retry, CLOCK_MONOTONIC, at,
				100 * USEC_PER_MSEC, display_retry_cb, m);
}

static int
display_retry_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	m->display_retry = sd_event_source_disable_unref(m->display_retry);
	(void)display_retry(m->s->display, now_usec(CLOCK_MONOTONIC));
	display_arm_retry(m);
	return 0;
}

static void
manager_show(struct manager *m, const struct display_screen *scr, const char *order_id)
{
	struct json_object *j;
	bool changed = scr->kind != m->screen;

	m->screen = scr->kind;
	if (m->s->display) {
		(void)display_show(m->s->display, scr);
		display_arm_retry(m);
	}
	if (!changed)
		return;
	j = json_object_new_object();
	if (!j)
		return;
	json_add_str(j, "screen", display_screen_kind_to_string(scr->kind));
	if (order_id)
		json_add_str(j, "order", order_id);
	if (scr->amount_fen > 0)
		json_add_money(j, "amount", scr->amount_fen);
	if (scr->reason_code)
		json_add_str(j, "reason", scr->reason_code);
	json_object_object_add(
		j, "up", json_object_new_boolean(m->s->display && display_is_up(m->s->display)));
	manager_broadcast(m, "display", j);
}

static void
show_idle(struct manager *m)
{
	struct display_screen scr = {
		.kind = DISPLAY_SCREEN_IDLE,
		.store_name = m->s->cfg->terminal.store_name,
		.seconds_left = -1,
	};

	m->display_order[0] = '\0';
	manager_show(m, &scr, NULL);
}

static void
show_waiting(struct manager *m)
{
	struct display_screen scr = {
		.kind = DISPLAY_SCREEN_SHOW_CODE,
		.store_name = m->s->cfg->terminal.store_name,
		.amount_fen = m->waiting.amount_fen,
		.subject = m->waiting.subject,
		.seconds_left = -1,
	};

	snprintf(m->display_order, sizeof(m->display_order), "%s", m->waiting.id);
	manager_show(m, &scr, m->waiting.id);
}

static int screen_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);

static void
screen_timer_arm(struct manager *m, usec_t after_usec)
{
	m->screen_timer = sd_event_source_disable_unref(m->screen_timer);
	(void)sd_event_add_time_relative(m->event, &m->screen_timer, CLOCK_MONOTONIC, after_usec,
					 50 * USEC_PER_MSEC, screen_timer_cb, m);
}

/* The screen for an order's state (DESIGN.md "Customer display"). */
static void
show_order(struct manager *m, const struct journal_order *o)
{
	struct display_screen scr = {
		.store_name = m->s->cfg->terminal.store_name,
		.amount_fen = o->amount_fen,
		.subject = o->subject,
		.seconds_left = -1,
	};
	usec_t now = manager_now(m);
	bool result = false, countdown = false;

	switch (o->fsm.state) {
	case ORDER_NEW:
	case ORDER_PAYING:
	case ORDER_UNKNOWN:
	case ORDER_QUERYING:
	case ORDER_PRECREATING:
	case ORDER_CANCELING:
	case ORDER_CANCEL_WAIT:
		scr.kind = DISPLAY_SCREEN_PROCESSING;
		break;
	case ORDER_WAITING:
		scr.kind = DISPLAY_SCREEN_CONFIRM;
		break;
	case ORDER_SHOWING_QR:
	case ORDER_QR_QUERYING:
		scr.kind = DISPLAY_SCREEN_QR;
		scr.qr_text = o->qr_code;
		scr.seconds_left = o->fsm.expires_usec > now
					   ? (int)((o->fsm.expires_usec - now + USEC_PER_SEC - 1) /
						   USEC_PER_SEC)
					   : 0;
		countdown = true;
		break;
	case ORDER_ATTENTION:
		scr.kind = DISPLAY_SCREEN_FAILED;
		scr.reason_code = DISPLAY_REASON_TIMEOUT;
		result = true;
		break;
	case ORDER_PAID:
		scr.kind = DISPLAY_SCREEN_PAID;
		result = true;
		break;
	case ORDER_FAILED:
		scr.kind = DISPLAY_SCREEN_FAILED;
		scr.reason_code = isempty(o->fsm.sub_code) ? NULL : o->fsm.sub_code;
		result = true;
		break;
	case ORDER_CANCELED:
		if (o->fsm.expired) {
			scr.kind = DISPLAY_SCREEN_FAILED;
			scr.reason_code = DISPLAY_REASON_QR_EXPIRED;
		} else
			scr.kind = DISPLAY_SCREEN_CANCELED;
		result = true;
		break;
	case ORDER_REFUNDED_BY_CANCEL:
		scr.kind = DISPLAY_SCREEN_CANCELED;
		result = true;
		break;
	case _ORDER_STATE_MAX:
		return;
	}
	snprintf(m->display_order, sizeof(m->display_order), "%s", o->fsm.id);
	manager_show(m, &scr, o->fsm.id);
	if (result)
		screen_timer_arm(m, RESULT_SCREEN_USEC);
	else if (countdown)
		screen_timer_arm(m, USEC_PER_SEC);
	else
		m->screen_timer = sd_event_source_disable_unref(m->screen_timer);
}

/* What the display shows when nothing more urgent happens. */
static void
show_current(struct manager *m)
{
	struct journal_order o;

	if (m->waiting.active) {
		show_waiting(m);
		return;
	}
	if (!isempty(m->display_order) &&
	    engine_order_get(m->s->engine, m->display_order, &o) >= 0 &&
	    !order_state_is_final(o.fsm.state)) {
		show_order(m, &o);
		return;
	}
	show_idle(m);
}

static int
screen_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	m->screen_timer = sd_event_source_disable_unref(m->screen_timer);
	show_current(m);
	return 0;
}

/* Whether the order on the display is final (or gone), so another one may take it. */
static bool
display_order_settled(struct manager *m)
{
	struct journal_order o;

	if (m->screen == DISPLAY_SCREEN_IDLE || isempty(m->display_order))
		return true;
	if (engine_order_get(m->s->engine, m->display_order, &o) < 0)
		return true;
	return order_state_is_final(o.fsm.state);
}

/* ---- reload between orders ---- */

static void apply_pending_reload(struct manager *m);

static int
status_defer_cb(sd_event_source *es, void *userdata)
{
	struct manager *m = userdata;
	unsigned n;

	m->status_defer = sd_event_source_disable_unref(m->status_defer);
	n = manager_busy(m);
	if (n == m->status_busy)
		return 0;
	m->status_busy = n;
	(void)sd_notifyf(0, "STATUS=Running, %u order%s in progress", n, n == 1 ? "" : "s");
	return 0;
}

/*
 * systemctl status shows how many orders are in progress, sent when that changes. Counted from
 * the loop: inside a transition the engine still holds an order that just became final.
 */
static void
manager_notify_status(struct manager *m)
{
	if (!m->status_defer)
		(void)sd_event_add_defer(m->event, &m->status_defer, status_defer_cb, m);
}

/* ---- engine observer ---- */

static void
on_transition(const struct engine_transition *t, void *userdata)
{
	struct manager *m = userdata;
	struct json_object *j;

	/* Recovery runs while the stack is being built: nobody listens yet. */
	if (!m->s)
		return;
	if (t->refund) {
		j = refund_to_json(t->refund);
		manager_broadcast(m, "refund", j);
		j = order_to_json(t->order);
		manager_broadcast(m, "order", j);
	} else {
		j = order_to_json(t->order);
		if (j)
			json_add_str(j, "event", t->event);
		manager_broadcast(m, "order", j);
		/* The display follows the newest order; a waiting scan order keeps it. */
		if (!m->waiting.active &&
		    (isempty(m->display_order) || STR_EQ(m->display_order, t->order->fsm.id) ||
		     t->from == ORDER_NEW || display_order_settled(m)))
			show_order(m, t->order);
	}
	manager_notify_status(m);
	if (m->pending_cfg)
		apply_pending_reload(m);
}

/* ---- the waiting scan order ---- */

static void
resolved_add(struct manager *m, const struct resolved *r)
{
	if (m->n_resolved == RESOLVED_MAX) {
		memmove(&m->resolved[0], &m->resolved[1],
			sizeof(m->resolved[0]) * (RESOLVED_MAX - 1));
		m->n_resolved--;
	}
	m->resolved[m->n_resolved++] = *r;
}

static const struct resolved *
resolved_find(struct manager *m, const char *waiting_id)
{
	for (unsigned i = 0; i < m->n_resolved; i++)
		if (STR_EQ(m->resolved[i].waiting_id, waiting_id))
			return &m->resolved[i];
	return NULL;
}

static void
waiting_end(struct manager *m, const char *order_id, const char *final_state)
{
	struct resolved r = {.canceled = order_id == NULL};

	snprintf(r.waiting_id, sizeof(r.waiting_id), "%s", m->waiting.id);
	if (order_id)
		snprintf(r.order_id, sizeof(r.order_id), "%s", order_id);
	r.amount_fen = m->waiting.amount_fen;
	snprintf(r.subject, sizeof(r.subject), "%s", m->waiting.subject);
	snprintf(r.pos_ref, sizeof(r.pos_ref), "%s", m->waiting.pos_ref);
	resolved_add(m, &r);
	if (final_state)
		manager_broadcast(m, "order",
				  waiting_to_json(m->waiting.id, m->waiting.amount_fen,
						  m->waiting.subject, m->waiting.pos_ref,
						  final_state));
	m->waiting.expiry = sd_event_source_disable_unref(m->waiting.expiry);
	m->waiting.active = false;
	manager_notify_status(m);
}

static int
waiting_expired_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;
	struct display_screen scr = {
		.kind = DISPLAY_SCREEN_CANCELED,
		.store_name = m->s->cfg->terminal.store_name,
		.amount_fen = m->waiting.amount_fen,
		.seconds_left = -1,
	};

	log_info("Scan order %s: no payment code arrived in time", m->waiting.id);
	waiting_end(m, NULL, "CANCELED");
	manager_show(m, &scr, NULL);
	screen_timer_arm(m, RESULT_SCREEN_USEC);
	if (m->pending_cfg)
		apply_pending_reload(m);
	return 0;
}

/* A payment code for the waiting order: the engine takes it from here. */
static void
waiting_pay(struct manager *m, const char *code)
{
	char id[ORDER_ID_MAX + 1];
	int r;

	r = engine_order_new(m->s->engine, ORDER_KIND_SCAN, m->waiting.amount_fen,
			     m->waiting.subject, code,
			     isempty(m->waiting.pos_ref) ? NULL : m->waiting.pos_ref, id);
	if (r < 0) {
		log_error_errno(r, "Scan order %s: the engine refused the order: %m",
				m->waiting.id);
		return; /* still waiting: the cashier may cancel, the buyer may scan again */
	}
	log_info("Scan order %s is order %s%s", m->waiting.id, id,
		 r == 1 ? " (its pos_ref was used before)" : "");
	m->display_order[0] = '\0';
	waiting_end(m, id, NULL);
	{
		struct journal_order o;
		if (engine_order_get(m->s->engine, id, &o) >= 0)
			show_order(m, &o);
	}
}

/* ---- scanners ---- */

static void
on_scanner(struct scanner *s, const struct scanner_event *ev, void *userdata)
{
	struct manager *m = userdata;
	const struct scanner_config *sc = scanner_get_config(s);
	struct json_object *j;

	if (ev->type == SCANNER_EVENT_STATE) {
		log_info("Scanner %s: %s%s%s", sc->name, scanner_state_to_string(ev->state),
			 ev->device[0] ? " " : "", ev->device);
		j = json_object_new_object();
		if (!j)
			return;
		json_add_str(j, "kind", "scanner");
		json_add_str(j, "name", sc->name);
		json_add_str(j, "state", scanner_state_to_string(ev->state));
		if (ev->device[0])
			json_add_str(j, "device", ev->device);
		manager_broadcast(m, "device", j);
		return;
	}
	if (ev->type != SCANNER_EVENT_CODE)
		return;
	m->scans++;
	/* DESIGN.md "Scanner drivers": classification decides where a code goes. */
	if (ev->cls == SCAN_CLASS_ALIPAY && m->waiting.active) {
		char masked[JOURNAL_AUTH_CODE_MAX + 1];
		journal_mask_auth_code(ev->text, masked);
		log_info("Scanner %s: payment code %s for %s", sc->name, masked, m->waiting.id);
		waiting_pay(m, ev->text);
		return;
	}
	if (ev->cls == SCAN_CLASS_REJECTED) {
		log_warning("Scanner %s: a code too long or with control characters was dropped",
			    sc->name);
		return;
	}
	j = json_object_new_object();
	if (!j)
		return;
	json_add_str(j, "scanner", sc->name);
	json_add_str(j, "class", scan_class_to_string(ev->cls));
	json_add_str(j, "code", ev->text);
	if (ev->aim[0])
		json_add_str(j, "aim", ev->aim);
	manager_broadcast(m, "scan", j);
	if (ev->cls == SCAN_CLASS_OTHER_WALLET) {
		struct display_screen scr = {
			.kind = DISPLAY_SCREEN_FAILED,
			.store_name = m->s->cfg->terminal.store_name,
			.reason_code = DISPLAY_REASON_CODE_NOT_SUPPORTED,
			.amount_fen = m->waiting.active ? m->waiting.amount_fen : 0,
			.seconds_left = -1,
		};
		log_info("Scanner %s: another wallet's payment code: not supported", sc->name);
		manager_show(m, &scr, m->waiting.active ? m->waiting.id : NULL);
		screen_timer_arm(m, NOT_SUPPORTED_USEC);
	}
}

/* ---- building a stack from a configuration ---- */

static void
stack_done(struct stack *s)
{
	for (size_t i = 0; i < s->n_scanners; i++) {
		s->scanner_sd[i] = scanner_sd_detach(s->scanner_sd[i]);
		s->scanners[i] = scanner_free(s->scanners[i]);
	}
	s->n_scanners = 0;
	s->display = display_free(s->display);
	reconcile_free(s->reconcile);
	s->reconcile = NULL;
	engine_unsubscribe(s->sub);
	s->sub = NULL;
	engine_free(s->engine);
	s->engine = NULL;
	gateway_alipay_free(s->ga);
	s->ga = NULL;
	if (s->http)
		http_client_free(s->http);
	s->http = NULL;
	s->keys = alipay_keys_free(s->keys);
	config_free(s->owned);
	s->owned = NULL;
}

static struct stack *
stack_free(struct stack *s)
{
	if (s) {
		stack_done(s);
		free(s);
	}
	return NULL;
}

static int
stack_keys(struct stack *s)
{
	const struct config_alipay *a = &s->cfg->alipay;
	int r;

	r = alipay_keys_new(&s->keys);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the key set: %m");
	if (!a->app_private_key_resolved)
		return log_error_errno(EINVAL, "No app private key configured");
	/* DESIGN.md "Operations": a private key readable by group or others is refused. */
	r = alipay_key_file_check_mode(a->app_private_key_resolved);
	if (r < 0)
		return r;
	r = alipay_keys_set_app_private_key_file(s->keys, a->app_private_key_resolved);
	if (r < 0)
		return r;
	if (a->cert_mode) {
		if ((r = alipay_keys_set_app_cert_file(s->keys, a->app_cert_resolved)) < 0 ||
		    (r = alipay_keys_set_alipay_cert_file(s->keys, a->alipay_cert_resolved)) < 0 ||
		    (r = alipay_keys_set_alipay_root_cert_file(s->keys,
							       a->alipay_root_cert_resolved)) < 0)
			return r;
	} else {
		if (!a->alipay_public_key_resolved)
			return log_error_errno(EINVAL, "No Alipay public key configured");
		/* PROTOCOL §2.2: the app public key configured as Alipay's is refused here. */
		r = alipay_keys_set_alipay_public_key_file(s->keys, a->alipay_public_key_resolved);
		if (r < 0)
			return r;
	}
	return alipay_keys_check(s->keys);
}

static void
scanner_config_from(const struct config_scanner *c, struct scanner_config *sc)
{
	scanner_config_init(sc);
	sc->name = c->name;
	switch (c->kind) {
	case CONFIG_SCANNER_EVDEV:
		sc->kind = SCANNER_KIND_EVDEV;
		sc->match_path = c->by_id;
		break;
	case CONFIG_SCANNER_SERIAL:
		sc->kind = SCANNER_KIND_SERIAL;
		sc->match_path = c->device;
		break;
	default:
		sc->kind = SCANNER_KIND_HIDPOS;
		break;
	}
	sc->match_vidpid = c->has_usb_id;
	sc->vid = c->usb_vid;
	sc->pid = c->usb_pid;
	sc->match_name = c->name_pattern;
	if (c->layout)
		sc->layout = c->layout;
	switch (c->suffix) {
	case CONFIG_SUFFIX_KP_ENTER:
		sc->suffix = SCANNER_SUFFIX_KP_ENTER;
		break;
	case CONFIG_SUFFIX_TAB:
		sc->suffix = SCANNER_SUFFIX_TAB;
		break;
	case CONFIG_SUFFIX_NONE:
		sc->suffix = SCANNER_SUFFIX_NONE;
		break;
	default:
		sc->suffix = SCANNER_SUFFIX_ENTER;
		break;
	}
	if (c->interkey_timeout_usec)
		sc->interkey_timeout_usec = c->interkey_timeout_usec;
	if (c->baud)
		sc->baud = c->baud;
	sc->framing = c->framing == CONFIG_FRAMING_LF     ? SCANNER_FRAMING_LF
		      : c->framing == CONFIG_FRAMING_CRLF ? SCANNER_FRAMING_CRLF
							  : SCANNER_FRAMING_CR;
	sc->aim_strip = c->aim_strip;
	sc->honeywell_enable = c->honeywell_enable;
	if (c->max_length)
		sc->max_len = c->max_length;
}

static void
gateway_watch_done(const struct gateway_result *gr, void *userdata)
{
	struct gateway_watch_call *c = userdata;
	gateway_done_t done = c->done;
	void *ud = c->userdata;

	c->w->last = gr ? gr->res.cls : ALIPAY_CLASS_UNKNOWN;
	c->w->last_usec = now_usec(CLOCK_REALTIME);
	free(c);
	done(gr, ud);
}

static int
gateway_watch_submit(void *userdata, const struct gateway_call *call, gateway_done_t done,
		     void *done_userdata, void **ret_handle)
{
	struct gateway_watch *w = userdata;
	struct gateway_watch_call *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct gateway_watch_call){.w = w, .done = done, .userdata = done_userdata};
	r = w->inner.submit(w->inner.userdata, call, gateway_watch_done, c, &c->inner);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret_handle = c;
	return 0;
}

static void
gateway_watch_cancel(void *userdata, void *handle)
{
	struct gateway_watch *w = userdata;
	struct gateway_watch_call *c = handle;

	w->inner.cancel(w->inner.userdata, c->inner);
	free(c);
}

static int
stack_display(struct stack *s)
{
	const struct config_display *d = &s->cfg->display;
	char spec[1024];

	switch (d->backend) {
	case CONFIG_DISPLAY_NONE:
		return 0;
	case CONFIG_DISPLAY_TTY:
		snprintf(spec, sizeof(spec), "tty");
		break;
	case CONFIG_DISPLAY_FB:
		snprintf(spec, sizeof(spec), "fb:%s", d->target);
		break;
	case CONFIG_DISPLAY_PNG:
		snprintf(spec, sizeof(spec), "png:%s,size=%ux%u", d->target, d->width, d->height);
		break;
	default:
		return -EINVAL;
	}
	return display_new(spec, &s->display);
}

/* Reports go beside the journal (the state directory); the schedule comes from [reconcile]. */
static int
stack_reconcile(struct manager *m, const struct config *cfg, struct stack *s)
{
	struct reconcile_config rc;
	char dir[4096];
	const char *slash = strrchr(cfg->journal.path, '/');
	int r;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - cfg->journal.path) : 1,
		 slash ? cfg->journal.path : ".");
	reconcile_config_init(&rc);
	rc.state_dir = *dir ? dir : "/";
	rc.terminal = cfg->terminal.terminal_id;
	rc.client = &s->client;
	rc.schedule = cfg->reconcile.enabled;
	rc.schedule_minute = cfg->reconcile.time_min;
	rc.max_attempts = cfg->reconcile.retries + 1;
	r = reconcile_new(m->event, s->http, m->journal, &rc, &s->reconcile);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the reconciliation: %m");
	return 0;
}

static int
stack_build_in(struct manager *m, const struct config *cfg, struct stack *s)
{
	const struct config_alipay *a = &cfg->alipay;
	struct http_client_config hc = {.ca_file = a->ca_file};
	struct gateway_alipay_config gc = {
		.timeout_usec = a->total_timeout_usec,
		.store_id = cfg->terminal.store_id,
		.terminal_id = cfg->terminal.terminal_id,
	};
	struct engine_config ec = {.terminal = cfg->terminal.terminal_id};
	struct gateway ops;
	int r;

	*s = (struct stack){.cfg = cfg};
	r = stack_keys(s);
	if (r < 0)
		return r;
	s->client = (struct alipay_client_config){
		.gateway_url = a->gateway_url,
		.app_id = a->app_id,
		.sign_type = a->sign_type == CONFIG_SIGN_RSA ? ALIPAY_SIGN_RSA : ALIPAY_SIGN_RSA2,
		.charset =
			a->charset == CONFIG_CHARSET_GBK ? ALIPAY_CHARSET_GBK : ALIPAY_CHARSET_UTF8,
		.notify_url = a->notify_url,
		.app_auth_token = a->app_auth_token,
		.keys = s->keys,
	};
	r = http_client_new_sd_event(m->event, &hc, &s->http);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the HTTPS client: %m");
	gc.client = &s->client;
	r = gateway_alipay_new(m->event, s->http, &gc, &s->ga);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the gateway client: %m");

	/* DESIGN.md timings; QR orders are also polled, so a lost notification costs nothing. */
	order_config_init(&ec.fsm);
	ec.fsm.query_interval_usec = cfg->timing.query_interval_usec;
	ec.fsm.max_queries = cfg->timing.query_count;
	ec.fsm.cancel_interval_usec = cfg->timing.cancel_interval_usec;
	ec.fsm.cancel_retries = cfg->timing.cancel_count;
	ec.fsm.attention_initial_usec = cfg->timing.attention_backoff_usec;
	ec.fsm.attention_max_usec = cfg->timing.attention_backoff_max_usec;
	ec.fsm.pay_timeout_usec = cfg->timing.timeout_express_usec;
	ec.fsm.qr_timeout_usec = cfg->timing.qr_shown_usec;
	ec.fsm.qr_poll_interval_usec = cfg->timing.query_interval_usec;
	if (ec.fsm.refund_retry_usec > cfg->timing.query_interval_usec)
		ec.fsm.refund_retry_usec = cfg->timing.query_interval_usec;
	s->watch = (struct gateway_watch){.inner = gateway_alipay_ops(s->ga),
					  .last = _ALIPAY_CLASS_MAX};
	ops = (struct gateway){
		.submit = gateway_watch_submit,
		.cancel = gateway_watch_cancel,
		.userdata = &s->watch,
	};
	r = engine_new(m->event, m->journal, &ec, &ops, &s->engine);
	if (r < 0)
		return log_error_errno(r, "Failed to create the order engine: %m");
	r = engine_subscribe(s->engine, on_transition, m, &s->sub);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the order engine: %m");
	/* DESIGN.md "Journal": every unfinished order is resumed before new ones are taken. */
	r = engine_start(s->engine);
	if (r < 0)
		return r;
	r = stack_reconcile(m, cfg, s);
	if (r < 0)
		return r;

	for (size_t i = 0; i < cfg->n_scanners; i++) {
		struct scanner_config sc;

		scanner_config_from(&cfg->scanners[i], &sc);
		r = scanner_new(&sc, &s->scanners[i]);
		if (r < 0)
			return log_error_errno(r, "Scanner %s: cannot be set up: %m", sc.name);
		s->n_scanners = i + 1;
		r = scanner_sd_attach(s->scanners[i], m->event, on_scanner, m, &s->scanner_sd[i]);
		if (r < 0)
			return log_error_errno(r, "Scanner %s: cannot be watched: %m", sc.name);
	}
	r = stack_display(s);
	if (r < 0)
		return log_error_errno(r, "The display cannot be set up: %m");
	return 0;
}

/* A new stack in *ret, or -errno (logged). */
static int
stack_build(struct manager *m, const struct config *cfg, struct stack **ret)
{
	struct stack *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = stack_build_in(m, cfg, s);
	if (r < 0) {
		stack_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int
manager_new(sd_event *event, const struct config *cfg, struct manager **ret)
{
	struct manager *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(event);
	m->boot = time(NULL);
	m->screen = _DISPLAY_SCREEN_MAX;
	r = journal_open(cfg->journal.path, &m->journal);
	if (r < 0) {
		manager_free(m);
		return r;
	}
	r = stack_build(m, cfg, &m->s);
	if (r < 0) {
		manager_free(m);
		return r;
	}
	show_idle(m);
	*ret = m;
	return 0;
}

struct manager *
manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	m->waiting.expiry = sd_event_source_disable_unref(m->waiting.expiry);
	m->screen_timer = sd_event_source_disable_unref(m->screen_timer);
	m->display_retry = sd_event_source_disable_unref(m->display_retry);
	m->reload_defer = sd_event_source_disable_unref(m->reload_defer);
	m->status_defer = sd_event_source_disable_unref(m->status_defer);
	m->s = stack_free(m->s);
	config_free(m->pending_cfg);
	journal_close(m->journal);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

void
manager_set_api(struct manager *m, struct api *api)
{
	m->api = api;
}

unsigned
manager_busy(const struct manager *m)
{
	return (m->waiting.active ? 1 : 0) + (m->s->engine ? engine_active_count(m->s->engine) : 0);
}

static int
manager_apply(struct manager *m, struct config *cfg)
{
	struct stack *ns = NULL;
	int r;

	/* The scanners hold their devices: the old ones go first, and come back on failure. */
	for (size_t i = 0; i < m->s->n_scanners; i++) {
		m->s->scanner_sd[i] = scanner_sd_detach(m->s->scanner_sd[i]);
		m->s->scanners[i] = scanner_free(m->s->scanners[i]);
	}
	m->s->n_scanners = 0;
	r = stack_build(m, cfg, &ns);
	if (r < 0) {
		for (size_t i = 0; i < m->s->cfg->n_scanners; i++) {
			struct scanner_config sc;
			scanner_config_from(&m->s->cfg->scanners[i], &sc);
			if (scanner_new(&sc, &m->s->scanners[i]) < 0)
				break;
			m->s->n_scanners = i + 1;
			(void)scanner_sd_attach(m->s->scanners[i], m->event, on_scanner, m,
						&m->s->scanner_sd[i]);
		}
		return r;
	}
	stack_free(m->s);
	m->s = ns;
	m->s->owned = cfg;
	m->screen = _DISPLAY_SCREEN_MAX;
	show_current(m);
	log_info("Configuration from %s applied", strna(cfg->source));
	return 0;
}

static int
count_blocking_order(const struct journal_order *o, void *userdata)
{
	unsigned *n = userdata;

	/* An order in ATTENTION may stay for days; like a restart, the new engine resumes it. */
	if (o->fsm.state != ORDER_ATTENTION)
		(*n)++;
	return 0;
}

static int
count_refund(const struct journal_refund *r, void *userdata)
{
	unsigned *n = userdata;

	(*n)++;
	return 0;
}

/* "Between orders": no scan order waiting, nothing in flight but orders in ATTENTION. */
static bool
reload_blocked(struct manager *m)
{
	unsigned n = 0;

	if (m->waiting.active)
		return true;
	if (journal_order_foreach(m->journal, true, count_blocking_order, &n) < 0 ||
	    journal_refund_foreach(m->journal, true, count_refund, &n) < 0)
		return true;
	return n > 0;
}

static int
reload_defer_cb(sd_event_source *es, void *userdata)
{
	struct manager *m = userdata;
	struct config *c;

	m->reload_defer = sd_event_source_disable_unref(m->reload_defer);
	if (!m->pending_cfg || reload_blocked(m))
		return 0;
	c = TAKE_PTR(m->pending_cfg);
	if (manager_apply(m, c) < 0) {
		log_warning(
			"Keeping the old configuration: the new one cannot be used (see above)");
		config_free(c);
	}
	return 0;
}

/*
 * Called after anything that may have made the terminal idle. The engine is in the middle of
 * a transition here (its observers run inside it): the new stack replaces it from the loop.
 */
static void
apply_pending_reload(struct manager *m)
{
	if (!m->pending_cfg || m->reload_defer)
		return;
	if (sd_event_add_defer(m->event, &m->reload_defer, reload_defer_cb, m) < 0)
		log_warning("Cannot schedule the configuration reload");
}

int
manager_reload(struct manager *m, struct config *cfg)
{
	int r;

	if (reload_blocked(m)) {
		config_free(m->pending_cfg);
		m->pending_cfg = cfg;
		log_info("Configuration reload deferred until the orders in progress are settled");
		return 1;
	}
	r = manager_apply(m, cfg);
	if (r < 0)
		log_warning(
			"Keeping the old configuration: the new one cannot be used (see above)");
	return r;
}

/* ---- the API backend ---- */

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

static void
be_order_create(void *userdata, struct api_call *call, const struct api_order_request *req)
{
	struct manager *m = userdata;
	const char *subject = req->subject                     ? req->subject
			      : m->s->cfg->terminal.store_name ? m->s->cfg->terminal.store_name
							       : DEFAULT_SUBJECT;
	char id[ORDER_ID_MAX + 1];
	int r;

	if (strlen(subject) > JOURNAL_SUBJECT_MAX) {
		api_call_fail(call, 400, "invalid_field", "'subject' is longer than %d bytes",
			      JOURNAL_SUBJECT_MAX);
		return;
	}
	if (req->mode == API_ORDER_SCAN && !req->auth_code) {
		char date[BEIJING_DATE_BUF];
		usec_t expiry;

		if (m->waiting.active) {
			api_call_fail(call, 409, "scan_order_waiting",
				      "order %s is already waiting for the scanner: cancel it or "
				      "send an auth_code",
				      m->waiting.id);
			return;
		}
		m->waiting = (struct waiting){.active = true, .amount_fen = req->amount_fen};
		snprintf(m->waiting.id, sizeof(m->waiting.id), "%s_%sw%" PRIu64 "_%u",
			 m->s->cfg->terminal.terminal_id, beijing_format_date(m->boot, 0, date),
			 (uint64_t)(m->boot % 100000), ++m->waiting_seq);
		snprintf(m->waiting.subject, sizeof(m->waiting.subject), "%s", subject);
		if (req->pos_ref)
			snprintf(m->waiting.pos_ref, sizeof(m->waiting.pos_ref), "%s",
				 req->pos_ref);
		m->waiting.created_usec = manager_now(m);
		/* Nobody scanned in time: the order lapses like a QR leaving the screen. */
		expiry = m->s->cfg->timing.qr_shown_usec;
		(void)sd_event_add_time_relative(m->event, &m->waiting.expiry, CLOCK_MONOTONIC,
						 expiry, USEC_PER_SEC, waiting_expired_cb, m);
		log_info("Scan order %s for %" PRId64 " fen waits for a payment code",
			 m->waiting.id, req->amount_fen);
		manager_broadcast(m, "order",
				  waiting_to_json(m->waiting.id, m->waiting.amount_fen,
						  m->waiting.subject, m->waiting.pos_ref,
						  WAITING_STATE));
		show_waiting(m);
		manager_notify_status(m);
		api_call_reply(call, 201,
			       waiting_to_json(m->waiting.id, m->waiting.amount_fen,
					       m->waiting.subject, m->waiting.pos_ref,
					       WAITING_STATE));
		return;
	}
	r = engine_order_new(m->s->engine,
			     req->mode == API_ORDER_QR ? ORDER_KIND_QR : ORDER_KIND_SCAN,
			     req->amount_fen, subject, req->auth_code, req->pos_ref, id);
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
	if (r < 0) {
		api_call_fail(call, 500, "internal", "the order could not be journaled: %s",
			      strerror(-r));
		return;
	}
	reply_order(m, call, r == 1 ? 200 : 201, id);
}

static void
be_order_get(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	const struct resolved *rs;
	struct journal_order o;

	if (m->waiting.active && STR_EQ(id, m->waiting.id)) {
		api_call_reply(call, 200,
			       waiting_to_json(m->waiting.id, m->waiting.amount_fen,
					       m->waiting.subject, m->waiting.pos_ref,
					       WAITING_STATE));
		return;
	}
	rs = resolved_find(m, id);
	if (rs && rs->canceled) {
		api_call_reply(call, 200,
			       waiting_to_json(rs->waiting_id, rs->amount_fen, rs->subject,
					       rs->pos_ref, "CANCELED"));
		return;
	}
	if (rs)
		id = rs->order_id;
	if (engine_order_get(m->s->engine, id, &o) < 0) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	api_call_reply(call, 200, order_to_json(&o));
}

struct list_ctx {
	struct json_object *arr;
	const char *state;
	const char *date;
};

static int
list_one(const struct journal_order *o, void *userdata)
{
	struct list_ctx *l = userdata;
	char st[32], date[BEIJING_DATE_BUF];

	if (l->state && !STR_EQ(l->state, state_upper(o->fsm.state, st)))
		return 0;
	if (l->date && !STR_EQ(l->date, beijing_format_date(
						(time_t)(o->created_usec / USEC_PER_SEC), 1, date)))
		return 0;
	if (json_object_array_length(l->arr) >= ORDER_LIST_MAX)
		json_object_array_del_idx(l->arr, 0, 1);
	return json_object_array_add(l->arr, order_to_json(o)) < 0 ? -ENOMEM : 0;
}

static void
be_order_list(void *userdata, struct api_call *call, const char *state, const char *date)
{
	struct manager *m = userdata;
	struct list_ctx l = {.arr = json_object_new_array(), .state = state, .date = date};
	struct json_object *j;
	int r;

	if (!l.arr) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	r = journal_order_foreach(m->journal, false, list_one, &l);
	if (r < 0) {
		json_object_put(l.arr);
		api_call_fail(call, 500, "internal", "the journal cannot be read: %s",
			      strerror(-r));
		return;
	}
	if (m->waiting.active && (!state || STR_EQ(state, WAITING_STATE)))
		json_object_array_add(l.arr, waiting_to_json(m->waiting.id, m->waiting.amount_fen,
							     m->waiting.subject, m->waiting.pos_ref,
							     WAITING_STATE));
	j = json_object_new_object();
	if (!j) {
		json_object_put(l.arr);
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	json_object_object_add(j, "orders", l.arr);
	api_call_reply(call, 200, j);
}

static void
be_order_cancel(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	const struct resolved *rs;
	int r;

	if (m->waiting.active && STR_EQ(id, m->waiting.id)) {
		struct display_screen scr = {
			.kind = DISPLAY_SCREEN_CANCELED,
			.store_name = m->s->cfg->terminal.store_name,
			.amount_fen = m->waiting.amount_fen,
			.seconds_left = -1,
		};
		struct json_object *j =
			waiting_to_json(m->waiting.id, m->waiting.amount_fen, m->waiting.subject,
					m->waiting.pos_ref, "CANCELED");
		log_info("Scan order %s canceled before a code arrived", m->waiting.id);
		waiting_end(m, NULL, "CANCELED");
		manager_show(m, &scr, NULL);
		screen_timer_arm(m, RESULT_SCREEN_USEC);
		api_call_reply(call, 202, j);
		if (m->pending_cfg)
			apply_pending_reload(m);
		return;
	}
	rs = resolved_find(m, id);
	if (rs && rs->canceled) {
		api_call_fail(call, 409, "not_cancelable", "order %s is already CANCELED", id);
		return;
	}
	if (rs)
		id = rs->order_id;
	r = engine_order_abort(m->s->engine, id);
	if (r == -EALREADY) {
		struct journal_order o;
		char st[32] = "final";
		if (engine_order_get(m->s->engine, id, &o) >= 0)
			state_upper(o.fsm.state, st);
		api_call_fail(call, 409, "not_cancelable", "order %s is already %s", id, st);
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

static void
be_order_refund(void *userdata, struct api_call *call, const char *id,
		const struct api_refund_request *req, const char *ref)
{
	struct manager *m = userdata;
	char refund_id[REFUND_ID_MAX + 1];
	const struct resolved *rs = resolved_find(m, id);
	struct journal_refund rf;
	int r;

	if (rs && !rs->canceled)
		id = rs->order_id;
	/* The same Idempotency-Key never refunds twice (while remembered). */
	for (unsigned i = 0; ref && i < m->n_refund_refs; i++)
		if (STR_EQ(m->refund_refs[i].ref, ref)) {
			if (!STR_EQ(m->refund_refs[i].order_id, id)) {
				api_call_fail(call, 409, "idempotency_mismatch",
					      "Idempotency-Key was used for order %s",
					      m->refund_refs[i].order_id);
				return;
			}
			if (journal_refund_get(m->journal, m->refund_refs[i].refund_id, &rf) < 0) {
				api_call_fail(call, 500, "internal", "the refund cannot be read");
				return;
			}
			api_call_reply(call, 200, refund_to_json(&rf));
			return;
		}
	r = engine_refund_new(m->s->engine, id, req->amount_fen, req->reason, refund_id);
	switch (r) {
	case 0:
		break;
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
	if (ref && strlen(ref) <= API_POS_REF_MAX) {
		if (m->n_refund_refs == REFUND_REFS_MAX) {
			memmove(&m->refund_refs[0], &m->refund_refs[1],
				sizeof(m->refund_refs[0]) * (REFUND_REFS_MAX - 1));
			m->n_refund_refs--;
		}
		struct refund_ref *rr = &m->refund_refs[m->n_refund_refs++];
		snprintf(rr->ref, sizeof(rr->ref), "%s", ref);
		snprintf(rr->refund_id, sizeof(rr->refund_id), "%s", refund_id);
		snprintf(rr->order_id, sizeof(rr->order_id), "%s", id);
	}
	if (journal_refund_get(m->journal, refund_id, &rf) < 0) {
		api_call_fail(call, 500, "internal", "the refund cannot be read");
		return;
	}
	api_call_reply(call, 201, refund_to_json(&rf));
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
	json_object_object_add(o, "active_orders",
			       json_object_new_int((int)engine_active_count(m->s->engine)));
	json_object_object_add(o, "waiting_for_code",
			       m->waiting.active ? json_object_new_string(m->waiting.id) : NULL);
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
			json_object_new_boolean(m->s->display && display_is_up(m->s->display)));
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
	json_object_object_add(o, "config_reload_pending",
			       json_object_new_boolean(m->pending_cfg != NULL));
	(void)reconcile_status_add(m->s->reconcile, o);
	api_call_reply(call, 200, o);
}

static void
be_reconciliation(void *userdata, struct api_call *call, const char *date)
{
	struct manager *m = userdata;

	reconcile_api_get(m->s->reconcile, call, date);
}

static const struct api_backend manager_backend = {
	.order_create = be_order_create,
	.order_get = be_order_get,
	.order_list = be_order_list,
	.order_cancel = be_order_cancel,
	.order_refund = be_order_refund,
	.status = be_status,
	.reconciliation = be_reconciliation,
};

const struct api_backend *
manager_api_backend(void)
{
	return &manager_backend;
}

/* ---- the notify receiver (PROTOCOL §4) ---- */

static bool
notify_record(struct manager *m, const char *out_trade_no, const char *body, size_t len,
	      bool verified, const char *outcome)
{
	int r = journal_notification_add(m->journal, out_trade_no, body, len, verified, outcome,
					 manager_now(m));
	if (r < 0)
		log_error_errno(r, "Failed to record a notification: %m");
	return r >= 0;
}

enum notify_verdict
manager_notify(void *userdata, const char *content_type, const char *body, size_t len)
{
	struct manager *m = userdata;
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	const struct config_alipay *a = &m->s->cfg->alipay;
	struct journal_order o;
	const char *why = NULL;
	bool ok = false;
	int r;

	m->notifications++;
	r = alipay_notify_parse(body, len, alipay_keys_get_alipay_public_key(m->s->keys), &n);
	if (r < 0) {
		/* Unverified, it is a stranger's: nothing is written (the listener counts it). */
		m->notifications_forged++;
		return NOTIFY_FORGED;
	}
	/* PROTOCOL §4 business checks: ours, for this app and seller, for this amount. */
	if (!n.app_id || !STR_EQ(n.app_id, a->app_id))
		why = "app_id is not ours";
	else if (a->seller_id && (!n.seller_id || !STR_EQ(n.seller_id, a->seller_id)))
		why = "seller_id is not ours";
	else if (!n.out_trade_no || engine_order_get(m->s->engine, n.out_trade_no, &o) < 0)
		why = "out_trade_no is not one of our orders";
	else if (n.total_amount_fen != o.amount_fen)
		why = "total_amount differs from the order's amount";
	if (why) {
		(void)notify_record(m, n.out_trade_no, body, len, true, why);
		log_warning("Notification for %s refused: %s", strna(n.out_trade_no), why);
		alipay_notify_done(&n);
		return NOTIFY_REFUSED;
	}
	/* The raw record first: if it cannot be kept, Alipay must send it again. */
	if (notify_record(m, n.out_trade_no, body, len, true,
			  alipay_trade_status_to_string(n.trade_status))) {
		enum order_trade_status st = order_trade_status_from_string(
			alipay_trade_status_to_string(n.trade_status));
		r = engine_order_notify(m->s->engine, n.out_trade_no, st);
		ok = r >= 0;
		if (r < 0)
			log_error_errno(r, "Notification for %s not applied: %m", n.out_trade_no);
	}
	alipay_notify_done(&n);
	return ok ? NOTIFY_ACCEPTED : NOTIFY_REFUSED;
}

/* ---- --list-scanners ---- */

static void
list_one_scanner(enum scanner_kind kind, const char *node, uint16_t vid, uint16_t pid,
		 const char *name, void *userdata)
{
	FILE *f = userdata;

	fprintf(f, "%-7s %-40s %04x:%04x  %s\n", scanner_kind_to_string(kind), strna(node), vid,
		pid, strna(name));
}

int
manager_list_scanners(FILE *f)
{
	int total = 0;

	fprintf(f, "%-7s %-40s %-9s  %s\n", "KIND", "DEVICE", "VID:PID", "NAME");
	for (int k = 0; k < _SCANNER_KIND_MAX; k++) {
		int r = scanner_list((enum scanner_kind)k, list_one_scanner, f);
		if (r < 0)
			log_warning_errno(r, "Cannot list %s devices: %m",
					  scanner_kind_to_string((enum scanner_kind)k));
		else
			total += r;
	}
	fprintf(f, "%d device%s\n", total, total == 1 ? "" : "s");
	return 0;
}
