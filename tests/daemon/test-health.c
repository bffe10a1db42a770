/* SPDX-License-Identifier: MIT */
/* Tests of the problem conditions' STATUS= line and of the Prometheus text of the metrics. */
#include <string.h>

#include "daemon/health.h"
#include "daemon/metrics.h"
#include "test.h"

static void
test_status_line(void)
{
	struct health h = {};
	char line[256];

	CHECK_INT_EQ(health_status_line(&h, 0, line, sizeof(line)), 0);
	CHECK_STR_EQ(line, "Running, 0 orders in progress");
	CHECK(health_ok(&h));

	health_set(&h, HEALTH_ATTENTION, 2, "f2fpayctl orders --state ATTENTION");
	health_set(&h, HEALTH_GATEWAY_UNREACHABLE, 1, NULL);
	health_set(&h, HEALTH_SCANNER_MISSING, 1, "counter");
	health_set(&h, HEALTH_DISPLAY_DOWN, 1, NULL);
	CHECK(!health_ok(&h));
	CHECK_INT_EQ(health_status_line(&h, 1, line, sizeof(line)), 0);
	CHECK_STR_EQ(line, "Running, 1 order in progress; 2 orders need an operator (ATTENTION): "
			   "f2fpayctl orders --state ATTENTION; gateway unreachable; scanner "
			   "missing: counter; display down");

	/* Cleared conditions disappear; counts above one use the plural words. */
	health_set(&h, HEALTH_ATTENTION, 0, "ignored");
	health_set(&h, HEALTH_GATEWAY_UNREACHABLE, 0, NULL);
	health_set(&h, HEALTH_DISPLAY_DOWN, 0, NULL);
	health_set(&h, HEALTH_SCANNER_MISSING, 2, "front, counter");
	CHECK_INT_EQ(health_status_line(&h, 3, line, sizeof(line)), 0);
	CHECK_STR_EQ(line, "Running, 3 orders in progress; 2 scanners missing: front, counter");

	/* Too small a buffer: cut, and said so. */
	CHECK_INT_EQ(health_status_line(&h, 3, line, 20), -ENOBUFS);
	CHECK_INT_EQ((int)strlen(line), 19);

	for (int c = 0; c < _HEALTH_MAX; c++)
		CHECK(health_condition_name((enum health_condition)c) != NULL);
}

static void
test_metrics_text(void)
{
	struct metrics m = {};
	struct health h = {};
	struct metrics_device dev[] = {{"scanner", "counter", false},
				       {"display", "customer", true}};
	struct metrics_gauges g = {
		.health = &h,
		.orders_in_progress = 2,
		.journal_bytes = 4096,
		.devices = dev,
		.n_devices = 2,
		.version = "9.9.9",
	};
	_cleanup_buf_ struct buf out = BUF_INIT(1024 * 1024);

	metrics_order_final(&m, ORDER_PAID);
	metrics_order_final(&m, ORDER_PAID);
	metrics_order_final(&m, ORDER_FAILED);
	/* 40 ms, 300 ms and 3 s pays; a query that got nothing back after 20 s. */
	metrics_gateway_call(&m, GATEWAY_CALL_PAY, true, ALIPAY_CLASS_SUCCESS, 40 * USEC_PER_MSEC);
	metrics_gateway_call(&m, GATEWAY_CALL_PAY, true, ALIPAY_CLASS_FAILED, 300 * USEC_PER_MSEC);
	metrics_gateway_call(&m, GATEWAY_CALL_PAY, true, ALIPAY_CLASS_SUCCESS, 3 * USEC_PER_SEC);
	metrics_gateway_call(&m, GATEWAY_CALL_QUERY, false, ALIPAY_CLASS_UNKNOWN,
			     20 * USEC_PER_SEC);
	health_set(&h, HEALTH_SCANNER_MISSING, 1, "counter");
	CHECK_INT_EQ(metrics_format(&m, &g, &out), 0);

	static const char *const want[] = {
		"# TYPE f2fpayd_orders_total counter\n",
		"f2fpayd_orders_total{state=\"paid\"} 2\n",
		"f2fpayd_orders_total{state=\"failed\"} 1\n",
		"f2fpayd_orders_total{state=\"canceled\"} 0\n",
		"f2fpayd_gateway_answers_total{call=\"pay\",class=\"success\"} 2\n",
		"f2fpayd_gateway_answers_total{call=\"pay\",class=\"failed\"} 1\n",
		"f2fpayd_gateway_answers_total{call=\"query\",class=\"none\"} 1\n",
		"# TYPE f2fpayd_gateway_latency_seconds histogram\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"pay\",le=\"0.050\"} 1\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"pay\",le=\"0.250\"} 1\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"pay\",le=\"0.500\"} 2\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"pay\",le=\"2.500\"} 2\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"pay\",le=\"5.000\"} 3\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"pay\",le=\"+Inf\"} 3\n",
		"f2fpayd_gateway_latency_seconds_sum{call=\"pay\"} 3.340000\n",
		"f2fpayd_gateway_latency_seconds_count{call=\"pay\"} 3\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"query\",le=\"10.000\"} 0\n",
		"f2fpayd_gateway_latency_seconds_bucket{call=\"query\",le=\"20.000\"} 1\n",
		"f2fpayd_device_up{kind=\"scanner\",name=\"counter\"} 0\n",
		"f2fpayd_device_up{kind=\"display\",name=\"customer\"} 1\n",
		"f2fpayd_orders_in_progress 2\n",
		"f2fpayd_journal_bytes 4096\n",
		"f2fpayd_condition{name=\"scanner_missing\"} 1\n",
		"f2fpayd_condition{name=\"attention\"} 0\n",
		"f2fpayd_build_info{version=\"9.9.9\"} 1\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		if (!strstr(out.data, want[i]))
			fprintf(stderr, "missing: %s", want[i]);
		CHECK(strstr(out.data, want[i]) != NULL);
	}
	/* Non-final states are not order outcomes. */
	CHECK(strstr(out.data, "state=\"paying\"") == NULL);

	/* No [central]: no central lines. With it: the copy's progress. */
	CHECK(strstr(out.data, "f2fpayd_central_") == NULL);
	struct metrics_central mc = {
		.connected = false, .backlog_events = 42, .lag_seconds = 3600, .events_shipped = 7};
	g.central = &mc;
	buf_truncate(&out, 0);
	CHECK_INT_EQ(metrics_format(&m, &g, &out), 0);
	static const char *const want_central[] = {
		"f2fpayd_central_connected 0\n",
		"f2fpayd_central_backlog_events 42\n",
		"f2fpayd_central_lag_seconds 3600\n",
		"# TYPE f2fpayd_central_events_shipped_total counter\n",
		"f2fpayd_central_events_shipped_total 7\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(want_central); i++)
		CHECK(strstr(out.data, want_central[i]) != NULL);

	/* The body limit is respected, not overrun. */
	struct buf small = BUF_INIT(64);
	CHECK_INT_EQ(metrics_format(&m, &g, &small), -ENOBUFS);
	buf_free(&small);
}

int
main(void)
{
	test_status_line();
	test_metrics_text();
	return 0;
}
