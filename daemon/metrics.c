/* SPDX-License-Identifier: MIT */
/* Counters kept since start and their Prometheus text form. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/metrics.h"

static const unsigned latency_bounds_ms[METRICS_LATENCY_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000, 60000,
};

void
metrics_order_final(struct metrics *m, enum order_state s)
{
	if ((unsigned)s < _ORDER_STATE_MAX)
		m->orders_final[s]++;
}

void
metrics_gateway_call(struct metrics *m, enum gateway_call_kind k, bool answered,
		     enum alipay_class cls, usec_t latency_usec)
{
	if ((unsigned)k >= _GATEWAY_CALL_MAX)
		return;
	m->answers[k][answered && (unsigned)cls < _ALIPAY_CLASS_MAX ? cls : _ALIPAY_CLASS_MAX]++;
	for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++)
		if (latency_usec <= (usec_t)latency_bounds_ms[i] * USEC_PER_MSEC)
			m->latency_buckets[k][i]++;
	m->latency_count[k]++;
	m->latency_sum_usec[k] += latency_usec;
}

/* Label values are names from our own tables or the configuration: quote what Prometheus
 * requires quoted. */
static int
put_label(struct buf *out, const char *v)
{
	int r = 0;

	for (; *v && r >= 0; v++) {
		if (*v == '\\' || *v == '"')
			r = buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			r = buf_puts(out, "\\n");
		else
			r = buf_putc(out, *v);
	}
	return r;
}

