/* SPDX-License-Identifier: MIT */
/* An incremental Server-Sent Events parser for the client side (f2fpayctl events). */
#pragma once

#include <stddef.h>

#include "common/buf.h"

#define SSE_LINE_MAX  (64 * 1024)  /* one field line */
#define SSE_EVENT_MAX (256 * 1024) /* the data of one event */

/* Called for each complete event; name is "message" when the stream gave none. Borrowed. */
typedef int (*sse_event_cb)(void *userdata, const char *name, const char *data, const char *id);

struct sse_parser {
	struct buf line;
	struct buf data;
	char name[64];
	char id[32];
	sse_event_cb cb;
	void *userdata;
	int cr; /* the last byte was CR: a following LF belongs to it */
};

void sse_parser_init(struct sse_parser *p, sse_event_cb cb, void *userdata);
void sse_parser_done(struct sse_parser *p);

/*
 * Feeds `len` bytes of the stream. Returns 0, -EMSGSIZE when a line or an event exceeds its
 * limit (the stream should be dropped), or the first negative value a callback returned.
 */
int sse_parser_feed(struct sse_parser *p, const char *data, size_t len);
