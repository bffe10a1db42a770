/* SPDX-License-Identifier: MIT */
/*
 * The floor under one pay, measured on this machine: one fdatasync() of a file in DIR (the
 * journal's filesystem), one RSA-2048 SHA-256 signature with the app key, one loopback TCP
 * round trip. Prints "fdatasync_us sign_us rtt_us floor_us" (medians of N each).
 * Usage: bench-floor DIR APP_PRIVATE_KEY [N [IDLE_MS]]
 *
 * IDLE_MS: each operation is timed after the process has slept that long, as a pay after the
 * till waited for the customer's code. On a virtual machine an fdatasync() after 20 ms of
 * quiet took 4 times as long as one of a back-to-back series (the host's I/O path had gone
 * idle): timed back to back, the floor is lower than anything a till meets.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long idle_ms;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The idle time before each timed operation (IDLE_MS), then the clock. */
static double
start_us(void)
{
	if (idle_ms > 0)
		nanosleep(&(struct timespec){.tv_sec = idle_ms / 1000,
					     .tv_nsec = (idle_ms % 1000) * 1000000L},
			  NULL);
	return now_us();
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void *
echo(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL), one = 1;
	char b[512];
	ssize_t l;

	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((l = read(fd, b, sizeof(b))) > 0)
		if (write(fd, b, (size_t)l) != l)
			break;
	close(fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	int n = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 200, one = 1;
	double *t = calloc((size_t)n, sizeof(*t)), sync_us, sign_us, rtt_us;
	char path[4096], req[400], b[512];
	unsigned char sig[512];
	size_t siglen;
	FILE *f;
	EVP_PKEY *key;
	pthread_t th;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd, lfd, c;

	idle_ms = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
	if (argc < 3 || n < 1 || !t || idle_ms < 0) {
		fprintf(stderr, "usage: bench-floor DIR APP_PRIVATE_KEY [N [IDLE_MS]]\n");
		return 2;
	}
	/* fdatasync of a page rewritten in place, as a WAL commit does. */
	snprintf(path, sizeof(path), "%s/bench-floor.tmp", argv[1]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path);
	memset(b, 'x', sizeof(b));
	for (int i = 0; i < n; i++) {
		double s = start_us();
		if (pwrite(fd, b, sizeof(b), (off_t)(i % 8) * 4096) < 0 || fdatasync(fd) < 0)
			die("fdatasync");
		t[i] = now_us() - s;
	}
	close(fd);
	unlink(path);
	sync_us = median(t, n);

	f = fopen(argv[2], "r");
	if (!f || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
		die(argv[2]);
	fclose(f);
	memset(req, 'a', sizeof(req));
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		double s = start_us();
		siglen = sizeof(sig);
		if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)req, sizeof(req)) != 1)
			die("sign");
		t[i] = now_us() - s;
		EVP_MD_CTX_free(ctx);
	}
	EVP_PKEY_free(key);
	sign_us = median(t, n);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		die("listen");
	if (pthread_create(&th, NULL, echo, &lfd) != 0)
		die("thread");
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < n; i++) {
		double s = start_us();
		if (write(c, req, sizeof(req)) != (ssize_t)sizeof(req))
			die("write");
		for (size_t got = 0; got < sizeof(req);) {
			ssize_t l = read(c, b, sizeof(b));
			if (l <= 0)
				die("read");
			got += (size_t)l;
		}
		t[i] = now_us() - s;
	}
	close(c);
	pthread_join(th, NULL);
	close(lfd);
	rtt_us = median(t, n);
	printf("%.1f %.1f %.1f %.1f\n", sync_us, sign_us, rtt_us, sync_us + sign_us + rtt_us);
	free(t);
	return 0;
}
