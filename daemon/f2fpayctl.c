/* SPDX-License-Identifier: MIT */
/* f2fpayctl: the command-line client of f2fpayd's local API, over libcurl (unix socket or TCP). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/macro.h"
#include "daemon/sse-parse.h"

#define DEFAULT_SOCKET  "/run/f2fpay/api.sock"
#define RESPONSE_MAX    (4 * 1024 * 1024)
#define EXIT_API_ERROR  1
#define EXIT_USAGE      2
#define EXIT_CONNECTION 3
#define EXIT_NOT_PAID   4 /* --wait: the order ended without payment */
#define EXIT_ATTENTION  5 /* --wait: the order needs an operator */
#define EXIT_TIMEOUT    6 /* --wait: still open when --wait-timeout ran out */
#define WAIT_POLL_USEC  (500 * 1000)

enum format {
	FORMAT_HUMAN,
	FORMAT_JSON,
	FORMAT_CSV,
};

struct ctl {
	const char *socket;
	const char *url;
	const char *token;
	enum format format;
	bool wait;
	unsigned wait_timeout_sec;
	/* command options */
	const char *subject, *auth_code, *pos_ref, *reason, *state, *date, *request_id;
};

struct response {
	long status;
	struct buf body;
};

static size_t
on_write(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;

	if (buf_append(b, p, size * n) < 0)
		return 0; /* over the limit: curl aborts the transfer */
	return size * n;
}

static CURL *
ctl_easy(const struct ctl *ctl, const char *method, const char *path, struct curl_slist **hdrs)
{
	CURL *c = curl_easy_init();
	char url[1024];
	const char *base = ctl->url ? ctl->url : "http://localhost";
	size_t bl = strlen(base);

	if (!c)
		return NULL;
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	snprintf(url, sizeof(url), "%.*s%s", (int)bl, base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (!ctl->url)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ctl->socket);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if (ctl->token) {
		_cleanup_free_ char *h = NULL;
		if (asprintf(&h, "Authorization: Bearer %s", ctl->token) < 0) {
			curl_easy_cleanup(c);
			return NULL;
		}
		*hdrs = curl_slist_append(*hdrs, h);
		explicit_bzero(h, strlen(h));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	return c;
}

/* The name of a group, or its number when it has none. */
static void
group_name(gid_t gid, char *buf, size_t size)
{
	struct group *g = getgrgid(gid);

	if (g)
		snprintf(buf, size, "%s", g->gr_name);
	else
		snprintf(buf, size, "%u", (unsigned)gid);
}

/*
 * Why the API socket cannot be reached, in words that say what to do: curl only knows that it
 * "couldn't connect". Tries the connection itself to learn the errno.
 */
static void
report_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char group[64] = "f2fpay", dir[sizeof(sa.sun_path)];
	const char *slash;
	struct stat st;
	int fd, err = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "f2fpayctl: %s: the socket path is too long\n", path);
		return;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	switch (err) {
	case EACCES:
	case EPERM:
		/* The group that opens the door: the socket's, else its folder's. */
		slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
			 slash ? path : ".");
		if (stat(path, &st) == 0 || stat(dir, &st) == 0)
			group_name(st.st_gid, group, sizeof(group));
		fprintf(stderr,
			"f2fpayctl: permission denied on %s: add the user to group %s "
			"(sudo usermod -aG %s $USER), then log in again\n",
			path, group, group);
		return;
	case ENOENT:
		fprintf(stderr,
			"f2fpayctl: no API socket at %s: is f2fpayd installed and started? "
			"(systemctl status f2fpayd.socket f2fpayd); another path: --socket PATH\n",
			path);
		return;
	case ECONNREFUSED:
		fprintf(stderr,
			"f2fpayctl: nothing answers on %s: f2fpayd is not running "
			"(systemctl start f2fpayd; journalctl -u f2fpayd says why it stopped)\n",
			path);
		return;
	default:
		fprintf(stderr, "f2fpayctl: cannot reach f2fpayd at %s: %s\n", path,
			err ? strerror(err) : "the connection failed");
		return;
	}
}

