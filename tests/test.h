/* SPDX-License-Identifier: MIT */
/* Minimal assertion macros for the test programs; active whatever NDEBUG says. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr)                                                                              \
	do {                                                                                     \
		if (!(expr)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                                    \
	do {                                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);                           \
		if (_a != _b) {                                                               \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, _a, #b, _b);                                    \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                  \
	do {                                                                                \
		const char *_a = (a), *_b = (b);                                            \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                    \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");      \
			abort();                                                            \
		}                                                                           \
	} while (0)

#define CHECK_MEM_EQ(a, alen, b, blen)                                                         \
	do {                                                                                   \
		size_t _al = (alen), _bl = (blen);                                             \
		if (_al != _bl || memcmp((a), (b), _al) != 0) {                                \
			fprintf(stderr, "%s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n", \
				__FILE__, __LINE__, #a, _al, #b, _bl);                         \
			abort();                                                               \
		}                                                                              \
	} while (0)

/* Exit code meson reads as "skipped". */
#define TEST_SKIP 77

/*
 * A sandbox payment code never used before in this process (doc/sandbox.md: codes are
 * single-use): 18 digits, "28", a counter, and the scenario digit last.
 */
static inline const char *
test_paycode(char buf[static 19], char digit)
{
	static unsigned long n;

	snprintf(buf, 19, "28%015lu%c", ++n, digit);
	return buf;
}
