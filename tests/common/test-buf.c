/* SPDX-License-Identifier: MIT */
/* Bounded buffers: the limit holds, failed appends change nothing. */
#include <errno.h>

#include "common/buf.h"
#include "test.h"

int
main(void)
{
	struct buf b = BUF_INIT(10);
	char *s;

	CHECK_INT_EQ(buf_puts(&b, "hello"), 0);
	CHECK_INT_EQ(buf_printf(&b, "%d", 1234), 0);
	CHECK_STR_EQ(b.data, "hello1234");
	CHECK_INT_EQ(buf_puts(&b, "xy"), -ENOBUFS);
	CHECK_STR_EQ(b.data, "hello1234");
	CHECK_INT_EQ(buf_printf(&b, "%s", "ab"), -ENOBUFS);
	CHECK_INT_EQ(b.len, 9);
	CHECK_INT_EQ(buf_putc(&b, '!'), 0);
	CHECK_INT_EQ(b.len, 10);
	CHECK_INT_EQ(buf_putc(&b, '!'), -ENOBUFS);
	CHECK_INT_EQ(buf_append(&b, "", 0), 0);
	buf_truncate(&b, 5);
	CHECK_STR_EQ(b.data, "hello");
	s = buf_steal(&b);
	CHECK_STR_EQ(s, "hello");
	CHECK(b.data == NULL && b.len == 0);
	free(s);

	s = buf_steal(&b);
	CHECK_STR_EQ(s, "");
	free(s);

	struct buf big = BUF_INIT(1 << 20);
	for (int i = 0; i < 100000; i++)
		CHECK_INT_EQ(buf_putc(&big, (char)('a' + i % 26)), 0);
	CHECK_INT_EQ(big.len, 100000);
	CHECK(big.data[99999] == 'a' + 99999 % 26 && big.data[100000] == 0);
	buf_free_erase(&big);
	buf_free(&b);
	return 0;
}
