/* SPDX-License-Identifier: MIT */
/* PNG output for kiosks and tests: written beside the target, then renamed over it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macro.h"
#include "drivers/display/display-private.h"

#define PNG_PATH_MAX 4096

static cairo_status_t
png_write_fd(void *closure, const unsigned char *data, unsigned int length)
{
	int fd = *(int *)closure;

	while (length > 0) {
		ssize_t n = write(fd, data, length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CAIRO_STATUS_WRITE_ERROR;
		data += n;
		length -= (unsigned)n;
	}
	return CAIRO_STATUS_SUCCESS;
}

int
display_png_write(cairo_surface_t *surface, const char *path)
{
	char tmp[PNG_PATH_MAX];
	_cleanup_close_ int fd = -1;
	cairo_status_t st;
	int r;

	r = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* A reader (kiosk browser, test) sees the old file or the new one, never half of one. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	st = cairo_surface_write_to_png_stream(surface, png_write_fd, &fd);
	if (st != CAIRO_STATUS_SUCCESS) {
		r = st == CAIRO_STATUS_NO_MEMORY ? -ENOMEM : -EIO;
		goto fail;
	}
	if (fchmod(fd, 0644) < 0 || close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return r;
}
