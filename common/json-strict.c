/* SPDX-License-Identifier: MIT */
/* A strict JSON check: one recursive-descent pass that builds nothing but the keys it compares. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json-strict.h"
#include "common/macro.h"

/* One key of the object being read: its unescaped bytes live in the parser's key buffer. */
struct key {
	uint32_t hash;
	size_t off, len;
};

struct parser {
	const unsigned char *s;
	size_t len, pos;
	unsigned max_depth, flags;
	struct json_strict_error *err;
	struct buf keys;   /* unescaped keys of the objects open on the current path */
	struct key *index; /* their spans, a stack shared by the nested objects */
	size_t n_index, cap_index;
	int oom;
};

static int _printf_(3, 4) fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;

	p->err->offset = at;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* The length of the valid UTF-8 sequence at s (n bytes available), or 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* E0: no overlongs below U+0800; ED: no surrogates U+D800-U+DFFF. */
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* F0: no overlongs below U+10000; F4: nothing above U+10FFFF. */
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
				       (s[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0; /* 80-C1 and F5-FF never start a sequence */
}

size_t
utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq(u + i, len - i);
		if (k == 0)
			return i;
		i += k;
	}
	return len;
}

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int
hex4(struct parser *p, size_t at, unsigned *ret)
{
	unsigned v = 0;

	if (p->len - at < 4)
		return fail(p, at, "truncated \\u escape");
	for (size_t i = 0; i < 4; i++) {
		unsigned char c = p->s[at + i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return fail(p, at + i, "bad hex digit in a \\u escape");
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

/* Appends code point cp as UTF-8 to `out` (NULL: only checking). */
static void
put_utf8(struct parser *p, struct buf *out, unsigned cp)
{
	char b[4];
	size_t n;

	if (!out)
		return;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (buf_append(out, b, n) < 0)
		p->oom = -ENOMEM;
}

/* The one-letter escapes of RFC 8259 (section 7) and what each stands for, position by position. */
#define SIMPLE_ESCAPES "\"\\/bfnrt"
#define SIMPLE_VALUES  "\"\\/\b\f\n\r\t"

/* A string at p->pos (the opening quote); its unescaped bytes go to `out` unless NULL. */
static int
parse_string(struct parser *p, struct buf *out)
{
	size_t start = p->pos++;

	for (;;) {
		unsigned char c;

		if (p->pos >= p->len)
			return fail(p, start, "unterminated string");
		c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			return p->oom;
		}
		if (c < 0x20)
			return fail(p, p->pos, "unescaped control character in a string");
		if (c == '\\') {
			unsigned cp, lo;
			int r;

			if (p->pos + 1 >= p->len)
				return fail(p, p->pos, "truncated escape");
			c = p->s[p->pos + 1];
			if (c != 'u') {
				const char *e = c ? strchr(SIMPLE_ESCAPES, c) : NULL;
				if (!e)
					return fail(p, p->pos, "bad escape \\%c",
						    c >= 0x21 && c < 0x7f ? c : '?');
				put_utf8(p, out, (unsigned char)SIMPLE_VALUES[e - SIMPLE_ESCAPES]);
				p->pos += 2;
				continue;
			}
			r = hex4(p, p->pos + 2, &cp);
			if (r < 0)
				return r;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(p, p->pos, "lone surrogate \\u%04x", cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->len - p->pos < 12 || p->s[p->pos + 6] != '\\' ||
				    p->s[p->pos + 7] != 'u')
					return fail(p, p->pos, "lone surrogate \\u%04x", cp);
				r = hex4(p, p->pos + 8, &lo);
				if (r < 0)
					return r;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(p, p->pos, "lone surrogate \\u%04x", cp);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p->pos += 6;
			}
			put_utf8(p, out, cp);
			p->pos += 6;
			continue;
		}
		size_t k = (p->flags & JSON_STRICT_RAW_BYTES)
				   ? 1
				   : utf8_seq(p->s + p->pos, p->len - p->pos);
		if (k == 0)
			return fail(p, p->pos, "invalid UTF-8 in a string");
		if (out && buf_append(out, p->s + p->pos, k) < 0)
			p->oom = -ENOMEM;
		p->pos += k;
	}
}

static int
parse_number(struct parser *p)
{
	size_t start = p->pos;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len)
		return fail(p, start, "bad number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9')
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	else
		return fail(p, start, "bad number");
	if (p->pos < p->len && p->s[p->pos] == '.') {
		size_t d = ++p->pos;
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d)
			return fail(p, start, "bad number");
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		size_t d = p->pos;
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d)
			return fail(p, start, "bad number");
	}
	return 0;
}

