/* SPDX-License-Identifier: MIT */
/* Growable byte buffers with a hard size limit, always NUL-terminated. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "common/macro.h"

/*
 * A buffer never grows past `max` bytes of content: appends that would exceed it fail with
 * -ENOBUFS and leave the buffer unchanged (doc/style.md §5: every growable buffer has a hard
 * limit). `data` is NUL-terminated whenever it is non-NULL; `len` excludes the NUL.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT(limit) ((struct buf){.max = (limit)})

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_truncate(struct buf *b, size_t len);
/* Returns the content (never NULL; "" for an empty buffer) and resets the buffer; caller frees. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* Wipes the content before freeing (for buffers that held secrets). */
void buf_free_erase(struct buf *b);

static inline void
buf_freep(struct buf *b)
{
	buf_free(b);
}
#define _cleanup_buf_ _cleanup_(buf_freep)