static int
report_curl(const struct ctl *ctl, CURLcode cc)
{
	if (!ctl->url && cc == CURLE_COULDNT_CONNECT)
		report_socket(ctl->socket);
	else
		fprintf(stderr, "f2fpayctl: cannot reach f2fpayd at %s: %s\n",
			ctl->url ? ctl->url : ctl->socket, curl_easy_strerror(cc));
	return EXIT_CONNECTION;
}

/* One request; *ret_json is the parsed body. Returns 0 or an exit code (error said). */
static int
ctl_request(const struct ctl *ctl, const char *method, const char *path, struct json_object *body,
	    const char *idempotency_key, struct json_object **ret_json)
{
	struct curl_slist *hdrs = NULL;
	struct response resp = {.body = BUF_INIT(RESPONSE_MAX)};
	struct json_object *json = NULL;
	CURLcode cc;
	CURL *c;
	int r = 0;

	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (idempotency_key) {
		char h[128];
		snprintf(h, sizeof(h), "Idempotency-Key: %s", idempotency_key);
		hdrs = curl_slist_append(hdrs, h);
	}
	c = ctl_easy(ctl, method, path, &hdrs);
	if (!c) {
		curl_slist_free_all(hdrs);
		fprintf(stderr, "f2fpayctl: out of memory\n");
		return EXIT_CONNECTION;
	}
	if (body)
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS,
				 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		r = report_curl(ctl, cc);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
	if (resp.body.len > 0)
		json = json_tokener_parse(resp.body.data);
	if (resp.status / 100 != 2) {
		struct json_object *e, *code, *msg;
		if (ctl->format == FORMAT_JSON && resp.body.len > 0)
			printf("%s\n", resp.body.data);
		if (json && json_object_object_get_ex(json, "error", &e) &&
		    json_object_object_get_ex(e, "code", &code) &&
		    json_object_object_get_ex(e, "message", &msg))
			fprintf(stderr, "f2fpayctl: %s (%ld %s)\n", json_object_get_string(msg),
				resp.status, json_object_get_string(code));
		else
			fprintf(stderr, "f2fpayctl: HTTP %ld\n", resp.status);
		r = EXIT_API_ERROR;
		goto out;
	}
	if (!json) {
		fprintf(stderr, "f2fpayctl: the answer is not JSON\n");
		r = EXIT_API_ERROR;
		goto out;
	}
	*ret_json = TAKE_PTR(json);
out:
	json_object_put(json);
	buf_free(&resp.body);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

/* ---- human output ---- */

static void
print_value(const char *key, struct json_object *v, int indent)
{
	if (json_object_is_type(v, json_type_object)) {
		printf("%*s%s:\n", indent, "", key);
		json_object_object_foreach(v, k, sub) print_value(k, sub, indent + 2);
		return;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		if (n == 0) {
			printf("%*s%-16s (none)\n", indent, "", key);
			return;
		}
		printf("%*s%s:\n", indent, "", key);
		for (size_t i = 0; i < n; i++) {
			char idx[24];
			snprintf(idx, sizeof(idx), "[%zu]", i);
			print_value(idx, json_object_array_get_idx(v, i), indent + 2);
		}
		return;
	}
	printf("%*s%-16s %s\n", indent, "", key,
	       json_object_is_type(v, json_type_null) ? "-" : json_object_get_string(v));
}

static void
print_object(struct json_object *o)
{
	json_object_object_foreach(o, k, v) print_value(k, v, 0);
}

static const char *
field(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return "-";
	s = json_object_get_string(v);
	return s ? s : "-";
}

static void
print_orders(struct json_object *list)
{
	size_t n = json_object_array_length(list);

	printf("%-32s %-14s %12s  %s\n", "ORDER", "STATE", "AMOUNT", "SUBJECT");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(list, i);
		printf("%-32s %-14s %12s  %s\n", field(o, "id"), field(o, "state"),
		       field(o, "amount"), field(o, "subject"));
	}
	printf("%zu order%s\n", n, n == 1 ? "" : "s");
}

