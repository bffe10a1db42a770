/* SPDX-License-Identifier: MIT */
/* The local API: routes, idempotency, SSE and limits on libmicrohttpd driven by sd-event. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <grp.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/api.h"
#include "daemon/httpd.h"

#define SSE_KEEPALIVE_USEC    (25 * USEC_PER_SEC)
/* Above SSE_KEEPALIVE_USEC: a quiet event stream is not idle. */
#define IDLE_TIMEOUT_SEC      30
/* Local clients send a whole request at once: 5 s for the headers, 10 s for all of it. */
#define HEADER_DEADLINE_USEC  (5 * USEC_PER_SEC)
#define REQUEST_DEADLINE_USEC (10 * USEC_PER_SEC)
#define KEEPALIVE_USEC        (15 * USEC_PER_SEC)

struct api;
struct conn;

/* One listening socket with its MHD daemon, attached to sd-event. */
struct listener {
	struct api *api;
	struct httpd *httpd;
	bool need_token;
	unsigned port;
};

/* A queued SSE event, shared between clients (and the replay history). */
struct sse_event {
	unsigned ref;
	struct event_id id; /* {0, 0} for comments */
	size_t len;
	char data[];
};

struct sse_client {
	struct api *api;
	struct conn *conn;
	struct MHD_Connection *mc;
	struct sse_event **queue; /* ring of sse_queue_limit */
	size_t head, count, offset;
	bool suspended, overflow;
	sd_event_source *hup; /* the peer's socket: a suspended stream sees no disconnect */
	struct sse_client *prev, *next;
};

enum call_kind {
	CALL_CREATE,
	CALL_OTHER,
};

/* An idempotency key: in flight (waiters wait for it) or settled (order id known). */
struct idem {
	char *key;
	char *fingerprint;
	char *order_id;       /* NULL while in flight */
	struct conn *waiters; /* conns waiting for the first request's answer */
	uint64_t last_used;
	struct idem *prev, *next;
};

struct api_call {
	struct api *api;   /* NULL once the api is gone */
	struct conn *conn; /* NULL once the connection is gone */
	enum call_kind kind;
	struct idem *idem; /* CALL_CREATE with a key */
	struct api_call *prev, *next;
};

/* Per HTTP request state (MHD's con_cls). */
struct conn {
	struct listener *listener;
	struct MHD_Connection *mc;
	struct buf body;
	bool too_large, dispatched, suspended, ready, replayed;
	unsigned status;
	char *response; /* JSON text */
	int file_fd;    /* a file to send instead of JSON, or -1 */
	uint64_t file_size;
	const char *file_type;
	const char *allow; /* Allow header for 405 */
	struct api_call *call;
	struct idem *waiting_on;
	struct conn *next_waiter;
	struct sse_client *sse;
	struct conn *prev, *next; /* all conns, for api_free */
};

struct api {
	sd_event *event;
	struct api_options opts;
	char *token;
	char *socket_path; /* unlinked on free when we bound it */
	struct listener unix_l, tcp_l;
	const struct api_backend *backend;
	void *userdata;
	struct conn *conns;
	struct api_call *calls;
	struct idem *idems;
	unsigned n_idems;
	uint64_t idem_clock;
	struct sse_client *sse_clients;
	unsigned n_sse;
	struct event_id last_id;    /* of the newest event sent */
	struct event_id complete;   /* the history holds every event after this id */
	struct sse_event **history; /* the newest events, for Last-Event-ID; a ring */
	size_t history_size, history_head, history_count;
	sd_event_source *keepalive;
};

#define LIST_PREPEND(head, item)               \
	do {                                   \
		(item)->prev = NULL;           \
		(item)->next = (head);         \
		if (head)                      \
			(head)->prev = (item); \
		(head) = (item);               \
	} while (0)
#define LIST_REMOVE(head, item)                            \
	do {                                               \
		if ((item)->prev)                          \
			(item)->prev->next = (item)->next; \
		else                                       \
			(head) = (item)->next;             \
		if ((item)->next)                          \
			(item)->next->prev = (item)->prev; \
		(item)->prev = (item)->next = NULL;        \
	} while (0)

void
api_options_init(struct api_options *o)
{
	*o = (struct api_options){
		.socket_path = "/run/f2fpay/api.sock",
		.socket_mode = 0660,
		.listen_fd = -1,
		.body_limit = 16384,
		.max_connections = 128,
		.max_sse_clients = 8,
		.sse_queue_limit = 256,
		.idempotency_keys = 4096,
	};
}

/* After a resume MHD must run once more (MHD_resume_connection's contract). */
static void
listener_kick(struct listener *l)
{
	httpd_kick(l->httpd);
}

/* ---- responses ---- */

static char *
error_json(const char *code, const char *message)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	char *s = NULL;

	if (o && e) {
		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(message));
		json_object_object_add(o, "error", e);
		e = NULL;
		s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(e);
	json_object_put(o);
	return s;
}

/* doc/api.md: an answer that could not be made durable (the backend's settle failed). */
#define SETTLE_FAILED "the journal could not be synced to its disk; ask again"

/* Sets the answer of a conn (taking `json`) and wakes it if it waits. */
static void
conn_set_response(struct conn *c, unsigned status, char *json, bool replayed)
{
	free(c->response);
	c->response = json;
	c->status = status;
	c->replayed = c->replayed || replayed;
	c->ready = true;
	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->mc);
		listener_kick(c->listener);
	}
}

