/* SPDX-License-Identifier: MIT */
/* The customer display: which screen each order state shows (doc/design.md §10). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/manager-private.h"
#include "drivers/display/screen.h"

static int display_retry_cb(sd_event_source *s, uint64_t usec, void *userdata);

static void
display_arm_retry(struct manager *m)
{
	uint64_t at;

	if (!m->s->display || display_set_is_up(m->s->display))
		return;
	at = display_set_next_retry_usec(m->s->display);
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
	(void)display_set_retry(m->s->display, now_usec(CLOCK_MONOTONIC));
	display_arm_retry(m);
	manager_notify_status(m);
	return 0;
}

static int
draw_cb(sd_event_source *s, void *userdata)
{
	struct manager *m = userdata;

	if (s)
		(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	m->draw_delay = sd_event_source_disable_unref(m->draw_delay);
	m->draw_next = sd_event_source_disable_unref(m->draw_next);
	if (!m->s || !m->s->display)
		return 0;
	(void)sd_event_now(m->event, CLOCK_MONOTONIC, &m->drawn_usec);
	(void)display_set_show(m->s->display, &m->drawing);
	m->drawn = true;
	if (m->drawing.kind == DISPLAY_SCREEN_IDLE)
		manager_memory_idle(m);
	display_arm_retry(m);
	manager_notify_status(m);
	return 0;
}

/* The "processing" screen's delay or the frame interval is over (draw_cb() frees both). */
static int
draw_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	return draw_cb(NULL, userdata);
}

/* A "processing" screen waits this long: a pay answered sooner goes straight to its result. */
#define PROCESSING_DELAY_USEC (150 * USEC_PER_MSEC)

/*
 * Frames at most this often (20 a second): a screen that follows the last frame sooner waits
 * until then, and whatever screen is newest by then is drawn. Nobody reads a screen shown for
 * less; a till whose orders are seconds apart draws every screen the moment it comes.
 */
#define FRAME_INTERVAL_USEC (50 * USEC_PER_MSEC)

/* Draws the processing screen in PROCESSING_DELAY_USEC unless another screen replaces it. */
static void
draw_processing_later(struct manager *m)
{
	if (m->draw)
		(void)sd_event_source_set_enabled(m->draw, SD_EVENT_OFF);
	m->draw_next = sd_event_source_disable_unref(m->draw_next);
	if (m->draw_delay)
		return; /* already due: a second state of the same wait does not postpone it */
	if (sd_event_add_time_relative(m->event, &m->draw_delay, CLOCK_MONOTONIC,
				       PROCESSING_DELAY_USEC, 10 * USEC_PER_MSEC, draw_timer_cb,
				       m) < 0) {
		draw_cb(NULL, m);
		return;
	}
	(void)sd_event_source_set_priority(m->draw_delay, SD_EVENT_PRIORITY_IDLE);
}

/* Draws at the end of the frame interval if the last frame is more recent than that. */
static bool
draw_at_interval(struct manager *m)
{
	uint64_t now;

	if (m->draw_next)
		return true; /* due already: it draws the newest screen */
	if (m->drawn_usec == 0 || sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0 ||
	    now >= m->drawn_usec + FRAME_INTERVAL_USEC)
		return false;
	if (sd_event_add_time(m->event, &m->draw_next, CLOCK_MONOTONIC,
			      m->drawn_usec + FRAME_INTERVAL_USEC, USEC_PER_MSEC, draw_timer_cb,
			      m) < 0)
		return false;
	(void)sd_event_source_set_priority(m->draw_next, SD_EVENT_PRIORITY_IDLE);
	return true;
}

/*
 * Keeps the screen and draws it from the loop at idle priority: rendering and writing a frame
 * takes milliseconds, and a pay request waiting to be sent goes first. Screens shown in quick
 * succession are drawn once, the newest, and no more often than FRAME_INTERVAL_USEC; a screen
 * the display already shows is not drawn again; a "processing" screen is drawn only if the
 * answer takes longer than PROCESSING_DELAY_USEC (on a quick answer the buyer would not see it,
 * and the till would draw two frames for one).
 */
