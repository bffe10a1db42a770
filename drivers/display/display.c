/* SPDX-License-Identifier: MIT */
/* The display object: configuration, backend life cycle, and retry with backoff on failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file-util.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "drivers/display/display-private.h"

#define SPEC_MAX          4096
#define PNG_DEFAULT_W     1024
#define PNG_DEFAULT_H     600
#define SIDE_MIN          64
#define SIDE_MAX          8192
#define BACKOFF_MIN_USEC  (1 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC  (30 * USEC_PER_SEC)
#define TTY_FRAME_MAX     (256 * 1024)
#define WEB_DEFAULT_ADDR  "127.0.0.1"
#define WEB_DEFAULT_PORT  8090
#define POLE_DEFAULT_BAUD 2400 /* the LED8N manual's power-on speed */
#define POLE_FRAME_MAX    256

enum backend {
	BACKEND_FB,
	BACKEND_PNG,
	BACKEND_TTY,
	BACKEND_WEB,
	BACKEND_POLE,
};

struct display {
	enum backend type;
	char *spec; /* for messages */
	char *path; /* device, file or terminal; NULL = the stream (tty) */
	char *vt;
	int width, height; /* png */
	FILE *stream;      /* borrowed */

	int up;
	unsigned failures; /* consecutive */
	uint64_t backoff_usec;
	uint64_t next_retry_usec;

	struct display_renderer *renderer;
	struct display_fb *fb;
	dev_t png_dev; /* the file the last show wrote; png_ino 0 = none */
	ino_t png_ino;
	cairo_surface_t *png_surface; /* kept from one show to the next until display_trim() */
	struct display_png_buf png_buf;
	int tty_fd;
	int tty_fd_owned;

	char *addr; /* web: listen address and port */
	int port;
	sd_event *event; /* web: the loop its listener runs in */
	struct display_web *web;

	enum display_pole_protocol pole_protocol;
	unsigned baud;
	int pole_fd;
	struct buf pole_last; /* the last frame the pole took: the countdown does not resend it */

	struct display_screen last; /* strings owned */
	int have_last;
	int last_result; /* what showing it returned */
	int qr_too_big_logged;
};

static void
backend_close(struct display *d)
{
	d->fb = display_fb_close(d->fb);
	if (d->tty_fd >= 0 && d->tty_fd_owned)
		close(d->tty_fd);
	d->tty_fd = -1;
	d->tty_fd_owned = 0;
	d->web = display_web_close(d->web);
	tty_close(d->pole_fd);
	d->pole_fd = -1;
	buf_truncate(&d->pole_last, 0);
	d->png_ino = 0;
	d->up = 0;
}

static int tty_write(int fd, const char *data, size_t len);

static int
pole_open(struct display *d)
{
	_cleanup_buf_ struct buf b = BUF_INIT(POLE_FRAME_MAX);
	int fd, r;

	fd = display_pole_open(d->path, d->baud);
	if (fd < 0)
		return fd;
	d->pole_fd = fd;
	r = display_pole_init_bytes(d->pole_protocol, &b);
	if (r >= 0)
		r = tty_write(fd, b.data, b.len);
	return r == -EAGAIN ? 0 : r;
}

static int
pole_output(struct display *d, const struct display_screen *s)
{
	_cleanup_buf_ struct buf b = BUF_INIT(POLE_FRAME_MAX);
	int r;

	r = display_pole_format(d->pole_protocol, s, &b);
	if (r < 0)
		return r;
	if (b.len == d->pole_last.len && memcmp(b.data, d->pole_last.data, b.len) == 0)
		return 0;
	buf_truncate(&d->pole_last, 0);
	r = tty_write(d->pole_fd, b.data, b.len);
	if (r < 0)
		return r; /* -EAGAIN: the pole is behind; the next show sends it again */
	(void)buf_append(&d->pole_last, b.data, b.len); /* at worst it is sent again */
	return 0;
}