static void _printf_(4, 5)
	conn_fail(struct conn *c, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[API_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_set_response(c, status, error_json(code, msg), false);
}

static enum MHD_Result
conn_queue(struct conn *c)
{
	struct MHD_Response *resp;
	const char *body = c->response ? c->response : "";
	enum MHD_Result r;

	if (!c->response && c->status == 500)
		/* Out of memory while building the answer. */
		body = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
	if (c->file_fd >= 0) {
		/* MHD owns the fd from here, and closes it whatever happens. */
		resp = MHD_create_response_from_fd(c->file_size, c->file_fd);
		if (!resp)
			close(c->file_fd);
		c->file_fd = -1;
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, c->file_type);
		r = MHD_queue_response(c->mc, c->status, resp);
		MHD_destroy_response(resp);
		return r;
	}
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (*body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (c->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (c->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, c->allow);
	if (c->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	r = MHD_queue_response(c->mc, c->status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* ---- calls ---- */

static struct api_call *
call_new(struct conn *c, enum call_kind kind)
{
	struct api_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->api = c->listener->api;
	call->conn = c;
	call->kind = kind;
	c->call = call;
	LIST_PREPEND(call->api->calls, call);
	return call;
}

static void idem_forget(struct api *api, struct idem *i);

/* The first request for a key was answered: settle the key, answer its waiters alike. */
static void
idem_settle(struct api *api, struct idem *i, unsigned status, struct json_object *body,
	    const char *json)
{
	struct json_object *id;
	struct conn *w;

	if (status / 100 == 2 && body && json_object_object_get_ex(body, "id", &id) &&
	    json_object_is_type(id, json_type_string)) {
		i->order_id = strdup(json_object_get_string(id));
		if (!i->order_id)
			log_error("Out of memory: idempotency key of order %s forgotten",
				  json_object_get_string(id));
	}
	while ((w = i->waiters)) {
		i->waiters = w->next_waiter;
		w->next_waiter = NULL;
		w->waiting_on = NULL;
		/* Like a later replay: 200, not 201, since this request created nothing. */
		conn_set_response(w, status == 201 ? 200 : status, json ? strdup(json) : NULL,
				  true);
	}
	/* Errors are not remembered: a retry may succeed (e.g. after the waiting order ended). */
	if (!i->order_id)
		idem_forget(api, i);
}

void
api_call_reply(struct api_call *call, unsigned status, struct json_object *body)
{
	struct api *api = call->api;
	char *json = NULL;

	/* What an answer says is on the disk: a final transition that waits for its sync (the
	 * engine's) is synced first (doc/engine.md "Final transitions share a sync"). */
	if (status < 400 && api && api->backend->settle &&
	    api->backend->settle(api->userdata) < 0) {
		json_object_put(body);
		api_call_fail(call, 503, "journal_full", SETTLE_FAILED);
		return;
	}
	if (body) {
		json = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
		if (!json)
			status = 500; /* conn_queue() sends a canned out-of-memory error */
	}
	if (api) {
		if (call->idem)
			idem_settle(api, call->idem, status, body, json);
		LIST_REMOVE(api->calls, call);
	}
	if (call->conn) {
		call->conn->call = NULL;
		conn_set_response(call->conn, status, json, false);
		json = NULL;
	}
	free(json);
	json_object_put(body);
	free(call);
}

void
api_call_mark_replayed(struct api_call *call)
{
	if (call->conn)
		call->conn->replayed = true;
}

void
api_call_reply_file(struct api_call *call, int fd, uint64_t size, const char *content_type)
{
	struct api *api = call->api;

	if (api)
		LIST_REMOVE(api->calls, call);
	if (call->conn) {
		call->conn->call = NULL;
		call->conn->file_fd = fd;
		call->conn->file_size = size;
		call->conn->file_type = content_type;
		conn_set_response(call->conn, 200, NULL, false);
	} else
		close(fd);
	free(call);
}

void
api_call_fail(struct api_call *call, unsigned status, const char *code, const char *fmt, ...)
{
	struct json_object *o, *e;
	char msg[API_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	e = json_object_new_object();
	if (o && e) {
		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(o, "error", e);
	} else {
		json_object_put(e);
		json_object_put(o);
		o = NULL;
	}
	api_call_reply(call, status, o);
}

/* ---- idempotency ---- */

static void
idem_forget(struct api *api, struct idem *i)
{
	LIST_REMOVE(api->idems, i);
	api->n_idems--;
	free(i->key);
	free(i->fingerprint);
	free(i->order_id);
	free(i);
}

static struct idem *
idem_find(struct api *api, const char *key)
{
	for (struct idem *i = api->idems; i; i = i->next)
		if (STR_EQ(i->key, key))
			return i;
	return NULL;
}

static struct idem *
idem_add(struct api *api, const char *key, const char *fingerprint)
{
	struct idem *i;

	/* Bounded: forget the least recently used settled key. */
	while (api->n_idems >= api->opts.idempotency_keys) {
		struct idem *victim = NULL;
		for (struct idem *j = api->idems; j; j = j->next)
			if (j->order_id && (!victim || j->last_used < victim->last_used))
				victim = j;
		if (!victim)
			return NULL;
		idem_forget(api, victim);
	}
	i = calloc(1, sizeof(*i));
	if (!i)
		return NULL;
	i->key = strdup(key);
	i->fingerprint = strdup(fingerprint);
	if (!i->key || !i->fingerprint) {
		free(i->key);
		free(i->fingerprint);
		free(i);
		return NULL;
	}
	i->last_used = ++api->idem_clock;
	LIST_PREPEND(api->idems, i);
	api->n_idems++;
	return i;
}

/* ---- SSE ---- */

static void
sse_event_unref(struct sse_event *e)
{
	if (e && --e->ref == 0)
		free(e);
}

static void
sse_client_wake(struct sse_client *s)
{
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->mc);
		listener_kick(s->conn->listener);
	}
}

static int
sse_client_push(struct sse_client *s, struct sse_event *e)
{
	size_t limit = s->api->opts.sse_queue_limit;

	if (s->overflow)
		return 0;
	if (s->count >= limit) {
		/* A stalled client: drop it rather than grow; it reconnects and re-reads. */
		log_warning("Event stream client too slow (%zu events queued), disconnecting it",
			    s->count);
		s->overflow = true;
		sse_client_wake(s);
		return 0;
	}
	e->ref++;
	s->queue[(s->head + s->count) % limit] = e;
	s->count++;
	sse_client_wake(s);
	return 1;
}

static struct sse_event *
sse_event_new(const char *text, size_t len)
{
	struct sse_event *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	e->ref = 1;
	e->id = (struct event_id){};
	e->len = len;
	memcpy(e->data, text, len);
	e->data[len] = 0;
	return e;
}

static int
api_broadcast_raw(struct api *api, const char *text, size_t len)
{
	struct sse_event *e = sse_event_new(text, len);
	int n = 0;

	if (!e)
		return -ENOMEM;
	for (struct sse_client *s = api->sse_clients; s; s = s->next)
		n += sse_client_push(s, e);
	sse_event_unref(e);
	return n;
}

/* The next event id: the journal's sequence number once it grew, else one more after it. */
static struct event_id
event_id_next(struct api *api)
{
	int64_t seq = api->backend->event_seq ? api->backend->event_seq(api->userdata) : 0;

	if (seq > api->last_id.seq)
		api->last_id = (struct event_id){seq, 0};
	else
		api->last_id.k++;
	return api->last_id;
}

static void
history_add(struct api *api, struct sse_event *e)
{
	size_t i;

	if (api->history_count == api->history_size) {
		api->complete = api->history[api->history_head]->id;
		sse_event_unref(api->history[api->history_head]);
		api->history_head = (api->history_head + 1) % api->history_size;
		api->history_count--;
	}
	i = (api->history_head + api->history_count) % api->history_size;
	e->ref++;
	api->history[i] = e;
	api->history_count++;
}

/* "id: …\nevent: …\ndata: …\n\n" into b. */
static int
sse_format(struct buf *b, struct event_id id, const char *event, const char *json)
{
	char ids[EVENT_ID_BUF];
	int r;

	r = buf_printf(b, "id: %s\nevent: %s\n", event_id_format(id, ids), event);
	/* SSE: a newline inside the data starts another data: line. */
	for (const char *p = json; r >= 0;) {
		size_t n = strcspn(p, "\r\n");
		r = buf_puts(b, "data: ");
		if (r >= 0)
			r = buf_append(b, p, n);
		if (r >= 0)
			r = buf_putc(b, '\n');
		p += n;
		if (!*p)
			break;
		p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
	}
	if (r >= 0)
		r = buf_putc(b, '\n');
	return r;
}

int
api_broadcast(struct api *api, const char *event, const char *json)
{
	_cleanup_buf_ struct buf b = BUF_INIT(1 << 20);
	struct sse_event *e;
	struct event_id id;
	int n = 0, r;

	if (!event || !*event || strpbrk(event, "\r\n:") || !json)
		return -EINVAL;
	id = event_id_next(api);
	r = sse_format(&b, id, event, json);
	if (r < 0)
		return log_error_errno(r, "Failed to format event %s: %m", event);
	e = sse_event_new(b.data, b.len);
	if (!e)
		return log_error_errno(ENOMEM, "Failed to queue event %s: %m", event);
	e->id = id;
	history_add(api, e);
	for (struct sse_client *s = api->sse_clients; s; s = s->next)
		n += sse_client_push(s, e);
	sse_event_unref(e);
	return n;
}

unsigned
api_sse_clients(const struct api *api)
{
	return api->n_sse;
}

static ssize_t
sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_client *s = cls;
	size_t limit = s->api ? s->api->opts.sse_queue_limit : 0, done = 0;

	if (!s->api || s->overflow)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	while (s->count > 0 && done < max) {
		struct sse_event *e = s->queue[s->head];
		size_t n = MIN(e->len - s->offset, max - done);
		memcpy(buf + done, e->data + s->offset, n);
		done += n;
		s->offset += n;
		if (s->offset == e->len) {
			sse_event_unref(e);
			s->queue[s->head] = NULL;
			s->head = (s->head + 1) % limit;
			s->count--;
			s->offset = 0;
		}
	}
	if (done > 0)
		return (ssize_t)done;
	/* Nothing to send: wait, suspended, until api_broadcast() wakes us. */
	s->suspended = true;
	MHD_suspend_connection(s->mc);
	return 0;
}

static int
on_keepalive(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct api *api = userdata;
	static const char ping[] = ": keepalive\n\n";

	/* Comments keep proxies from closing idle streams and reveal clients that went away. */
	if (api->n_sse > 0)
		(void)api_broadcast_raw(api, ping, STRLEN(ping));
	(void)sd_event_source_set_time_relative(src, SSE_KEEPALIVE_USEC);
	return 0;
}

/* The keepalive runs only while a stream is open: an idle daemon never wakes up for it. */
static void
keepalive_arm(struct api *api)
{
	if (!api->keepalive)
		return;
	if (api->n_sse == 0)
		(void)sd_event_source_set_enabled(api->keepalive, SD_EVENT_OFF);
	else if (api->n_sse == 1) {
		(void)sd_event_source_set_time_relative(api->keepalive, SSE_KEEPALIVE_USEC);
		(void)sd_event_source_set_enabled(api->keepalive, SD_EVENT_ON);
	}
}

static void
sse_client_free(void *cls)
{
	struct sse_client *s = cls;
	size_t limit;

	if (s->api) {
		LIST_REMOVE(s->api->sse_clients, s);
		s->api->n_sse--;
		keepalive_arm(s->api);
		limit = s->api->opts.sse_queue_limit;
		while (s->count > 0) {
			sse_event_unref(s->queue[s->head]);
			s->head = (s->head + 1) % limit;
			s->count--;
		}
	}
	if (s->conn)
		s->conn->sse = NULL;
	s->hup = sd_event_source_disable_unref(s->hup);
	free(s->queue);
	free(s);
}

static int
sse_on_hup(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct sse_client *s = userdata;

	/* The client went away (or sent something it should not): end the stream. */
	s->overflow = true;
	(void)sd_event_source_set_enabled(src, SD_EVENT_OFF);
	sse_client_wake(s);
	return 0;
}

struct events_query {
	const char *last_event_id;
	const char *unknown;
	bool twice;
};

static enum MHD_Result
events_query_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct events_query *q = cls;

	if (!STR_EQ_PTR(key, "last_event_id")) {
		q->unknown = key ? key : "";
		return MHD_NO;
	}
	q->twice = q->last_event_id != NULL;
	q->last_event_id = value ? value : "";
	return q->twice ? MHD_NO : MHD_YES;
}

/* Sends one event to this client only (a resync notice). */
static void
sse_push_one(struct sse_client *s, struct event_id id, const char *event, const char *json)
{
	_cleanup_buf_ struct buf b = BUF_INIT(1 << 16);
	struct sse_event *e;

	if (sse_format(&b, id, event, json) < 0 || !(e = sse_event_new(b.data, b.len)))
		return;
	e->id = id;
	sse_client_push(s, e);
	sse_event_unref(e);
}

/*
 * What a client that saw `from` missed: the events after it while the history has them all,
 * else a resync event (the client re-reads what it follows). Ids only grow, so "after" is
 * well defined even for an id of an earlier run of the daemon.
 */
static void
sse_replay(struct api *api, struct sse_client *s, struct event_id from, const char *text)
{
	_cleanup_free_ char *json = NULL;
	const char *reason;

	if (event_id_cmp(from, api->last_id) == 0)
		return; /* nothing missed */
	if (event_id_cmp(from, api->last_id) < 0 && event_id_cmp(from, api->complete) >= 0) {
		for (size_t i = 0; i < api->history_count; i++) {
			struct sse_event *e =
				api->history[(api->history_head + i) % api->history_size];
			if (event_id_cmp(e->id, from) > 0)
				sse_client_push(s, e);
		}
		return;
	}
	reason = event_id_cmp(from, api->last_id) > 0 ? "unknown" : "too_old";
	if (asprintf(&json,
		     "{\"last_event_id\":\"%s\",\"reason\":\"%s\",\"message\":\"events after "
		     "%s cannot be replayed: re-read the orders (GET /v1/orders)\"}",
		     text, reason, text) < 0)
		return;
	sse_push_one(s, api->last_id, "resync", json);
}

static enum MHD_Result
sse_start(struct conn *c)
{
	struct api *api = c->listener->api;
	struct sse_client *s;
	struct MHD_Response *resp;
	static const char hello[] = ": f2fpayd events\n\n";
	struct events_query q = {};
	struct event_id from = {};
	const char *last;
	struct sse_event *e;
	enum MHD_Result r;

	(void)MHD_get_connection_values(c->mc, MHD_GET_ARGUMENT_KIND, events_query_one, &q);
	if (q.unknown) {
		conn_fail(c, 400, "unknown_parameter",
			  "unknown query parameter '%.64s': the parameter is last_event_id",
			  q.unknown);
		return conn_queue(c);
	}
	if (q.twice) {
		conn_fail(c, 400, "invalid_parameter", "'last_event_id' is given twice");
		return conn_queue(c);
	}
	/* The header (an EventSource reconnecting) wins over the parameter (a first connect). */
	last = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Last-Event-ID");
	if (!last)
		last = q.last_event_id;
	if (last && event_id_parse(last, &from) < 0) {
		conn_fail(c, 400, "invalid_parameter",
			  "'%s' is an event id this API sent, such as 17 or 17.2",
			  last == q.last_event_id ? "last_event_id" : "Last-Event-ID");
		return conn_queue(c);
	}
	if (api->n_sse >= api->opts.max_sse_clients) {
		conn_fail(c, 503, "too_many_clients", "at most %u event stream clients",
			  api->opts.max_sse_clients);
		return conn_queue(c);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->queue = calloc(api->opts.sse_queue_limit, sizeof(*s->queue));
	if (!s->queue) {
		free(s);
		return MHD_NO;
	}
	s->api = api;
	s->conn = c;
	s->mc = c->mc;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_reader, s,
						 sse_client_free);
	if (!resp) {
		free(s->queue);
		free(s);
		return MHD_NO;
	}
	LIST_PREPEND(api->sse_clients, s);
	api->n_sse++;
	keepalive_arm(api);
	c->sse = s;
	/* A first comment tells the client the stream is subscribed. */
	e = sse_event_new(hello, STRLEN(hello));
	if (e) {
		sse_client_push(s, e);
		sse_event_unref(e);
	}
	if (last)
		sse_replay(api, s, from, last);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	r = MHD_queue_response(c->mc, 200, resp);
	MHD_destroy_response(resp);
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info && sd_event_add_io(api->event, &s->hup, info->connect_fd, EPOLLIN | EPOLLRDHUP,
				    sse_on_hup, s) < 0)
		log_warning("Cannot watch an event stream client for disconnects");
	return r;
}

/* ---- routing ---- */

static bool
token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	volatile unsigned char d = (unsigned char)(la != lb);

	/* Constant time in the length of the expected token. */
	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return d == 0;
}

