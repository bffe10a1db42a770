/* SPDX-License-Identifier: MIT */
/* Logging to stderr with journald priority prefixes. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int max_level = -1;
static FILE *log_stream;
static int log_prefix = 1;
static log_sink_t log_sink;
static log_internalv_t log_forward;

/* log_hold(): this thread's lines held back, in order, with copies of their fields. */
#define LOG_HELD_MAX 16
struct held_line {
	int level;
	bool sink;                /* a structured entry, for the sink */
	struct log_field *fields; /* owns the allocation: the array, the message, the strings */
	const char *msg;
	size_t n_fields;
};
static _Thread_local bool holding;
static _Thread_local struct held_line held[LOG_HELD_MAX];
static _Thread_local size_t n_held;

void
log_set_forward(log_internalv_t forward)
{
	log_forward = forward;
}

void
log_set_sink(log_sink_t sink)
{
	log_sink = sink;
}

void
log_set_max_level(int level)
{
	max_level = level;
}

int
log_get_max_level(void)
{
	if (max_level < 0) {
		const char *e = getenv("F2FPAY_DEBUG");
		max_level = (e && *e && !STR_EQ(e, "0")) ? LOG_DEBUG : LOG_INFO;
	}
	return max_level;
}

void
log_set_stream(FILE *f)
{
	log_stream = f;
}

void
log_set_prefix(int on)
{
	log_prefix = !!on;
}

static void
log_write(int level, const char *msg)
{
	FILE *out = log_stream ? log_stream : stderr;

	if (log_prefix)
		fprintf(out, "<%d>%s\n", level & LOG_PRIMASK, msg);
	else
		fprintf(out, "%s\n", msg);
	fflush(out);
}

static void
log_emit(int level, const char *msg, const struct log_field *fields, size_t n_fields, bool sink)
{
	if (!sink || !log_sink || log_sink(level, msg, fields, n_fields) < 0)
		log_write(level, msg);
}

/* Keeps a copy of the line for log_hold(false); false when it cannot (full, out of memory). */
static bool
hold_line(int level, const char *msg, const struct log_field *fields, size_t n_fields, bool sink)
{
	size_t len = strlen(msg) + 1, size;
	struct held_line *h;
	char *p;

	if (n_held >= LOG_HELD_MAX)
		return false;
	/* One allocation: the fields' array (aligned), the message, the fields' strings. */
	size = n_fields * sizeof(struct log_field) + len;
	for (size_t i = 0; i < n_fields; i++)
		size += strlen(fields[i].name) + 1 +
			(fields[i].value ? strlen(fields[i].value) + 1 : 0);
	h = &held[n_held];
	h->fields = malloc(size);
	if (!h->fields)
		return false;
	p = (char *)(h->fields + n_fields);
	h->msg = p;
	memcpy(p, msg, len);
	p += len;
	for (size_t i = 0; i < n_fields; i++) {
		size_t nl = strlen(fields[i].name) + 1;

		memcpy(p, fields[i].name, nl);
		h->fields[i].name = p;
		p += nl;
		h->fields[i].value = NULL;
		if (fields[i].value) {
			size_t vl = strlen(fields[i].value) + 1;

			memcpy(p, fields[i].value, vl);
			h->fields[i].value = p;
			p += vl;
		}
	}
	h->level = level;
	h->sink = sink;
	h->n_fields = n_fields;
	n_held++;
	return true;
}

static void
release_held(void)
{
	for (size_t i = 0; i < n_held; i++) {
		log_emit(held[i].level, held[i].msg, held[i].fields, held[i].n_fields,
			 held[i].sink);
		free(held[i].fields);
		held[i] = (struct held_line){};
	}
	n_held = 0;
}

void
log_hold(bool on)
{
	holding = on;
	if (!on)
		release_held();
}

/* A warning or worse goes at once, after what was held before it. */
static void
log_out(int level, const char *msg, const struct log_field *fields, size_t n_fields, bool sink)
{
	if (holding && level > LOG_WARNING && hold_line(level, msg, fields, n_fields, sink))
		return;
	release_held();
	log_emit(level, msg, fields, n_fields, sink);
}

int
log_internalv(int level, int error, const char *file, int line, const char *func,
	      const char *format, va_list ap)
{
	int saved = errno;
	char msg[2048];

	if (log_forward)
		return log_forward(level, error, file, line, func, format, ap);
	if (error < 0)
		error = -error;
	if (level > log_get_max_level()) {
		errno = saved;
		return -error;
	}
	/* %m in the format means the error passed in, not whatever errno happens to be. */
	errno = error;
	vsnprintf(msg, sizeof(msg), format, ap);
	log_out(level, msg, NULL, 0, false);
	(void)file;
	(void)line;
	(void)func;
	errno = saved;
	return -error;
}

int
log_fields(int level, const struct log_field *fields, size_t n_fields, const char *format, ...)
{
	int saved = errno;
	char msg[2048];
	va_list ap;

	if (!log_forward && level > log_get_max_level())
		return 0;
	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);
	if (!log_forward)
		log_out(level, msg, fields, n_fields, true);
	else if (!log_sink || log_sink(level, msg, fields, n_fields) < 0)
		log_internal(level, 0, NULL, 0, NULL, "%s", msg);
	errno = saved;
	return 0;
}

int
log_internal(int level, int error, const char *file, int line, const char *func, const char *format,
	     ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = log_internalv(level, error, file, line, func, format, ap);
	va_end(ap);
	return r;
}
