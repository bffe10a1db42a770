/* SPDX-License-Identifier: MIT */
/*
 * The POS side of the orders-per-second figures: N scan orders created with the customer's
 * code through the local API (POST /v1/orders with auth_code), CONC at a time on CONC kept-alive
 * connections, each followed to its final state on one event stream (GET /v1/events). Every
 * order must end PAID. Prints "orders_per_s p50_ms p99_ms" (create sent → final event read).
 *
 * Usage: bench-pos SOCKET N CONC CODE_BASE
 *
 * CODE_BASE numbers the payment codes: the order k pays with 28, CODE_BASE + k in 15 digits,
 * and 0 (the sandbox's "pays at once" scenario); the sandbox takes each code once. A POS in C
 * rather than the test harness's Python: the Python client spent 2 ms of CPU per order on the
 * same 2 cores as the daemon and the sandbox, which the official SDK's pay does not share.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC  64
#define BUF_SIZE  65536
#define EARLY_MAX 256 /* final events read before their order's 201 */

struct conn {
	int fd;
	char buf[BUF_SIZE + 1]; /* NUL-terminated */
	size_t len;
	bool busy;      /* a create sent, its 201 not read yet */
	char id[64];    /* the order it waits for, once the 201 came */
	double sent_us; /* when its create was sent */
};

static const char *sock_path;
static long long code_base;
static long issued, finished, total;
static double *latency_us;
static char early[EARLY_MAX][64];
static double early_at[EARLY_MAX];
static size_t n_early;

static void
die(const char *what)
{
	fprintf(stderr, "bench-pos: %s\n", what);
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
connect_api(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(sock_path) >= sizeof(sa.sun_path))
		die("socket");
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect to the API socket");
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write to the API failed");
		p += w;
		n -= (size_t)w;
	}
}

/* Reads what the socket has into c->buf; dies on end of file or a full buffer. */
static void
fill(struct conn *c)
{
	ssize_t r;

	if (c->len == BUF_SIZE)
		die("response too large");
	r = read(c->fd, c->buf + c->len, BUF_SIZE - c->len);
	if (r < 0 && errno == EINTR)
		return;
	if (r <= 0)
		die("the daemon closed a connection");
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
}

static void
consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n + 1);
	c->len -= n;
}

/* The order k: amounts vary as at a till, so each result screen is drawn afresh. */
static void
send_create(struct conn *c, long k)
{
	char body[160], req[512];
	int bn, rn;

	bn = snprintf(body, sizeof(body), "{\"amount\":\"%ld.%02ld\",\"auth_code\":\"28%015lld0\"}",
		      1 + k % 500, k % 100, code_base + k);
	rn = snprintf(req, sizeof(req),
		      "POST /v1/orders HTTP/1.1\r\nHost: localhost\r\n"
		      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		      bn, body);
	c->busy = true;
	c->id[0] = '\0';
	c->sent_us = now_us();
	send_all(c->fd, req, (size_t)rn);
	issued++;
}

static void
order_final(struct conn *c, double at)
{
	latency_us[finished++] = at - c->sent_us;
	c->id[0] = '\0';
	c->busy = false;
}

static const char *
json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* A complete response in c->buf: its 201 and the order id, or death. */
static void
read_created(struct conn *c)
{
	char *end, *p;
	size_t head, body_len;
	struct json_object *o;
	const char *id;

	for (;;) {
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (!end)
			return;
		head = (size_t)(end - c->buf) + 4;
		if (strncmp(c->buf, "HTTP/1.1 201", 12) != 0) {
			fprintf(stderr, "bench-pos: %.*s\n", (int)c->len, c->buf);
			die("create not answered 201");
		}
		body_len = 0;
		for (p = c->buf; p < end; p = strstr(p, "\r\n") + 2)
			if (strncasecmp(p, "Content-Length:", 15) == 0)
				body_len = strtoul(p + 15, NULL, 10);
		if (c->len < head + body_len)
			return;
		o = json_tokener_parse(strndupa(c->buf + head, body_len));
		id = o ? json_str(o, "id") : NULL;
		if (!id || strlen(id) >= sizeof(c->id))
			die("201 without an order id");
		snprintf(c->id, sizeof(c->id), "%s", id);
		json_object_put(o);
		consume(c, head + body_len);
		for (size_t i = 0; i < n_early; i++)
			if (strcmp(early[i], c->id) == 0) {
				order_final(c, early_at[i]);
				memcpy(early[i], early[--n_early], sizeof(early[i]));
				early_at[i] = early_at[n_early];
				break;
			}
		return;
	}
}

static bool
is_final(const char *state)
{
	static const char *const finals[] = {"PAID", "FAILED", "CANCELED", "REFUNDED_BY_CANCEL",
					     "ATTENTION"};

	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
		if (strcmp(state, finals[i]) == 0)
			return true;
	return false;
}