static int
parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail(p, p->pos, "unexpected character");
	p->pos += n;
	return 0;
}

static uint32_t
key_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The key just appended at keys[off..]: refused if the object (index[first..]) has it. */
static int
key_add(struct parser *p, size_t first, size_t off, size_t at)
{
	size_t n = p->keys.len - off;
	uint32_t h = key_hash(p->keys.data + off, n);

	for (size_t i = first; i < p->n_index; i++) {
		const struct key *k = &p->index[i];
		if (k->hash == h && k->len == n &&
		    memcmp(p->keys.data + k->off, p->keys.data + off, n) == 0) {
			size_t o = 0;
			p->err->duplicate_key = true;
			for (size_t j = 0; j < n && o + 4 < sizeof(p->err->key); j++) {
				char c = p->keys.data[off + j];
				p->err->key[o++] = c >= 0x20 && c < 0x7f ? c : '?';
			}
			if (o < n)
				memcpy(p->err->key + o, "...", 3), o += 3;
			p->err->key[o] = 0;
			return fail(p, at, "duplicate key \"%s\"", p->err->key);
		}
	}
	if (p->n_index == p->cap_index) {
		size_t cap = p->cap_index ? p->cap_index * 2 : 16;
		struct key *k = reallocarray(p->index, cap, sizeof(*k));
		if (!k)
			return -ENOMEM;
		p->index = k;
		p->cap_index = cap;
	}
	p->index[p->n_index++] = (struct key){.hash = h, .off = off, .len = n};
	return 0;
}

static int parse_value(struct parser *p, unsigned depth);

static int
parse_object(struct parser *p, unsigned depth)
{
	size_t first = p->n_index, keys_len = p->keys.len;
	int r;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		size_t at = p->pos, off = p->keys.len;

		if (p->pos >= p->len || p->s[p->pos] != '"')
			return fail(p, p->pos, "a string key is expected");
		r = parse_string(p, &p->keys);
		if (r < 0)
			return r;
		r = key_add(p, first, off, at);
		if (r < 0)
			return r;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return fail(p, p->pos, "':' is expected");
		p->pos++;
		r = parse_value(p, depth);
		if (r < 0)
			return r;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			skip_ws(p);
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		return fail(p, p->pos, "',' or '}' is expected");
	}
	/* The object is closed: its keys leave the stack. */
	p->n_index = first;
	buf_truncate(&p->keys, keys_len);
	return 0;
}

static int
parse_array(struct parser *p, unsigned depth)
{
	int r;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		r = parse_value(p, depth);
		if (r < 0)
			return r;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			return 0;
		}
		return fail(p, p->pos, "',' or ']' is expected");
	}
}

static int
parse_value(struct parser *p, unsigned depth)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, p->pos, "unexpected end of input");
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		if (depth >= p->max_depth)
			return fail(p, p->pos, "nested deeper than %u", p->max_depth);
		return p->s[p->pos] == '{' ? parse_object(p, depth + 1) : parse_array(p, depth + 1);
	case '"':
		return parse_string(p, NULL);
	case 't':
		return parse_literal(p, "true");
	case 'f':
		return parse_literal(p, "false");
	case 'n':
		return parse_literal(p, "null");
	case '-':
	case '0' ... '9':
		return parse_number(p);
	default:
		return fail(p, p->pos, "unexpected character");
	}
}

int
json_strict_check(const char *s, size_t len, unsigned max_depth, unsigned flags,
		  struct json_strict_error *err)
{
	struct parser p = {
		.s = (const unsigned char *)s,
		.len = len,
		.max_depth = max_depth,
		.flags = flags,
		.err = err,
		/* Keys are never longer than the text they come from. */
		.keys = BUF_INIT(len + 64),
	};
	int r;

	*err = (struct json_strict_error){};
	if (buf_reserve(&p.keys, 64) < 0)
		return -ENOMEM;
	r = parse_value(&p, 0);
	if (r == 0) {
		skip_ws(&p);
		if (p.pos < p.len)
			r = fail(&p, p.pos, "trailing characters");
	}
	buf_free(&p.keys);
	free(p.index);
	return r;
}
