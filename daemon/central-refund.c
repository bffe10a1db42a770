/* SPDX-License-Identifier: MIT */
/* Refunds of other tills' orders, reserved in the central database (doc/central.md). */
#include "daemon/central-refund.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "central/pg.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "common/time-util.h"

/* doc/central.md "Refunds at any till": the owning till's own refunds wait at most this long
 * for their reservation, then go on without (its own orders never wait for the database). */
#define OWN_TIMEOUT_USEC (5 * USEC_PER_SEC)

/* doc/central.md "Refunds at any till": one statement, one transaction, READ COMMITTED. */
static const char reserve_sql[] =
	"SELECT r_outcome, r_order_install_id, r_order_id, r_terminal_id, r_kind, r_state,"
	" r_amount_fen, r_committed_fen, r_subject, r_pos_ref, r_trade_no, r_created_us"
	" FROM f2fpay.refund_reserve($1, $2, $3, $4, $5::bigint)";

enum {
	COL_OUTCOME,
	COL_INSTALL,
	COL_ORDER,
	COL_TERMINAL,
	COL_KIND,
	COL_STATE,
	COL_AMOUNT,
	COL_COMMITTED,
	COL_SUBJECT,
	COL_POS_REF,
	COL_TRADE_NO,
	COL_CREATED,
	_COL_MAX,
};

struct cr_req {
	struct central_refund *cr;
	struct cr_req *next;
	char *order_id, *pos_ref, *reason, *idem_key;
	int64_t amount_fen;
	char refund_id[REFUND_ID_MAX + 1];
	PGconn *conn;
	bool querying; /* the reservation is out: its outcome is unknown until it answers */
	sd_event_source *io, *timer;
	int io_fd;
	PGresult *result;
	struct central_refund_result res;
	bool finished;         /* res is set; the timer hands it over */
	struct cr_req *leader; /* the same key and order already in flight: its outcome is ours */
	bool own; /* a refund of this till's own order: reserve, then the caller runs it */
	struct cr_req *after; /* own: the refund of the same order to wait for (one at a time) */
	central_refund_done_t done;
	void *userdata;
};

struct central_refund {
	sd_event *event;
	struct journal *journal;
	struct engine *engine;
	char *url;
	char *password; /* secret: wiped on free */
	char terminal[JOURNAL_TERMINAL_MAX + 1];
	char install_id[JOURNAL_INSTALL_ID_LEN + 1];
	usec_t timeout_usec;
	struct cr_req *reqs;
};

static void
req_drop_connection(struct cr_req *q)
{
	q->io = sd_event_source_disable_unref(q->io);
	q->io_fd = -1;
	if (q->result)
		PQclear(q->result);
	q->result = NULL;
	if (q->conn)
		PQfinish(q->conn);
	q->conn = NULL;
}

static void
req_free(struct cr_req *q)
{
	for (struct cr_req **p = &q->cr->reqs; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			break;
		}
	req_drop_connection(q);
	sd_event_source_disable_unref(q->timer);
	free(q->order_id);
	free(q->pos_ref);
	free(q->reason);
	free(q->idem_key);
	free(q);
}

static void _printf_(3, 4)
	req_finish(struct cr_req *q, enum central_refund_outcome o, const char *fmt, ...);

static void req_own_begin(struct cr_req *q);

static int
req_timer_cb(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct cr_req *q = userdata, *next = NULL;
	struct central_refund *cr = q->cr;
	central_refund_done_t done = q->done;
	struct central_refund_result res;
	void *ud = q->userdata;

	if (!q->finished) {
		/* doc/central.md: an answer that never came leaves the reservation unknown. */
		req_finish(q, q->own ? CENTRAL_REFUND_UNRESERVED : CENTRAL_REFUND_UNAVAILABLE,
			   "the central database did not answer within %" PRIu64 " ms%s",
			   (q->own ? MIN(q->cr->timeout_usec, OWN_TIMEOUT_USEC)
				   : q->cr->timeout_usec) /
				   USEC_PER_MSEC,
			   q->querying ? "; nothing was refunded, the amount may stay reserved"
				       : "");
		log_warning("central: refund %s: %s", q->refund_id, q->res.message);
		return 0; /* handed over at once, by the same timer */
	}
	res = q->res;
	/* The caller journals (or not) this own refund in done: then the next of the order may
	 * go, under the number the journal gives next. */
	for (struct cr_req *n = cr->reqs; n; n = n->next)
		if (n->after == q) {
			n->after = NULL;
			next = n;
			break;
		}
	req_free(q);
	done(&res, ud);
	if (next)
		req_own_begin(next);
	return 0;
}

