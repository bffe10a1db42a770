/* SPDX-License-Identifier: MIT */
/* The zip files Alipay's bills come in, read from memory with zlib. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/*
 * PKWARE's APPNOTE, the part bills use: one disk, entries stored or deflated, found through the
 * central directory. Refused as -EBADMSG with *why saying what: zip64, encryption, other
 * methods, offsets or sizes that leave the file, a checksum that does not match. Nothing the
 * zip says is trusted for memory: every read is bounded by the buffer and by the caller's cap.
 */
struct unzip_entry {
	char name[1024]; /* NUL-terminated (cut at the first NUL or at 1023 bytes) */
	uint16_t method; /* 0 stored, 8 deflated */
	uint32_t crc, packed, unpacked;
	const uint8_t *data; /* the packed bytes, inside the zip */
};

/* Calls cb for each entry in central directory order; -E2BIG for more than max_entries. cb
 * returns < 0 to stop with that error, > 0 to stop with 0. */
int unzip_each(const void *zip, size_t len, unsigned max_entries,
	       int (*cb)(const struct unzip_entry *e, void *userdata), void *userdata,
	       const char **why);

/* Unpacks e, appended to out. -EFBIG when it would unpack to more than max bytes (counted
 * while unpacking as well as claimed), -EBADMSG when corrupt (*why), -ENOMEM. */
int unzip_read(const struct unzip_entry *e, size_t max, struct buf *out, const char **why);