static bool
conn_authorized(struct conn *c)
{
	const char *h;

	if (!c->listener->need_token)
		return true; /* the unix socket: its mode and group are the access control */
	h = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	return token_equal(h + 7, c->listener->api->token);
}

/* Splits "/v1/orders/ID/cancel" into up to 4 segments after "/v1/". */
static int
path_split(const char *url, char seg[4][API_ORDER_ID_MAX + 1], size_t *ret_n)
{
	size_t n = 0;
	const char *p;

	if (strncmp(url, "/v1/", 4) != 0)
		return -ENOENT;
	p = url + 4;
	while (*p) {
		size_t l = strcspn(p, "/");
		if (n == 4 || l == 0 || l > API_ORDER_ID_MAX)
			return -ENOENT;
		memcpy(seg[n], p, l);
		seg[n][l] = 0;
		n++;
		p += l;
		if (*p == '/') {
			p++;
			if (!*p)
				return -ENOENT; /* no trailing slashes */
		}
	}
	*ret_n = n;
	return 0;
}

static bool
method_is(const char *method, const char *want, struct conn *c, const char *allow)
{
	if (STR_EQ(method, want))
		return true;
	c->allow = allow;
	conn_fail(c, 405, "method_not_allowed", "use %s", allow);
	return false;
}

