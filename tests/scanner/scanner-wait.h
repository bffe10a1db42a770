/* SPDX-License-Identifier: MIT */
/* Shared helpers of the scanner device tests: waiting for events, expecting a refusal. */
#pragma once

#include <poll.h>
#include <stdio.h>
#include <string.h>

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

/* Waits up to 20 s (generous: the machine is shared, a reopen backs off 1 s) for the next
 * scanner event. */
static inline int
wait_event(struct scanner *s, struct scanner_event *ev)
{
	return wait_event_rounds(s, ev, 2000);
}

/* Waits for a refused code: no text, and a reason that says reason_part. */
static inline void
expect_refused(struct scanner *s, const char *reason_part)
{
	struct scanner_event ev;

	CHECK_INT_EQ(wait_event(s, &ev), 1);
	CHECK_INT_EQ(ev.type, SCANNER_EVENT_CODE);
	CHECK_STR_EQ(scan_class_to_string(ev.cls), "rejected");
	CHECK_STR_EQ(ev.text, "");
	if (!strstr(ev.reason, reason_part))
		fprintf(stderr, "reason \"%s\", expected \"%s\"\n", ev.reason, reason_part);
	CHECK(strstr(ev.reason, reason_part) != NULL);
}