/* One event of the stream (its lines, without the blank line that ends it). */
static void
on_event(char *ev, struct conn *conns, int conc)
{
	char *event = NULL, *data = NULL, *line, *save = NULL;
	struct json_object *o;
	const char *id, *state;
	double at = now_us();

	for (line = strtok_r(ev, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "event: ", 7) == 0)
			event = line + 7;
		else if (strncmp(line, "data: ", 6) == 0)
			data = line + 6;
	}
	if (!event || !data || strcmp(event, "order") != 0)
		return;
	o = json_tokener_parse(data);
	id = o ? json_str(o, "id") : NULL;
	state = o ? json_str(o, "state") : NULL;
	if (id && state && is_final(state)) {
		if (strcmp(state, "PAID") != 0) {
			fprintf(stderr, "bench-pos: order %s ended %s\n", id, state);
			exit(1);
		}
		int i;
		for (i = 0; i < conc; i++)
			if (conns[i].busy && strcmp(conns[i].id, id) == 0) {
				order_final(&conns[i], at);
				break;
			}
		if (i == conc && n_early < EARLY_MAX && strlen(id) < sizeof(early[0])) {
			snprintf(early[n_early], sizeof(early[0]), "%s", id);
			early_at[n_early++] = at;
		}
	}
	json_object_put(o);
}

/*
 * The event stream's body is chunked: c->buf holds the raw bytes, *text what the chunks carried
 * so far. Takes every whole chunk out of c->buf, then every whole event out of *text.
 */
static void
read_events(struct conn *c, char *text, size_t *text_len, struct conn *conns, int conc)
{
	char *crlf, *end;
	size_t size, line;

	for (;;) {
		crlf = memmem(c->buf, c->len, "\r\n", 2);
		if (!crlf)
			break;
		line = (size_t)(crlf - c->buf) + 2;
		size = strtoul(c->buf, NULL, 16);
		if (c->len < line + size + 2)
			break;
		if (size == 0)
			die("the event stream ended");
		if (*text_len + size >= BUF_SIZE)
			die("event too large");
		memcpy(text + *text_len, c->buf + line, size);
		*text_len += size;
		consume(c, line + size + 2);
	}
	text[*text_len] = '\0';
	while ((end = strstr(text, "\n\n"))) {
		size_t n = (size_t)(end - text) + 2;
		*end = '\0';
		on_event(text, conns, conc);
		memmove(text, text + n, *text_len - n + 1);
		*text_len -= n;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct conn conns[MAX_CONC], events;
	static char text[BUF_SIZE + 1];
	struct pollfd pfd[MAX_CONC + 1];
	size_t text_len = 0;
	double t0;
	char *end;
	int conc;

	if (argc != 5) {
		fprintf(stderr, "usage: bench-pos SOCKET N CONC CODE_BASE\n");
		return 2;
	}
	sock_path = argv[1];
	total = atol(argv[2]);
	conc = atoi(argv[3]);
	code_base = atoll(argv[4]);
	if (total <= 0 || conc <= 0 || conc > MAX_CONC)
		die("N and CONC must be positive, CONC at most 64");
	latency_us = calloc((size_t)total, sizeof(*latency_us));
	if (!latency_us)
		die("out of memory");

	/* The stream first, open once its comment line arrived: no order's event is missed. */
	events.fd = connect_api();
	send_all(events.fd, "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n", 44);
	for (;;) {
		fill(&events);
		end = memmem(events.buf, events.len, "\r\n\r\n", 4);
		if (end && memmem(events.buf, events.len, ": f2fpayd events", 16))
			break;
	}
	if (strncmp(events.buf, "HTTP/1.1 200", 12) != 0)
		die("the event stream was not opened");
	consume(&events, (size_t)(end - events.buf) + 4);
	read_events(&events, text, &text_len, conns, 0);

	t0 = now_us();
	for (int i = 0; i < conc; i++) {
		conns[i].fd = connect_api();
		if (issued < total)
			send_create(&conns[i], issued);
	}
	while (finished < total) {
		pfd[0] = (struct pollfd){.fd = events.fd, .events = POLLIN};
		for (int i = 0; i < conc; i++)
			pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
		int r = poll(pfd, (nfds_t)conc + 1, 30000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("no answer for 30 s");
		for (int i = 0; i < conc; i++)
			if (pfd[i + 1].revents) {
				fill(&conns[i]);
				read_created(&conns[i]);
			}
		if (pfd[0].revents) {
			fill(&events);
			read_events(&events, text, &text_len, conns, conc);
		}
		for (int i = 0; i < conc; i++)
			if (!conns[i].busy && issued < total)
				send_create(&conns[i], issued);
	}
	double took = now_us() - t0;
	qsort(latency_us, (size_t)total, sizeof(*latency_us), cmp_double);
	printf("%.1f %.3f %.3f\n", (double)total * 1e6 / took, latency_us[total / 2] / 1e3,
	       latency_us[(size_t)((double)total * 0.99)] / 1e3);
	return 0;
}
