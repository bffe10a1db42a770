/* SPDX-License-Identifier: MIT */
/* Server-Sent Events parsing per the WHATWG event stream format, with hard size limits. */
#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/sse-parse.h"

void
sse_parser_init(struct sse_parser *p, sse_event_cb cb, void *userdata)
{
	*p = (struct sse_parser){
		.line = BUF_INIT(SSE_LINE_MAX),
		.data = BUF_INIT(SSE_EVENT_MAX),
		.cb = cb,
		.userdata = userdata,
	};
}

void
sse_parser_done(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
}

static int
dispatch(struct sse_parser *p)
{
	int r = 0;

	/* An event without data lines is not dispatched (comments, lone ids). */
	if (p->data.len > 0) {
		buf_truncate(&p->data, p->data.len - 1); /* the last data line's newline */
		r = p->cb(p->userdata, p->name[0] ? p->name : "message", p->data.data, p->id);
	}
	buf_truncate(&p->data, 0);
	p->name[0] = 0;
	return r;
}

static int
process_line(struct sse_parser *p)
{
	const char *line = p->line.data ? p->line.data : "";
	const char *colon, *value;
	size_t flen;

	if (p->line.len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0; /* a comment */
	colon = memchr(line, ':', p->line.len);
	flen = colon ? (size_t)(colon - line) : p->line.len;
	value = colon ? colon + 1 : "";
	if (*value == ' ')
		value++;
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		int r = buf_puts(&p->data, value);
		if (r >= 0)
			r = buf_putc(&p->data, '\n');
		return r < 0 ? -EMSGSIZE : 0;
	}
	if (flen == 5 && memcmp(line, "event", 5) == 0) {
		snprintf(p->name, sizeof(p->name), "%s", value);
		return 0;
	}
	if (flen == 2 && memcmp(line, "id", 2) == 0) {
		snprintf(p->id, sizeof(p->id), "%s", value);
		return 0;
	}
	return 0; /* retry: and unknown fields are ignored */
}

int
sse_parser_feed(struct sse_parser *p, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		int r;

		if (c == '\n' && p->cr) {
			p->cr = 0;
			continue;
		}
		p->cr = c == '\r';
		if (c == '\n' || c == '\r') {
			r = process_line(p);
			buf_truncate(&p->line, 0);
			if (r < 0)
				return r;
			continue;
		}
		if (c == 0)
			c = ' '; /* NULs would cut the strings handed to the callback */
		if (buf_putc(&p->line, c) < 0)
			return -EMSGSIZE;
	}
	return 0;
}
