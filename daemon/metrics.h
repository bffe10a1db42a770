/* SPDX-License-Identifier: MIT */
/*
 * Counters kept since start and their Prometheus text form (doc/operations.md, "Metrics").
 * Pure: the daemon feeds events in and passes the current gauges when it formats.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/time-util.h"
#include "daemon/engine/gateway.h"
#include "daemon/health.h"
#include "payment/order/order-fsm.h"
#include "payment/result.h"

/* Upper bounds of the gateway latency buckets, in milliseconds (+Inf is implied). */
#define METRICS_LATENCY_BUCKETS 10
#define METRICS_DEVICES_MAX     16

struct metrics {
	uint64_t orders_final[_ORDER_STATE_MAX];
	/* Answers per call kind and class; the extra class counts calls with no answer at all. */
	uint64_t answers[_GATEWAY_CALL_MAX][_ALIPAY_CLASS_MAX + 1];
	uint64_t latency_buckets[_GATEWAY_CALL_MAX][METRICS_LATENCY_BUCKETS];
	uint64_t latency_count[_GATEWAY_CALL_MAX];
	usec_t latency_sum_usec[_GATEWAY_CALL_MAX];
};

/* An order reached a final state (counted once per order, at the transition). */
void metrics_order_final(struct metrics *m, enum order_state s);

/* A gateway call finished after latency_usec; answered false when nothing trustworthy came. */
void metrics_gateway_call(struct metrics *m, enum gateway_call_kind k, bool answered,
			  enum alipay_class cls, usec_t latency_usec);

struct metrics_device {
	const char *kind; /* "scanner" or "display" */
	const char *name;
	bool up;
};

/* The copy in the store's central database (doc/central.md "Shipping"). */
struct metrics_central {
	bool connected;
	int64_t backlog_events; /* journal events not in the database yet */
	int64_t lag_seconds;    /* the age of the oldest of them, 0 when none */
	uint64_t events_shipped;
};

/* What is measured at the moment of formatting (all borrowed). */
struct metrics_gauges {
	const struct health *health;
	unsigned orders_in_progress;
	int64_t journal_bytes; /* the journal database and its WAL; < 0: unknown */
	const struct metrics_device *devices;
	size_t n_devices;
	const char *version;
	const struct metrics_central *central; /* NULL: no [central] url */
};

/* Appends the Prometheus text exposition (version 0.0.4) to out. 0 or -ENOBUFS/-ENOMEM. */
int metrics_format(const struct metrics *m, const struct metrics_gauges *g, struct buf *out);