static void
csv_cell(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void
print_rows_csv(struct json_object *rows)
{
	size_t n = json_object_array_length(rows);
	struct json_object *first = n ? json_object_array_get_idx(rows, 0) : NULL;
	bool sep = false;

	if (!first || !json_object_is_type(first, json_type_object))
		return;
	json_object_object_foreach(first, key, unused)
	{
		(void)unused;
		if (sep)
			putchar(',');
		csv_cell(key);
		sep = true;
	}
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		sep = false;
		json_object_object_foreach(first, k, u2)
		{
			(void)u2;
			if (sep)
				putchar(',');
			csv_cell(strcmp(field(row, k), "-") == 0 ? "" : field(row, k));
			sep = true;
		}
		putchar('\n');
	}
}

/* A table cell: the member as text, "" when absent. */
static const char *
cell(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return "";
	s = json_object_get_string(v);
	return s ? s : "";
}

/* A list of flat objects as an aligned table, columns from the first row's keys. */
static void
print_table(const char *title, struct json_object *rows)
{
	size_t n = json_object_array_length(rows), width[32] = {0}, ncol = 0;
	struct json_object *first = json_object_array_get_idx(rows, 0);

	json_object_object_foreach(first, key, u0)
	{
		(void)u0;
		if (ncol < ELEMENTSOF(width))
			width[ncol++] = strlen(key);
	}
	for (size_t i = 0; i < n; i++) {
		size_t c = 0;
		json_object_object_foreach(first, k, u1)
		{
			(void)u1;
			if (c < ncol)
				width[c] =
					MAX(width[c],
					    strlen(field(json_object_array_get_idx(rows, i), k)));
			c++;
		}
	}
	printf("%s (%zu):\n", title, n);
	for (ssize_t i = -1; i < (ssize_t)n; i++) {
		struct json_object *row = i < 0 ? NULL : json_object_array_get_idx(rows, (size_t)i);
		char line[4096];
		size_t c = 0, len = 0;

		line[0] = '\0';
		json_object_object_foreach(first, k, u2)
		{
			(void)u2;
			if (c < ncol && len < sizeof(line))
				len += (size_t)snprintf(line + len, sizeof(line) - len, "  %-*s",
							(int)width[c], row ? cell(row, k) : k);
			c++;
		}
		/* No trailing blanks after an empty last column. */
		len = strlen(line);
		while (len > 0 && line[len - 1] == ' ')
			line[--len] = '\0';
		puts(line);
	}
}

/* bill DATE: the scalars and summaries as key/value lines, the row lists as tables. */
static void
print_bill(struct json_object *o)
{
	json_object_object_foreach(o, k, v)
	{
		struct json_object *first =
			json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0
				? json_object_array_get_idx(v, 0)
				: NULL;
		if (first && json_object_is_type(first, json_type_object))
			print_table(k, v);
		else
			print_value(k, v, 0);
	}
}