static void
req_hand_over(struct cr_req *q)
{
	q->finished = true;
	req_drop_connection(q);
	(void)sd_event_source_set_time_relative(q->timer, 0);
	(void)sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
}

/* Sets the outcome; the timer hands it over from the loop, and the request goes. */
static void _printf_(3, 4)
	req_finish(struct cr_req *q, enum central_refund_outcome o, const char *fmt, ...)
{
	va_list ap;

	q->res.outcome = o;
	va_start(ap, fmt);
	vsnprintf(q->res.message, sizeof(q->res.message), fmt, ap);
	va_end(ap);
	req_hand_over(q);
	/* A retry with the same key that came while this one was in flight: the same refund,
	 * never a second reservation. */
	for (struct cr_req *f = q->cr->reqs; f; f = f->next)
		if (f->leader == q) {
			f->leader = NULL;
			f->res = q->res;
			if (o == CENTRAL_REFUND_STARTED)
				f->res.outcome = CENTRAL_REFUND_REPLAYED;
			req_hand_over(f);
		}
}

static bool
same_or_null(const char *a, const char *b)
{
	return a && b ? STR_EQ(a, b) : a == b;
}

/* An unfinished request for the same key and the same order id or pos_ref, or NULL. */
static struct cr_req *
req_find_leader(struct cr_req *q)
{
	if (!q->idem_key)
		return NULL;
	for (struct cr_req *l = q->cr->reqs; l; l = l->next)
		if (l != q && !l->finished && !l->leader && l->own == q->own && l->idem_key &&
		    STR_EQ(l->idem_key, q->idem_key) && same_or_null(l->order_id, q->order_id) &&
		    same_or_null(l->pos_ref, q->pos_ref))
			return l;
	return NULL;
}

static int req_io_cb(sd_event_source *es, int fd, uint32_t revents, void *userdata);

static int
req_watch(struct cr_req *q, uint32_t events)
{
	int fd = PQsocket(q->conn);
	int r;

	if (fd < 0)
		return -EBADF;
	if (q->io && q->io_fd == fd)
		return sd_event_source_set_io_events(q->io, events);
	q->io = sd_event_source_disable_unref(q->io);
	r = sd_event_add_io(q->cr->event, &q->io, fd, events, req_io_cb, q);
	if (r < 0)
		return r;
	q->io_fd = fd;
	return 0;
}

static void
req_unavailable(struct cr_req *q, const char *what)
{
	char err[400];

	central_error_line(q->conn, err, sizeof(err));
	log_warning("central: refund %s: %s: %s", q->refund_id, what, err);
	req_finish(q, q->own ? CENTRAL_REFUND_UNRESERVED : CENTRAL_REFUND_UNAVAILABLE,
		   "the central database cannot be reached (%s: %s)", what, err);
}

static void
req_send(struct cr_req *q)
{
	char amount[32];
	const char *values[5] = {q->cr->install_id, q->refund_id, q->order_id, q->pos_ref, amount};
	int f;

	snprintf(amount, sizeof(amount), "%" PRId64, q->amount_fen);
	if (!PQsendQueryParams(q->conn, reserve_sql, 5, NULL, values, NULL, NULL, 0)) {
		req_unavailable(q, "sending failed");
		return;
	}
	q->querying = true;
	f = PQflush(q->conn);
	if (f < 0 || req_watch(q, EPOLLIN | (f > 0 ? EPOLLOUT : 0)) < 0)
		req_unavailable(q, "sending failed");
}

