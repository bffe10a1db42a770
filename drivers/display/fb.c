/* SPDX-License-Identifier: MIT */
/* Linux framebuffer output: mmap, an off-screen cairo surface, a row-by-row copy on flush. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/macro.h"
#include "drivers/display/display-private.h"

#define FB_SIDE_MAX 8192

struct display_fb {
	int fd;
	char *path; /* the device node, watched for disappearance; NULL for a test's fd */
	dev_t rdev;
	uint8_t *map;
	size_t map_len;
	size_t offset; /* first byte of the visible area inside the map */
	unsigned width, height, line_length, bytes_pp;
	cairo_surface_t *shadow;
	int vt_fd;
	int vt_mode; /* the mode to restore on close */
};

struct display_fb *
display_fb_close(struct display_fb *fb)
{
	if (!fb)
		return NULL;
	if (fb->shadow)
		cairo_surface_destroy(fb->shadow);
	if (fb->map && fb->map != MAP_FAILED)
		munmap(fb->map, fb->map_len);
	if (fb->fd >= 0)
		close(fb->fd);
	if (fb->vt_fd >= 0) {
		/* Give the console back its text, or the operator faces a frozen screen. */
		if (ioctl(fb->vt_fd, KDSETMODE, fb->vt_mode) < 0)
			log_warning_errno(errno, "display: cannot restore the console mode: %m");
		close(fb->vt_fd);
	}
	free(fb->path);
	free(fb);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct display_fb *, display_fb_close);

/* doc/hardware.md §4.1: 32 bpp with offsets 16/8/0 is CAIRO_FORMAT_RGB24; 16 bpp 5/6/5 is
 * RGB16_565. */
static int
fb_format(const struct fb_var_screeninfo *v, cairo_format_t *ret)
{
	if (v->bits_per_pixel == 32 && v->red.offset == 16 && v->red.length == 8 &&
	    v->green.offset == 8 && v->green.length == 8 && v->blue.offset == 0 &&
	    v->blue.length == 8) {
		*ret = CAIRO_FORMAT_RGB24;
		return 0;
	}
	if (v->bits_per_pixel == 16 && v->red.offset == 11 && v->red.length == 5 &&
	    v->green.offset == 5 && v->green.length == 6 && v->blue.offset == 0 &&
	    v->blue.length == 5) {
		*ret = CAIRO_FORMAT_RGB16_565;
		return 0;
	}
	return -EOPNOTSUPP;
}

int
display_fb_open_fd(int fd, const struct fb_var_screeninfo *var, const struct fb_fix_screeninfo *fix,
		   struct display_fb **ret)
{
	_cleanup_(display_fb_closep) struct display_fb *fb = NULL;
	cairo_format_t format;
	struct stat st;
	uint64_t need;
	int r;

	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		close(fd);
		return -ENOMEM;
	}
	fb->fd = fd;
	fb->vt_fd = -1;

	r = fb_format(var, &format);
	if (r < 0)
		return log_debug_errno(r,
				       "display: unsupported framebuffer format %u bpp "
				       "(r %u/%u g %u/%u b %u/%u)",
				       var->bits_per_pixel, var->red.offset, var->red.length,
				       var->green.offset, var->green.length, var->blue.offset,
				       var->blue.length);
	fb->width = var->xres;
	fb->height = var->yres;
	fb->bytes_pp = var->bits_per_pixel / 8;
	fb->line_length = fix->line_length;
	if (fb->width == 0 || fb->height == 0 || fb->width > FB_SIDE_MAX ||
	    fb->height > FB_SIDE_MAX || fb->line_length < (uint64_t)fb->width * fb->bytes_pp)
		return log_debug_errno(EINVAL,
				       "display: framebuffer geometry %ux%u stride %u "
				       "is not usable",
				       fb->width, fb->height, fb->line_length);
	fb->offset = (size_t)var->yoffset * fb->line_length + (size_t)var->xoffset * fb->bytes_pp;
	need = fb->offset + (uint64_t)(fb->height - 1) * fb->line_length +
	       (uint64_t)fb->width * fb->bytes_pp;
	if (need > fix->smem_len)
		return log_debug_errno(EINVAL,
				       "display: framebuffer memory %u bytes is smaller "
				       "than the visible area (%llu bytes)",
				       fix->smem_len, (unsigned long long)need);
	/* A regular file shorter than the map would fault on write, not fail: check first. */
	if (fstat(fd, &st) < 0)
		return log_debug_errno(errno, "display: fstat: %m");
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < fix->smem_len)
		return log_debug_errno(EINVAL, "display: framebuffer file is too short");
	fb->map_len = fix->smem_len;
	fb->map = mmap(NULL, fb->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fb->map == MAP_FAILED) {
		fb->map = NULL;
		return log_debug_errno(errno, "display: cannot map the framebuffer: %m");
	}
	/* doc/design.md §10: draw off-screen, then copy, so the customer never sees a half-drawn
	 * frame. */
	fb->shadow = cairo_image_surface_create(format, (int)fb->width, (int)fb->height);
	if (cairo_surface_status(fb->shadow) != CAIRO_STATUS_SUCCESS)
		return -ENOMEM;
	*ret = TAKE_PTR(fb);
	return 0;
}