static int
output(const struct ctl *ctl, struct json_object *o)
{
	if (ctl->format == FORMAT_JSON)
		printf("%s\n",
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_object(o);
	return 0;
}

/* ---- commands ---- */

static bool
state_in(const char *state, const char *const *list)
{
	for (; *list; list++)
		if (STR_EQ(state, *list))
			return true;
	return false;
}

/*
 * --wait: polls the order until it is settled. Polling, not the event stream, so that no
 * transition can slip by between the create and a subscription.
 */
static int
wait_order(const struct ctl *ctl, struct json_object *created)
{
	static const char *const unpaid[] = {"FAILED",  "CANCELED",           "CLOSED",
					     "EXPIRED", "REFUNDED_BY_CANCEL", NULL};
	char path[160], last[40] = "";
	struct timespec start, now;
	const char *id = field(created, "id");

	if (STR_EQ(id, "-")) {
		fprintf(stderr, "f2fpayctl: the answer has no order id\n");
		return EXIT_API_ERROR;
	}
	snprintf(path, sizeof(path), "/v1/orders/%s", id);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct json_object *o = NULL;
		int r = ctl_request(ctl, "GET", path, NULL, NULL, &o);
		if (r != 0)
			return r;
		const char *state = field(o, "state");
		if (!STR_EQ(state, last)) {
			if (ctl->format == FORMAT_HUMAN)
				printf("%-16s %s\n", "state", state);
			/* A copy by hand: gcc's -Wformat-truncation misfires here under ASan. */
			size_t n = strnlen(state, sizeof(last) - 1);
			memcpy(last, state, n);
			last[n] = 0;
		}
		r = -1;
		if (STR_EQ(state, "PAID"))
			r = 0;
		else if (state_in(state, unpaid))
			r = EXIT_NOT_PAID;
		else if (STR_EQ(state, "ATTENTION"))
			r = EXIT_ATTENTION;
		if (r >= 0 && ctl->format == FORMAT_JSON)
			output(ctl, o);
		json_object_put(o);
		fflush(stdout);
		if (r >= 0)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)ctl->wait_timeout_sec) {
			/* `state` went with the order object: `last` holds a copy. */
			fprintf(stderr, "f2fpayctl: order %s is still %s\n", id, last);
			return EXIT_TIMEOUT;
		}
		usleep(WAIT_POLL_USEC);
	}
}

static int
cmd_create(const struct ctl *ctl, const char *amount, bool qr)
{
	struct json_object *body = json_object_new_object(), *o = NULL;
	int r;

	json_object_object_add(body, "amount", json_object_new_string(amount));
	json_object_object_add(body, "mode", json_object_new_string(qr ? "qr" : "scan"));
	if (ctl->subject)
		json_object_object_add(body, "subject", json_object_new_string(ctl->subject));
	if (ctl->auth_code)
		json_object_object_add(body, "auth_code", json_object_new_string(ctl->auth_code));
	if (ctl->pos_ref)
		json_object_object_add(body, "pos_ref", json_object_new_string(ctl->pos_ref));
	r = ctl_request(ctl, "POST", "/v1/orders", body, NULL, &o);
	json_object_put(body);
	if (r == 0)
		r = output(ctl, o);
	if (r == 0 && ctl->wait)
		r = wait_order(ctl, o);
	json_object_put(o);
	return r;
}

static int
check_id(const char *id)
{
	for (const char *p = id; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			    *p)) {
			fprintf(stderr, "f2fpayctl: '%s' is not an order id\n", id);
			return EXIT_USAGE;
		}
	return *id ? 0 : EXIT_USAGE;
}

static int
cmd_simple(const struct ctl *ctl, const char *method, const char *path)
{
	struct json_object *o = NULL;
	int r = ctl_request(ctl, method, path, NULL, NULL, &o);

	if (r == 0)
		r = output(ctl, o);
	json_object_put(o);
	return r;
}

static int
cmd_refund(const struct ctl *ctl, const char *id, const char *amount)
{
	struct json_object *body = json_object_new_object(), *o = NULL;
	char path[160];
	int r;

	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", id);
	json_object_object_add(body, "amount", json_object_new_string(amount));
	if (ctl->reason)
		json_object_object_add(body, "reason", json_object_new_string(ctl->reason));
	r = ctl_request(ctl, "POST", path, body, ctl->request_id, &o);
	json_object_put(body);
	if (r == 0)
		r = output(ctl, o);
	json_object_put(o);
	return r;
}

static bool
query_ok(const char *s)
{
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *s))
			return false;
	return true;
}