/* A stable summary of what a create asks for: the same key with a different body is refused. */
static char *
order_fingerprint(const struct api_order_request *r)
{
	char *s = NULL;

	if (asprintf(&s, "%" PRId64 "|%d|%s|%s|%s", r->amount_fen, r->mode, strempty(r->subject),
		     r->auth_code ? "code" : "", strempty(r->operator_id)) < 0)
		return NULL;
	return s;
}

static enum MHD_Result
create_query_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **unknown = cls;

	if (STR_EQ_PTR(key, "wait"))
		return MHD_YES;
	*unknown = key ? key : "";
	return MHD_NO;
}

/* POST /v1/orders?wait=qr: the only parameter; refused by name otherwise (400 set). */
static int
create_query(struct conn *c, struct api_order_request *req)
{
	const char *unknown = NULL, *wait;

	(void)MHD_get_connection_values(c->mc, MHD_GET_ARGUMENT_KIND, create_query_one, &unknown);
	if (unknown) {
		conn_fail(c, 400, "unknown_parameter",
			  "unknown query parameter '%.64s': the parameter is wait", unknown);
		return -EINVAL;
	}
	wait = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, "wait");
	if (!wait)
		return 0;
	if (!STR_EQ(wait, "qr") || req->mode != API_ORDER_QR) {
		conn_fail(c, 400, "invalid_parameter",
			  "'wait' is \"qr\", for orders with \"mode\":\"qr\"");
		return -EINVAL;
	}
	req->wait_qr = true;
	return 0;
}

