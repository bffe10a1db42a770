/* SPDX-License-Identifier: MIT */
/*
 * PNG encoding for screens. A screen is flat colour, text and a QR code: nearly all of it repeats
 * the pixel to its left or the row above. The deflate stream here looks for exactly those two
 * matches and codes them with the fixed Huffman codes, no hash chains and no code tables to
 * build, which is several times faster than zlib's fastest level on these pixels and about
 * as small. zlib is used for its checksums only.
 */
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "drivers/display/display-private.h"

#define MATCH_MIN 3
#define MATCH_MAX 258
#define WINDOW    32768
#define PIXEL     3 /* RGB, 8 bits each */
/* Rows and sizes kept far from PNG's 2^31 limits on lengths and dimensions. */
#define SIDE_MAX  65535u
#define RAW_MAX   (1ul << 30)

/* A code as it goes into the stream: bits, least significant first, and how many. */
struct code {
	uint32_t bits;
	uint32_t n;
};

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
				      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
				      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
				      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
	1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
	193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};

struct tables {
	struct code lit[256];
	struct code len[MATCH_MAX + 1]; /* the length's symbol and its extra bits */
};

static uint32_t
reverse(uint32_t code, uint32_t n)
{
	uint32_t r = 0;

	for (uint32_t i = 0; i < n; i++, code >>= 1)
		r = r << 1 | (code & 1);
	return r;
}

/* The fixed literal/length code of deflate (RFC 1951, section 3.2.6). Huffman codes go in most
 * significant bit first, so they are stored reversed. */
static struct code
fixed(uint32_t sym)
{
	if (sym < 144)
		return (struct code){reverse(0x30 + sym, 8), 8};
	if (sym < 256)
		return (struct code){reverse(0x190 + sym - 144, 9), 9};
	if (sym < 280)
		return (struct code){reverse(sym - 256, 7), 7};
	return (struct code){reverse(0xc0 + sym - 280, 8), 8};
}

static void
tables_init(struct tables *t)
{
	for (uint32_t i = 0; i < 256; i++)
		t->lit[i] = fixed(i);
	for (uint32_t s = 0; s < 29; s++) {
		struct code c = fixed(257 + s);
		uint32_t end = s == 28 ? MATCH_MAX + 1 : len_base[s + 1];

		for (uint32_t l = len_base[s]; l < end && l <= MATCH_MAX; l++)
			t->len[l] = (struct code){c.bits | (l - len_base[s]) << c.n,
						  c.n + len_extra[s]};
	}
}

/* The distance's 5-bit code and its extra bits; d in 1..32768. */
static struct code
distance(uint32_t d)
{
	uint32_t s = 29;

	while (dist_base[s] > d)
		s--;
	return (struct code){reverse(s, 5) | (d - dist_base[s]) << 5, 5 + (s < 4 ? 0 : s / 2 - 1)};
}

struct bits {
	uint8_t *p;
	uint64_t acc;
	uint32_t n;
};

/* n <= 32 */
static inline void
put(struct bits *w, uint32_t bits, uint32_t n)
{
	w->acc |= (uint64_t)bits << w->n;
	w->n += n;
	if (w->n >= 32) {
		for (int i = 0; i < 4; i++)
			*w->p++ = (uint8_t)(w->acc >> (8 * i));
		w->acc >>= 32;
		w->n -= 32;
	}
}

static void
flush(struct bits *w)
{
	for (; w->n > 0; w->n = w->n > 8 ? w->n - 8 : 0, w->acc >>= 8)
		*w->p++ = (uint8_t)w->acc;
}

/* How many bytes from a repeat those from b, at most max. */
static inline size_t
same(const uint8_t *a, const uint8_t *b, size_t max)
{
	size_t k = 0;
	uint64_t x, y;

	for (; k + 8 <= max; k += 8) {
		memcpy(&x, a + k, 8);
		memcpy(&y, b + k, 8);
		if (x != y)
			break;
	}
	while (k < max && a[k] == b[k])
		k++;
	return k;
}

