/* SPDX-License-Identifier: MIT */
/* The terminal's problem conditions, and the monitoring resources built from them. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macro.h"
#include "daemon/manager-private.h"

static int
count_attention(const struct journal_order *o, void *userdata)
{
	unsigned *n = userdata;

	if (o->fsm.state == ORDER_ATTENTION)
		(*n)++;
	return 0;
}

void
manager_health(struct manager *m, struct health *h)
{
	char names[HEALTH_DETAIL_MAX] = "";
	unsigned n = 0;

	/* Counted again only after an order moved into or out of ATTENTION (on_transition()): the
	 * status line is computed after every burst of orders. */
	if (m->attention >= 0)
		n = (unsigned)m->attention;
	else if (journal_order_foreach(m->journal, true, count_attention, &n) >= 0)
		m->attention = (int)n;
	health_set(h, HEALTH_ATTENTION, n, "f2fpayctl orders --state ATTENTION");
	/* A call that got no trustworthy answer at all: network, DNS, TLS, or the gateway down. */
	health_set(h, HEALTH_GATEWAY_UNREACHABLE,
		   m->s->watch.last != _ALIPAY_CLASS_MAX && !m->s->watch.last_answered, NULL);
	/* doc/engine.md "Time": a refused timestamp is the clock, and is said so. */
	health_set(h, HEALTH_GATEWAY_CONFIG, m->s->watch.last == ALIPAY_CLASS_CONFIG,
		   m->s->watch.last_clock_refused ? "the terminal's clock is wrong"
						  : "see journalctl -u f2fpayd");
	n = 0;
	for (size_t i = 0; i < m->s->n_scanners; i++) {
		if (scanner_get_state(m->s->scanners[i]) != SCANNER_STATE_MISSING)
			continue;
		size_t len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", n ? ", " : "",
			 scanner_get_config(m->s->scanners[i])->name);
		n++;
	}
	health_set(h, HEALTH_SCANNER_MISSING, n, names);
	names[0] = 0;
	n = 0;
	for (size_t i = 0; i < display_set_size(m->s->display); i++) {
		const struct display *d = display_set_get(m->s->display, i);
		size_t len = strlen(names);
		if (display_is_up(d))
			continue;
		snprintf(names + len, sizeof(names) - len, "%s%s", n ? ", " : "", display_spec(d));
		n++;
	}
	health_set(h, HEALTH_DISPLAY_DOWN, n, n ? names : NULL);
	health_set(h, HEALTH_JOURNAL_UNWRITABLE, !journal_space_writable(m->space),
		   "free space on the journal's filesystem");
}

/* The journal database and its write-ahead log, in bytes; -1 when it cannot be examined. */
static int64_t
journal_bytes(const char *path)
{
	char wal[4096];
	struct stat st;
	int64_t total;

	if (stat(path, &st) < 0)
		return -1;
	total = st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0)
		total += st.st_size;
	return total;
}

static int
render_metrics(struct manager *m, struct buf *out)
{
	struct metrics_device dev[METRICS_DEVICES_MAX];
	struct health h = {};
	size_t n = 0;

	manager_health(m, &h);
	for (size_t i = 0; i < m->s->n_scanners && n < METRICS_DEVICES_MAX - 1; i++)
		dev[n++] = (struct metrics_device){
			.kind = "scanner",
			.name = scanner_get_config(m->s->scanners[i])->name,
			.up = scanner_get_state(m->s->scanners[i]) == SCANNER_STATE_PRESENT,
		};
	/* "customer", then "customer-2"...: names that stay put when a display's path changes. */
	static const char *const display_names[] = {"customer",   "customer-2", "customer-3",
						    "customer-4", "customer-5", "customer-6",
						    "customer-7", "customer-8"};
	for (size_t i = 0; i < display_set_size(m->s->display) && i < ELEMENTSOF(display_names) &&
			   n < METRICS_DEVICES_MAX;
	     i++)
		dev[n++] = (struct metrics_device){
			.kind = "display",
			.name = display_names[i],
			.up = display_is_up(display_set_get(m->s->display, i)),
		};
	struct ship_progress sp;
	struct metrics_central mc;
	if (m->s->ship) {
		ship_progress(m->s->ship, &sp);
		mc = (struct metrics_central){.connected = sp.connected,
					      .backlog_events = sp.backlog_events,
					      .lag_seconds = sp.lag_seconds,
					      .events_shipped = sp.events_shipped};
	}
	struct metrics_gauges g = {
		.central = m->s->ship ? &mc : NULL,
		.health = &h,
		.orders_in_progress = manager_busy(m),
		.journal_bytes = journal_bytes(m->s->cfg->journal.path),
		.devices = dev,
		.n_devices = n,
		.version = F2FPAY_VERSION,
	};
	return metrics_format(&m->metrics, &g, out);
}

static int
render_json(struct json_object *j, struct buf *out)
{
	const char *text;
	int r;

	if (!j)
		return -ENOMEM;
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	r = text ? buf_printf(out, "%s\n", text) : -ENOMEM;
	json_object_put(j);
	return r;
}

struct json_object *
health_to_json(const struct health *h)
{
	struct json_object *list = json_object_new_array();

	for (int c = 0; list && c < _HEALTH_MAX; c++) {
		struct json_object *o;
		if (!h->count[c] || !(o = json_object_new_object()))
			continue;
		json_add_str(o, "name", health_condition_name((enum health_condition)c));
		json_object_object_add(o, "count", json_object_new_int((int)h->count[c]));
		if (h->detail[c][0])
			json_add_str(o, "detail", h->detail[c]);
		json_object_array_add(list, o);
	}
	return list;
}

/* {"status":"ok"|"degraded","orders_in_progress":N,"conditions":[{name,count,detail}…]}. */
static int
render_health(struct manager *m, struct buf *out)
{
	struct json_object *j = json_object_new_object(), *list;
	struct health h = {};
	int r;

	manager_health(m, &h);
	list = health_to_json(&h);
	if (!j || !list) {
		json_object_put(j);
		json_object_put(list);
		return -ENOMEM;
	}
	json_add_str(j, "status", health_ok(&h) ? "ok" : "degraded");
	json_object_object_add(j, "orders_in_progress", json_object_new_int((int)manager_busy(m)));
	json_object_object_add(j, "conditions", list);
	r = render_json(j, out);
	return r < 0 ? r : health_ok(&h) ? 200 : 503;
}

struct json_object *
manager_version_json(struct manager *m)
{
	struct json_object *j = json_object_new_object();

	if (j) {
		json_add_str(j, "name", "f2fpayd");
		json_add_str(j, "version", F2FPAY_VERSION);
		json_add_str(j, "terminal_id", m->s->cfg->terminal.terminal_id);
	}
	return j;
}

int
manager_monitor_render(void *userdata, const char *path, struct buf *out, const char **ret_type)
{
	struct manager *m = userdata;
	int r;

	if (STR_EQ(path, "/metrics")) {
		*ret_type = "text/plain; version=0.0.4; charset=utf-8";
		r = render_metrics(m, out);
		return r < 0 ? r : 200;
	}
	*ret_type = "application/json";
	if (STR_EQ(path, "/health"))
		return render_health(m, out);
	if (STR_EQ(path, "/version")) {
		r = render_json(manager_version_json(m), out);
		return r < 0 ? r : 200;
	}
	r = buf_puts(out, "{\"error\":\"not found: /metrics, /health and /version are served\"}\n");
	return r < 0 ? r : 404;
}
