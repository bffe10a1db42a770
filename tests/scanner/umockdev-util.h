/* SPDX-License-Identifier: MIT */
/* Shared helpers of the umockdev scanner tests: fake evdev records, waiting for events. */
#pragma once

#include <umockdev.h>

#include "scanner-wait.h"

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