static void
route_create(struct conn *c)
{
	struct api *api = c->listener->api;
	struct api_order_request req = {};
	struct api_error err = {};
	_cleanup_free_ char *fp = NULL;
	const char *hkey;
	const char *key;
	struct api_call *call;
	int r;

	r = api_order_request_parse(c->body.data ? c->body.data : "", c->body.len, &req, &err);
	if (r == -ENOMEM) {
		conn_fail(c, 500, "internal", "out of memory");
		return;
	}
	if (r < 0) {
		conn_fail(c, err.status, err.code, "%s", err.message);
		return;
	}
	r = create_query(c, &req);
	if (r < 0)
		goto out;
	hkey = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Idempotency-Key");
	if (hkey && (!*hkey || strlen(hkey) > API_POS_REF_MAX)) {
		conn_fail(c, 400, "invalid_field", "Idempotency-Key must be 1-%d bytes",
			  API_POS_REF_MAX);
		goto out;
	}
	if (hkey && req.pos_ref && !STR_EQ(hkey, req.pos_ref)) {
		conn_fail(c, 400, "idempotency_conflict",
			  "Idempotency-Key and pos_ref differ; send one or make them equal");
		goto out;
	}
	key = req.pos_ref ? req.pos_ref : hkey;
	if (key) {
		struct idem *i = idem_find(api, key);
		fp = order_fingerprint(&req);
		if (!fp) {
			conn_fail(c, 500, "internal", "out of memory");
			goto out;
		}
		if (i) {
			i->last_used = ++api->idem_clock;
			if (!STR_EQ(i->fingerprint, fp)) {
				conn_fail(c, 409, "idempotency_mismatch",
					  "this key was used for a different order");
				goto out;
			}
			if (!i->order_id) {
				/* The first request is still in flight: wait for its answer. */
				c->waiting_on = i;
				c->next_waiter = i->waiters;
				i->waiters = c;
				goto out;
			}
			call = call_new(c, CALL_OTHER);
			if (!call) {
				conn_fail(c, 500, "internal", "out of memory");
				goto out;
			}
			c->replayed = true;
			api->backend->order_get(api->userdata, call, i->order_id);
			goto out;
		}
	}
	call = call_new(c, CALL_CREATE);
	if (!call) {
		conn_fail(c, 500, "internal", "out of memory");
		goto out;
	}
	if (key) {
		call->idem = idem_add(api, key, fp);
		if (!call->idem) {
			LIST_REMOVE(api->calls, call);
			c->call = NULL;
			free(call);
			conn_fail(c, 503, "busy", "too many orders in flight");
			goto out;
		}
	}
	req.idem_key = key;
	req.fingerprint = fp;
	api->backend->order_create(api->userdata, call, &req);
out:
	api_order_request_done(&req);
}

