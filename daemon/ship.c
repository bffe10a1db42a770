/* SPDX-License-Identifier: MIT */
/* Copies the journal to the store's central PostgreSQL in the background (doc/central.md). */
#include "daemon/ship.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>

#include "central/batch.h"
#include "central/pg.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"

enum ship_state {
	SHIP_WAITING,     /* no connection; the timer starts the next attempt */
	SHIP_CONNECTING,  /* PQconnectPoll() in progress */
	SHIP_REGISTERING, /* the registration query is out */
	SHIP_IDLE,        /* connected, everything known is shipped; the timer polls */
	SHIP_SENDING,     /* a batch is out */
	SHIP_STOPPED,     /* the central database disagrees with the journal: an operator decides */
	_SHIP_STATE_MAX,
};

static const char *const ship_state_names[_SHIP_STATE_MAX] = {
	[SHIP_WAITING] = "unreachable",    [SHIP_CONNECTING] = "connecting",
	[SHIP_REGISTERING] = "connecting", [SHIP_IDLE] = "connected",
	[SHIP_SENDING] = "sending",        [SHIP_STOPPED] = "stopped",
};

struct ship {
	sd_event *event;
	struct journal *journal;
	char *url;
	char *password; /* secret: wiped on free */
	char *hint_path;
	char install_id[JOURNAL_INSTALL_ID_LEN + 1];
	char terminal_id[64], store_id[64], app_id[64];
	unsigned batch_size;
	usec_t poll_usec, retry_usec, timeout_usec, heartbeat_usec;

	enum ship_state state;
	PGconn *conn;
	sd_event_source *io;
	int io_fd;
	sd_event_source *timer;
	struct central_batch batch;
	PGresult *result; /* the answer, kept until libpq says it is complete */

	int64_t shipped_seq;    /* the last sequence the central database holds (or the hint) */
	bool shipped_confirmed; /* shipped_seq came from the database in this run */
	uint64_t events_shipped, batches;
	usec_t last_report_usec;  /* monotonic: the database last heard from us (0: not yet) */
	usec_t last_shipped_usec; /* wall clock */
	char last_error[256];
	bool error_logged; /* the same failure is logged once, until a success */
};

static void ship_arm(struct ship *s, usec_t after_usec);
static int ship_send_next(struct ship *s);

static void
ship_set_state(struct ship *s, enum ship_state st)
{
	if (s->state != st)
		log_debug("central: %s → %s", ship_state_names[s->state], ship_state_names[st]);
	s->state = st;
}

static void
ship_drop_connection(struct ship *s)
{
	s->io = sd_event_source_disable_unref(s->io);
	s->io_fd = -1;
	if (s->result)
		PQclear(s->result);
	s->result = NULL;
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
}

