/* SPDX-License-Identifier: MIT */
/* The framebuffer backend against a file-backed fake framebuffer with injected screen info. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"

#define SENTINEL 0xa5

struct fake {
	const char *name;
	unsigned xres, yres, bpp, line_length, yoffset, xoffset, pages;
	unsigned r_off, r_len, g_off, g_len, b_off, b_len;
};

static int
fake_fd(const struct fake *f, struct fb_var_screeninfo *var, struct fb_fix_screeninfo *fix)
{
	size_t len = (size_t)f->line_length * f->yres * f->pages;
	uint8_t *fill;
	int fd = memfd_create("fake-fb", MFD_CLOEXEC);

	CHECK(fd >= 0);
	fill = malloc(len);
	CHECK(fill);
	memset(fill, SENTINEL, len);
	CHECK((size_t)write(fd, fill, len) == len);
	free(fill);

	*var = (struct fb_var_screeninfo){
		.xres = f->xres,
		.yres = f->yres,
		.xres_virtual = f->xres,
		.yres_virtual = f->yres * f->pages,
		.xoffset = f->xoffset,
		.yoffset = f->yoffset,
		.bits_per_pixel = f->bpp,
		.red = {.offset = f->r_off, .length = f->r_len},
		.green = {.offset = f->g_off, .length = f->g_len},
		.blue = {.offset = f->b_off, .length = f->b_len},
	};
	*fix = (struct fb_fix_screeninfo){
		.line_length = f->line_length,
		.smem_len = (uint32_t)len,
	};
	return fd;
}

/* Equal within the precision of RGB565 (5 or 6 bits per channel). */
static int
near_rgb(uint32_t a, uint32_t b)
{
	for (int shift = 0; shift <= 16; shift += 8)
		if (abs((int)((a >> shift) & 0xff) - (int)((b >> shift) & 0xff)) > 8)
			return 0;
	return 1;
}

static void
test_format(const struct fake *f, struct display_renderer *r)
{
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	struct display_fb *fb = NULL;
	struct display_screen scr = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[2]);
	struct display_render_info info;
	cairo_surface_t *shadow, *view;
	int fd = fake_fd(f, &var, &fix), Bpp = (int)f->bpp / 8;
	size_t off = (size_t)f->yoffset * f->line_length + (size_t)f->xoffset * Bpp;
	uint8_t *map;
	char *got = NULL;

	CHECK_INT_EQ(display_fb_open_fd(dup(fd), &var, &fix, &fb), 0);
	shadow = display_fb_surface(fb);
	CHECK_INT_EQ(cairo_image_surface_get_width(shadow), (int)f->xres);
	CHECK_INT_EQ(cairo_image_surface_get_height(shadow), (int)f->yres);
	CHECK_INT_EQ(cairo_image_surface_get_format(shadow),
		     f->bpp == 32 ? CAIRO_FORMAT_RGB24 : CAIRO_FORMAT_RGB16_565);

	CHECK_INT_EQ(display_render(r, shadow, &scr, &info), 0);
	map = mmap(NULL, fix.smem_len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	/* Off-screen drawing: nothing reaches the screen before the flush. */
	for (size_t i = 0; i < fix.smem_len; i++)
		CHECK_INT_EQ(map[i], SENTINEL);
	CHECK_INT_EQ(display_fb_flush(fb), 0);

	/* Every visible row equals the off-screen row; the rest of the memory is untouched. */
	for (unsigned y = 0; y < f->yres; y++)
		CHECK(memcmp(map + off + (size_t)y * f->line_length,
			     cairo_image_surface_get_data(shadow) +
				     (size_t)y * cairo_image_surface_get_stride(shadow),
			     (size_t)f->xres * Bpp) == 0);
	for (size_t i = 0; i < fix.smem_len; i++) {
		size_t rel = i - off;
		int visible = i >= off && rel / f->line_length < f->yres &&
			      rel % f->line_length < (size_t)f->xres * Bpp;
		if (!visible)
			CHECK_INT_EQ(map[i], SENTINEL);
	}

	/* What the customer sees decodes to the exact text. */
	view = cairo_image_surface_create_for_data(
		map + off, f->bpp == 32 ? CAIRO_FORMAT_RGB24 : CAIRO_FORMAT_RGB16_565, (int)f->xres,
		(int)f->yres, (int)f->line_length);
	CHECK(cairo_surface_status(view) == CAIRO_STATUS_SUCCESS);
	CHECK_INT_EQ(test_zbar_decode(view, &got), 1);
	CHECK_STR_EQ(got, test_qr_texts[2]);
	/* And the pixels are the expected colours in this format: white quiet zone, black module.
	 */
	CHECK_INT_EQ(test_pixel_rgb(view, info.area_x, info.area_y), 0xffffff);
	CHECK_INT_EQ(test_pixel_rgb(view, info.qr_x, info.qr_y), 0x000000);
	CHECK(near_rgb(test_pixel_rgb(view, 0, 0), 0x1677ff)); /* the header's blue */
	printf("%s: %ux%u stride %u offset %zu: decoded\n", f->name, f->xres, f->yres,
	       f->line_length, off);
	free(got);
	cairo_surface_destroy(view);
	munmap(map, fix.smem_len);
	display_fb_close(fb);
	close(fd);
}

