/* SPDX-License-Identifier: MIT */
/* Logging to stderr with journald priority prefixes; errno-preserving, printf-checked. */
#pragma once

#include <stdarg.h>
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
int log_internalv(int level, int error, const char *file, int line, const char *func,
		  const char *format, va_list ap) _printf_(6, 0);

#define log_full_errno(level, error, ...) \
	log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)

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