/* A failure: drop the connection, say so once, try again after retry_interval. */
static void _printf_(2, 3) ship_fail(struct ship *s, const char *fmt, ...)
{
	char msg[sizeof(s->last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s->error_logged || !STR_EQ(msg, s->last_error))
		log_warning("central: %s; retrying every %" PRIu64 " ms, the journal keeps "
			    "everything",
			    msg, s->retry_usec / USEC_PER_MSEC);
	s->error_logged = true;
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
	ship_drop_connection(s);
	ship_set_state(s, SHIP_WAITING);
	ship_arm(s, s->retry_usec);
}

static void
ship_stop(struct ship *s, const char *why)
{
	log_error("central: shipping stopped: %s (doc/central.md \"Shipping\")", why);
	snprintf(s->last_error, sizeof(s->last_error), "%s", why);
	ship_drop_connection(s);
	ship_set_state(s, SHIP_STOPPED);
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
}

static void
ship_arm(struct ship *s, usec_t after_usec)
{
	(void)sd_event_source_set_time_relative(s->timer, after_usec);
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static int ship_io_cb(sd_event_source *es, int fd, uint32_t revents, void *userdata);

/* Watches libpq's socket for `events`; the socket may change while connecting. */
static int
ship_watch(struct ship *s, uint32_t events)
{
	int fd = PQsocket(s->conn);
	int r;

	if (fd < 0)
		return -EBADF;
	if (s->io && s->io_fd == fd)
		return sd_event_source_set_io_events(s->io, events);
	s->io = sd_event_source_disable_unref(s->io);
	r = sd_event_add_io(s->event, &s->io, fd, events, ship_io_cb, s);
	if (r < 0)
		return r;
	s->io_fd = fd;
	return 0;
}

/* After PQsend*(): flush what libpq could not write yet, then wait for the answer. */
static void
ship_sent(struct ship *s, enum ship_state st)
{
	int f = PQflush(s->conn);
	char err[256];

	if (f < 0) {
		ship_fail(s, "sending failed: %s", central_error_line(s->conn, err, sizeof(err)));
		return;
	}
	ship_set_state(s, st);
	if (ship_watch(s, EPOLLIN | (f > 0 ? EPOLLOUT : 0)) < 0) {
		ship_fail(s, "cannot watch the connection");
		return;
	}
	ship_arm(s, s->timeout_usec);
}

static void
ship_hint_save(struct ship *s)
{
	_cleanup_free_ char *tmp = NULL;
	char text[64];
	int fd, n;

	if (!s->hint_path || asprintf(&tmp, "%s.tmp", s->hint_path) < 0)
		return;
	n = snprintf(text, sizeof(text), "%s %" PRId64 "\n", s->install_id, s->shipped_seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	/* A hint for the status only: the database says what it holds at every connection. */
	if (write(fd, text, (size_t)n) == n && close(fd) == 0)
		(void)rename(tmp, s->hint_path);
	else {
		close(fd);
		unlink(tmp);
	}
}

static void
ship_hint_load(struct ship *s)
{
	char text[64] = "";
	size_t id_len = strlen(s->install_id);
	char *end;
	long long v;
	int fd;
	ssize_t n;

	fd = open(s->hint_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	/* Another journal's hint (a new journal was started here) says nothing about this one. */
	if (strncmp(text, s->install_id, id_len) != 0 || text[id_len] != ' ')
		return;
	errno = 0;
	v = strtoll(text + id_len + 1, &end, 10);
	if (errno == 0 && v >= 0 && (*end == '\n' || *end == '\0'))
		s->shipped_seq = v;
}

/* ---- connecting and registering ---- */

static void
ship_register(struct ship *s)
{
	const char *values[CENTRAL_REGISTER_PARAMS] = {s->install_id, s->terminal_id, s->store_id,
						       s->app_id};
	char err[256];

	if (!PQsendQueryParams(s->conn, central_register_sql, CENTRAL_REGISTER_PARAMS, NULL, values,
			       NULL, NULL, 0)) {
		ship_fail(s, "registering failed: %s",
			  central_error_line(s->conn, err, sizeof(err)));
		return;
	}
	ship_sent(s, SHIP_REGISTERING);
}

static void
ship_connect(struct ship *s)
{
	struct central_conninfo ci;
	char err[256];

	central_conninfo_init(&ci, s->url, s->password, "f2fpayd");
	s->conn = PQconnectStartParams(ci.keys, ci.values, 1);
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
		ship_fail(s, "cannot connect: %s", central_error_line(s->conn, err, sizeof(err)));
		return;
	}
	if (PQsetnonblocking(s->conn, 1) < 0) {
		ship_fail(s, "cannot make the connection non-blocking");
		return;
	}
	ship_set_state(s, SHIP_CONNECTING);
	/* libpq's protocol: start as if PQconnectPoll() had said PGRES_POLLING_WRITING. */
	if (ship_watch(s, EPOLLOUT) < 0) {
		ship_fail(s, "cannot watch the connection");
		return;
	}
	ship_arm(s, s->timeout_usec);
}

static void
ship_connect_poll(struct ship *s)
{
	char err[256];

	switch (PQconnectPoll(s->conn)) {
	case PGRES_POLLING_READING:
		if (ship_watch(s, EPOLLIN) < 0)
			ship_fail(s, "cannot watch the connection");
		return;
	case PGRES_POLLING_WRITING:
		if (ship_watch(s, EPOLLOUT) < 0)
			ship_fail(s, "cannot watch the connection");
		return;
	case PGRES_POLLING_OK:
		ship_register(s);
		return;
	case PGRES_POLLING_FAILED:
	case PGRES_POLLING_ACTIVE:
		break;
	}
	ship_fail(s, "cannot connect: %s", central_error_line(s->conn, err, sizeof(err)));
}

/* The journal's event at seq: its order id and time; -ENOENT when the journal has none. */
struct one_event {
	int64_t want;
	bool found;
	struct journal_log_entry e;
};

static int
one_event_cb(const struct journal_log_entry *e, void *userdata)
{
	struct one_event *o = userdata;

	if (e->ev.seq == o->want) {
		o->found = true;
		o->e = *e;
	}
	return 0;
}

/*
 * The database holds our events up to `seq`. The journal must hold the same event there: a
 * journal restored from an older backup, or a database restored from another store's, would
 * otherwise have new events silently dropped as duplicates of different ones.
 */
static void
ship_registered(struct ship *s, PGresult *res)
{
	struct one_event one = {};
	int64_t seq;
	char why[200];

	if (PQntuples(res) != 1) {
		ship_stop(s, "this journal's install id is registered by another database role");
		return;
	}
	seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (seq > 0) {
		one.want = seq;
		if (journal_log_after(s->journal, seq - 1, 1, one_event_cb, &one) < 0) {
			ship_fail(s, "cannot read the journal");
			return;
		}
		if (!one.found || PQgetisnull(res, 0, 1) ||
		    !STR_EQ(PQgetvalue(res, 0, 1), one.e.order_id) ||
		    strtoll(PQgetvalue(res, 0, 2), NULL, 10) != (int64_t)one.e.ev.at_usec) {
			snprintf(why, sizeof(why),
				 "the database's event %" PRId64 " of install id %s is not this "
				 "journal's (journal restored from a backup?)",
				 seq, s->install_id);
			ship_stop(s, why);
			return;
		}
	}
	if (s->error_logged)
		log_info("central: connected again; shipping from event %" PRId64, seq + 1);
	s->error_logged = false;
	s->last_error[0] = '\0';
	s->shipped_seq = seq;
	s->shipped_confirmed = true;
	s->last_report_usec = 0; /* say at once that this till is back, even with nothing new */
	ship_hint_save(s);
	ship_set_state(s, SHIP_IDLE);
	(void)ship_send_next(s);
}

/* ---- batches ---- */

struct batch_ctx {
	struct ship *s;
	/* The orders the events touched, each with its last sequence in the batch. */
	char (*ids)[ORDER_ID_MAX + 1];
	int64_t *seq;
	unsigned n;
	int r;
};

static int
batch_event_cb(const struct journal_log_entry *e, void *userdata)
{
	struct batch_ctx *c = userdata;
	unsigned i;
	int r;

	r = central_batch_add_event(&c->s->batch, e->ev.seq, e->order_id, e->ev.at_usec, e->ev.what,
				    e->ev.from_state, e->ev.to_state, e->ev.request);
	if (r < 0)
		return r;
	for (i = 0; i < c->n; i++)
		if (STR_EQ(c->ids[i], e->order_id))
			break;
	if (i == c->n) {
		snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", e->order_id);
		c->n++;
	}
	c->seq[i] = e->ev.seq;
	return 0;
}

struct refund_ctx {
	struct central_batch *b;
	int64_t seq;
};

static int
batch_refund_cb(const struct journal_refund *rf, void *userdata)
{
	struct refund_ctx *c = userdata;

	return central_batch_add_refund(c->b, c->seq, rf->fsm.id, rf->order_id,
					refund_state_to_string(rf->fsm.state), rf->amount_fen,
					rf->reason, rf->created_usec, rf->fsm.state_since_usec);
}

static int
batch_add_order(struct ship *s, const char *id, int64_t seq)
{
	struct journal_order o;
	struct refund_ctx rc = {&s->batch, seq};
	char terminal[64];
	int r;

	r = journal_order_get(s->journal, id, &o);
	if (r == -ENOENT)
		return 0; /* an event without its order: nothing to snapshot */
	if (r < 0)
		return r;
	/* doc/central.md "Refunds at any till": another till's order, imported to be refunded
	 * here, is that till's to ship; only the refunds made here are ours. */
	r = journal_order_is_foreign(s->journal, id);
	if (r < 0)
		return r;
	if (r > 0)
		return journal_refund_foreach_order(s->journal, id, batch_refund_cb, &rc);
	/* doc/engine.md "Trade numbers": the terminal is the out_trade_no's first part. */
	snprintf(terminal, sizeof(terminal), "%.*s", (int)strcspn(id, "_"), id);
	r = central_batch_add_order(&s->batch, seq, id, terminal, order_kind_to_string(o.fsm.kind),
				    order_state_to_string(o.fsm.state), o.amount_fen,
				    o.refunded_fen, o.pending_refund_fen, o.subject, o.pos_ref,
				    o.trade_no, o.created_usec, o.fsm.state_since_usec);
	if (r < 0)
		return r;
	return journal_refund_foreach_order(s->journal, id, batch_refund_cb, &rc);
}

/* Reads the next batch from the journal into s->batch; 0 with no events when all is shipped. */
static int
ship_batch_read(struct ship *s, int64_t *ret_journal_seq)
{
	struct batch_ctx c = {.s = s};
	int r;

	central_batch_init(&s->batch);
	r = journal_log_last(s->journal, ret_journal_seq, NULL);
	if (r < 0)
		return r;
	if (*ret_journal_seq <= s->shipped_seq)
		return 0;
	c.ids = calloc(s->batch_size, sizeof(*c.ids));
	c.seq = calloc(s->batch_size, sizeof(*c.seq));
	if (!c.ids || !c.seq) {
		r = -ENOMEM;
		goto out;
	}
	r = journal_log_after(s->journal, s->shipped_seq, s->batch_size, batch_event_cb, &c);
	for (unsigned i = 0; r >= 0 && i < c.n; i++)
		r = batch_add_order(s, c.ids[i], c.seq[i]);
out:
	free(c.ids);
	free(c.seq);
	return r < 0 ? r : 0;
}

static int
first_after_cb(const struct journal_log_entry *e, void *userdata)
{
	*(usec_t *)userdata = e->ev.at_usec;
	return 0;
}

static int
ship_send_next(struct ship *s)
{
	const char *values[CENTRAL_BATCH_PARAMS];
	int64_t journal_seq = 0;
	usec_t oldest_left = 0;
	char err[256];
	int r;

	r = ship_batch_read(s, &journal_seq);
	if (r < 0) {
		ship_fail(s, "cannot read the journal: %s", strerror(-r));
		return r;
	}
	/* Nothing new: now and then an empty batch all the same, so that the database's last_seen
	 * tells a quiet till from a silent one. */
	if (s->batch.n_events == 0 && s->last_report_usec &&
	    now_usec(CLOCK_MONOTONIC) < s->last_report_usec + s->heartbeat_usec) {
		ship_set_state(s, SHIP_IDLE);
		if (ship_watch(s, EPOLLIN) < 0)
			ship_fail(s, "cannot watch the connection");
		else
			ship_arm(s, s->poll_usec);
		return 0;
	}
	/* What is left after this batch (none after a heartbeat): its first event's time. */
	if (s->batch.n_events > 0 && s->batch.last_seq < journal_seq)
		(void)journal_log_after(s->journal, s->batch.last_seq, 1, first_after_cb,
					&oldest_left);
	central_batch_params(&s->batch, s->install_id, journal_seq, oldest_left, values);
	if (!PQsendQueryParams(s->conn, central_batch_sql, CENTRAL_BATCH_PARAMS, NULL, values, NULL,
			       NULL, 0)) {
		ship_fail(s, "sending a batch failed: %s",
			  central_error_line(s->conn, err, sizeof(err)));
		return -EIO;
	}
	ship_sent(s, SHIP_SENDING);
	return 0;
}

static void
ship_batch_done(struct ship *s, PGresult *res)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 3)) {
		/* No till row: the database was recreated under us. Register again. */
		ship_fail(s, "this till is not registered in the database any more");
		return;
	}
	s->last_report_usec = now_usec(CLOCK_MONOTONIC);
	ship_set_state(s, SHIP_IDLE);
	if (s->batch.n_events == 0) {
		ship_arm(s, s->poll_usec); /* a heartbeat */
		return;
	}
	s->events_shipped += s->batch.n_events;
	s->batches++;
	s->shipped_seq = s->batch.last_seq;
	s->last_shipped_usec = now_usec(CLOCK_REALTIME);
	ship_hint_save(s);
	log_debug("central: shipped events up to %" PRId64 " (%s new)", s->shipped_seq,
		  PQgetvalue(res, 0, 0));
	/* The next batch from the loop, so that payments interleave with a long catch-up. */
	ship_arm(s, 0);
}

