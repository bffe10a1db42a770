/* SPDX-License-Identifier: MIT */
/* Tests: steps this process's wall clock by an offset on demand; the other clocks stay true. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "clock-shift.h"

/*
 * What an NTP step does to a process, without touching the machine's clock (other tests run at
 * the same time): CLOCK_REALTIME (and its coarse variant), gettimeofday() and time() answer
 * true time + offset; CLOCK_MONOTONIC and CLOCK_BOOTTIME, and the kernel's own timers, are
 * untouched. Linked into a test program, these definitions interpose on libc for every library
 * of the process (clock_shift_set_usec() moves the offset); built as a shared object and
 * preloaded, F2FPAY_TEST_CLOCK_SHIFT_FILE names a file holding the offset in whole seconds
 * (e.g. "7200" or "-7200"), read at every call so a test can step a running daemon's clock.
 * F2FPAY_TEST_CLOCK_UNSYNC=1 (or 0) makes adjtimex() report the clock unsynchronized
 * (STA_UNSYNC) or synchronized, whatever the machine's state.
 */

static _Atomic int64_t offset_usec;

void
clock_shift_set_usec(int64_t usec)
{
	atomic_store(&offset_usec, usec);
}

static int64_t
current_offset_usec(void)
{
	const char *path = getenv("F2FPAY_TEST_CLOCK_SHIFT_FILE");
	char buf[32];
	ssize_t n;
	int fd;

	if (!path)
		return atomic_load(&offset_usec);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10) * 1000000;
}

static int (*real_clock_gettime(void))(clockid_t, struct timespec *)
{
	static int (*f)(clockid_t, struct timespec *);

	if (!f)
		f = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	return f;
}

static void
shift(struct timespec *ts, int64_t usec)
{
	int64_t ns = (int64_t)ts->tv_nsec + (usec % 1000000) * 1000;

	ts->tv_sec += (time_t)(usec / 1000000);
	while (ns < 0) {
		ns += 1000000000;
		ts->tv_sec--;
	}
	while (ns >= 1000000000) {
		ns -= 1000000000;
		ts->tv_sec++;
	}
	ts->tv_nsec = (long)ns;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int r = real_clock_gettime()(id, ts);

	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		shift(ts, current_offset_usec());
	return r;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec; /* glibc declares tv non-null */
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int
adjtimex(struct timex *tx)
{
	static int (*real)(struct timex *);
	const char *force = getenv("F2FPAY_TEST_CLOCK_UNSYNC");
	int r;

	if (!real)
		real = (int (*)(struct timex *))dlsym(RTLD_NEXT, "adjtimex");
	r = real(tx);
	if (r >= 0 && force && *force == '1')
		tx->status |= STA_UNSYNC;
	else if (r >= 0 && force && *force == '0')
		tx->status &= ~STA_UNSYNC;
	return r;
}
