/* SPDX-License-Identifier: MIT */
/* Logging to stderr with journald priority prefixes; errno-preserving, printf-checked. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <syslog.h>

#include "common/macro.h"

/*
 * Each line goes to stderr as "<N>message" where N is the syslog priority, which journald reads
 * when the daemon runs under systemd. Functions return -abs(error) so callers can write
 * `return log_error_errno(r, "Failed to open %s: %m", path);`. errno is preserved across every
 * call, and %m expands to strerror(error) when an error is given.
 */

/* Messages above this priority are dropped (default LOG_INFO; LOG_DEBUG with F2FPAY_DEBUG=1). */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Where lines go: default stderr. Borrowed; the caller keeps the stream open. NULL = stderr. */
void log_set_stream(FILE *f);

/* Prefix lines with "<N>" (default) or not (an interactive tool prints plain lines). */
void log_set_prefix(int on);

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *format, ...) _printf_(6, 7);
typedef int (*log_internalv_t)(int level, int error, const char *file, int line, const char *func,
			       const char *format, va_list ap);
int log_internalv(int level, int error, const char *file, int line, const char *func,
		  const char *format, va_list ap) _printf_(6, 0);

#define log_full_errno(level, error, ...) \
	log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)

/*
 * Structured entries: a message with fields (NAME=value, NAME in upper case) that a journal can
 * index, such as ORDER= and STATE= on order transitions. Without a sink the message goes to the
 * stream like any other and the fields are dropped; with one (the daemon installs journald's),
 * the sink gets it, and the stream only when the sink fails.
 */
struct log_field {
	const char *name;
	const char *value;
};
typedef int (*log_sink_t)(int level, const char *message, const struct log_field *fields,
			  size_t n_fields);
void log_set_sink(log_sink_t sink);

/*
 * Holds this thread's informational lines back (on), or writes what was held, in order, and
 * stops (off). A warning or worse is written at once, after what was held before it. At most
 * 16 lines are held: the rest are written at once after them. The daemon holds its lines from
 * a scanned payment code until the loop is idle, so that their writes (and whatever reads them,
 * journald on the same cores) come after the pay has left.
 */
void log_hold(bool on);

/* A module loaded at run time has its own copy of this file: pointed at the program's
 * log_internalv(), its messages follow the program's level, stream, prefix and sink. */
void log_set_forward(log_internalv_t forward);
int log_fields(int level, const struct log_field *fields, size_t n_fields, const char *format, ...)
	_printf_(4, 5);

#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, (e), __VA_ARGS__)

/* A programmer error seen at run time: logged loudly, returns -EBADMSG. */
#define log_bug(...) log_full_errno(LOG_CRIT, EBADMSG, "BUG: " __VA_ARGS__)