/* One block with the fixed codes. A literal costs at most 9 bits; a match of 3 bytes from the
 * pixel to the left at most 18, one of 4 or more from the row above at most 31: never more than
 * 9 bits a byte. */
static uint8_t *
deflate_rows(const uint8_t *raw, size_t n, size_t row, uint8_t *out)
{
	struct tables t;
	struct bits w = {.p = out};
	struct code left = distance(PIXEL), up = {0, 0};
	int use_up = row <= WINDOW;

	tables_init(&t);
	if (use_up)
		up = distance((uint32_t)row);
	put(&w, 1 | 1 << 1, 3); /* the last block, fixed codes */
	for (size_t i = 0; i < n;) {
		size_t max = n - i < MATCH_MAX ? n - i : MATCH_MAX;
		size_t l1 = i >= PIXEL ? same(raw + i, raw + i - PIXEL, max) : 0;
		size_t l2 = use_up && i >= row ? same(raw + i, raw + i - row, max) : 0;

		if (l2 > l1 && l2 >= MATCH_MIN + 1) {
			put(&w, t.len[l2].bits, t.len[l2].n);
			put(&w, up.bits, up.n);
			i += l2;
		} else if (l1 >= MATCH_MIN) {
			put(&w, t.len[l1].bits, t.len[l1].n);
			put(&w, left.bits, left.n);
			i += l1;
		} else {
			put(&w, t.lit[raw[i]].bits, t.lit[raw[i]].n);
			i++;
		}
	}
	put(&w, fixed(256).bits, fixed(256).n); /* end of block */
	flush(&w);
	return w.p;
}

static uint8_t *
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* The chunk whose type starts at p (after its length) and whose data is len bytes: writes
 * the length before it and the CRC after it. */
static uint8_t *
chunk_close(uint8_t *type, size_t len)
{
	be32(type - 4, (uint32_t)len);
	return be32(type + 4 + len, (uint32_t)crc32(0, type, (uInt)(4 + len)));
}

static int
sides_ok(uint32_t w, uint32_t h)
{
	return w >= 1 && h >= 1 && w <= SIDE_MAX && h <= SIDE_MAX &&
	       ((size_t)w * PIXEL + 1) * h <= RAW_MAX;
}

size_t
display_png_bound(uint32_t w, uint32_t h)
{
	size_t raw = ((size_t)w * PIXEL + 1) * h;

	if (!sides_ok(w, h))
		return 0;
	/* signature, IHDR, IDAT's frame, zlib's header and checksum, IEND; the bits; the flush */
	return 8 + 25 + 12 + 6 + 12 + raw + raw / 8 + 16;
}

size_t
display_png_encode(const uint8_t *raw, uint32_t w, uint32_t h, uint8_t *out)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	size_t n = ((size_t)w * PIXEL + 1) * h;
	uint8_t *p = out, *type, *end;
	uLong adler;

	if (!sides_ok(w, h))
		return 0;
	memcpy(p, sig, sizeof(sig));
	p += sizeof(sig);

	type = p + 4;
	memcpy(type, "IHDR", 4);
	p = be32(type + 4, w);
	p = be32(p, h);
	*p++ = 8; /* bits per sample */
	*p++ = 2; /* colour type: RGB */
	*p++ = 0; /* deflate */
	*p++ = 0; /* filter method 0 (each row's first byte: its filter, 0 = none) */
	*p++ = 0; /* not interlaced */
	p = chunk_close(type, 13);

	type = p + 4;
	memcpy(type, "IDAT", 4);
	p = type + 4;
	*p++ = 0x78; /* deflate, 32 KiB window */
	*p++ = 0x01; /* no dictionary; 0x7801 is a multiple of 31 */
	end = deflate_rows(raw, n, (size_t)w * PIXEL + 1, p);
	adler = adler32(adler32(0, NULL, 0), raw, (uInt)n);
	end = be32(end, (uint32_t)adler);
	p = chunk_close(type, (size_t)(end - type - 4));

	type = p + 4;
	memcpy(type, "IEND", 4);
	p = chunk_close(type, 0);
	return (size_t)(p - out);
}