/* A refund of order id, or (id NULL) of another till's order known by its pos_ref. */
static void
route_refund(struct conn *c, const char *id, const char *pos_ref)
{
	struct api *api = c->listener->api;
	struct api_refund_request req = {};
	struct api_error err = {};
	struct api_call *call;
	const char *key;
	int r;

	r = api_refund_request_parse(c->body.data ? c->body.data : "", c->body.len, &req, &err);
	if (r == -ENOMEM) {
		conn_fail(c, 500, "internal", "out of memory");
		return;
	}
	if (r < 0) {
		conn_fail(c, err.status, err.code, "%s", err.message);
		return;
	}
	key = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Idempotency-Key");
	if (key && (!*key || strlen(key) > API_POS_REF_MAX)) {
		conn_fail(c, 400, "invalid_field", "Idempotency-Key must be 1-%d bytes",
			  API_POS_REF_MAX);
	} else if (!(call = call_new(c, CALL_OTHER)))
		conn_fail(c, 500, "internal", "out of memory");
	else if (id)
		api->backend->order_refund(api->userdata, call, id, &req, key);
	else
		api->backend->refund_by_pos_ref(api->userdata, call, pos_ref, &req, key);
	api_refund_request_done(&req);
}

struct query_walk {
	struct api_order_query q;
	struct api_error err;
	bool failed;
};

static enum MHD_Result
query_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_walk *w = cls;

	if (api_order_query_add(&w->q, key, value, &w->err) < 0) {
		w->failed = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/* GET /v1/orders: every query parameter is known and well formed, or 400 names it. */
static void
route_list(struct conn *c)
{
	struct api *api = c->listener->api;
	struct query_walk w = {};
	struct api_call *call;

	api_order_query_init(&w.q);
	(void)MHD_get_connection_values(c->mc, MHD_GET_ARGUMENT_KIND, query_one, &w);
	if (!w.failed && api_order_query_finish(&w.q, &w.err) < 0)
		w.failed = true;
	if (w.failed)
		conn_fail(c, w.err.status, w.err.code, "%s", w.err.message);
	else if ((call = call_new(c, CALL_OTHER)))
		api->backend->order_list(api->userdata, call, &w.q);
}

/* /v1/orders/{id}[/cancel|/refunds[/{refund_id}]]. */
static void
route_order(struct conn *c, const char *method, const char *id, const char *sub, const char *sub_id,
	    size_t n)
{
	struct api *api = c->listener->api;
	const struct api_backend *b = api->backend;
	struct api_call *call;

	if (!api_order_id_valid(id)) {
		conn_fail(c, 404, "order_not_found", "no such order");
	} else if (n == 2) {
		if (method_is(method, "GET", c, "GET") && (call = call_new(c, CALL_OTHER)))
			b->order_get(api->userdata, call, id);
	} else if (n == 3 && STR_EQ(sub, "cancel")) {
		if (method_is(method, "POST", c, "POST") && (call = call_new(c, CALL_OTHER)))
			b->order_cancel(api->userdata, call, id);
	} else if (n == 3 && STR_EQ(sub, "refunds")) {
		if (STR_EQ(method, "GET") && b->refund_list) {
			if ((call = call_new(c, CALL_OTHER)))
				b->refund_list(api->userdata, call, id);
		} else if (method_is(method, "POST", c, b->refund_list ? "GET, POST" : "POST"))
			route_refund(c, id, NULL);
	} else if (n == 4 && STR_EQ(sub, "refunds") && b->refund_get) {
		if (!api_order_id_valid(sub_id))
			conn_fail(c, 404, "refund_not_found", "no such refund");
		else if (method_is(method, "GET", c, "GET") && (call = call_new(c, CALL_OTHER)))
			b->refund_get(api->userdata, call, id, sub_id);
	} else
		conn_fail(c, 404, "not_found", "no such resource");
}

/*
 * /v1/orders/by-pos-ref/{pos_ref}[/cancel|/refunds]: the order the POS knows by its own
 * reference. A refund of a pos_ref this journal does not know goes to the backend's
 * refund_by_pos_ref (another till's order, doc/central.md "Refunds at any till").
 */
static void
route_by_pos_ref(struct conn *c, const char *method, const char *pos_ref, const char *sub, size_t n)
{
	struct api *api = c->listener->api;
	char id[API_ORDER_ID_MAX + 1];
	bool refund = n == 4 && STR_EQ(sub, "refunds");
	int r;

	if (!api->backend->order_find || (n == 4 && !STR_EQ(sub, "cancel") && !refund)) {
		conn_fail(c, 404, "not_found", "no such resource");
		return;
	}
	/* The method first: a wrong one is 405 whether the order exists or not. */
	if (!method_is(method, n == 3 ? "GET" : "POST", c, n == 3 ? "GET" : "POST"))
		return;
	r = api->backend->order_find(api->userdata, pos_ref, id);
	if (r == -ENOENT && refund && api->backend->refund_by_pos_ref)
		route_refund(c, NULL, pos_ref);
	else if (r == -ENOENT)
		conn_fail(c, 404, "order_not_found", "no order has pos_ref %s", pos_ref);
	else if (r < 0)
		conn_fail(c, 500, "internal", "the journal cannot be read: %s", strerror(-r));
	else
		route_order(c, method, id, sub, NULL, n - 1);
}

/* Runs the request; the answer is set now or later (then the conn is suspended). */
static enum MHD_Result
conn_dispatch(struct conn *c, const char *url, const char *method)
{
	struct api *api = c->listener->api;
	const struct api_backend *b = api->backend;
	char seg[4][API_ORDER_ID_MAX + 1];
	struct api_call *call;
	size_t n = 0;

	c->dispatched = true;
	if (path_split(url, seg, &n) < 0 || n == 0) {
		conn_fail(c, 404, "not_found", "no such resource");
		return MHD_YES;
	}
	/* A read is answered from what is on the disk and told: what waits for its sync is synced
	 * before the backend looks (a write's answer is settled in api_call_reply(), after it). */
	if (STR_EQ(method, "GET") && b->settle && b->settle(api->userdata) < 0) {
		conn_fail(c, 503, "journal_full", SETTLE_FAILED);
		return conn_queue(c);
	}
	if (STR_EQ(seg[0], "events") && n == 1) {
		if (method_is(method, "GET", c, "GET"))
			return sse_start(c);
		return conn_queue(c);
	}
	if (STR_EQ(seg[0], "status") && n == 1) {
		if (method_is(method, "GET", c, "GET") && (call = call_new(c, CALL_OTHER)))
			b->status(api->userdata, call);
	} else if (STR_EQ(seg[0], "version") && n == 1 && b->version) {
		if (method_is(method, "GET", c, "GET") && (call = call_new(c, CALL_OTHER)))
			b->version(api->userdata, call);
	} else if (STR_EQ(seg[0], "backup") && n == 1) {
		if (!b->backup)
			conn_fail(c, 404, "not_found", "no such resource");
		else if (method_is(method, "GET", c, "GET") && (call = call_new(c, CALL_OTHER)))
			b->backup(api->userdata, call);
	} else if (STR_EQ(seg[0], "reconciliation") && n == 2) {
		if (!method_is(method, "GET", c, "GET"))
			return conn_queue(c);
		if (!api_date_valid(seg[1]))
			conn_fail(c, 400, "invalid_date", "dates are yyyy-MM-dd");
		else if ((call = call_new(c, CALL_OTHER)))
			b->reconciliation(api->userdata, call, seg[1]);
	} else if (STR_EQ(seg[0], "orders") && n == 1) {
		if (STR_EQ(method, "POST"))
			route_create(c);
		else if (method_is(method, "GET", c, "GET, POST"))
			route_list(c);
	} else if (STR_EQ(seg[0], "orders") && n >= 3 && STR_EQ(seg[1], "by-pos-ref")) {
		route_by_pos_ref(c, method, seg[2], n == 4 ? seg[3] : NULL, n);
	} else if (STR_EQ(seg[0], "orders") && n >= 2) {
		route_order(c, method, seg[1], n >= 3 ? seg[2] : NULL, n >= 4 ? seg[3] : NULL, n);
	} else
		conn_fail(c, 404, "not_found", "no such resource");

	if (!c->ready && !c->call && !c->waiting_on)
		conn_fail(c, 500, "internal", "out of memory");
	if (c->ready)
		return conn_queue(c);
	c->suspended = true;
	MHD_suspend_connection(c->mc);
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct api *api = l->api;
	struct conn *c = *con_cls;

	if (!c) {
		const char *cl;
		c = calloc(1, sizeof(*c));
		if (!c)
			return MHD_NO;
		c->listener = l;
		c->mc = mc;
		c->file_fd = -1;
		c->body = BUF_INIT(api->opts.body_limit);
		LIST_PREPEND(api->conns, c);
		*con_cls = c;
		if (!conn_authorized(c)) {
			c->dispatched = true;
			conn_fail(c, 401, "unauthorized", "a valid bearer token is required");
			return conn_queue(c);
		}
		cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strlen(cl) > 12) {
			c->too_large = true;
		} else if (cl) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(cl, &end, 10);
			if (errno == 0 && *end == 0 && v > api->opts.body_limit)
				c->too_large = true;
		}
		if (c->too_large) {
			/* Refused before reading the body; MHD closes the connection after. */
			c->dispatched = true;
			conn_fail(c, 413, "body_too_large",
				  "request bodies are limited to %zu bytes", api->opts.body_limit);
			return conn_queue(c);
		}
		return MHD_YES;
	}
	if (c->dispatched) {
		if (c->ready && !c->sse)
			return conn_queue(c);
		/* Resumed without an answer cannot happen; do not spin. */
		c->suspended = true;
		MHD_suspend_connection(mc);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!c->too_large && buf_append(&c->body, upload_data, *upload_data_size) < 0)
			c->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->too_large) {
		c->dispatched = true;
		conn_fail(c, 413, "body_too_large", "request bodies are limited to %zu bytes",
			  api->opts.body_limit);
		return conn_queue(c);
	}
	return conn_dispatch(c, url, method);
}

