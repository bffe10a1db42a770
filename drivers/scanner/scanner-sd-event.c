/* SPDX-License-Identifier: MIT */
/* The sd-event glue of the scanner: process on I/O or deadline, deliver events, re-arm. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "drivers/scanner/scanner-sd-event.h"

struct scanner_sd {
	struct scanner *scanner;
	sd_event_source *io;
	sd_event_source *timer;
	scanner_handler_fn fn;
	void *userdata;
};

static int
scanner_sd_rearm(struct scanner_sd *a)
{
	usec_t d = scanner_get_deadline(a->scanner);
	int r;

	if (d == USEC_INFINITY)
		return sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
	r = sd_event_source_set_time(a->timer, d == 0 ? 1 : d);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
}

static int
scanner_sd_run(struct scanner_sd *a, usec_t now)
{
	struct scanner_event ev;
	int r;

	(void)scanner_process(a->scanner, now);
	while (scanner_next_event(a->scanner, &ev) > 0) {
		a->fn(a->scanner, &ev, a->userdata);
		explicit_bzero(&ev, sizeof(ev));
	}
	r = scanner_sd_rearm(a);
	if (r < 0)
		log_error_errno(r, "Scanner %s: cannot arm its timer: %m",
				scanner_get_config(a->scanner)->name);
	return 0; /* never disable the source: a failure here is logged and retried */
}

static int
scanner_sd_on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct scanner_sd *a = userdata;
	uint64_t now;

	if (sd_event_now(sd_event_source_get_event(src), CLOCK_MONOTONIC, &now) < 0)
		now = now_usec(CLOCK_MONOTONIC);
	return scanner_sd_run(a, now);
}

static int
scanner_sd_on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct scanner_sd *a = userdata;
	uint64_t now;

	if (sd_event_now(sd_event_source_get_event(src), CLOCK_MONOTONIC, &now) < 0)
		now = usec;
	return scanner_sd_run(a, now);
}

int
scanner_sd_attach(struct scanner *s, sd_event *event, scanner_handler_fn fn, void *userdata,
		  struct scanner_sd **ret)
{
	struct scanner_sd *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->scanner = s;
	a->fn = fn;
	a->userdata = userdata;
	r = sd_event_add_io(event, &a->io, scanner_get_fd(s), EPOLLIN, scanner_sd_on_io, a);
	if (r < 0)
		goto fail;
	r = sd_event_add_time(event, &a->timer, CLOCK_MONOTONIC, USEC_INFINITY, 0,
			      scanner_sd_on_timer, a);
	if (r < 0)
		goto fail;
	/* Events queued by scanner_new() (the first state) come out on the first dispatch. */
	r = sd_event_source_set_time(a->timer, 1);
	if (r >= 0)
		r = sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
	if (r < 0)
		goto fail;
	*ret = a;
	return 0;
fail:
	scanner_sd_detach(a);
	return log_error_errno(r, "Cannot attach a scanner to the event loop: %m");
}

struct scanner_sd *
scanner_sd_detach(struct scanner_sd *a)
{
	if (!a)
		return NULL;
	sd_event_source_disable_unref(a->io);
	sd_event_source_disable_unref(a->timer);
	free(a);
	return NULL;
}
