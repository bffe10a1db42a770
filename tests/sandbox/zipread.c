/* SPDX-License-Identifier: MIT */
/* Reads a bill zip back for the tests: entry names (raw bytes) and GBK contents as UTF-8. */
#include "zipread.h"

#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/buf.h"
#include "sandbox/form.h"
#include "test.h"

int
zip_read_entries(const void *zip, size_t len, struct zip_entry *ret, int max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int n = 0;

	CHECK(a);
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, zip, len) != ARCHIVE_OK) {
		archive_read_free(a);
		return -1;
	}
	while (n < max && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		struct buf data = BUF_INIT(1 << 24);
		char chunk[4096];
		la_ssize_t r;
		const char *name = archive_entry_pathname(e);

		CHECK(name);
		while ((r = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			CHECK(buf_append(&data, chunk, (size_t)r) == 0);
		CHECK(r == 0);
		ret[n].name_raw = strdup(name);
		CHECK(sb_charset_to_utf8(SB_CHARSET_GBK, name, strlen(name), &ret[n].name_utf8) ==
		      0);
		CHECK(sb_charset_to_utf8(SB_CHARSET_GBK, data.data ? data.data : "", data.len,
					 &ret[n].text_utf8) == 0);
		buf_free(&data);
		n++;
	}
	archive_read_free(a);
	return n;
}

void
zip_entries_free(struct zip_entry *e, int n)
{
	for (int i = 0; i < n; i++) {
		free(e[i].name_raw);
		free(e[i].name_utf8);
		free(e[i].text_utf8);
	}
}