static void
req_money_message(struct cr_req *q, enum central_refund_outcome o, PGresult *res)
{
	char a[MONEY_BUF_SIZE], p[MONEY_BUF_SIZE], c[MONEY_BUF_SIZE];
	int64_t paid = strtoll(PQgetvalue(res, 0, COL_AMOUNT), NULL, 10);
	int64_t committed = strtoll(PQgetvalue(res, 0, COL_COMMITTED), NULL, 10);

	req_finish(q, o,
		   "%s exceeds what order %s (terminal %s) can still refund: paid %s, refunded or "
		   "reserved at any till %s",
		   money_format(q->amount_fen, a), PQgetvalue(res, 0, COL_ORDER),
		   PQgetvalue(res, 0, COL_TERMINAL), money_format(paid, p),
		   money_format(committed, c));
}

static void
req_ambiguous(struct cr_req *q, PGresult *res)
{
	char list[400] = "";
	size_t len = 0;

	for (int i = 0; i < PQntuples(res) && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s (%s)", i ? ", " : "",
					PQgetvalue(res, i, COL_ORDER),
					PQgetvalue(res, i, COL_TERMINAL));
	req_finish(q, CENTRAL_REFUND_AMBIGUOUS,
		   "pos_ref %s names orders of several tills: %s; refund one by its order id",
		   q->pos_ref, list);
}

/* The reservation holds: import the order, journal the refund, start it. */
static void
req_reserved(struct cr_req *q, PGresult *res)
{
	struct journal_foreign_order fo = {};
	int r;

	snprintf(fo.id, sizeof(fo.id), "%s", PQgetvalue(res, 0, COL_ORDER));
	snprintf(fo.install_id, sizeof(fo.install_id), "%s", PQgetvalue(res, 0, COL_INSTALL));
	snprintf(fo.terminal_id, sizeof(fo.terminal_id), "%s", PQgetvalue(res, 0, COL_TERMINAL));
	if (order_kind_from_string(PQgetvalue(res, 0, COL_KIND), &fo.kind) < 0)
		fo.kind = ORDER_KIND_SCAN;
	fo.amount_fen = strtoll(PQgetvalue(res, 0, COL_AMOUNT), NULL, 10);
	snprintf(fo.subject, sizeof(fo.subject), "%s", PQgetvalue(res, 0, COL_SUBJECT));
	snprintf(fo.pos_ref, sizeof(fo.pos_ref), "%s", PQgetvalue(res, 0, COL_POS_REF));
	snprintf(fo.trade_no, sizeof(fo.trade_no), "%s", PQgetvalue(res, 0, COL_TRADE_NO));
	fo.created_usec = (usec_t)strtoll(PQgetvalue(res, 0, COL_CREATED), NULL, 10);
	r = engine_refund_foreign(q->cr->engine, &fo, q->refund_id, q->amount_fen, q->reason,
				  q->idem_key);
	if (r < 0) {
		/* Nothing was sent: the reservation stays held (doc/central.md). */
		log_error_errno(r, "central: refund %s of order %s reserved but not journaled: %m",
				q->refund_id, fo.id);
		req_finish(q, CENTRAL_REFUND_FAILED,
			   "the refund was reserved but could not be journaled (%s): nothing was "
			   "sent; its amount stays reserved in the central database",
			   strerror(-r));
		return;
	}
	log_info("central: refund %s of %" PRId64 " fen of order %s (terminal %s) reserved and "
		 "started",
		 q->refund_id, q->amount_fen, fo.id, fo.terminal_id);
	snprintf(q->res.refund_id, sizeof(q->res.refund_id), "%s", q->refund_id);
	req_finish(q, CENTRAL_REFUND_STARTED, "reserved");
}