static void
draw_later(struct manager *m, const struct display_screen *scr)
{
	struct display_screen copy;

	if (m->drawn && display_screen_equal(&m->drawing, scr) && display_set_is_up(m->s->display))
		return;
	if (display_screen_copy(scr, &copy) < 0) {
		/* Out of memory: drawn now rather than not at all. */
		(void)display_set_show(m->s->display, scr);
		return;
	}
	display_screen_clear(&m->drawing);
	m->drawing = copy;
	m->drawn = false;
	/* Before the loop runs (starting up), the first screen is there by READY=1. */
	if (sd_event_get_state(m->event) == SD_EVENT_INITIAL) {
		draw_cb(m->draw, m);
		return;
	}
	if (scr->kind == DISPLAY_SCREEN_PROCESSING) {
		draw_processing_later(m);
		return;
	}
	m->draw_delay = sd_event_source_disable_unref(m->draw_delay);
	if (draw_at_interval(m)) {
		if (m->draw)
			(void)sd_event_source_set_enabled(m->draw, SD_EVENT_OFF);
		return;
	}
	if (!m->draw) {
		if (sd_event_add_defer(m->event, &m->draw, draw_cb, m) < 0) {
			draw_cb(NULL, m);
			return;
		}
		(void)sd_event_source_set_priority(m->draw, SD_EVENT_PRIORITY_IDLE);
	}
	(void)sd_event_source_set_enabled(m->draw, SD_EVENT_ONESHOT);
}

void
manager_draw_free(struct manager *m)
{
	m->draw = sd_event_source_disable_unref(m->draw);
	m->draw_delay = sd_event_source_disable_unref(m->draw_delay);
	m->draw_next = sd_event_source_disable_unref(m->draw_next);
	m->drawn_usec = 0;
	display_screen_clear(&m->drawing);
	m->drawn = false;
}

/* Each configured display and whether it works, for GET /v1/status. */
struct json_object *
display_outputs_json(struct manager *m)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < display_set_size(m->s->display); i++) {
		const struct display *d = display_set_get(m->s->display, i);
		struct json_object *o = json_object_new_object();
		if (!o)
			break;
		json_add_str(o, "display", display_spec(d));
		json_object_object_add(o, "up", json_object_new_boolean(display_is_up(d)));
		json_object_array_add(arr, o);
	}
	return arr;
}

void
manager_show(struct manager *m, const struct display_screen *scr, const char *order_id)
{
	struct json_object *j;
	bool changed = scr->kind != m->screen;

	m->screen = scr->kind;
	if (m->s->display) {
		struct display_screen shown = *scr;
		shown.language = m->s->cfg->display.language == CONFIG_LANG_ZH ? DISPLAY_LANGUAGE_ZH
				 : m->s->cfg->display.language == CONFIG_LANG_EN
					 ? DISPLAY_LANGUAGE_EN
					 : DISPLAY_LANGUAGE_BOTH;
		draw_later(m, &shown);
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
		j, "up",
		json_object_new_boolean(m->s->display && display_set_is_up(m->s->display)));
	manager_broadcast(m, "display", j);
}

void
show_idle(struct manager *m)
{
	struct display_screen scr = {
		.kind = DISPLAY_SCREEN_IDLE,
		.store_name = m->s->cfg->terminal.store_name,
		.seconds_left = -1,
	};

	m->display_order[0] = '\0';
	if (!m->s->display)
		manager_memory_idle(m);
	if (!journal_space_writable(m->space)) {
		/* No order can be taken: say so rather than welcome the next customer. */
		scr.kind = DISPLAY_SCREEN_FAILED;
		scr.reason_code = DISPLAY_REASON_JOURNAL;
	}
	manager_show(m, &scr, NULL);
}

static int screen_timer_cb(sd_event_source *s, uint64_t usec, void *userdata);

void
screen_timer_arm(struct manager *m, usec_t after_usec)
{
	m->screen_timer = sd_event_source_disable_unref(m->screen_timer);
	(void)sd_event_add_time_relative(m->event, &m->screen_timer, CLOCK_MONOTONIC, after_usec,
					 50 * USEC_PER_MSEC, screen_timer_cb, m);
}

/* The screen for an order's state (doc/design.md §10). */
void
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
	case ORDER_WAITING_CODE:
		scr.kind = DISPLAY_SCREEN_SHOW_CODE;
		break;
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
		/* A held order (a trade that is not ours) says why; see doc/engine.md. */
		scr.reason_code = order_is_held(&o->fsm) ? o->fsm.sub_code : DISPLAY_REASON_TIMEOUT;
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
		/* Ended while waiting for its code: nothing was sent, no subject. */
		if (o->fsm.kind == ORDER_KIND_SCAN && isempty(o->auth_code_masked))
			scr.subject = NULL;
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
void
show_current(struct manager *m)
{
	struct journal_order o;

	if (waiting_get(m, &o) >= 0) {
		show_order(m, &o);
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
bool
display_order_settled(struct manager *m)
{
	struct journal_order o;

	if (m->screen == DISPLAY_SCREEN_IDLE || isempty(m->display_order))
		return true;
	if (engine_order_get(m->s->engine, m->display_order, &o) < 0)
		return true;
	return order_state_is_final(o.fsm.state);
}
