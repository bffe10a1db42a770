/* SPDX-License-Identifier: MIT */
/* sd-event glue for the HTTPS transport: one I/O source per curl socket, one timer, one kick. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "common/log.h"
#include "common/macro.h"
#include "payment/http/http-sd-event.h"

/* Timer accuracy: libcurl's timeouts are in milliseconds; sd-event's default slack (250 ms)
 * would stretch short request timeouts noticeably. */
#define HTTP_TIMER_ACCURACY_USEC 1000u

/*
 * The transfers go before the loop's other work of the moment (the POS's answer, the event
 * stream, a notification's commit, drawing): a pay's connection opens as soon as its commit
 * is done, its request leaves as soon as the connection is up, and its answer is read before
 * a notification that arrived beside it is committed. The transfers are the gateway's
 * exchanges, each a few kilobytes, and the day's bill, at most a few megabytes: each event
 * takes one read or write, so even a bill arriving as fast as the network carries it holds
 * the rest back for milliseconds, not more.
 */
#define HTTP_PRIORITY SD_EVENT_PRIORITY_IMPORTANT

struct glue;

struct glue_watch {
	struct glue *glue;
	struct glue_watch *prev, *next;
	sd_event_source *source;
	int fd; /* libcurl's socket, borrowed */
};

struct glue {
	sd_event *event;
	sd_event_source *timer;
	/* libcurl's "at once" (a request just added, an answer to act on): a defer source, not
	 * the timer. Due now, the timer would still be armed in the kernel, fire as an interrupt
	 * and be read back through the loop's wait; the defer source runs at the loop's next turn
	 * without any of that (about 3 system calls and a timer interrupt an order, and this
	 * virtual machine's exits with them, between a pay's commit and its first byte). */
	sd_event_source *kick;
	struct http_client *client;
	struct glue_watch *watches;
};

static uint32_t
io_to_epoll(unsigned events)
{
	uint32_t m = 0;

	if (events & HTTP_IO_IN)
		m |= EPOLLIN;
	if (events & HTTP_IO_OUT)
		m |= EPOLLOUT;
	return m;
}

static void
watch_free(struct glue_watch *w)
{
	struct glue *g = w->glue;

	/* Disabling first: the fd may be closed right after this by libcurl. */
	(void)sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
	sd_event_source_unref(w->source);
	if (w->prev)
		w->prev->next = w->next;
	else
		g->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w);
}

static int
on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct glue_watch *w = userdata;
	struct http_client *c = w->glue->client; /* `w` may be freed during the call below */
	unsigned events = 0;

	if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		events |= HTTP_IO_IN;
	if (revents & EPOLLOUT)
		events |= HTTP_IO_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		events |= HTTP_IO_ERR;
	/* Errors are logged by the core; returning one here would disable the source for good. */
	(void)http_client_socket_event(c, fd, events);
	return 0;
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct glue *g = userdata;

	(void)http_client_timer_event(g->client);
	return 0;
}

static int
glue_watch(void *userdata, int fd, unsigned events, void **slot)
{
	struct glue *g = userdata;
	struct glue_watch *w = *slot;
	int r;

	if (events == 0) {
		if (w)
			watch_free(w);
		*slot = NULL;
		return 0;
	}
	if (w) {
		r = sd_event_source_set_io_events(w->source, io_to_epoll(events));
		if (r < 0)
			return r;
		return sd_event_source_set_enabled(w->source, SD_EVENT_ON);
	}

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->glue = g;
	w->fd = fd;
	r = sd_event_add_io(g->event, &w->source, fd, io_to_epoll(events), on_io, w);
	if (r < 0) {
		free(w);
		return r;
	}
	(void)sd_event_source_set_description(w->source, "http-socket");
	(void)sd_event_source_set_priority(w->source, HTTP_PRIORITY);
	w->next = g->watches;
	if (g->watches)
		g->watches->prev = w;
	g->watches = w;
	*slot = w;
	return 0;
}

static int
on_kick(sd_event_source *s, void *userdata)
{
	struct glue *g = userdata;

	(void)http_client_timer_event(g->client);
	return 0;
}

/* libcurl keeps one timeout: each call replaces the one before. */
static int
glue_timer(void *userdata, int64_t timeout_usec)
{
	struct glue *g = userdata;
	int r;

	if (timeout_usec != 0 && g->kick)
		(void)sd_event_source_set_enabled(g->kick, SD_EVENT_OFF);
	if (timeout_usec < 0)
		return g->timer ? sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) : 0;
	if (timeout_usec == 0) {
		if (g->timer)
			(void)sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
		if (!g->kick) {
			r = sd_event_add_defer(g->event, &g->kick, on_kick, g);
			if (r < 0)
				return r;
			(void)sd_event_source_set_description(g->kick, "http-kick");
			(void)sd_event_source_set_priority(g->kick, HTTP_PRIORITY);
		}
		return sd_event_source_set_enabled(g->kick, SD_EVENT_ONESHOT);
	}
	if (!g->timer) {
		r = sd_event_add_time_relative(g->event, &g->timer, CLOCK_MONOTONIC,
					       (uint64_t)timeout_usec, HTTP_TIMER_ACCURACY_USEC,
					       on_timer, g);
		if (r < 0)
			return r;
		(void)sd_event_source_set_description(g->timer, "http-timer");
		(void)sd_event_source_set_priority(g->timer, HTTP_PRIORITY);
		return sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
	}
	r = sd_event_source_set_time_relative(g->timer, (uint64_t)timeout_usec);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
}

static void
glue_release(void *userdata)
{
	struct glue *g = userdata;

	while (g->watches)
		watch_free(g->watches);
	sd_event_source_disable_unref(g->timer);
	sd_event_source_disable_unref(g->kick);
	sd_event_unref(g->event);
	free(g);
}

int
http_client_new_sd_event(sd_event *event, const struct http_client_config *config,
			 struct http_client **ret)
{
	struct glue *g;
	struct http_loop loop = {
		.watch = glue_watch,
		.timer = glue_timer,
		.release = glue_release,
	};
	int r;

	g = calloc(1, sizeof(*g));
	if (!g)
		return log_error_errno(ENOMEM, "Failed to allocate the HTTP event glue: %m");
	g->event = sd_event_ref(event);
	loop.userdata = g;
	r = http_client_new(config, &loop, &g->client);
	if (r < 0) {
		sd_event_unref(g->event);
		free(g);
		return r; /* logged by http_client_new() */
	}
	*ret = g->client;
	return 0;
}
