/* SPDX-License-Identifier: MIT */
/* The manager: its life, reloads between orders and the engine observer. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/manager-private.h"
#include "daemon/service-notify.h"

static int
status_defer_cb(sd_event_source *es, void *userdata)
{
	struct manager *m = userdata;
	struct health h = {};
	char line[sizeof(m->status_line)];

	m->status_defer = sd_event_source_disable_unref(m->status_defer);
	manager_health(m, &h);
	(void)health_status_line(&h, manager_busy(m), line, sizeof(line));
	/* doc/engine.md "Time": said beside the conditions, not one of them — many hosts run
	 * without NTP and keep good time; /health stays about what stops payments. */
	strncat(line, manager_clock_note(), sizeof(line) - strlen(line) - 1);
	if (STR_EQ(line, m->status_line))
		return 0;
	snprintf(m->status_line, sizeof(m->status_line), "%s", line);
	service_notify("STATUS=%s", line);
	return 0;
}

const char *
manager_clock_note(void)
{
	return clock_is_synchronized() == 0 ? "; the clock is not synchronized" : "";
}

/*
 * systemctl status shows how many orders are in progress and every problem condition
 * (daemon/health.h), sent when that changes. Counted from the loop: inside a transition the
 * engine still holds an order that just became final.
 */
void
manager_notify_status(struct manager *m)
{
	if (m->status_defer)
		return;
	/* At idle priority: the transitions of a burst share one count, after their I/O. */
	if (sd_event_add_defer(m->event, &m->status_defer, status_defer_cb, m) >= 0)
		(void)sd_event_source_set_priority(m->status_defer, SD_EVENT_PRIORITY_IDLE);
}

static int
log_defer_cb(sd_event_source *es, void *userdata)
{
	struct manager *m = userdata;

	m->log_defer = sd_event_source_disable_unref(m->log_defer);
	log_hold(false);
	return 0;
}

/*
 * doc/performance.md "What the daemon does for them": a scanned code's lines (the scan, the
 * order's transitions) are written once the loop is idle, after the pay has left. Their writes
 * wake journald, which would take a CPU from the pay's signature on a till of two cores.
 */
void
manager_hold_log(struct manager *m)
{
	if (!m->log_defer) {
		if (sd_event_add_defer(m->event, &m->log_defer, log_defer_cb, m) < 0)
			return; /* written at once, as without */
		(void)sd_event_source_set_priority(m->log_defer, SD_EVENT_PRIORITY_IDLE);
	}
	log_hold(true);
}

/* ---- engine observer ---- */

void
on_transition(const struct engine_transition *t, void *userdata)
{
	struct manager *m = userdata;
	struct json_object *j;

	/* An order into or out of ATTENTION: manager_health() counts them again. */
	if (t->refund || t->from == ORDER_ATTENTION || t->order->fsm.state == ORDER_ATTENTION)
		m->attention = -1;
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
		waiting_follow(m, t->order);
		qr_wait_transition(m, t->order);
		/* The display follows the newest order; a waiting scan order keeps it. */
		if ((isempty(m->waiting_id) || STR_EQ(m->waiting_id, t->order->fsm.id)) &&
		    (isempty(m->display_order) || STR_EQ(m->display_order, t->order->fsm.id) ||
		     t->from == ORDER_NEW || display_order_settled(m)))
			show_order(m, t->order);
	}
	if (!t->refund && order_state_is_final(t->order->fsm.state) &&
	    !order_state_is_final(t->from))
		metrics_order_final(&m->metrics, t->order->fsm.state);
	manager_notify_status(m);
	manager_checkpoint_soon(m);
	if (m->pending_cfg)
		apply_pending_reload(m);
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
	m->screen = _DISPLAY_SCREEN_MAX;
	m->attention = -1;
	r = journal_space_check_writable(cfg->journal.path);
	if (r < 0) {
		manager_free(m);
		return r;
	}
	r = journal_open_marked(cfg->journal.path, &m->journal);
	if (r < 0) {
		manager_free(m);
		return r;
	}
	r = journal_space_new(&m->space, event, m->journal, cfg->journal.path,
			      manager_space_changed, m);
	if (r < 0) {
		manager_free(m);
		return r;
	}
	r = stack_build(m, cfg, &m->s);
	if (r < 0) {
		manager_free(m);
		return r;
	}
	waiting_find(m);
	show_current(m);
	*ret = m;
	return 0;
}

struct manager *
manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	if (m->s)
		qr_wait_free_all(m);
	m->screen_timer = sd_event_source_disable_unref(m->screen_timer);
	m->display_retry = sd_event_source_disable_unref(m->display_retry);
	manager_draw_free(m);
	m->reload_defer = sd_event_source_disable_unref(m->reload_defer);
	m->status_defer = sd_event_source_disable_unref(m->status_defer);
	m->log_defer = sd_event_source_disable_unref(m->log_defer);
	log_hold(false);
	m->checkpoint_defer = sd_event_source_disable_unref(m->checkpoint_defer);
	manager_set_notify(m, NULL);
	m->s = stack_free(m->s);
	config_free(m->pending_cfg);
	m->space = journal_space_free(m->space);
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

int
manager_settle(struct manager *m)
{
	return m->s && m->s->engine ? engine_flush(m->s->engine) : 0;
}

unsigned
manager_busy(const struct manager *m)
{
	/* The scan order waiting for its code is one of the engine's. */
	return m->s->engine ? engine_active_count(m->s->engine) : 0;
}

static int
manager_apply(struct manager *m, struct config *cfg)
{
	struct stack *ns = NULL;
	int r, k;

	/* The engine is built again: the final transitions waiting for their sync are told by
	 * this one first. */
	(void)manager_settle(m);
	/* The scanners hold their devices and the displays theirs (the web page's port, a pole's
	 * serial line): the old ones go first, and come back on failure. */
	for (size_t i = 0; i < m->s->n_scanners; i++) {
		m->s->scanner_sd[i] = scanner_sd_detach(m->s->scanner_sd[i]);
		m->s->scanners[i] = scanner_free(m->s->scanners[i]);
	}
	m->s->n_scanners = 0;
	m->s->display = display_set_free(m->s->display);
	r = stack_build(m, cfg, &ns);
	if (r < 0) {
		k = stack_display(m->s, m->event);
		if (k < 0)
			log_warning_errno(k, "The display cannot be set up again: %m");
		m->screen = _DISPLAY_SCREEN_MAX;
		m->drawn = false;
		show_current(m);
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
	m->attention = -1; /* a new engine: counted again */
	m->screen = _DISPLAY_SCREEN_MAX;
	m->drawn = false; /* a new display: whatever the old one showed is drawn again */
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

/* "Between orders": nothing in flight (a scan order waiting for its code included) but orders
 * in ATTENTION. */
static bool
reload_blocked(struct manager *m)
{
	unsigned n = 0;

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
void
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