static void
req_answer(struct cr_req *q, PGresult *res)
{
	const char *o;

	q->querying = false;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1 ||
	    PQnfields(res) != _COL_MAX) {
		req_unavailable(q, "the reservation failed");
		return;
	}
	o = PQgetvalue(res, 0, COL_OUTCOME);
	if (q->own && STR_EQ(o, "reserved")) {
		snprintf(q->res.refund_id, sizeof(q->res.refund_id), "%s", q->refund_id);
		req_finish(q, CENTRAL_REFUND_RESERVED, "reserved");
	} else if (q->own && (STR_EQ(o, "not_found") || STR_EQ(o, "not_paid")))
		/* Not shipped (paid) yet: no other till can reserve against it either. The journal,
		 * which says it is paid, decides. */
		req_finish(q, CENTRAL_REFUND_UNRESERVED,
			   "the order is not in the database as paid yet");
	else if (STR_EQ(o, "reserved"))
		req_reserved(q, res);
	else if (STR_EQ(o, "not_found"))
		req_finish(q, CENTRAL_REFUND_NOT_FOUND, "no till's order has %s %s",
			   q->order_id ? "id" : "pos_ref", q->order_id ?: q->pos_ref);
	else if (STR_EQ(o, "ambiguous"))
		req_ambiguous(q, res);
	else if (STR_EQ(o, "not_paid"))
		req_finish(q, CENTRAL_REFUND_NOT_PAID, "order %s (terminal %s) is %s, not paid",
			   PQgetvalue(res, 0, COL_ORDER), PQgetvalue(res, 0, COL_TERMINAL),
			   PQgetvalue(res, 0, COL_STATE));
	else if (STR_EQ(o, "exceeds"))
		req_money_message(q, CENTRAL_REFUND_EXCEEDS, res);
	else
		req_finish(q, CENTRAL_REFUND_UNAVAILABLE,
			   "the central database answered \"%s\": is it migrated "
			   "(f2fpay-central migrate)?",
			   o);
}

static void
req_read(struct cr_req *q)
{
	PGresult *res;

	if (!PQconsumeInput(q->conn)) {
		req_unavailable(q, "connection lost");
		return;
	}
	for (;;) {
		if (PQisBusy(q->conn))
			return;
		res = PQgetResult(q->conn);
		if (!res)
			break;
		if (!q->result)
			q->result = res;
		else
			PQclear(res);
	}
	res = TAKE_PTR(q->result);
	if (!res) {
		req_unavailable(q, "no answer to the reservation");
		return;
	}
	req_answer(q, res);
	PQclear(res);
}

