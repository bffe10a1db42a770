/* SPDX-License-Identifier: MIT */
/*
 * What is wrong with the terminal right now, as named conditions. One table in health.c says
 * how each is named and worded; systemd's STATUS=, GET /health and the metrics all come from a
 * struct health. A new condition is one enum value, one table row, and the place that sets it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HEALTH_DETAIL_MAX 128

enum health_condition {
	HEALTH_ATTENTION,           /* orders in ATTENTION (count) */
	HEALTH_GATEWAY_UNREACHABLE, /* the gateway's last answer was none, or not trustworthy */
	HEALTH_GATEWAY_CONFIG,      /* the gateway refuses our configuration (keys, app id) */
	HEALTH_SCANNER_MISSING,     /* configured scanners not plugged in (count; detail: names) */
	HEALTH_DISPLAY_DOWN,        /* the customer display cannot be drawn on */
	HEALTH_JOURNAL_UNWRITABLE,  /* the journal is full or failed: new orders refused */
	_HEALTH_MAX,
};

struct health {
	unsigned count[_HEALTH_MAX]; /* 0: the condition does not hold */
	char detail[_HEALTH_MAX][HEALTH_DETAIL_MAX];
};

/* Sets condition c with a count (0 clears it) and an optional detail (borrowed, copied). */
void health_set(struct health *h, enum health_condition c, unsigned count, const char *detail);

/* True when no condition holds. */
bool health_ok(const struct health *h);

/* "gateway_unreachable": the condition's stable name (metrics label, JSON). */
const char *health_condition_name(enum health_condition c);

/*
 * The STATUS= line: "Running, 2 orders in progress" followed by every condition that holds in
 * words ("; 1 order needs an operator (ATTENTION); gateway unreachable; scanner missing:
 * counter"). Cut to fit size. Returns 0 or -ENOBUFS when it had to be cut.
 */
int health_status_line(const struct health *h, unsigned busy, char *buf, size_t size);