static int
backend_open(struct display *d)
{
	int fd;

	switch (d->type) {
	case BACKEND_FB:
		return display_fb_open(d->path, d->vt, &d->fb);
	case BACKEND_PNG:
		return 0; /* each show writes a new file */
	case BACKEND_TTY:
		if (!d->path) {
			fd = fileno(d->stream ? d->stream : stdout);
			if (fd < 0)
				return -EBADF;
			d->tty_fd = fd;
			d->tty_fd_owned = 0;
			return 0;
		}
		/* Non-blocking: a stuck serial console drops frames, it never holds a payment. */
		fd = open(d->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | O_APPEND);
		if (fd < 0)
			return -errno;
		d->tty_fd = fd;
		d->tty_fd_owned = 1;
		return 0;
	case BACKEND_WEB:
		return display_web_open(d->addr, d->port, d->event, &d->web);
	case BACKEND_POLE:
		return pole_open(d);
	}
	return -EINVAL;
}

/*
 * Writes without blocking and without dying: a reader that went away (the demo's pipe closed)
 * must give -EPIPE, not a SIGPIPE that kills the daemon. SIGPIPE is blocked for this thread
 * during the write and a pending one is consumed, the way libraries that cannot own the
 * process's signal dispositions do it.
 */
static int
tty_write(int fd, const char *data, size_t len)
{
	static const struct timespec zero = {0};
	sigset_t pipe_set, old;
	size_t off = 0;
	int r = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0)
		return -EINVAL;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno; /* -EAGAIN: the reader is slow, the rest of this frame is
				       dropped */
			break;
		}
		if (n == 0) {
			r = -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (r == -EPIPE && !sigismember(&old, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int
tty_output(struct display *d, const struct display_screen *s)
{
	_cleanup_buf_ struct buf b = BUF_INIT(TTY_FRAME_MAX);
	int r, shown;

	shown = display_tty_format(s, isatty(d->tty_fd), &b);
	if (shown < 0 && shown != -E2BIG)
		return shown;
	if (!d->path && d->stream)
		fflush(d->stream); /* keep the caller's own buffered lines in order */
	r = tty_write(d->tty_fd, b.data, b.len);
	return r < 0 ? r : shown;
}

/* Which file the PNG backend just wrote, to know later whether it still shows that frame. */
static void
png_remember(struct display *d)
{
	struct stat st;

	if (stat(d->path, &st) == 0) {
		d->png_dev = st.st_dev;
		d->png_ino = st.st_ino;
	}
}

/*
 * Whether showing s again can be skipped: a PNG already holding exactly this screen (the file
 * we wrote, neither replaced nor removed since). Encoding a frame costs milliseconds of CPU; a
 * retry or a caller repeating itself costs nothing then.
 */
static bool
png_shows(const struct display *d, const struct display_screen *s)
{
	struct stat st;

	return d->type == BACKEND_PNG && d->up && d->have_last && d->last_result == 0 &&
	       d->png_ino != 0 && display_screen_equal(&d->last, s) && stat(d->path, &st) == 0 &&
	       st.st_ino == d->png_ino && st.st_dev == d->png_dev;
}

/*
 * Draws on a surface kept, with the rows the PNG is written from, from one show to the next
 * while orders are shown (each frame mapping and zeroing them again cost more than drawing the
 * screen's text); display_trim() frees both when the till is idle, so an idle PNG display keeps
 * no pixels in memory (3.2 MB at the default 1024x600).
 */
static int
png_output(struct display *d, const struct display_screen *s)
{
	int r, shown;

	d->png_ino = 0;
	if (!d->png_surface) {
		d->png_surface =
			cairo_image_surface_create(CAIRO_FORMAT_RGB24, d->width, d->height);
		if (cairo_surface_status(d->png_surface) != CAIRO_STATUS_SUCCESS) {
			cairo_surface_destroy(d->png_surface);
			d->png_surface = NULL;
			return -ENOMEM;
		}
	}
	shown = display_render(d->renderer, d->png_surface, s, NULL);
	r = shown < 0 && shown != -E2BIG ? shown
					 : display_png_write(d->png_surface, d->path, &d->png_buf);
	if (r < 0)
		return r;
	png_remember(d);
	return shown;
}

static int
backend_output(struct display *d, const struct display_screen *s)
{
	int r, shown;

	switch (d->type) {
	case BACKEND_FB:
		shown = display_render(d->renderer, display_fb_surface(d->fb), s, NULL);
		if (shown < 0 && shown != -E2BIG)
			return shown;
		r = display_fb_flush(d->fb);
		return r < 0 ? r : shown;
	case BACKEND_PNG:
		return png_output(d, s);
	case BACKEND_TTY:
		return tty_output(d, s);
	case BACKEND_WEB:
		return display_web_show(d->web, s);
	case BACKEND_POLE:
		return pole_output(d, s);
	}
	return -EINVAL;
}

static void
mark_down(struct display *d, int error, uint64_t now_usec)
{
	d->backoff_usec =
		d->failures == 0 ? BACKOFF_MIN_USEC : MIN(d->backoff_usec * 2, BACKOFF_MAX_USEC);
	/* Logged when it breaks, not at every retry: an unplugged screen must not flood the log. */
	if (d->failures == 0)
		log_warning_errno(error, "display %s: %m; retrying in the background", d->spec);
	else
		log_debug_errno(error, "display %s: still failing: %m", d->spec);
	d->failures++;
	d->next_retry_usec = now_usec + d->backoff_usec;
	backend_close(d);
}

static void
mark_up(struct display *d)
{
	if (d->failures > 0)
		log_info("display %s: working again", d->spec);
	d->failures = 0;
	d->backoff_usec = 0;
	d->next_retry_usec = UINT64_MAX;
	d->up = 1;
}

/* Opens when due, outputs, and keeps the up/down state. */
static int
display_output(struct display *d, const struct display_screen *s, uint64_t now_usec)
{
	int r;

	if (!d->up) {
		if (now_usec < d->next_retry_usec)
			return -ENODEV;
		r = backend_open(d);
		if (r < 0) {
			mark_down(d, r, now_usec);
			return r;
		}
		d->up = 1;
	}
	r = backend_output(d, s);
	if (r < 0 && r != -E2BIG && r != -EAGAIN && r != -ENOMEM) {
		mark_down(d, r, now_usec);
		return r;
	}
	if (r != -EAGAIN)
		mark_up(d);
	return r;
}

int
display_show_at(struct display *d, const struct display_screen *s, uint64_t now_usec)
{
	struct display_screen copy;
	int r, same_qr;

	if (!d || !s || (unsigned)s->kind >= _DISPLAY_SCREEN_MAX)
		return -EINVAL;
	if (png_shows(d, s))
		return 0;
	r = display_screen_copy(s, &copy);
	if (r < 0)
		return r;
	same_qr = d->have_last && STR_EQ_PTR(d->last.qr_text, copy.qr_text);
	display_screen_clear(&d->last);
	d->last = copy;
	d->have_last = 1;
	r = display_output(d, &d->last, now_usec);
	d->last_result = r;
	/* Once per QR: the countdown redraws the same screen every second. */
	if (r == -E2BIG && !(same_qr && d->qr_too_big_logged)) {
		size_t len = d->last.qr_text ? strlen(d->last.qr_text) : 0;
		log_error("display %s: the QR code (%s%zu bytes) cannot be drawn legibly", d->spec,
			  len > DISPLAY_QR_TEXT_MAX ? "over " : "",
			  MIN(len, (size_t)DISPLAY_QR_TEXT_MAX));
	}
	d->qr_too_big_logged = r == -E2BIG;
	return r;
}

int
display_show(struct display *d, const struct display_screen *s)
{
	return display_show_at(d, s, now_usec(CLOCK_MONOTONIC));
}

int
display_retry(struct display *d, uint64_t now_usec)
{
	int r;

	if (!d || d->up || now_usec < d->next_retry_usec)
		return 0;
	if (!d->have_last) {
		r = backend_open(d);
		if (r < 0) {
			mark_down(d, r, now_usec);
			return r;
		}
		mark_up(d);
		return 0;
	}
	r = display_output(d, &d->last, now_usec);
	d->last_result = r;
	return r == -E2BIG || r == -EAGAIN ? 0 : r;
}

uint64_t
display_next_retry_usec(const struct display *d)
{
	return d && !d->up ? d->next_retry_usec : UINT64_MAX;
}

int
display_is_up(const struct display *d)
{
	return d && d->up;
}

int
display_trim(struct display *d)
{
	int had;

	if (!d)
		return 0;
	had = d->png_surface || d->png_buf.raw;
	if (d->png_surface)
		cairo_surface_destroy(d->png_surface);
	d->png_surface = NULL;
	display_png_buf_free(&d->png_buf);
	return had;
}

struct display *
display_free(struct display *d)
{
	if (!d)
		return NULL;
	backend_close(d);
	display_trim(d);
	display_renderer_free(d->renderer);
	display_screen_clear(&d->last);
	buf_free(&d->pole_last);
	if (d->event)
		sd_event_unref(d->event);
	free(d->spec);
	free(d->path);
	free(d->addr);
	free(d->vt);
	free(d);
	return NULL;
}

static int
parse_size(const char *v, int *ret_w, int *ret_h)
{
	char *end;
	long w, h;

	errno = 0;
	w = strtol(v, &end, 10);
	if (errno || end == v || *end != 'x')
		return -EINVAL;
	v = end + 1;
	h = strtol(v, &end, 10);
	if (errno || end == v || *end != 0)
		return -EINVAL;
	if (w < SIDE_MIN || w > SIDE_MAX || h < SIDE_MIN || h > SIDE_MAX)
		return -EINVAL;
	*ret_w = (int)w;
	*ret_h = (int)h;
	return 0;
}

/* "web", "web:PORT", "web:ADDR:PORT" or "web:[IPv6]:PORT". */
static int
parse_web(struct display *d, const char *spec, char *rest)
{
	const char *addr = WEB_DEFAULT_ADDR;
	char *port = rest, *end;
	long p = WEB_DEFAULT_PORT;
	unsigned char probe[16];

	d->type = BACKEND_WEB;
	if (rest && rest[0] == '[') {
		char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			return log_error_errno(EINVAL, "display: bad address in \"%s\"", spec);
		*close = 0;
		addr = rest + 1;
		port = close + 2;
	} else if (rest && strchr(rest, ':')) {
		port = strrchr(rest, ':');
		*port++ = 0;
		addr = rest;
	}
	if (port) {
		errno = 0;
		p = strtol(port, &end, 10);
		if (errno || end == port || *end || p < 0 || p > 65535)
			return log_error_errno(EINVAL, "display: bad port in \"%s\"", spec);
	}
	if (inet_pton(AF_INET, addr, probe) != 1 && inet_pton(AF_INET6, addr, probe) != 1)
		return log_error_errno(EINVAL, "display: \"%s\": expected an IP address", spec);
	d->addr = strdup(addr);
	if (!d->addr)
		return -ENOMEM;
	d->port = (int)p;
	return 0;
}

/* "kind:path[,key=value]...": fills d or returns -EINVAL (logged: it is a config error). */
static int
parse_spec(struct display *d, const char *spec)
{
	_cleanup_free_ char *copy = strdup(spec);
	char *kind, *rest, *path, *opt, *save = NULL;

	if (!copy)
		return -ENOMEM;
	kind = copy;
	rest = strchr(copy, ':');
	if (rest)
		*rest++ = 0;
	if (STR_EQ(kind, "fb"))
		d->type = BACKEND_FB;
	else if (STR_EQ(kind, "png"))
		d->type = BACKEND_PNG;
	else if (STR_EQ(kind, "tty"))
		d->type = BACKEND_TTY;
	else if (STR_EQ(kind, "web"))
		return parse_web(d, spec, rest);
	else if (STR_EQ(kind, "pole"))
		d->type = BACKEND_POLE;
	else
		return log_error_errno(EINVAL,
				       "display: unknown backend in \"%s\" "
				       "(expected fb:, png:, tty, web or pole:)",
				       spec);
	path = rest ? strtok_r(rest, ",", &save) : NULL;
	if (d->type == BACKEND_TTY && path && STR_EQ(path, "-"))
		path = NULL;
	if (path && path[0] != '/')
		return log_error_errno(EINVAL, "display: \"%s\": the path must be absolute", spec);
	if (!path && d->type != BACKEND_TTY)
		return log_error_errno(EINVAL, "display: \"%s\" needs a path", spec);
	if (path) {
		d->path = strdup(path);
		if (!d->path)
			return -ENOMEM;
	}
	while (rest && (opt = strtok_r(NULL, ",", &save))) {
		if (d->type == BACKEND_FB && strncmp(opt, "vt=/", 4) == 0) {
			free(d->vt);
			d->vt = strdup(opt + 3);
			if (!d->vt)
				return -ENOMEM;
		} else if (d->type == BACKEND_POLE && strncmp(opt, "baud=", 5) == 0) {
			char *end;
			unsigned long b = strtoul(opt + 5, &end, 10);
			if (*end || !display_pole_baud_valid((unsigned)b))
				return log_error_errno(EINVAL, "display: bad baud in \"%s\"", spec);
			d->baud = (unsigned)b;
		} else if (d->type == BACKEND_POLE && strncmp(opt, "protocol=", 9) == 0) {
			if (display_pole_protocol_from_string(opt + 9, &d->pole_protocol) < 0)
				return log_error_errno(EINVAL,
						       "display: unknown protocol in \"%s\" "
						       "(expected led8n or cd5220)",
						       spec);
		} else if (d->type == BACKEND_PNG && strncmp(opt, "size=", 5) == 0) {
			if (parse_size(opt + 5, &d->width, &d->height) < 0)
				return log_error_errno(EINVAL, "display: bad size in \"%s\"", spec);
		} else
			return log_error_errno(EINVAL, "display: unknown option \"%s\" in \"%s\"",
					       opt, spec);
	}
	return 0;
}

static int
display_alloc(const char *spec, struct display **ret)
{
	struct display *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->tty_fd = -1;
	d->pole_fd = -1;
	d->baud = POLE_DEFAULT_BAUD;
	d->pole_last = BUF_INIT(POLE_FRAME_MAX);
	d->width = PNG_DEFAULT_W;
	d->height = PNG_DEFAULT_H;
	d->next_retry_usec = 0; /* the first show opens */
	d->spec = strdup(spec);
	if (!d->spec) {
		free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

static int
display_init(struct display *d)
{
	int r;

	if (d->type == BACKEND_FB || d->type == BACKEND_PNG) {
		r = display_renderer_new(&d->renderer);
		if (r < 0)
			return r;
	}
	/* Open at once so a wrong path shows in the log at start-up, not at the first sale. */
	r = backend_open(d);
	if (r < 0)
		mark_down(d, r, now_usec(CLOCK_MONOTONIC));
	else
		mark_up(d);
	return 0;
}

int
display_new(const char *spec, struct display **ret)
{
	_cleanup_(display_freep) struct display *d = NULL;
	int r;

	if (isempty(spec) || strlen(spec) > SPEC_MAX)
		return -EINVAL;
	r = display_alloc(spec, &d);
	if (r < 0)
		return r;
	r = parse_spec(d, spec);
	if (r < 0)
		return r;
	r = display_init(d);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

int
display_new_stream(FILE *f, struct display **ret)
{
	_cleanup_(display_freep) struct display *d = NULL;
	int r;

	if (!f)
		return -EINVAL;
	r = display_alloc("tty:<stream>", &d);
	if (r < 0)
		return r;
	d->type = BACKEND_TTY;
	d->stream = f;
	r = display_init(d);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

int
display_attach_event(struct display *d, sd_event *event)
{
	if (!d || !event)
		return -EINVAL;
	if (!d->event)
		d->event = sd_event_ref(event);
	return d->web ? display_web_attach(d->web, event) : 0;
}

const char *
display_spec(const struct display *d)
{
	return d ? d->spec : NULL;
}
