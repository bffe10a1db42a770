/* SPDX-License-Identifier: MIT */
/* Files written whole under a temporary name; ttys held exclusively. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file-util.h"

int
file_write_temp(char *tmpl, const void *data, size_t len, mode_t mode, bool sync)
{
	const char *p = data;
	int fd, r = 0;

	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (r == 0 && (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0)))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmpl);
	return r;
}

int
tty_hold_exclusive(int fd)
{
	return ioctl(fd, TIOCEXCL) < 0 ? -errno : 0;
}

void
tty_close(int fd)
{
	if (fd < 0)
		return;
	(void)ioctl(fd, TIOCNXCL);
	close(fd);
}