static int
put_help(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
format_orders(const struct metrics *m, struct buf *out)
{
	int r = put_help(out, "f2fpayd_orders_total", "counter",
			 "Orders that reached a final state since start, by state.");

	for (int s = 0; s < _ORDER_STATE_MAX && r >= 0; s++)
		if (order_state_is_final((enum order_state)s))
			r = buf_printf(out, "f2fpayd_orders_total{state=\"%s\"} %" PRIu64 "\n",
				       order_state_to_string((enum order_state)s),
				       m->orders_final[s]);
	return r;
}

static int
format_gateway(const struct metrics *m, struct buf *out)
{
	int r = put_help(out, "f2fpayd_gateway_answers_total", "counter",
			 "Gateway calls since start, by call and by the class of the answer "
			 "(none: no trustworthy answer).");

	for (int k = 0; k < _GATEWAY_CALL_MAX && r >= 0; k++)
		for (int c = 0; c <= _ALIPAY_CLASS_MAX && r >= 0; c++)
			r = buf_printf(
				out,
				"f2fpayd_gateway_answers_total{call=\"%s\",class=\"%s\"} %" PRIu64
				"\n",
				gateway_call_kind_to_string((enum gateway_call_kind)k),
				c == _ALIPAY_CLASS_MAX
					? "none"
					: alipay_class_to_string((enum alipay_class)c),
				m->answers[k][c]);
	if (r >= 0)
		r = put_help(out, "f2fpayd_gateway_latency_seconds", "histogram",
			     "Time from sending a gateway call to its outcome, by call.");
	for (int k = 0; k < _GATEWAY_CALL_MAX && r >= 0; k++) {
		const char *call = gateway_call_kind_to_string((enum gateway_call_kind)k);
		for (size_t i = 0; i < METRICS_LATENCY_BUCKETS && r >= 0; i++)
			r = buf_printf(out,
				       "f2fpayd_gateway_latency_seconds_bucket{call=\"%s\",le=\"%u."
				       "%03u\"} %" PRIu64 "\n",
				       call, latency_bounds_ms[i] / 1000,
				       latency_bounds_ms[i] % 1000, m->latency_buckets[k][i]);
		if (r >= 0)
			r = buf_printf(
				out,
				"f2fpayd_gateway_latency_seconds_bucket{call=\"%s\",le=\"+Inf\"} "
				"%" PRIu64 "\n"
				"f2fpayd_gateway_latency_seconds_sum{call=\"%s\"} %" PRIu64
				".%06" PRIu64 "\n"
				"f2fpayd_gateway_latency_seconds_count{call=\"%s\"} %" PRIu64 "\n",
				call, m->latency_count[k], call,
				m->latency_sum_usec[k] / USEC_PER_SEC,
				m->latency_sum_usec[k] % USEC_PER_SEC, call, m->latency_count[k]);
	}
	return r;
}

static int
format_central(const struct metrics_central *c, struct buf *out)
{
	int r = put_help(out, "f2fpayd_central_connected", "gauge",
			 "1 when connected to the store's central database, else 0.");

	if (r >= 0)
		r = buf_printf(out, "f2fpayd_central_connected %d\n", c->connected ? 1 : 0);
	if (r >= 0)
		r = put_help(out, "f2fpayd_central_backlog_events", "gauge",
			     "Journal events not in the central database yet.");
	if (r >= 0)
		r = buf_printf(out, "f2fpayd_central_backlog_events %" PRId64 "\n",
			       c->backlog_events);
	if (r >= 0)
		r = put_help(out, "f2fpayd_central_lag_seconds", "gauge",
			     "Age of the oldest journal event not in the central database, 0 when "
			     "none.");
	if (r >= 0)
		r = buf_printf(out, "f2fpayd_central_lag_seconds %" PRId64 "\n", c->lag_seconds);
	if (r >= 0)
		r = put_help(out, "f2fpayd_central_events_shipped_total", "counter",
			     "Journal events sent to the central database since start.");
	if (r >= 0)
		r = buf_printf(out, "f2fpayd_central_events_shipped_total %" PRIu64 "\n",
			       c->events_shipped);
	return r;
}

static int
format_gauges(const struct metrics_gauges *g, struct buf *out)
{
	int r = put_help(out, "f2fpayd_device_up", "gauge",
			 "1 when a configured scanner or the display works, else 0.");

	for (size_t i = 0; i < g->n_devices && r >= 0; i++) {
		r = buf_printf(out, "f2fpayd_device_up{kind=\"%s\",name=\"", g->devices[i].kind);
		if (r >= 0)
			r = put_label(out, g->devices[i].name);
		if (r >= 0)
			r = buf_printf(out, "\"} %d\n", g->devices[i].up ? 1 : 0);
	}
	if (r >= 0)
		r = put_help(out, "f2fpayd_orders_in_progress", "gauge",
			     "Orders not yet in a final state.");
	if (r >= 0)
		r = buf_printf(out, "f2fpayd_orders_in_progress %u\n", g->orders_in_progress);
	if (r >= 0 && g->journal_bytes >= 0) {
		r = put_help(out, "f2fpayd_journal_bytes", "gauge",
			     "Size of the journal database with its write-ahead log.");
		if (r >= 0)
			r = buf_printf(out, "f2fpayd_journal_bytes %" PRId64 "\n",
				       g->journal_bytes);
	}
	if (r >= 0)
		r = put_help(out, "f2fpayd_condition", "gauge",
			     "Problem conditions (doc/operations.md): the count when one holds, "
			     "else 0.");
	for (int c = 0; c < _HEALTH_MAX && r >= 0; c++)
		r = buf_printf(out, "f2fpayd_condition{name=\"%s\"} %u\n",
			       health_condition_name((enum health_condition)c),
			       g->health ? g->health->count[c] : 0);
	if (r >= 0 && g->central)
		r = format_central(g->central, out);
	if (r >= 0)
		r = put_help(out, "f2fpayd_build_info", "gauge", "The running version.");
	if (r >= 0) {
		r = buf_puts(out, "f2fpayd_build_info{version=\"");
		if (r >= 0)
			r = put_label(out, g->version ? g->version : "");
		if (r >= 0)
			r = buf_puts(out, "\"} 1\n");
	}
	return r;
}

int
metrics_format(const struct metrics *m, const struct metrics_gauges *g, struct buf *out)
{
	int r = format_orders(m, out);

	if (r >= 0)
		r = format_gateway(m, out);
	if (r >= 0)
		r = format_gauges(g, out);
	return r < 0 ? r : 0;
}
