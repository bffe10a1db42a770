/* SPDX-License-Identifier: MIT */
/*
 * Pays' transport over HTTPS, measured: N requests one after the other, each on a fresh
 * connection used for it only (as every alipay.trade.pay goes, doc/protocol.md §8), with and
 * without TLS session resumption, interleaved. Prints the medians in microseconds, submit to
 * complete answer: "RESUMED_US FULL_US CPU_RESUMED_US CPU_FULL_US".
 * Usage: bench-tls URL CA_FILE [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "payment/http/http-sd-event.h"
#include "payment/http/http.h"

static unsigned pending;

static double
now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
on_done(struct http_request *req, struct http_response *resp, void *userdata)
{
	int *ok = userdata;

	*ok = resp->outcome == HTTP_OUTCOME_OK && resp->send_count == 1;
	pending--;
}

/* One request on a fresh connection; its wall and CPU time in us, or -1. */
static int
one(sd_event *e, struct http_client *c, const char *url, double *wall, double *cpu)
{
	struct http_request_spec spec = {
		.method = HTTP_METHOD_POST,
		.url = url,
		.body = "a=1",
		.body_len = 3,
		.content_type = "application/x-www-form-urlencoded;charset=utf-8",
		.connect_timeout_usec = 5000000,
		.timeout_usec = 15000000,
		.no_reuse = true,
	};
	double w0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	int ok = 0;

	if (http_client_submit(c, &spec, on_done, &ok, NULL) < 0)
		return -1;
	pending = 1;
	while (pending > 0)
		if (sd_event_run(e, UINT64_MAX) < 0)
			return -1;
	*wall = now_us(CLOCK_MONOTONIC) - w0;
	*cpu = now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	int n = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 50;
	struct http_client *c[2];
	sd_event *e;
	double *t[4], w, cpu;

	if (argc < 3 || n < 1) {
		fprintf(stderr, "usage: bench-tls URL CA_FILE [N]\n");
		return 2;
	}
	if (sd_event_new(&e) < 0)
		return 1;
	for (int k = 0; k < 2; k++) {
		struct http_client_config cfg = {.ca_file = argv[2], .no_tls_resume = k == 1};
		if (http_client_new_sd_event(e, &cfg, &c[k]) < 0)
			return 1;
	}
	for (int k = 0; k < 4; k++)
		if (!(t[k] = calloc((size_t)n, sizeof(double))))
			return 1;
	/* A first request each: the session to resume, libraries warmed up. */
	for (int k = 0; k < 2; k++)
		if (one(e, c[k], argv[1], &w, &cpu) < 0) {
			fprintf(stderr, "bench-tls: the request to %s failed\n", argv[1]);
			return 1;
		}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			if (one(e, c[k], argv[1], &t[k][i], &t[k + 2][i]) < 0) {
				fprintf(stderr, "bench-tls: a request to %s failed\n", argv[1]);
				return 1;
			}
		}
	for (int k = 0; k < 4; k++)
		qsort(t[k], (size_t)n, sizeof(double), cmp);
	printf("%.0f %.0f %.0f %.0f\n", t[0][n / 2], t[1][n / 2], t[2][n / 2], t[3][n / 2]);
	for (int k = 0; k < 2; k++)
		http_client_free(c[k]);
	for (int k = 0; k < 4; k++)
		free(t[k]);
	sd_event_unref(e);
	return 0;
}
