/* SPDX-License-Identifier: MIT */
/*
 * Messages to the service manager never block, even when the receiver stops reading: status
 * lines coalesce to the newest, READY=1 and the like wait in order and arrive once it reads.
 * On the old blocking sd_notify() this test hangs at the first full queue (meson's timeout).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/service-notify.h"
#include "test.h"

static int
receiver(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int small = 1;

	CHECK(fd >= 0);
	CHECK(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	/* The smallest queue the kernel allows: it is full after a few datagrams. */
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
	return fd;
}

/* Reads everything queued; returns the number of datagrams, the last in `last`. */
static unsigned
drain(int fd, char *last, size_t size, unsigned *ready)
{
	unsigned n = 0;
	char buf[512];
	ssize_t l;

	while ((l = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		buf[l] = 0;
		if (strstr(buf, "READY=1"))
			(*ready)++;
		snprintf(last, size, "%s", buf);
		n++;
	}
	CHECK(errno == EAGAIN);
	return n;
}

static void
test_receiver_stops_reading(const char *dir)
{
	char path[64], last[512] = "", want[64];
	unsigned ready = 0, got;
	sd_event *e;
	int fd;

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = receiver(path);
	CHECK(setenv("NOTIFY_SOCKET", path, 1) == 0);
	CHECK(sd_event_new(&e) >= 0);
	CHECK(service_notify_attach(e) == 0);

	/* Far more than the queue holds: each call returns at once. */
	service_notify("STATUS=Starting");
	service_notify("READY=1\nSTATUS=Running");
	for (unsigned i = 0; i < 20000; i++)
		service_notify("STATUS=Running, %u orders in progress", i);
	service_notify("RELOADING=1");
	service_notify("STATUS=Running, last");
	/* Coalesced: what waits is RELOADING=1 and the newest status line at most. */
	CHECK(service_notify_pending() <= 2);
	CHECK(service_notify_pending() >= 1);

	/* The receiver reads again: the loop sends what waits, newest status last. */
	got = drain(fd, last, sizeof(last), &ready);
	CHECK(got >= 1);
	for (unsigned i = 0; i < 100 && service_notify_pending() > 0; i++) {
		CHECK(sd_event_run(e, 100000) >= 0);
		got += drain(fd, last, sizeof(last), &ready);
	}
	CHECK_INT_EQ(service_notify_pending(), 0);
	CHECK_INT_EQ(ready, 1);
	snprintf(want, sizeof(want), "STATUS=Running, last");
	CHECK_STR_EQ(last, want);
	/* Far fewer datagrams than calls: stale status lines were never sent. */
	CHECK(got < 1000);

	/* Nothing waits: the source is off, the loop has nothing to do. */
	CHECK_INT_EQ(sd_event_run(e, 0), 0);

	/* The receiver goes away: messages are dropped, nothing blocks or waits. */
	close(fd);
	unlink(path);
	service_notify("STOPPING=1\nSTATUS=Stopping");
	CHECK_INT_EQ(service_notify_pending(), 0);
	service_notify_detach();
	sd_event_unref(e);
}

static void
test_no_manager(void)
{
	CHECK(unsetenv("NOTIFY_SOCKET") == 0);
	service_notify("READY=1");
	CHECK_INT_EQ(service_notify_pending(), 0);
	service_notify_detach();
}

int
main(void)
{
	char dir[] = "/tmp/f2fpay-sn.XXXXXX";

	CHECK(mkdtemp(dir));
	test_receiver_stops_reading(dir);
	test_no_manager();
	rmdir(dir);
	printf("service-notify: passed\n");
	return 0;
}