/* ---- the event loop's callbacks ---- */

static void
ship_read_results(struct ship *s)
{
	char err[256];
	PGresult *res;

	if (!PQconsumeInput(s->conn)) {
		ship_fail(s, "connection lost: %s", central_error_line(s->conn, err, sizeof(err)));
		return;
	}
	if (s->state == SHIP_IDLE) {
		/* Nothing is expected: a notice, or the server going away (then the next
		 * PQconsumeInput() fails). */
		if (PQstatus(s->conn) != CONNECTION_OK)
			ship_fail(s, "connection lost");
		return;
	}
	/* One statement, one result, then NULL: libpq takes no new query before that NULL. */
	for (;;) {
		if (PQisBusy(s->conn))
			return; /* the rest comes with the next readable event */
		res = PQgetResult(s->conn);
		if (!res)
			break;
		if (!s->result)
			s->result = res;
		else
			PQclear(res);
	}
	res = TAKE_PTR(s->result);
	if (!res) {
		ship_fail(s, "no answer to the query");
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		ship_fail(s, "%s: %s",
			  s->state == SHIP_REGISTERING ? "registering failed" : "a batch failed",
			  central_error_line(s->conn, err, sizeof(err)));
	else if (s->state == SHIP_REGISTERING)
		ship_registered(s, res);
	else if (s->state == SHIP_SENDING)
		ship_batch_done(s, res);
	PQclear(res);
}

static int
ship_io_cb(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	struct ship *s = userdata;
	char err[256];
	int f;

	switch (s->state) {
	case SHIP_CONNECTING:
		ship_connect_poll(s);
		return 0;
	case SHIP_REGISTERING:
	case SHIP_SENDING:
	case SHIP_IDLE:
		if (revents & EPOLLOUT) {
			f = PQflush(s->conn);
			if (f < 0) {
				ship_fail(s, "sending failed: %s",
					  central_error_line(s->conn, err, sizeof(err)));
				return 0;
			}
			if (f == 0 && ship_watch(s, EPOLLIN) < 0) {
				ship_fail(s, "cannot watch the connection");
				return 0;
			}
		}
		if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ship_read_results(s);
		return 0;
	case SHIP_WAITING:
	case SHIP_STOPPED:
	case _SHIP_STATE_MAX:
		break;
	}
	s->io = sd_event_source_disable_unref(s->io);
	return 0;
}

static int
ship_timer_cb(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct ship *s = userdata;

	switch (s->state) {
	case SHIP_WAITING:
		ship_connect(s);
		return 0;
	case SHIP_CONNECTING:
	case SHIP_REGISTERING:
	case SHIP_SENDING:
		ship_fail(s, "no answer within %" PRIu64 " ms", s->timeout_usec / USEC_PER_MSEC);
		return 0;
	case SHIP_IDLE:
		(void)ship_send_next(s);
		return 0;
	case SHIP_STOPPED:
	case _SHIP_STATE_MAX:
		break;
	}
	return 0;
}

/* ---- life ---- */

/*
 * libpq looks a host name up before its first non-blocking step, so a slow name server would
 * stall the till's loop at every attempt: say so once, with the remedy (doc/central.md).
 */
static void
ship_warn_name_lookup(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	const char *host = NULL, *hostaddr = NULL;
	unsigned char addr[16];

	if (!opts)
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (STR_EQ(o->keyword, "host"))
			host = o->val;
		else if (STR_EQ(o->keyword, "hostaddr"))
			hostaddr = o->val;
	}
	if (!isempty(host) && isempty(hostaddr) && host[0] != '/' && !strchr(host, ',') &&
	    inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		log_warning("central: %s is a host name: libpq looks it up before connecting, "
			    "which a slow name server turns into a stalled till; add "
			    "hostaddr=ADDRESS to [central] url",
			    host);
	PQconninfoFree(opts);
}

int
ship_new(sd_event *event, struct journal *j, const struct config_central *cfg,
	 const struct config_terminal *terminal, const char *app_id, const char *journal_path,
	 struct ship **ret)
{
	struct ship *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->journal = j;
	s->io_fd = -1;
	s->batch_size = cfg->batch_size;
	s->poll_usec = cfg->poll_interval_usec;
	s->retry_usec = cfg->retry_interval_usec;
	s->timeout_usec = cfg->timeout_usec;
	s->heartbeat_usec = cfg->heartbeat_usec;
	snprintf(s->install_id, sizeof(s->install_id), "%s", journal_install_id(j));
	snprintf(s->terminal_id, sizeof(s->terminal_id), "%s", terminal->terminal_id);
	snprintf(s->store_id, sizeof(s->store_id), "%s", strempty(terminal->store_id));
	snprintf(s->app_id, sizeof(s->app_id), "%s", strempty(app_id));
	s->url = strdup(cfg->url);
	if (!s->url || asprintf(&s->hint_path, "%s.central-seq", journal_path) < 0) {
		s->hint_path = NULL;
		ship_free(s);
		return -ENOMEM;
	}
	if (cfg->password_resolved) {
		r = central_password_read(cfg->password_resolved, &s->password);
		if (r < 0) {
			ship_free(s);
			return r;
		}
	}
	ship_hint_load(s);
	ship_warn_name_lookup(s->url);
	r = sd_event_add_time_relative(event, &s->timer, CLOCK_MONOTONIC, 0, 0, ship_timer_cb, s);
	if (r < 0) {
		ship_free(s);
		return r;
	}
	s->state = SHIP_WAITING; /* the timer connects at once */
	log_info("central: shipping install id %s to the central database", s->install_id);
	*ret = s;
	return 0;
}

struct ship *
ship_free(struct ship *s)
{
	if (!s)
		return NULL;
	ship_drop_connection(s);
	s->timer = sd_event_source_disable_unref(s->timer);
	central_batch_done(&s->batch);
	erase_and_free(s->password);
	free(s->url);
	free(s->hint_path);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

void
ship_progress(struct ship *s, struct ship_progress *ret)
{
	usec_t oldest = 0, now = now_usec(CLOCK_REALTIME);
	int64_t journal_seq = 0;

	(void)journal_log_last(s->journal, &journal_seq, NULL);
	if (journal_seq > s->shipped_seq)
		(void)journal_log_after(s->journal, s->shipped_seq, 1, first_after_cb, &oldest);
	*ret = (struct ship_progress){
		.state = ship_state_names[s->state],
		.connected = s->state == SHIP_IDLE || s->state == SHIP_SENDING,
		.journal_seq = journal_seq,
		.shipped_seq = s->shipped_seq,
		.shipped_confirmed = s->shipped_confirmed,
		.backlog_events = journal_seq > s->shipped_seq ? journal_seq - s->shipped_seq : 0,
		.lag_seconds =
			oldest && now > oldest ? (int64_t)((now - oldest) / USEC_PER_SEC) : 0,
		.events_shipped = s->events_shipped,
	};
}

int
ship_status_add(struct ship *s, struct json_object *o)
{
	struct ship_progress p;
	struct json_object *c;
	char buf[BEIJING_TIME_BUF];

	if (!s)
		return 0;
	c = json_object_new_object();
	if (!c)
		return -ENOMEM;
	ship_progress(s, &p);
	json_object_object_add(c, "state", json_object_new_string(p.state));
	json_object_object_add(c, "install_id", json_object_new_string(s->install_id));
	json_object_object_add(c, "journal_seq", json_object_new_int64(p.journal_seq));
	json_object_object_add(c, "shipped_seq", json_object_new_int64(p.shipped_seq));
	json_object_object_add(c, "shipped_seq_confirmed",
			       json_object_new_boolean(p.shipped_confirmed));
	json_object_object_add(c, "backlog", json_object_new_int64(p.backlog_events));
	json_object_object_add(c, "lag_seconds", json_object_new_int64(p.lag_seconds));
	json_object_object_add(c, "events_shipped",
			       json_object_new_int64((int64_t)p.events_shipped));
	if (s->last_shipped_usec)
		json_object_object_add(
			c, "last_shipped_at",
			json_object_new_string(beijing_format_time(
				(time_t)(s->last_shipped_usec / USEC_PER_SEC), buf)));
	if (s->last_error[0])
		json_object_object_add(c, "last_error", json_object_new_string(s->last_error));
	json_object_object_add(o, "central", c);
	return 0;
}
