/* SPDX-License-Identifier: MIT */
/* Logging to stderr with journald priority prefixes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int max_level = -1;
static FILE *log_stream;
static int log_prefix = 1;
static log_sink_t log_sink;
static log_internalv_t log_forward;

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

int
log_internalv(int level, int error, const char *file, int line, const char *func,
	      const char *format, va_list ap)
{
	int saved = errno;
	char msg[2048];
	FILE *out;

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
	out = log_stream ? log_stream : stderr;
	if (log_prefix)
		fprintf(out, "<%d>%s\n", level & LOG_PRIMASK, msg);
	else
		fprintf(out, "%s\n", msg);
	fflush(out);
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
	if (!log_sink || log_sink(level, msg, fields, n_fields) < 0)
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