static void
check_refused(const struct fake *f, int shrink_file, int want)
{
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	struct display_fb *fb = NULL;
	int fd = fake_fd(f, &var, &fix);

	if (shrink_file)
		CHECK(ftruncate(fd, fix.smem_len / 2) == 0);
	if (shrink_file < 0) {
		fix.smem_len = f->line_length * (f->yres - 1);
		CHECK(ftruncate(fd, fix.smem_len) == 0);
	}
	CHECK_INT_EQ(display_fb_open_fd(fd, &var, &fix, &fb), want);
	CHECK(!fb);
}

/* The device node goes away (USB display unplugged) or is replaced: -ENODEV, nothing written. */
static void
test_disappears(struct display_renderer *r)
{
	const struct fake f = {"XRGB8888", 800, 480, 32, 800 * 4, 0, 0, 1, 16, 8, 8, 8, 0, 8};
	char dir[] = "/tmp/display-fbnode-XXXXXX", node[64];
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	struct display_fb *fb = NULL;
	struct display_screen scr = test_screen(DISPLAY_SCREEN_PAID, NULL);
	int fd = fake_fd(&f, &var, &fix);
	uint8_t *map;

	CHECK(mkdtemp(dir));
	snprintf(node, sizeof(node), "%s/fb0", dir);
	/* Stand-in device nodes any user has: /dev/null, then /dev/zero in its place. */
	CHECK(symlink("/dev/null", node) == 0);
	CHECK_INT_EQ(display_fb_open_fd(dup(fd), &var, &fix, &fb), 0);
	CHECK_INT_EQ(display_fb_watch(fb, "/proc/self/status"), -ENOTTY);
	CHECK_INT_EQ(display_fb_watch(fb, node), 0);
	CHECK_INT_EQ(display_render(r, display_fb_surface(fb), &scr, NULL), 0);
	CHECK_INT_EQ(display_fb_flush(fb), 0);

	map = mmap(NULL, fix.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	memset(map, SENTINEL, fix.smem_len);
	CHECK(unlink(node) == 0);
	CHECK_INT_EQ(display_fb_flush(fb), -ENODEV);
	CHECK(symlink("/dev/zero", node) == 0);
	CHECK_INT_EQ(display_fb_flush(fb), -ENODEV);
	CHECK(unlink(node) == 0);
	for (size_t i = 0; i < fix.smem_len; i++)
		CHECK_INT_EQ(map[i], SENTINEL);

	/* Not a virtual console: a warning, and the framebuffer is still there to draw on. */
	int pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(pty >= 0 && grantpt(pty) == 0 && unlockpt(pty) == 0);
	CHECK(display_fb_console_enter(fb, ptsname(pty)) < 0);
	CHECK(display_fb_console_enter(fb, "/nonexistent/tty1") == -ENOENT);
	CHECK(symlink("/dev/null", node) == 0);
	CHECK_INT_EQ(display_fb_flush(fb), 0);
	close(pty);

	munmap(map, fix.smem_len);
	display_fb_close(fb);
	close(fd);
	unlink(node);
	rmdir(dir);
}

int
main(void)
{
	const struct fake xrgb = {"XRGB8888", 800, 480, 32, 800 * 4 + 256, 480, 0, 2, 16, 8,
				  8,          8,   0,   8};
	const struct fake rgb565 = {"RGB565", 480, 800, 16, 480 * 2 + 64, 0, 0, 1, 11, 5,
				    5,        6,   0,   5};
	const struct fake panned = {
		"XRGB8888 panned", 1024, 600, 32, 1280 * 4, 8, 128, 2, 16, 8, 8, 8, 0, 8};
	struct display_renderer *r;
	struct fake bad;

	CHECK_INT_EQ(display_renderer_new(&r), 0);
	test_format(&xrgb, r);
	test_format(&rgb565, r);
	test_format(&panned, r);
	test_disappears(r);

	/* Formats we cannot draw correctly are refused, not drawn in wrong colours. */
	bad = xrgb;
	bad.r_off = 0;
	bad.b_off = 16; /* BGR */
	check_refused(&bad, 0, -EOPNOTSUPP);
	bad = xrgb;
	bad.bpp = 24;
	check_refused(&bad, 0, -EOPNOTSUPP);
	bad = rgb565;
	bad.g_len = 5; /* RGB555 */
	check_refused(&bad, 0, -EOPNOTSUPP);
	/* A stride shorter than a row, memory shorter than the screen, a short file. */
	bad = xrgb;
	bad.line_length = 800 * 4 - 4;
	check_refused(&bad, 0, -EINVAL);
	check_refused(&rgb565, -1, -EINVAL);
	check_refused(&xrgb, 1, -EINVAL);

	/* Paths that are not framebuffers. */
	struct display_fb *fb = NULL;
	CHECK_INT_EQ(display_fb_open("/nonexistent/fb0", NULL, &fb), -ENOENT);
	CHECK_INT_EQ(display_fb_open("/proc/self/status", NULL, &fb), -ENOTTY);
	CHECK(!fb);
	display_renderer_free(r);
	return 0;
}
