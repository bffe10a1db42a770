/* SPDX-License-Identifier: MIT */
/* Zip entries from memory: the central directory, stored and deflated data, CRC-32 checked. */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "common/macro.h"
#include "payment/bill/unzip.h"

#define EOCD_SIG    0x06054b50u
#define EOCD_LEN    22u
#define CENTRAL_SIG 0x02014b50u
#define CENTRAL_LEN 46u
#define LOCAL_SIG   0x04034b50u
#define LOCAL_LEN   30u
#define COMMENT_MAX 0xffffu
#define PADDING_MAX 0x10000u /* bytes after the end record we look past */
#define FLAG_CRYPT  0x0001u
#define CHUNK       65536u

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
bad(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EBADMSG;
}

/* The end of central directory record: the last one whose comment fits in the file. Writers
 * that pad their output to a block size (libarchive does) leave bytes after it. */
static const uint8_t *
eocd_find(const uint8_t *z, size_t len)
{
	size_t lowest, reach = EOCD_LEN + COMMENT_MAX + PADDING_MAX;

	if (len < EOCD_LEN)
		return NULL;
	lowest = len > reach ? len - reach : 0;
	for (size_t i = len - EOCD_LEN + 1; i-- > lowest;)
		if (le32(z + i) == EOCD_SIG && len - i - EOCD_LEN >= le16(z + i + 20))
			return z + i;
	return NULL;
}

/* Fills e from the central directory header at c (bounds already checked) and its local
 * header. */
static int
entry_from(const uint8_t *z, size_t cd_off, const uint8_t *c, struct unzip_entry *e,
	   const char **why)
{
	uint16_t flags = le16(c + 8), name_len = le16(c + 28);
	uint32_t local = le32(c + 42);
	size_t data;
	const uint8_t *l;

	e->method = le16(c + 10);
	e->crc = le32(c + 16);
	e->packed = le32(c + 20);
	e->unpacked = le32(c + 24);
	memcpy(e->name, c + CENTRAL_LEN, MIN((size_t)name_len, sizeof(e->name) - 1));
	e->name[MIN((size_t)name_len, sizeof(e->name) - 1)] = 0;
	if (flags & FLAG_CRYPT)
		return bad(why, "an encrypted entry");
	if (e->method != 0 && e->method != 8)
		return bad(why, "an entry neither stored nor deflated");
	if (e->packed == UINT32_MAX || e->unpacked == UINT32_MAX || local == UINT32_MAX)
		return bad(why, "a zip64 entry");
	if (e->method == 0 && e->packed != e->unpacked)
		return bad(why, "a stored entry whose sizes differ");
	/* The data follows the local header, and ends before the central directory. */
	if (local > cd_off || cd_off - local < LOCAL_LEN)
		return bad(why, "an entry outside the file");
	l = z + local;
	if (le32(l) != LOCAL_SIG)
		return bad(why, "a local header missing");
	data = local + LOCAL_LEN + le16(l + 26) + le16(l + 28);
	if (data > cd_off || cd_off - data < e->packed)
		return bad(why, "an entry outside the file");
	e->data = z + data;
	return 0;
}

int
unzip_each(const void *zip, size_t len, unsigned max_entries,
	   int (*cb)(const struct unzip_entry *e, void *userdata), void *userdata, const char **why)
{
	const uint8_t *z = zip, *eocd = eocd_find(zip, len);
	struct unzip_entry e;
	uint32_t cd_off, cd_size;
	uint16_t n;
	size_t at;
	int r;

	if (!eocd)
		return bad(why, "no end of central directory");
	n = le16(eocd + 10);
	cd_size = le32(eocd + 12);
	cd_off = le32(eocd + 16);
	if (le16(eocd + 4) != 0 || le16(eocd + 6) != 0 || le16(eocd + 8) != n)
		return bad(why, "a zip on several disks");
	if (n == UINT16_MAX || cd_off == UINT32_MAX || cd_size == UINT32_MAX)
		return bad(why, "a zip64 file");
	if (cd_off > (size_t)(eocd - z) || (size_t)(eocd - z) - cd_off < cd_size)
		return bad(why, "a central directory outside the file");
	if (n > max_entries)
		return -E2BIG;
	at = cd_off;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *c = z + at;
		size_t end = (size_t)cd_off + cd_size, size;

		if (end - at < CENTRAL_LEN || le32(c) != CENTRAL_SIG)
			return bad(why, "a corrupt central directory");
		size = CENTRAL_LEN + (size_t)le16(c + 28) + le16(c + 30) + le16(c + 32);
		if (end - at < size)
			return bad(why, "a corrupt central directory");
		r = entry_from(z, cd_off, c, &e, why);
		if (r < 0)
			return r;
		r = cb(&e, userdata);
		if (r != 0)
			return r < 0 ? r : 0;
		at += size;
	}
	return 0;
}

/* Inflates e after out->len, at most max bytes; stops at the end of the deflate stream. */
static int
inflate_into(const struct unzip_entry *e, size_t max, struct buf *out, const char **why)
{
	size_t start = out->len;
	z_stream s = {0};
	int k, r = 0;

	if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
		return -ENOMEM;
	s.next_in = (Bytef *)(uintptr_t)e->data;
	s.avail_in = e->packed;
	do {
		size_t before = out->len, room = MIN((size_t)CHUNK, max - (out->len - start));

		if (room == 0) {
			r = -EFBIG; /* more is coming than the cap allows */
			break;
		}
		r = buf_reserve(out, room);
		if (r < 0) {
			r = r == -ENOBUFS ? -EFBIG : r;
			break;
		}
		s.next_out = (Bytef *)out->data + before;
		s.avail_out = (uInt)room;
		k = inflate(&s, Z_NO_FLUSH);
		out->len = before + (room - s.avail_out);
		if (k == Z_STREAM_END) {
			r = 0;
			break;
		}
		if (k != Z_OK || (s.avail_in == 0 && s.avail_out != 0)) {
			r = k == Z_MEM_ERROR ? -ENOMEM : bad(why, "corrupt deflated data");
			break;
		}
	} while (1);
	/* A cap reached exactly at the end of the stream is not over it. */
	if (r == -EFBIG && s.avail_in > 0) {
		uint8_t probe;
		s.next_out = &probe;
		s.avail_out = 1;
		k = inflate(&s, Z_NO_FLUSH);
		if (k == Z_STREAM_END && s.avail_out == 1)
			r = 0;
	}
	inflateEnd(&s);
	return r;
}

int
unzip_read(const struct unzip_entry *e, size_t max, struct buf *out, const char **why)
{
	size_t start = out->len;
	int r;

	if (e->unpacked > max)
		return -EFBIG;
	if (e->method == 0)
		r = buf_append(out, e->data, e->packed);
	else
		r = inflate_into(e, max, out, why);
	if (r == -ENOBUFS)
		r = -EFBIG;
	if (r < 0)
		return r;
	if (out->len - start != e->unpacked)
		return bad(why, "an entry whose size is not the one recorded");
	if (crc32(0, (const Bytef *)out->data + start, (uInt)(out->len - start)) != e->crc)
		return bad(why, "a checksum that does not match");
	return 0;
}