static int
cmd_orders(const struct ctl *ctl)
{
	struct json_object *all = NULL, *acc = NULL;
	char path[256], query[128];
	_cleanup_free_ char *cursor = NULL;
	int r = 0;

	if ((ctl->state && !query_ok(ctl->state)) || (ctl->date && !query_ok(ctl->date))) {
		fprintf(stderr, "f2fpayctl: --state and --date take words like PAID, 2026-11-26\n");
		return EXIT_USAGE;
	}
	snprintf(query, sizeof(query), "limit=1000%s%s%s%s", ctl->state ? "&state=" : "",
		 strempty(ctl->state), ctl->date ? "&date=" : "", strempty(ctl->date));
	all = json_object_new_object();
	acc = json_object_new_array();
	if (!all || !acc) {
		json_object_put(all);
		json_object_put(acc);
		fprintf(stderr, "f2fpayctl: out of memory\n");
		return EXIT_FAILURE;
	}
	json_object_object_add(all, "orders", acc);
	/* Every page, following next_cursor: the list is whole. */
	do {
		struct json_object *o = NULL, *list, *next;
		snprintf(path, sizeof(path), "/v1/orders?%s%s%s", query, cursor ? "&cursor=" : "",
			 strempty(cursor));
		r = ctl_request(ctl, "GET", path, NULL, NULL, &o);
		if (r != 0) {
			json_object_put(o);
			break;
		}
		if (json_object_object_get_ex(o, "orders", &list) &&
		    json_object_is_type(list, json_type_array))
			for (size_t i = 0; i < json_object_array_length(list); i++)
				json_object_array_add(
					acc, json_object_get(json_object_array_get_idx(list, i)));
		free(cursor);
		cursor = NULL;
		if (json_object_object_get_ex(o, "next_cursor", &next) &&
		    json_object_is_type(next, json_type_string))
			cursor = strdup(json_object_get_string(next));
		json_object_put(o);
	} while (cursor);
	if (r == 0) {
		if (ctl->format == FORMAT_HUMAN)
			print_orders(acc);
		else
			r = output(ctl, all);
	}
	json_object_put(all);
	return r;
}

