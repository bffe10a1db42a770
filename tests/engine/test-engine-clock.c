/* SPDX-License-Identifier: MIT */
/* Wall-clock steps of ±2 h while an order waits: the query intervals do not change. */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "clock-shift.h"
#include "common/log.h"
#include "daemon/engine/engine.h"
#include "fake-gateway.h"
#include "test.h"

/*
 * doc/engine.md "Time". The order waits for the buyer (10003, never confirmed) and is queried
 * every 300 ms. After the 2nd query the wall clock steps 2 h forward, after the 4th 2 h back
 * (4 h in one step), after the 6th it is true again. Every interval between queries, measured
 * on CLOCK_MONOTONIC at the gateway, stays the query interval: with timers on CLOCK_REALTIME
 * the first step would stall the next query for two hours and the second fire it at once.
 */

#define INTERVAL_USEC (300 * USEC_PER_MSEC)
#define HOUR_USEC     (3600 * USEC_PER_SEC)

static char dir[] = "/tmp/test-engine-clock-XXXXXX";

static unsigned
queries(const struct fake_gateway *f, usec_t *ret_times, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->n_log; i++)
		if (f->log_kind[i] == GATEWAY_CALL_QUERY && n < max)
			ret_times[n++] = f->log_usec[i];
	return n;
}

static int
watchdog_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	*(bool *)userdata = true;
	return 0;
}

/*
 * Runs the loop until the gateway has seen n queries, 10 s (monotonic) at the most. The loop
 * sleeps until one of its own sources is due, as the daemon's does: no periodic wake-up that
 * would hide a timer the kernel holds back.
 */
static void
run_until_queries(sd_event *event, const struct fake_gateway *f, unsigned n)
{
	sd_event_source *dog = NULL;
	bool fired = false;
	usec_t t[64];

	CHECK(sd_event_add_time_relative(event, &dog, CLOCK_MONOTONIC, 10 * USEC_PER_SEC, 1,
					 watchdog_cb, &fired) >= 0);
	while (queries(f, t, 64) < n) {
		if (fired) {
			fprintf(stderr, "query %u did not come within 10 s\n", n);
			abort();
		}
		CHECK(sd_event_run(event, UINT64_MAX) >= 0);
	}
	sd_event_source_disable_unref(dog);
}

int
main(void)
{
	char path[300], id[ORDER_ID_MAX + 1];
	struct fake_gateway fake;
	struct engine_config cfg = {.terminal = "T1"};
	struct journal_order o;
	struct journal *j;
	struct engine *e;
	sd_event *event;
	usec_t t[64];
	unsigned n;

	log_set_max_level(LOG_WARNING);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	CHECK_INT_EQ(sd_event_new(&event), 0);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	fake_gateway_init(&fake, event);
	order_config_init(&cfg.fsm);
	cfg.fsm.query_interval_usec = INTERVAL_USEC;
	cfg.fsm.max_queries = 12;
	CHECK_INT_EQ(engine_new(event, j, &cfg, &fake.gw, &e), 0);
	CHECK_INT_EQ(engine_start(e), 0);

	CHECK_INT_EQ(
		engine_order_new(e, ORDER_KIND_SCAN, 100, "clock", "280000000000000002", NULL, id),
		0);
	run_until_queries(event, &fake, 2);
	clock_shift_set_usec(2 * HOUR_USEC);
	run_until_queries(event, &fake, 4);
	/* The journal keeps wall time: the transitions since the step carry the new time. */
	CHECK_INT_EQ(engine_order_get(e, id, &o), 0);
	CHECK(o.fsm.state_since_usec > now_usec(CLOCK_REALTIME) - HOUR_USEC);
	clock_shift_set_usec(-2 * HOUR_USEC);
	run_until_queries(event, &fake, 6);
	clock_shift_set_usec(0);
	run_until_queries(event, &fake, 8);

	n = queries(&fake, t, 64);
	for (unsigned i = 1; i < n; i++) {
		usec_t d = t[i] - t[i - 1];

		fprintf(stderr, "query %u: %llu ms after the previous one\n", i + 1,
			(unsigned long long)(d / USEC_PER_MSEC));
		/* Never early; late only by what a loaded machine adds. */
		CHECK(d >= INTERVAL_USEC - 5 * USEC_PER_MSEC);
		CHECK(d <= INTERVAL_USEC + 2 * USEC_PER_SEC);
	}
	CHECK_INT_EQ(engine_order_abort(e, id), 0);
	for (unsigned i = 0; engine_active_count(e) > 0; i++) {
		CHECK(i < 1000);
		CHECK(sd_event_run(event, 50 * USEC_PER_MSEC) >= 0);
	}
	CHECK_INT_EQ(engine_order_get(e, id, &o), 0);
	CHECK_INT_EQ(o.fsm.state, ORDER_CANCELED);

	engine_free(e);
	journal_close(j);
	sd_event_unref(event);
	{
		char p[400];
		snprintf(p, sizeof(p), "rm -rf '%s'", dir);
		CHECK(system(p) == 0);
	}
	return 0;
}
