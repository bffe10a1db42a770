/* SPDX-License-Identifier: MIT */
/* Non-blocking messages to the service manager (daemon/service-notify.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/service-notify.h"

/* A handful at most: status lines replace each other, the rest are rare. */
#define QUEUE_MAX 16

static struct {
	int fd; /* connected to $NOTIFY_SOCKET; -1 before the first message or without one */
	bool no_socket;
	sd_event_source *io;
	char *queue[QUEUE_MAX];
	unsigned n;
} sn = {.fd = -1};

static bool
status_only(const char *msg)
{
	return strncmp(msg, "STATUS=", STRLEN("STATUS=")) == 0 && !strchr(msg, '\n');
}

static int
connect_socket(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	size_t l;
	int fd;

	if (!e || (e[0] != '/' && e[0] != '@') || (l = strlen(e)) >= sizeof(sa.sun_path)) {
		sn.no_socket = true;
		return -ENOENT;
	}
	memcpy(sa.sun_path, e, l);
	if (e[0] == '@')
		sa.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + (e[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Connected, the socket becomes writable exactly when the receiver's queue has room. */
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	sn.fd = fd;
	return 0;
}

static void
drop_first(void)
{
	free(sn.queue[0]);
	memmove(sn.queue, sn.queue + 1, (sn.n - 1) * sizeof(*sn.queue));
	sn.n--;
}

static void
arm(bool on)
{
	if (sn.io)
		(void)sd_event_source_set_enabled(sn.io, on ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

/* Sends what waits, in order, until the receiver's queue is full. */
static void
flush(void)
{
	while (sn.n > 0) {
		if (sn.fd < 0 && !sn.no_socket && connect_socket() < 0) {
			/* Nobody listens (yet): what waits is dropped, as sd_notify() would. */
			while (sn.n > 0)
				drop_first();
			break;
		}
		if (sn.fd < 0)
			break;
		if (send(sn.fd, sn.queue[0], strlen(sn.queue[0]), MSG_DONTWAIT | MSG_NOSIGNAL) >=
		    0) {
			drop_first();
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			break;
		/* The receiver went away (ECONNREFUSED) or another error: reconnect next time. */
		log_full_errno(LOG_DEBUG, errno, "Failed to notify the service manager: %m");
		close(sn.fd);
		sn.fd = -1;
		drop_first();
	}
	if (sn.no_socket)
		while (sn.n > 0)
			drop_first();
	arm(sn.n > 0);
}

static void
enqueue(char *msg)
{
	/* A newer status line makes the waiting ones stale. */
	if (strstr(msg, "STATUS=")) {
		unsigned k = 0;
		for (unsigned i = 0; i < sn.n; i++) {
			if (status_only(sn.queue[i]))
				free(sn.queue[i]);
			else
				sn.queue[k++] = sn.queue[i];
		}
		sn.n = k;
	}
	if (STR_EQ(msg, "WATCHDOG=1"))
		for (unsigned i = 0; i < sn.n; i++)
			if (STR_EQ(sn.queue[i], "WATCHDOG=1")) {
				free(msg);
				return;
			}
	if (sn.n == QUEUE_MAX) {
		log_debug("The service manager is not reading: a notification is dropped");
		drop_first();
	}
	sn.queue[sn.n++] = msg;
}

void
service_notify(const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int r;

	if (sn.no_socket)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	enqueue(msg);
	flush();
}

static int
on_writable(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	flush();
	return 0;
}

int
service_notify_attach(sd_event *event)
{
	int r;

	if (sn.fd < 0 && (sn.no_socket || connect_socket() < 0))
		return 0;
	r = sd_event_add_io(event, &sn.io, sn.fd, EPOLLOUT, on_writable, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the service manager's socket: %m");
	/* Last in line: the pay never waits for a status line. */
	(void)sd_event_source_set_priority(sn.io, SD_EVENT_PRIORITY_IDLE);
	arm(sn.n > 0);
	return 0;
}

void
service_notify_detach(void)
{
	sn.io = sd_event_source_disable_unref(sn.io);
	while (sn.n > 0)
		drop_first();
	if (sn.fd >= 0)
		close(sn.fd);
	sn.fd = -1;
	sn.no_socket = false;
}

unsigned
service_notify_pending(void)
{
	return sn.n;
}
