/* SPDX-License-Identifier: MIT */
/* The client's SSE parser: events split anywhere, CR/LF/CRLF, comments, multi-line data, limits. */
#include <errno.h>

#include "common/buf.h"
#include "daemon/sse-parse.h"
#include "test.h"

static int
collect(void *userdata, const char *name, const char *data, const char *id)
{
	struct buf *out = userdata;

	CHECK(buf_printf(out, "[%s|%s|%s]", name, data, id) >= 0);
	return 0;
}

static void
check_stream(const char *stream, const char *expected)
{
	/* Feed it whole, then byte by byte: the result must not depend on the chunking. */
	for (int chunked = 0; chunked < 2; chunked++) {
		struct buf out = BUF_INIT(1 << 16);
		struct sse_parser p;
		size_t len = strlen(stream);

		sse_parser_init(&p, collect, &out);
		if (chunked)
			for (size_t i = 0; i < len; i++)
				CHECK_INT_EQ(sse_parser_feed(&p, stream + i, 1), 0);
		else
			CHECK_INT_EQ(sse_parser_feed(&p, stream, len), 0);
		CHECK_STR_EQ(out.data ? out.data : "", expected);
		sse_parser_done(&p);
		buf_free(&out);
	}
}

static int
stop(void *userdata, const char *name, const char *data, const char *id)
{
	return -ECANCELED;
}

int
main(void)
{
	check_stream(": f2fpayd events\n\n", "");
	check_stream("id: 1\nevent: order\ndata: {\"id\":\"a\"}\n\n", "[order|{\"id\":\"a\"}|1]");
	check_stream("data: one\ndata: two\n\n", "[message|one\ntwo|]");
	check_stream("event: scan\r\ndata:x\r\n\r\nevent: b\rdata: y\r\r", "[scan|x|][b|y|]");
	check_stream("data: unterminated", "");
	check_stream("event: lonely\n\ndata: z\n\n", "[message|z|]");
	check_stream("retry: 10\nfoo: bar\ndata\n\n", "[message||]");
	check_stream("id: 7\ndata: a\n\ndata: b\n\n", "[message|a|7][message|b|7]");

	/* A line over the limit ends the stream. */
	{
		struct sse_parser p;
		struct buf out = BUF_INIT(16);
		char *big = malloc(SSE_LINE_MAX + 10);
		CHECK(big);
		memset(big, 'a', SSE_LINE_MAX + 10);
		sse_parser_init(&p, collect, &out);
		CHECK_INT_EQ(sse_parser_feed(&p, big, SSE_LINE_MAX + 10), -EMSGSIZE);
		sse_parser_done(&p);
		free(big);
	}
	/* A callback's error stops the feed. */
	{
		struct sse_parser p;
		sse_parser_init(&p, stop, NULL);
		CHECK_INT_EQ(sse_parser_feed(&p, "data: x\n\ndata: y\n\n", 18), -ECANCELED);
		sse_parser_done(&p);
	}
	printf("sse parser: ok\n");
	return 0;
}
