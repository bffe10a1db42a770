/* SPDX-License-Identifier: MIT */
/* Several displays at once: each gets every screen, each fails and recovers on its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/time-util.h"
#include "display-test-util.h"
#include "drivers/display/display-private.h"
#include "test.h"

static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Reads the event stream's first event through the loop. */
static char *
web_first_event(sd_event *e, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char *buf = calloc(1, 1 << 16);
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(buf && fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(send(fd, "GET /events HTTP/1.1\r\n\r\n", 24, MSG_NOSIGNAL) == 24);
	for (int i = 0; i < 300 && !strstr(buf, "}\n\n"); i++) {
		ssize_t k;
		(void)sd_event_run(e, 10 * USEC_PER_MSEC);
		k = recv(fd, buf + n, (1 << 16) - 1 - n, MSG_DONTWAIT);
		if (k > 0)
			n += (size_t)k;
	}
	close(fd);
	return buf;
}

int
main(void)
{
	char dir[] = "/tmp/display-set-XXXXXX", tty_path[256], pole_spec[128], web_spec[64],
	     tty_spec[300], got[1024], *ev;
	const char *specs[3];
	struct display_set *set;
	struct display_screen s = test_screen(DISPLAY_SCREEN_QR, test_qr_texts[0]);
	sd_event *e;
	uint64_t t0, at;
	int master, slave, port;
	ssize_t n;

	CHECK(mkdtemp(dir));
	snprintf(tty_path, sizeof(tty_path), "%s/console", dir);
	snprintf(tty_spec, sizeof(tty_spec), "tty:%s", tty_path);
	CHECK(openpty(&master, &slave, pole_spec + 5, NULL, NULL) == 0);
	memcpy(pole_spec, "pole:", 5);
	close(slave);
	CHECK(fcntl(master, F_SETFL, O_NONBLOCK) == 0);
	port = free_port();
	snprintf(web_spec, sizeof(web_spec), "web:127.0.0.1:%d", port);
	specs[0] = tty_spec; /* its file does not exist yet: down */
	specs[1] = pole_spec;
	specs[2] = web_spec;

	/* A malformed spec anywhere is a configuration error. */
	{
		const char *bad[] = {tty_spec, "web:localhost:80"};
		CHECK_INT_EQ(display_set_new(bad, 2, &set), -EINVAL);
	}

	CHECK(sd_event_new(&e) >= 0);
	CHECK(display_set_new(specs, 3, &set) >= 0);
	CHECK(display_set_attach_event(set, e) >= 0);
	CHECK_INT_EQ(display_set_size(set), 3);
	CHECK(!display_is_up(display_set_get(set, 0)));
	CHECK(display_is_up(display_set_get(set, 1)));
	CHECK(display_is_up(display_set_get(set, 2)));
	CHECK(!display_set_is_up(set));
	CHECK_STR_EQ(display_spec(display_set_get(set, 2)), web_spec);

	/* The broken one does not keep the others from showing, nor holds the caller. */
	t0 = now_usec(CLOCK_MONOTONIC);
	CHECK(display_set_show(set, &s) < 0);
	CHECK(now_usec(CLOCK_MONOTONIC) - t0 < USEC_PER_SEC);
	usleep(100 * 1000);
	n = read(master, got, sizeof(got));
	CHECK_MEM_EQ(got, (size_t)n, "\x1b@\x1bs2\x1bQA88.88\r", 14);
	ev = web_first_event(e, port);
	CHECK(strstr(ev, "data: {\"seq\":1,\"screen\":\"qr\""));
	free(ev);

	/* It is retried on its own schedule and gets the last screen when it comes back. */
	at = display_set_next_retry_usec(set);
	CHECK(at != UINT64_MAX && at <= now_usec(CLOCK_MONOTONIC) + 2 * USEC_PER_SEC);
	{
		int fd = open(tty_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		CHECK(fd >= 0);
		close(fd);
	}
	CHECK(display_set_retry(set, at) >= 0);
	CHECK(display_set_is_up(set));
	CHECK_INT_EQ(display_set_next_retry_usec(set), UINT64_MAX);
	{
		FILE *f = fopen(tty_path, "r");
		size_t k;
		CHECK(f);
		k = fread(got, 1, sizeof(got) - 1, f);
		got[k] = 0;
		CHECK(strstr(got, "¥88.88"));
		fclose(f);
	}
	/* The others were not disturbed by the retry: nothing new on the pole. */
	CHECK(read(master, got, sizeof(got)) < 0 && errno == EAGAIN);

	display_set_free(set);
	sd_event_unref(e);
	close(master);
	unlink(tty_path);
	rmdir(dir);
	return 0;
}
