/* SPDX-License-Identifier: MIT */
/* Shared helpers of the umockdev scanner tests: fake evdev records, waiting for events. */
#pragma once

#include <poll.h>
#include <umockdev.h>

#include "drivers/scanner/scanner.h"
#include "test.h"

/* Waits up to rounds × 10 ms for the next scanner event. */
static inline int
wait_event_rounds(struct scanner *s, struct scanner_event *ev, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		if (scanner_next_event(s, ev) > 0)
			return 1;
		struct pollfd p = {.fd = scanner_get_fd(s), .events = POLLIN};
		usec_t now = now_usec(CLOCK_MONOTONIC), d = scanner_get_deadline(s);
		int ms = 10;
		if (d != USEC_INFINITY && d > now && (d - now) / 1000 < 10)
			ms = (int)((d - now) / 1000) + 1;
		(void)poll(&p, 1, ms);
		/* glib's main context carries nothing here; the testbed works synchronously. */
		CHECK_INT_EQ(scanner_process(s, now_usec(CLOCK_MONOTONIC)), 0);
	}
	return scanner_next_event(s, ev);
}

/* Waits up to 10 s (generous: the machine is shared) for the next scanner event. */
static inline int
wait_event(struct scanner *s, struct scanner_event *ev)
{
	return wait_event_rounds(s, ev, 1000);
}

/* Waits for the next state event, skipping nothing: a code in between fails the test. */
static inline void
expect_state(struct scanner *s, enum scanner_state st)
{
	struct scanner_event ev;

	CHECK_INT_EQ(wait_event(s, &ev), 1);
	if (ev.type != SCANNER_EVENT_STATE)
		fprintf(stderr, "expected a state event, got code \"%s\"\n", ev.text);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_STATE);
	CHECK_STR_EQ(scanner_state_to_string(ev.state), scanner_state_to_string(st));
}

/* Waits for a state event, letting codes go by (a replayed recording may still be talking). */
static inline void
expect_state_after_codes(struct scanner *s, enum scanner_state st)
{
	struct scanner_event ev;

	for (int i = 0; i < 10000; i++) {
		CHECK_INT_EQ(wait_event(s, &ev), 1);
		if (ev.type == SCANNER_EVENT_STATE) {
			CHECK_STR_EQ(scanner_state_to_string(ev.state),
				     scanner_state_to_string(st));
			return;
		}
	}
	CHECK(0);
}

static inline void
expect_code(struct scanner *s, const char *text, enum scan_class cls)
{
	struct scanner_event ev;

	CHECK_INT_EQ(wait_event(s, &ev), 1);
	if (ev.type != SCANNER_EVENT_CODE)
		fprintf(stderr, "expected a code, got state %s\n",
			scanner_state_to_string(ev.state));
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
	CHECK_STR_EQ(ev.text, text);
	CHECK_INT_EQ(ev.len, strlen(text));
	CHECK_STR_EQ(scan_class_to_string(ev.cls), scan_class_to_string(cls));
}

/* No event is pending once everything readable was processed. */
static inline void
expect_quiet(struct scanner *s)
{
	struct scanner_event ev;

	CHECK_INT_EQ(scanner_process(s, now_usec(CLOCK_MONOTONIC)), 0);
	if (scanner_next_event(s, &ev) > 0) {
		fprintf(stderr, "unexpected event: type %d text \"%s\" state %s\n", ev.type,
			ev.text, scanner_state_to_string(ev.state));
		CHECK(0);
	}
}

static inline void
check_gerror(GError *error)
{
	if (error)
		fprintf(stderr, "umockdev: %s\n", error->message);
	CHECK(error == NULL);
}

static inline void
add_device(UMockdevTestbed *bed, const char *description)
{
	GError *error = NULL;

	CHECK(umockdev_testbed_add_from_string(bed, description, &error));
	check_gerror(error);
}