static int
req_io_cb(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	struct cr_req *q = userdata;
	int f;

	if (!q->querying) {
		switch (PQconnectPoll(q->conn)) {
		case PGRES_POLLING_READING:
			if (req_watch(q, EPOLLIN) < 0)
				req_unavailable(q, "cannot watch the connection");
			return 0;
		case PGRES_POLLING_WRITING:
			if (req_watch(q, EPOLLOUT) < 0)
				req_unavailable(q, "cannot watch the connection");
			return 0;
		case PGRES_POLLING_OK:
			req_send(q);
			return 0;
		case PGRES_POLLING_FAILED:
		case PGRES_POLLING_ACTIVE:
			break;
		}
		req_unavailable(q, "cannot connect");
		return 0;
	}
	if (revents & EPOLLOUT) {
		f = PQflush(q->conn);
		if (f < 0 || (f == 0 && req_watch(q, EPOLLIN) < 0)) {
			req_unavailable(q, "sending failed");
			return 0;
		}
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		req_read(q);
	return 0;
}

static void
req_connect(struct cr_req *q)
{
	struct central_conninfo ci;

	central_conninfo_init(&ci, q->cr->url, q->cr->password, "f2fpayd-refund");
	q->conn = PQconnectStartParams(ci.keys, ci.values, 1);
	if (!q->conn || PQstatus(q->conn) == CONNECTION_BAD || PQsetnonblocking(q->conn, 1) < 0 ||
	    req_watch(q, EPOLLOUT) < 0)
		req_unavailable(q, "cannot connect");
}

/* The same key on the same order again: that refund, never a second one. */
static bool
req_replay(struct cr_req *q)
{
	struct journal_refund rf;
	int r;

	if (!q->order_id || !q->idem_key ||
	    journal_order_is_foreign(q->cr->journal, q->order_id) <= 0)
		return false;
	r = journal_refund_find_key(q->cr->journal, q->order_id, q->idem_key, q->amount_fen, &rf);
	if (r == -ENOENT)
		return false;
	snprintf(q->res.refund_id, sizeof(q->res.refund_id), "%s", rf.fsm.id);
	if (r == 0)
		req_finish(q, CENTRAL_REFUND_REPLAYED, "replayed");
	else if (r == -EKEYREJECTED)
		req_finish(q, CENTRAL_REFUND_KEY_OTHER,
			   "Idempotency-Key was used for refund %s of another amount", rf.fsm.id);
	else
		req_finish(q, CENTRAL_REFUND_FAILED, "the journal cannot be read: %s",
			   strerror(-r));
	return true;
}

static int
strdup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* A new request in the list, its timeout armed; NULL when out of memory. */
static struct cr_req *
req_new(struct central_refund *cr, const char *order_id, int64_t amount_fen,
	central_refund_done_t done, void *userdata)
{
	struct cr_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	*q = (struct cr_req){.cr = cr,
			     .next = cr->reqs,
			     .io_fd = -1,
			     .amount_fen = amount_fen,
			     .done = done,
			     .userdata = userdata};
	cr->reqs = q;
	if (strdup_opt(order_id, &q->order_id) < 0 ||
	    sd_event_add_time_relative(cr->event, &q->timer, CLOCK_MONOTONIC, cr->timeout_usec, 0,
				       req_timer_cb, q) < 0) {
		req_free(q);
		return NULL;
	}
	return q;
}

int
central_refund_start(struct central_refund *cr, const char *order_id, const char *pos_ref,
		     int64_t amount_fen, const char *reason, const char *idem_key,
		     central_refund_done_t done, void *userdata)
{
	struct cr_req *q;
	char number[ORDER_ID_MAX + 1];
	int r;

	if (!done || amount_fen <= 0 || !order_id == !pos_ref)
		return -EINVAL;
	q = req_new(cr, order_id, amount_fen, done, userdata);
	if (!q || strdup_opt(pos_ref, &q->pos_ref) < 0 || strdup_opt(reason, &q->reason) < 0 ||
	    strdup_opt(idem_key, &q->idem_key) < 0) {
		if (q)
			req_free(q);
		return -ENOMEM;
	}
	if (req_replay(q))
		return 0;
	q->leader = req_find_leader(q);
	if (q->leader) {
		if (q->leader->amount_fen != amount_fen) {
			req_finish(q, CENTRAL_REFUND_KEY_OTHER,
				   "Idempotency-Key is in use by a refund of another amount");
			return 0;
		}
		/* Its outcome finishes this one (req_finish()); not before. */
		(void)sd_event_source_set_enabled(q->timer, SD_EVENT_OFF);
		return 0;
	}
	/*
	 * doc/central.md "Refunds at any till": the out_request_no is one of this till's own
	 * numbers (its terminal, install and run ids, never handed out twice) with "_f", so it is
	 * unique across tills and never meets the owning till's "<order id>_r<n>".
	 */
	r = journal_allocate_out_trade_no(cr->journal, cr->terminal,
					  (time_t)(now_usec(CLOCK_REALTIME) / USEC_PER_SEC),
					  number);
	if (r < 0) {
		req_finish(q, CENTRAL_REFUND_FAILED, "no refund number could be journaled: %s",
			   strerror(-r));
		return 0;
	}
	/* journal_allocate_out_trade_no() leaves room for a suffix: at most 61 characters. */
	if (strlen(number) + 2 > REFUND_ID_MAX) {
		req_finish(q, CENTRAL_REFUND_FAILED, "refund number %s is too long", number);
		return 0;
	}
	memcpy(q->refund_id, number, strlen(number));
	memcpy(q->refund_id + strlen(number), "_f", 3);
	req_connect(q);
	return 0;
}

/* Reserves an own refund under the id the journal will give it, then connects. */
static void
req_own_begin(struct cr_req *q)
{
	int r;

	r = journal_refund_next_id(q->cr->journal, q->order_id, q->refund_id);
	if (r < 0) {
		req_finish(q, CENTRAL_REFUND_UNRESERVED, "the journal cannot be read: %s",
			   strerror(-r));
		return;
	}
	(void)sd_event_source_set_time_relative(q->timer,
						MIN(q->cr->timeout_usec, OWN_TIMEOUT_USEC));
	(void)sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
	req_connect(q);
}

int
central_refund_own(struct central_refund *cr, const char *order_id, int64_t amount_fen,
		   const char *idem_key, central_refund_done_t done, void *userdata)
{
	struct cr_req *q;

	if (!done || amount_fen <= 0 || !order_id)
		return -EINVAL;
	q = req_new(cr, order_id, amount_fen, done, userdata);
	if (!q || strdup_opt(idem_key, &q->idem_key) < 0) {
		if (q)
			req_free(q);
		return -ENOMEM;
	}
	q->own = true;
	/* A retry with the key of a refund of the order still waiting: no reservation of its own,
	 * the first one's answer is its (the journal then replays the key). */
	q->leader = req_find_leader(q);
	if (q->leader) {
		(void)sd_event_source_set_enabled(q->timer, SD_EVENT_OFF);
		return 0;
	}
	/* One refund of an order at a time, in the order they came (the list is newest first):
	 * each is reserved under the id the journal gives it next, which the one before takes
	 * when it is journaled. */
	for (struct cr_req *l = q->next; l; l = l->next)
		if (l->own && STR_EQ(l->order_id, order_id)) {
			q->after = l;
			(void)sd_event_source_set_enabled(q->timer, SD_EVENT_OFF);
			break;
		}
	if (!q->after)
		req_own_begin(q);
	return 0;
}

bool
central_refund_own_pending(const struct central_refund *cr, const char *order_id)
{
	for (const struct cr_req *q = cr ? cr->reqs : NULL; q; q = q->next)
		if (q->own && STR_EQ(q->order_id, order_id))
			return true;
	return false;
}

int
central_refund_new(sd_event *event, struct journal *j, struct engine *e,
		   const struct config_central *cfg, const char *terminal,
		   struct central_refund **ret)
{
	struct central_refund *cr;
	int r;

	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return -ENOMEM;
	cr->event = sd_event_ref(event);
	cr->journal = j;
	cr->engine = e;
	cr->timeout_usec = cfg->timeout_usec;
	snprintf(cr->terminal, sizeof(cr->terminal), "%s", terminal);
	snprintf(cr->install_id, sizeof(cr->install_id), "%s", journal_install_id(j));
	cr->url = strdup(cfg->url);
	if (!cr->url) {
		central_refund_free(cr);
		return -ENOMEM;
	}
	if (cfg->password_resolved) {
		r = central_password_read(cfg->password_resolved, &cr->password);
		if (r < 0) {
			central_refund_free(cr);
			return r;
		}
	}
	*ret = cr;
	return 0;
}

struct central_refund *
central_refund_free(struct central_refund *cr)
{
	if (!cr)
		return NULL;
	while (cr->reqs) {
		struct cr_req *q = cr->reqs;
		central_refund_done_t done = q->done;
		struct central_refund_result res = {.outcome = CENTRAL_REFUND_SHUTDOWN};
		void *ud = q->userdata;

		snprintf(res.message, sizeof(res.message), "%s",
			 q->querying ? "the daemon stopped before the central database answered: "
				       "nothing was refunded, the amount may stay reserved"
				     : "the daemon stopped before the refund was reserved");
		req_free(q);
		done(&res, ud);
	}
	erase_and_free(cr->password);
	free(cr->url);
	sd_event_unref(cr->event);
	free(cr);
	return NULL;
}