static void
conn_free(struct api *api, struct conn *c)
{
	if (c->call)
		c->call->conn = NULL;
	if (c->waiting_on) {
		struct conn **p = &c->waiting_on->waiters;
		while (*p && *p != c)
			p = &(*p)->next_waiter;
		if (*p)
			*p = c->next_waiter;
	}
	if (c->sse) {
		/* The socket closes after this: stop watching it before its number is reused. */
		c->sse->hup = sd_event_source_disable_unref(c->sse->hup);
		c->sse->conn = NULL;
	}
	LIST_REMOVE(api->conns, c);
	/* A POST /v1/orders body may carry a payment code (doc/engine.md "Payment codes"). */
	buf_free_erase(&c->body);
	free(c->response);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c);
}

static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct conn *c = *con_cls;

	if (!c)
		return;
	conn_free(l->api, c);
	*con_cls = NULL;
}

static int
listener_start(struct api *api, struct listener *l, int fd, bool need_token)
{
	/* One local user (one TCP peer) may take three quarters of the slots, not all. */
	struct httpd_limits limits = {
		.max_connections = api->opts.max_connections,
		.max_per_source = api->opts.max_connections - api->opts.max_connections / 4,
		.header_deadline_usec = HEADER_DEADLINE_USEC,
		.request_deadline_usec = REQUEST_DEADLINE_USEC,
		.keepalive_usec = KEEPALIVE_USEC,
		.idle_timeout_sec = IDLE_TIMEOUT_SEC,
	};

	int r;

	l->api = api;
	l->need_token = need_token;
	r = httpd_start(&l->httpd, api->event, fd, &limits, on_request, l, on_completed, l);
	if (r < 0)
		return r;
	/* The POS's calls and its event stream before Alipay's notifications: a POS learns that
	 * an order is paid before a notification that came meanwhile is read and committed (the
	 * notification's sender waits for its answer, and sends again if it does not come). The
	 * POS is local and one; it cannot starve the listener of a sender that retries. */
	httpd_set_priority(l->httpd, SD_EVENT_PRIORITY_NORMAL - 1);
	return 0;
}

