/* SPDX-License-Identifier: MIT */
/* Logging: journald prefixes, -errno returns, %m, errno preserved, level filter, holding. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common/log.h"
#include "test.h"

/* What a sink got: "level message NAME=value..." lines. */
static char sunk[1024];

static int
test_sink(int level, const char *message, const struct log_field *fields, size_t n)
{
	size_t len = strlen(sunk);

	len += (size_t)snprintf(sunk + len, sizeof(sunk) - len, "%d %s", level, message);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(sunk + len, sizeof(sunk) - len, " %s=%s", fields[i].name,
					fields[i].value ? fields[i].value : "(null)");
	snprintf(sunk + len, sizeof(sunk) - len, "\n");
	return 0;
}

static void *
other_thread(void *arg)
{
	log_info("from another thread");
	return NULL;
}

/* log_hold(): lines held in order, fields copied, warnings at once after them, a cap, other
 * threads untouched. */
static void
test_hold(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	pthread_t t;

	CHECK(f);
	log_set_stream(f);
	log_set_sink(test_sink);
	sunk[0] = 0;

	log_hold(true);
	{
		char name[] = "ORDER", value[] = "A1";
		struct log_field fl[] = {{name, value}, {"STATE", NULL}};

		log_info("first");
		log_fields(LOG_INFO, fl, 2, "order %s", "A1");
		/* The caller's strings change once the call returns: the held line has copies. */
		strcpy(value, "XX");
	}
	CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	fflush(f);
	CHECK_STR_EQ(out, "<6>from another thread\n");
	CHECK_STR_EQ(sunk, "");
	/* A warning goes at once, after the lines held before it. */
	log_warning("careful");
	fflush(f);
	CHECK_STR_EQ(out, "<6>from another thread\n<6>first\n<4>careful\n");
	CHECK_STR_EQ(sunk, "6 order A1 ORDER=A1 STATE=(null)\n");
	/* Still holding: 16 lines wait, the 17th goes after them. */
	for (int i = 0; i < 17; i++)
		log_info("line %d", i);
	fflush(f);
	CHECK(strstr(out, "<6>line 15\n<6>line 16\n"));
	log_info("after");
	fflush(f);
	CHECK(!strstr(out, "after"));
	log_hold(false);
	fflush(f);
	CHECK(strstr(out, "<6>line 16\n<6>after\n"));
	log_info("not held");
	fflush(f);
	CHECK(strstr(out, "<6>after\n<6>not held\n"));

	log_set_sink(NULL);
	log_set_stream(NULL);
	fclose(f);
	free(out);
}

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

	test_hold();
	return 0;
}
