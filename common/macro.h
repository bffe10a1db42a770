/* SPDX-License-Identifier: MIT */
/* Small macros every file uses: attributes, cleanup handlers, ownership transfer. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _printf_(a, b)       __attribute__((format(printf, a, b)))
#define _unused_             __attribute__((unused))
#define _pure_               __attribute__((pure))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _cleanup_(f)         __attribute__((cleanup(f)))
#define _likely_(x)          (__builtin_expect(!!(x), 1))
#define _unlikely_(x)        (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(a)    (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)        ((a) < (b) ? (a) : (b))
#define MAX(a, b)        ((a) > (b) ? (a) : (b))
#define STRLEN(s)        (sizeof(s) - 1)
#define STR_EQ(a, b)     (strcmp((a), (b)) == 0)
#define STR_EQ_PTR(a, b) ((a) && (b) && strcmp((a), (b)) == 0)

/* Takes the pointer out of a cleanup variable so it survives the scope: ownership moves. */
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _ptr_ = (p); \
		(p) = NULL;                \
		_ptr_;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _fd_ = (fd); \
		(fd) = -1;       \
		_fd_;            \
	})

/* Declares a NULL-safe cleanup helper `name(type **p)` that calls `func(*p)`. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

static inline void
freep(void *p)
{
	free(*(void **)p);
}

static inline void
closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void
fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Wipes a NUL-terminated secret before freeing it (doc/style.md §6: secrets are wiped). */
static inline void
erase_and_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static inline void
erase_and_freep(char **s)
{
	erase_and_free(*s);
}

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_erase_  _cleanup_(erase_and_freep)

/* Returns the non-NULL string or "" (for printing optional fields). */
static inline const char *
strempty(const char *s)
{
	return s ? s : "";
}

static inline const char *
strna(const char *s)
{
	return s ? s : "n/a";
}

static inline int
isempty(const char *s)
{
	return !s || !*s;
}
