/* SPDX-License-Identifier: MIT */
/* Whether a tty is held exclusively (TIOCEXCL), seen from outside: for the scanners' and the
 * pole displays' tests. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/*
 * The tty's exclusive flag (0 or 1), read through a descriptor of our own (root may open it
 * anyway; anyone else is refused, which says 1); -1 where TIOCGEXCL is not there to read it
 * (qemu-user does not pass it on).
 */
static inline int
tty_exclusive(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), excl = -1, r;

	if (fd < 0 && errno == EBUSY)
		return 1; /* not root: refused because it is exclusive */
	CHECK(fd >= 0);
	r = ioctl(fd, TIOCGEXCL, &excl);
	CHECK(r == 0 || errno == ENOSYS || errno == EINVAL || errno == ENOTTY);
	close(fd);
	return r == 0 ? excl : -1;
}

/* Opens path as user and group 65534 (nobody) in a child: 0 opened, 1 EBUSY (exclusive),
 * 2 another error, 3 the identity could not be taken. */
static inline int
tty_stranger_open(const char *path)
{
	int status = 0;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		int fd;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : errno == EBUSY ? 1 : 2);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * Checks that path is held exclusively (want 1) or not (want 0): by the flag where it can be
 * read, and as root by another user's open. Fails if neither could be checked.
 */
static inline void
tty_check_exclusive(const char *path, int want)
{
	int excl = tty_exclusive(path);

	if (excl >= 0)
		CHECK(excl == want);
	if (geteuid() == 0)
		CHECK(tty_stranger_open(path) == want);
	CHECK(excl >= 0 || geteuid() == 0);
}

/*
 * Before a driver opens path: anyone may open it (mode 0666, not exclusive yet), and a
 * descriptor of ours holds it, which keeps the tty (and a flag left set) alive after the
 * driver closes it. Returns that descriptor.
 */
static inline int
tty_hold_shared(const char *path)
{
	int held;

	CHECK(chmod(path, 0666) == 0);
	tty_check_exclusive(path, 0);
	held = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	CHECK(held >= 0);
	return held;
}