int
display_fb_open(const char *path, const char *vt, struct display_fb **ret)
{
	_cleanup_(display_fb_closep) struct display_fb *fb = NULL;
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	struct stat st;
	int fd, r;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_debug_errno(errno, "display: cannot open %s: %m", path);
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return log_debug_errno(ENOTTY, "display: %s is not a framebuffer device", path);
	}
	if (ioctl(fd, FBIOGET_VSCREENINFO, &var) < 0 || ioctl(fd, FBIOGET_FSCREENINFO, &fix) < 0) {
		r = -errno;
		close(fd);
		return log_debug_errno(r, "display: %s: cannot read the screen info: %m", path);
	}
	r = display_fb_open_fd(fd, &var, &fix, &fb);
	if (r < 0)
		return r;
	r = display_fb_watch(fb, path);
	if (r < 0)
		return r;

	if (vt)
		(void)display_fb_console_enter(fb, vt); /* a warning, never a reason to fail */
	log_info("display: %s %ux%u, %u bpp, stride %u", path, fb->width, fb->height,
		 fb->bytes_pp * 8, fb->line_length);
	*ret = TAKE_PTR(fb);
	return 0;
}

int
display_fb_console_enter(struct display_fb *fb, const char *vt)
{
	int fd, mode;

	if (fb->vt_fd >= 0)
		return 0;
	/* doc/hardware.md §4.1: on a console the cursor and kernel messages draw over us. */
	fd = open(vt, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return log_warning_errno(errno, "display: cannot open console %s: %m", vt);
	if (ioctl(fd, KDGETMODE, &mode) < 0 || ioctl(fd, KDSETMODE, KD_GRAPHICS) < 0) {
		int r = -errno;
		close(fd);
		return log_warning_errno(r, "display: cannot put %s in graphics mode: %m", vt);
	}
	fb->vt_fd = fd;
	fb->vt_mode = mode == KD_GRAPHICS ? KD_TEXT : mode;
	return 0;
}

int
display_fb_watch(struct display_fb *fb, const char *path)
{
	struct stat st;
	char *copy;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(fb->path);
	fb->path = copy;
	fb->rdev = st.st_rdev;
	return 0;
}

cairo_surface_t *
display_fb_surface(struct display_fb *fb)
{
	return fb->shadow;
}

int
display_fb_flush(struct display_fb *fb)
{
	const uint8_t *src;
	int stride;

	if (fb->path) {
		struct stat st;
		/* A USB display that went away: stop before touching a dead mapping. */
		if (stat(fb->path, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != fb->rdev)
			return -ENODEV;
	}
	cairo_surface_flush(fb->shadow);
	src = cairo_image_surface_get_data(fb->shadow);
	stride = cairo_image_surface_get_stride(fb->shadow);
	if (!src)
		return -EIO;
	for (unsigned y = 0; y < fb->height; y++)
		memcpy(fb->map + fb->offset + (size_t)y * fb->line_length,
		       src + (size_t)y * (size_t)stride, (size_t)fb->width * fb->bytes_pp);
	return 0;
}