static int
cmd_bill(const struct ctl *ctl, const char *date)
{
	struct json_object *o = NULL, *rows;
	char path[128];
	int r;

	if (!query_ok(date)) {
		fprintf(stderr, "f2fpayctl: '%s' is not a date (yyyy-MM-dd)\n", date);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/reconciliation/%s", date);
	r = ctl_request(ctl, "GET", path, NULL, NULL, &o);
	if (r == 0) {
		bool has_rows = json_object_object_get_ex(o, "rows", &rows) &&
				json_object_is_type(rows, json_type_array);
		if (ctl->format == FORMAT_CSV && has_rows)
			print_rows_csv(rows);
		else if (ctl->format == FORMAT_HUMAN)
			print_bill(o);
		else
			r = output(ctl, o);
	}
	json_object_put(o);
	return r;
}

struct events_ctx {
	const struct ctl *ctl;
	struct sse_parser parser;
	long status;
	struct buf error_body;
};

static int
on_event(void *userdata, const char *name, const char *data, const char *id)
{
	struct events_ctx *e = userdata;
	struct json_object *j;

	if (e->ctl->format == FORMAT_JSON) {
		/* One JSON object a line: {"event":..., "data":...} for scripts. */
		struct json_object *line = json_object_new_object();
		j = json_tokener_parse(data);
		json_object_object_add(line, "event", json_object_new_string(name));
		json_object_object_add(line, "data", j ? j : json_object_new_string(data));
		printf("%s\n",
		       json_object_to_json_string_ext(
			       line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(line);
	} else {
		j = json_tokener_parse(data);
		if (j && json_object_is_type(j, json_type_object) && STR_EQ(name, "order"))
			printf("order  %s  %s  %s\n", field(j, "id"), field(j, "state"),
			       field(j, "amount"));
		else
			printf("%-6s %s\n", name, data);
		json_object_put(j);
	}
	fflush(stdout);
	return 0;
}

static size_t
on_stream(char *p, size_t size, size_t n, void *userdata)
{
	struct events_ctx *e = userdata;

	if (e->status == 0)
		return size * n; /* set by the header callback below */
	if (e->status != 200)
		return buf_append(&e->error_body, p, size * n) < 0 ? 0 : size * n;
	if (sse_parser_feed(&e->parser, p, size * n) < 0)
		return 0;
	return size * n;
}

static size_t
on_stream_header(char *p, size_t size, size_t n, void *userdata)
{
	struct events_ctx *e = userdata;

	if (size * n > 9 && strncmp(p, "HTTP/1.", 7) == 0)
		e->status = strtol(p + 9, NULL, 10);
	return size * n;
}

static int
cmd_events(const struct ctl *ctl)
{
	struct events_ctx e = {.ctl = ctl, .error_body = BUF_INIT(65536)};
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
	CURL *c = ctl_easy(ctl, "GET", "/v1/events", &hdrs);
	CURLcode cc;
	int r = 0;

	if (!c) {
		curl_slist_free_all(hdrs);
		return EXIT_CONNECTION;
	}
	sse_parser_init(&e.parser, on_event, &e);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &e);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_stream_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &e);
	cc = curl_easy_perform(c);
	if (e.status != 0 && e.status != 200) {
		fprintf(stderr, "f2fpayctl: %s (HTTP %ld)\n",
			e.error_body.data ? e.error_body.data : "", e.status);
		r = EXIT_API_ERROR;
	} else if (cc != CURLE_OK)
		r = report_curl(ctl, cc);
	else {
		fprintf(stderr, "f2fpayctl: the event stream ended\n");
		r = EXIT_CONNECTION;
	}
	sse_parser_done(&e.parser);
	buf_free(&e.error_body);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

struct backup_ctx {
	int fd;
	long status;
	uint64_t written;
	struct buf error_body; /* the JSON error of a refused backup */
	int error;             /* errno of a failed write */
};

static size_t
on_backup_data(char *p, size_t size, size_t n, void *userdata)
{
	struct backup_ctx *b = userdata;

	if (b->status != 200) {
		(void)buf_append(&b->error_body, p, size * n);
		return size * n;
	}
	for (size_t off = 0; off < size * n;) {
		ssize_t k = write(b->fd, p + off, size * n - off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			b->error = errno;
			return 0; /* curl aborts the transfer */
		}
		off += (size_t)k;
	}
	b->written += size * n;
	return size * n;
}

static size_t
on_backup_header(char *p, size_t size, size_t n, void *userdata)
{
	struct backup_ctx *b = userdata;
	long code;

	if (size * n > 9 && strncmp(p, "HTTP/1.", 7) == 0 && sscanf(p + 9, "%ld", &code) == 1)
		b->status = code;
	return size * n;
}

/* A file SQLite wrote starts with these 16 bytes. */
static bool
is_sqlite_file(int fd)
{
	char head[16];

	return pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	       memcmp(head, "SQLite format 3", sizeof(head)) == 0;
}

/*
 * backup PATH: a consistent copy of the running daemon's journal, written beside PATH first
 * (mode 0600: it holds customer data) and renamed over it only once complete and synced.
 */
static int
cmd_backup(const struct ctl *ctl, const char *path)
{
	struct backup_ctx b = {.error_body = BUF_INIT(65536)};
	struct curl_slist *hdrs = NULL;
	_cleanup_free_ char *tmp = NULL;
	CURLcode cc;
	CURL *c;
	int r = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return EXIT_API_ERROR;
	b.fd = mkostemp(tmp, O_CLOEXEC);
	if (b.fd < 0) {
		fprintf(stderr, "f2fpayctl: cannot create %s: %s\n", tmp, strerror(errno));
		buf_free(&b.error_body);
		return EXIT_API_ERROR;
	}
	c = ctl_easy(ctl, "GET", "/v1/backup", &hdrs);
	if (!c) {
		r = EXIT_CONNECTION;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_backup_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_backup_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
	cc = curl_easy_perform(c);
	if (b.error) {
		fprintf(stderr, "f2fpayctl: cannot write %s: %s\n", tmp, strerror(b.error));
		r = EXIT_API_ERROR;
	} else if (cc != CURLE_OK)
		r = report_curl(ctl, cc);
	else if (b.status != 200) {
		fprintf(stderr, "f2fpayctl: backup refused (HTTP %ld): %s\n", b.status,
			b.error_body.data ? b.error_body.data : "");
		r = EXIT_API_ERROR;
	} else if (!is_sqlite_file(b.fd)) {
		fprintf(stderr, "f2fpayctl: the daemon sent something that is not a journal\n");
		r = EXIT_API_ERROR;
	} else if (fsync(b.fd) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "f2fpayctl: cannot store %s: %s\n", path, strerror(errno));
		r = EXIT_API_ERROR;
	} else
		printf("Backup of the journal written to %s (%llu bytes)\n", path,
		       (unsigned long long)b.written);
out:
	close(b.fd);
	if (r != 0)
		(void)unlink(tmp);
	buf_free(&b.error_body);
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	return r;
}

static void
help(void)
{
	printf("f2fpayctl [OPTIONS] COMMAND ...\n\n"
	       "Talks to f2fpayd's local API.\n\n"
	       "Commands:\n"
	       "  pay AMOUNT [--subject S] [--auth-code C] [--pos-ref R] [--wait]  scan payment\n"
	       "  qr AMOUNT [--subject S] [--pos-ref R] [--wait]                   QR payment\n"
	       "  status [ORDER]                      daemon status, or one order\n"
	       "  cancel ORDER                        cancel (or reverse) an order\n"
	       "  refund ORDER AMOUNT [--reason R] [--request-id K]\n"
	       "  orders [--state S] [--date yyyy-MM-dd]\n"
	       "  events                              follow the event stream\n"
	       "  bill DATE [--json|--csv]            reconciliation of a day\n"
	       "  backup PATH                         copy the journal, while running, to PATH\n\n"
	       "Options:\n"
	       "  --socket PATH     unix socket (default $F2FPAY_SOCKET or " DEFAULT_SOCKET ")\n"
	       "  --url URL         TCP instead, e.g. http://127.0.0.1:8077\n"
	       "  --token TOKEN     bearer token for --url (default $F2FPAY_TOKEN)\n"
	       "  --json            print the API's JSON\n"
	       "  --csv             bill: rows as CSV\n"
	       "  --wait            pay, qr: wait until the order is settled\n"
	       "  --wait-timeout S  give up waiting after S seconds (default 300)\n"
	       "  -h --help         this help\n\n"
	       "Exit status: 0 done (with --wait: paid), 1 refused by f2fpayd, 2 usage, 3 f2fpayd\n"
	       "unreachable; with --wait: 4 not paid, 5 needs attention, 6 still open.\n");
}

int
main(int argc, char **argv)
{
	enum {
		ARG_SOCKET = 0x100,
		ARG_URL,
		ARG_TOKEN,
		ARG_JSON,
		ARG_CSV,
		ARG_SUBJECT,
		ARG_AUTH_CODE,
		ARG_POS_REF,
		ARG_REASON,
		ARG_STATE,
		ARG_DATE,
		ARG_REQUEST_ID,
		ARG_WAIT,
		ARG_WAIT_TIMEOUT,
	};
	static const struct option options[] = {
		{"socket", required_argument, NULL, ARG_SOCKET},
		{"url", required_argument, NULL, ARG_URL},
		{"token", required_argument, NULL, ARG_TOKEN},
		{"json", no_argument, NULL, ARG_JSON},
		{"csv", no_argument, NULL, ARG_CSV},
		{"subject", required_argument, NULL, ARG_SUBJECT},
		{"auth-code", required_argument, NULL, ARG_AUTH_CODE},
		{"pos-ref", required_argument, NULL, ARG_POS_REF},
		{"reason", required_argument, NULL, ARG_REASON},
		{"state", required_argument, NULL, ARG_STATE},
		{"date", required_argument, NULL, ARG_DATE},
		{"request-id", required_argument, NULL, ARG_REQUEST_ID},
		{"wait", no_argument, NULL, ARG_WAIT},
		{"wait-timeout", required_argument, NULL, ARG_WAIT_TIMEOUT},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct ctl ctl = {
		.socket = getenv("F2FPAY_SOCKET") ? getenv("F2FPAY_SOCKET") : DEFAULT_SOCKET,
		.token = getenv("F2FPAY_TOKEN"),
		.wait_timeout_sec = 300,
	};
	const char *cmd;
	char path[160];
	int c, r, nargs;

	/* Options may follow the command ("pay 5.00 --subject tea"); "--" ends them. */
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case ARG_SOCKET:
			ctl.socket = optarg;
			break;
		case ARG_URL:
			ctl.url = optarg;
			break;
		case ARG_TOKEN:
			ctl.token = optarg;
			break;
		case ARG_JSON:
			ctl.format = FORMAT_JSON;
			break;
		case ARG_CSV:
			ctl.format = FORMAT_CSV;
			break;
		case ARG_SUBJECT:
			ctl.subject = optarg;
			break;
		case ARG_AUTH_CODE:
			ctl.auth_code = optarg;
			break;
		case ARG_POS_REF:
			ctl.pos_ref = optarg;
			break;
		case ARG_REASON:
			ctl.reason = optarg;
			break;
		case ARG_STATE:
			ctl.state = optarg;
			break;
		case ARG_DATE:
			ctl.date = optarg;
			break;
		case ARG_REQUEST_ID:
			ctl.request_id = optarg;
			break;
		case ARG_WAIT:
			ctl.wait = true;
			break;
		case ARG_WAIT_TIMEOUT: {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v == 0 || v > 86400) {
				fprintf(stderr,
					"f2fpayctl: --wait-timeout takes 1-86400 seconds\n");
				return EXIT_USAGE;
			}
			ctl.wait_timeout_sec = (unsigned)v;
			break;
		}
		case 'h':
			help();
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		help();
		return EXIT_USAGE;
	}
	if (ctl.url && strncmp(ctl.url, "http://", 7) != 0 &&
	    strncmp(ctl.url, "https://", 8) != 0) {
		fprintf(stderr, "f2fpayctl: --url takes http://HOST:PORT\n");
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	nargs = argc - optind - 1;
	argv += optind + 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_CONNECTION;

	r = EXIT_USAGE;
	if ((STR_EQ(cmd, "pay") || STR_EQ(cmd, "qr")) && nargs == 1) {
		if (STR_EQ(cmd, "qr") && ctl.auth_code)
			fprintf(stderr, "f2fpayctl: qr takes no --auth-code\n");
		else
			r = cmd_create(&ctl, argv[0], STR_EQ(cmd, "qr"));
	} else if (STR_EQ(cmd, "status") && nargs == 0)
		r = cmd_simple(&ctl, "GET", "/v1/status");
	else if (STR_EQ(cmd, "status") && nargs == 1) {
		if ((r = check_id(argv[0])) == 0) {
			snprintf(path, sizeof(path), "/v1/orders/%s", argv[0]);
			r = cmd_simple(&ctl, "GET", path);
		}
	} else if (STR_EQ(cmd, "cancel") && nargs == 1) {
		if ((r = check_id(argv[0])) == 0) {
			snprintf(path, sizeof(path), "/v1/orders/%s/cancel", argv[0]);
			r = cmd_simple(&ctl, "POST", path);
		}
	} else if (STR_EQ(cmd, "refund") && nargs == 2) {
		if ((r = check_id(argv[0])) == 0)
			r = cmd_refund(&ctl, argv[0], argv[1]);
	} else if (STR_EQ(cmd, "orders") && nargs == 0)
		r = cmd_orders(&ctl);
	else if (STR_EQ(cmd, "events") && nargs == 0)
		r = cmd_events(&ctl);
	else if (STR_EQ(cmd, "bill") && nargs == 1)
		r = cmd_bill(&ctl, argv[0]);
	else if (STR_EQ(cmd, "backup") && nargs == 1)
		r = cmd_backup(&ctl, argv[0]);
	else
		fprintf(stderr, "f2fpayctl: unknown command or wrong arguments: %s (see --help)\n",
			cmd);
	curl_global_cleanup();
	return r;
}
