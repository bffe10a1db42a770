/* SPDX-License-Identifier: MIT */
/* Logging: journald prefixes, -errno returns, %m, errno preserved, level filter. */
#include <errno.h>

#include "common/log.h"
#include "test.h"

int
main(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int r;

	CHECK(f);
	log_set_stream(f);
	log_set_max_level(LOG_INFO);

	errno = EINTR;
	r = log_error_errno(ENOENT, "Failed to open %s: %m", "/x");
	CHECK_INT_EQ(r, -ENOENT);
	CHECK_INT_EQ(errno, EINTR);
	r = log_warning_errno(-EACCES, "denied: %m");
	CHECK_INT_EQ(r, -EACCES);
	log_info("amount %d", 5);
	log_debug("hidden");
	CHECK_INT_EQ(log_bug("state %d", 3), -EBADMSG);
	fflush(f);
	CHECK_STR_EQ(out, "<3>Failed to open /x: No such file or directory\n"
			  "<4>denied: Permission denied\n"
			  "<6>amount 5\n"
			  "<2>BUG: state 3\n");
	log_set_stream(NULL);
	fclose(f);
	free(out);
	return 0;
}