static void
listener_stop(struct api *api, struct listener *l)
{
	if (!l->httpd)
		return;
	/* MHD refuses to stop with suspended connections: answer and resume them first. */
	for (struct conn *c = api->conns; c; c = c->next) {
		if (c->listener != l)
			continue;
		if (c->sse && c->sse->suspended) {
			c->sse->overflow = true; /* ends the stream */
			c->sse->suspended = false;
			MHD_resume_connection(c->mc);
		} else if (c->suspended)
			conn_fail(c, 503, "shutting_down", "f2fpayd is stopping");
	}
	l->httpd = httpd_free(l->httpd);
}

int
api_new(struct api **ret, sd_event *event, const struct api_options *opts,
	const struct api_backend *backend, void *userdata)
{
	struct api *api;
	int fd, r;

	if (opts->tcp_listen && (!opts->token || !*opts->token))
		return log_error_errno(EINVAL, "The TCP listener needs a bearer token");
	if (opts->body_limit == 0 || opts->max_connections == 0 || opts->max_sse_clients == 0 ||
	    opts->sse_queue_limit == 0 || opts->idempotency_keys == 0)
		return log_error_errno(EINVAL, "API limits must not be zero");
	api = calloc(1, sizeof(*api));
	if (!api)
		return log_error_errno(ENOMEM, "Out of memory");
	api->event = sd_event_ref(event);
	api->opts = *opts;
	api->opts.socket_path = api->opts.socket_group = api->opts.tcp_listen = NULL;
	api->opts.token = NULL;
	api->backend = backend;
	api->userdata = userdata;
	/* One slot of the client's queue stays for the opening comment. */
	api->history_size = MAX(opts->sse_queue_limit, 2u) - 1;
	api->history = calloc(api->history_size, sizeof(*api->history));
	if (!api->history) {
		r = log_error_errno(ENOMEM, "Out of memory");
		goto fail;
	}
	/*
	 * Every event of the journal up to seq is settled state a client re-reads; events of an
	 * earlier run after it cannot be replayed, but they must not share an id with this run's:
	 * this run counts on from its start time in milliseconds.
	 */
	if (backend->event_seq)
		api->last_id.seq = backend->event_seq(userdata);
	api->complete = api->last_id;
	api->last_id.k = now_usec(CLOCK_REALTIME) / 1000;
	if (opts->token && !(api->token = strdup(opts->token))) {
		r = log_error_errno(ENOMEM, "Out of memory");
		goto fail;
	}

	if (opts->listen_fd >= 0) {
		/* systemd socket activation: the socket is ready, its mode set by the unit. */
		if (sd_is_socket(opts->listen_fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			r = log_error_errno(EINVAL, "Passed fd %d is not a listening stream socket",
					    opts->listen_fd);
			goto fail;
		}
		r = listener_start(api, &api->unix_l, opts->listen_fd, false);
		if (r < 0)
			goto fail;
	} else if (opts->socket_path) {
		fd = httpd_bind_unix(opts->socket_path, opts->socket_mode, opts->socket_group);
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		api->socket_path = strdup(opts->socket_path);
		if (!api->socket_path) {
			close(fd);
			r = log_error_errno(ENOMEM, "Out of memory");
			goto fail;
		}
		r = listener_start(api, &api->unix_l, fd, false);
		if (r < 0)
			goto fail;
	}
	if (opts->tcp_listen) {
		fd = httpd_bind_tcp(opts->tcp_listen, true, &api->tcp_l.port);
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		r = listener_start(api, &api->tcp_l, fd, true);
		if (r < 0)
			goto fail;
	}
	r = sd_event_add_time_relative(event, &api->keepalive, CLOCK_MONOTONIC, SSE_KEEPALIVE_USEC,
				       USEC_PER_SEC, on_keepalive, api);
	if (r < 0) {
		log_error_errno(r, "Failed to add the keepalive timer: %m");
		goto fail;
	}
	(void)sd_event_source_set_enabled(api->keepalive, SD_EVENT_OFF);
	*ret = api;
	return 0;
fail:
	api_free(api);
	return r;
}

struct api *
api_free(struct api *api)
{
	if (!api)
		return NULL;
	while (api->idems) {
		struct idem *i = api->idems;
		for (struct conn *w = i->waiters; w; w = w->next_waiter)
			w->waiting_on = NULL;
		i->waiters = NULL;
		idem_forget(api, i);
	}
	for (struct api_call *c = api->calls; c; c = c->next) {
		c->api = NULL;
		c->idem = NULL;
	}
	listener_stop(api, &api->unix_l);
	listener_stop(api, &api->tcp_l);
	/* Calls the backend still holds: detached, answering them later just frees them. */
	while (api->calls) {
		struct api_call *c = api->calls;
		api->calls = c->next;
		c->prev = c->next = NULL;
		c->conn = NULL;
	}
	while (api->conns)
		conn_free(api, api->conns);
	while (api->sse_clients) {
		struct sse_client *s = api->sse_clients;
		sse_client_free(s);
	}
	api->keepalive = sd_event_source_disable_unref(api->keepalive);
	while (api->history && api->history_count > 0) {
		sse_event_unref(api->history[api->history_head]);
		api->history_head = (api->history_head + 1) % api->history_size;
		api->history_count--;
	}
	free(api->history);
	if (api->socket_path)
		(void)unlink(api->socket_path);
	free(api->socket_path);
	erase_and_free(api->token);
	sd_event_unref(api->event);
	free(api);
	return NULL;
}

unsigned
api_tcp_port(const struct api *api)
{
	return api->tcp_l.port;
}
