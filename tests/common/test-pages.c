/* SPDX-License-Identifier: MIT */
/* Read-only file mappings: which lines qualify, released pages come back intact, copies stay. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/pages.h"
#include "test.h"

#define PAGES 16

static char file[] = "/tmp/test-pages-XXXXXX";

static void
test_maps_line(void)
{
	static const struct {
		const char *line;
		int ok;
	} t[] = {
		{"7f00a000-7f00b000 r--p 00000000 08:01 123 /usr/lib/libfoo.so.1\n", 1},
		{"7f00a000-7f00b000 r-xp 00001000 08:01 123 /usr/lib/libfoo.so.1\n", 1},
		{"7f00a000-7f00b000 r--p 00001000 08:01 123   /usr/share/fonts/x/Noto Sans.OTF\n",
		 1},
		{"7f00a000-7f00b000 r--p 00000000 08:01 123 /opt/f", 1},
		{"7f00a000-7f00b000 r--s 00000000 08:01 123 /usr/lib/libfoo.so.1\n", 0},
		{"7f00a000-7f00b000 rw-p 00000000 08:01 123 /usr/lib/libfoo.so.1\n", 0},
		{"7f00a000-7f00b000 rwxp 00000000 08:01 123 /usr/lib/libfoo.so.1\n", 0},
		{"7f00a000-7f00b000 ---p 00000000 08:01 123 /usr/lib/libfoo.so.1\n", 0},
		{"7f00a000-7f00b000 r--p 00000000 00:00 0 \n", 0},
		{"7f00a000-7f00b000 r--p 00000000 00:00 0 [vvar]\n", 0},
		{"7f00a000-7f00b000 r-xp 00000000 00:00 0 [vdso]\n", 0},
		{"7f00b000-7f00a000 r--p 00000000 08:01 123 /usr/lib/libfoo.so.1\n", 0},
		{"7f00a000-7f00b000 r--p", 0},
		{"", 0},
		{"/usr/lib/libfoo.so.1", 0},
	};
	uint64_t lo = 0, hi = 0;
	const char *path = NULL;
	size_t len = 0;

	for (size_t i = 0; i < ELEMENTSOF(t); i++)
		CHECK_INT_EQ(pages_maps_line(t[i].line, &lo, &hi, &path, &len), t[i].ok);
	CHECK_INT_EQ(pages_maps_line(t[2].line, &lo, &hi, &path, &len), 1);
	CHECK(lo == 0x7f00a000 && hi == 0x7f00b000);
	CHECK(len == strlen("/usr/share/fonts/x/Noto Sans.OTF"));
	CHECK(strncmp(path, "/usr/share/fonts/x/Noto Sans.OTF", len) == 0);
}

/* The resident kB of the mapping that starts at p, from smaps(5); -1 when there is none. */
static long
rss_kb(const void *p)
{
	char line[4096 + 128];
	uint64_t lo, hi;
	bool at = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &lo, &hi) == 2) {
			at = lo == (uint64_t)(uintptr_t)p;
			continue;
		}
		if (at && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static bool
want_file(const char *path, size_t len)
{
	return len == strlen(file) && strncmp(path, file, len) == 0;
}

static bool
want_none(const char *path, size_t len)
{
	return false;
}

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 4096);
}

static void
check_contents(const unsigned char *p, size_t skip)
{
	for (size_t i = 0; i < (size_t)PAGES * 4096; i++)
		if (i != skip && p[i] != pattern(i)) {
			fprintf(stderr, "byte %zu: %u, not %u\n", i, p[i], pattern(i));
			abort();
		}
}

static void
test_release(void)
{
	size_t size = (size_t)PAGES * 4096;
	unsigned char *buf = malloc(size), *ro, *copied;
	unsigned sum = 0, want = 0;
	int fd = mkstemp(file);

	CHECK(fd >= 0 && buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	CHECK(write(fd, buf, size) == (ssize_t)size);
	free(buf);

	/* Mapped read-only and read through: resident. */
	ro = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(ro != MAP_FAILED);
	for (size_t i = 0; i < size; i += 4096) {
		sum += ro[i];
		want += pattern(i);
	}
	CHECK(sum == want);
	CHECK(rss_kb(ro) == PAGES * 4);

	/* Another mapping of the file with one page copied, then made read-only: "r--p" as well,
	 * but its copy must survive. */
	copied = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(copied != MAP_FAILED);
	copied[5000] = (unsigned char)~pattern(5000);
	CHECK(mprotect(copied, size, PROT_READ) == 0);

	/* A filter that wants none of them releases nothing. */
	CHECK_INT_EQ(pages_release_clean(want_none), 0);
	CHECK(rss_kb(ro) == PAGES * 4);

	/* Only the clean mapping goes; what is read again is the file's. */
	CHECK_INT_EQ(pages_release_clean(want_file), 1);
	CHECK_INT_EQ((int)rss_kb(ro), 0);
	CHECK(rss_kb(copied) > 0);
	check_contents(ro, SIZE_MAX);
	CHECK(rss_kb(ro) == PAGES * 4);
	CHECK(copied[5000] == (unsigned char)~pattern(5000));
	check_contents(copied, 5000);

	/* All of the process's read-only file mappings (the libraries too): it goes on running. */
	CHECK(pages_release_clean(NULL) >= 1);
	check_contents(ro, SIZE_MAX);
	CHECK(copied[5000] == (unsigned char)~pattern(5000));

	munmap(ro, size);
	munmap(copied, size);
	close(fd);
	unlink(file);
}

int
main(void)
{
	test_maps_line();
	test_release();
	return 0;
}
