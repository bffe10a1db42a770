/* SPDX-License-Identifier: MIT */
/* The API backend: the local API's calls answered from the engine and the journal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/manager-private.h"

static void
reply_order(struct manager *m, struct api_call *call, unsigned status, const char *id)
{
	struct journal_order o;
	struct json_object *j;
	int r;

	r = engine_order_get(m->s->engine, id, &o);
	if (r < 0) {
		api_call_fail(call, 500, "internal", "order %s cannot be read: %s", id,
			      strerror(-r));
		return;
	}
	j = order_to_json(&o);
	if (!j) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	api_call_reply(call, status, j);
}

static void
be_order_create(void *userdata, struct api_call *call, const struct api_order_request *req)
{
	struct manager *m = userdata;
	const char *subject = req->subject                     ? req->subject
			      : m->s->cfg->terminal.store_name ? m->s->cfg->terminal.store_name
							       : DEFAULT_SUBJECT;
	char id[ORDER_ID_MAX + 1];
	int r;

	if (strlen(subject) > JOURNAL_SUBJECT_MAX) {
		api_call_fail(call, 400, "invalid_field", "'subject' is longer than %d bytes",
			      JOURNAL_SUBJECT_MAX);
		return;
	}
	if (manager_space_refuses(m, call))
		return;
	if (req->mode == API_ORDER_SCAN && !req->auth_code) {
		char date[BEIJING_DATE_BUF];
		usec_t expiry;

		if (m->waiting.active) {
			api_call_fail(call, 409, "scan_order_waiting",
				      "order %s is already waiting for the scanner: cancel it or "
				      "send an auth_code",
				      m->waiting.id);
			return;
		}
		m->waiting = (struct waiting){.active = true, .amount_fen = req->amount_fen};
		snprintf(m->waiting.id, sizeof(m->waiting.id), "%s_%sw%" PRIu64 "_%u",
			 m->s->cfg->terminal.terminal_id, beijing_format_date(m->boot, 0, date),
			 (uint64_t)(m->boot % 100000), ++m->waiting_seq);
		snprintf(m->waiting.subject, sizeof(m->waiting.subject), "%s", subject);
		if (req->pos_ref)
			snprintf(m->waiting.pos_ref, sizeof(m->waiting.pos_ref), "%s",
				 req->pos_ref);
		m->waiting.created_usec = manager_now(m);
		/* Nobody scanned in time: the order lapses like a QR leaving the screen. */
		expiry = m->s->cfg->timing.qr_shown_usec;
		(void)sd_event_add_time_relative(m->event, &m->waiting.expiry, CLOCK_MONOTONIC,
						 expiry, USEC_PER_SEC, waiting_expired_cb, m);
		log_info("Scan order %s for %" PRId64 " fen waits for a payment code",
			 m->waiting.id, req->amount_fen);
		manager_broadcast(m, "order",
				  waiting_to_json(m->waiting.id, m->waiting.amount_fen,
						  m->waiting.subject, m->waiting.pos_ref,
						  WAITING_STATE));
		show_waiting(m);
		manager_notify_status(m);
		api_call_reply(call, 201,
			       waiting_to_json(m->waiting.id, m->waiting.amount_fen,
					       m->waiting.subject, m->waiting.pos_ref,
					       WAITING_STATE));
		return;
	}
	r = engine_order_new(m->s->engine,
			     req->mode == API_ORDER_QR ? ORDER_KIND_QR : ORDER_KIND_SCAN,
			     req->amount_fen, subject, req->auth_code, req->pos_ref, id);
	if (r == -EINVAL) {
		api_call_fail(call, 400, "invalid_field",
			      "'auth_code' is not an Alipay payment code (digits, 25-30 first, "
			      "16-24 long)");
		return;
	}
	if (r == -EBUSY) {
		api_call_fail(call, 503, "engine_unavailable", "recovery is still running");
		return;
	}
	if (r == -ENOSPC || r == -EROFS || r == -EIO) {
		journal_space_write_failed(m->space, r);
		(void)manager_space_refuses(m, call);
		return;
	}
	if (r < 0) {
		api_call_fail(call, 500, "internal", "the order could not be journaled: %s",
			      strerror(-r));
		return;
	}
	reply_order(m, call, r == 1 ? 200 : 201, id);
}

static void
be_order_get(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	const struct resolved *rs;
	struct journal_order o;

	if (m->waiting.active && STR_EQ(id, m->waiting.id)) {
		api_call_reply(call, 200,
			       waiting_to_json(m->waiting.id, m->waiting.amount_fen,
					       m->waiting.subject, m->waiting.pos_ref,
					       WAITING_STATE));
		return;
	}
	rs = resolved_find(m, id);
	if (rs && rs->canceled) {
		api_call_reply(call, 200,
			       waiting_to_json(rs->waiting_id, rs->amount_fen, rs->subject,
					       rs->pos_ref, "CANCELED"));
		return;
	}
	if (rs)
		id = rs->order_id;
	if (engine_order_get(m->s->engine, id, &o) < 0) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	api_call_reply(call, 200, order_to_json(&o));
}

struct list_ctx {
	struct json_object *arr;
	const char *state;
	const char *date;
};

static int
list_one(const struct journal_order *o, void *userdata)
{
	struct list_ctx *l = userdata;
	char st[32], date[BEIJING_DATE_BUF];

	if (l->state && !STR_EQ(l->state, state_upper(o->fsm.state, st)))
		return 0;
	if (l->date && !STR_EQ(l->date, beijing_format_date(
						(time_t)(o->created_usec / USEC_PER_SEC), 1, date)))
		return 0;
	if (json_object_array_length(l->arr) >= ORDER_LIST_MAX)
		json_object_array_del_idx(l->arr, 0, 1);
	return json_object_array_add(l->arr, order_to_json(o)) < 0 ? -ENOMEM : 0;
}

static void
be_order_list(void *userdata, struct api_call *call, const char *state, const char *date)
{
	struct manager *m = userdata;
	struct list_ctx l = {.arr = json_object_new_array(), .state = state, .date = date};
	struct json_object *j;
	int r;

	if (!l.arr) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	r = journal_order_foreach(m->journal, false, list_one, &l);
	if (r < 0) {
		json_object_put(l.arr);
		api_call_fail(call, 500, "internal", "the journal cannot be read: %s",
			      strerror(-r));
		return;
	}
	if (m->waiting.active && (!state || STR_EQ(state, WAITING_STATE)))
		json_object_array_add(l.arr, waiting_to_json(m->waiting.id, m->waiting.amount_fen,
							     m->waiting.subject, m->waiting.pos_ref,
							     WAITING_STATE));
	j = json_object_new_object();
	if (!j) {
		json_object_put(l.arr);
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	json_object_object_add(j, "orders", l.arr);
	api_call_reply(call, 200, j);
}

static void
be_order_cancel(void *userdata, struct api_call *call, const char *id)
{
	struct manager *m = userdata;
	const struct resolved *rs;
	int r;

	if (m->waiting.active && STR_EQ(id, m->waiting.id)) {
		struct display_screen scr = {
			.kind = DISPLAY_SCREEN_CANCELED,
			.store_name = m->s->cfg->terminal.store_name,
			.amount_fen = m->waiting.amount_fen,
			.seconds_left = -1,
		};
		struct json_object *j =
			waiting_to_json(m->waiting.id, m->waiting.amount_fen, m->waiting.subject,
					m->waiting.pos_ref, "CANCELED");
		log_info("Scan order %s canceled before a code arrived", m->waiting.id);
		waiting_end(m, NULL, "CANCELED");
		manager_show(m, &scr, NULL);
		screen_timer_arm(m, RESULT_SCREEN_USEC);
		api_call_reply(call, 202, j);
		if (m->pending_cfg)
			apply_pending_reload(m);
		return;
	}
	rs = resolved_find(m, id);
	if (rs && rs->canceled) {
		api_call_fail(call, 409, "not_cancelable", "order %s is already CANCELED", id);
		return;
	}
	if (rs)
		id = rs->order_id;
	r = engine_order_abort(m->s->engine, id);
	if (r == -EALREADY) {
		struct journal_order o;
		char st[32] = "final";
		if (engine_order_get(m->s->engine, id, &o) >= 0)
			state_upper(o.fsm.state, st);
		api_call_fail(call, 409, "not_cancelable", "order %s is already %s", id, st);
		return;
	}
	if (r == -ENOENT) {
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	}
	if (r < 0) {
		api_call_fail(call, 500, "internal", "the cancel could not be journaled: %s",
			      strerror(-r));
		return;
	}
	reply_order(m, call, 202, id);
}

static void
be_order_refund(void *userdata, struct api_call *call, const char *id,
		const struct api_refund_request *req, const char *ref)
{
	struct manager *m = userdata;
	char refund_id[REFUND_ID_MAX + 1];
	const struct resolved *rs = resolved_find(m, id);
	struct journal_refund rf;
	int r;

	if (rs && !rs->canceled)
		id = rs->order_id;
	/* The same Idempotency-Key never refunds twice (while remembered). */
	for (unsigned i = 0; ref && i < m->n_refund_refs; i++)
		if (STR_EQ(m->refund_refs[i].ref, ref)) {
			if (!STR_EQ(m->refund_refs[i].order_id, id)) {
				api_call_fail(call, 409, "idempotency_mismatch",
					      "Idempotency-Key was used for order %s",
					      m->refund_refs[i].order_id);
				return;
			}
			if (journal_refund_get(m->journal, m->refund_refs[i].refund_id, &rf) < 0) {
				api_call_fail(call, 500, "internal", "the refund cannot be read");
				return;
			}
			api_call_reply(call, 200, refund_to_json(&rf));
			return;
		}
	r = engine_refund_new(m->s->engine, id, req->amount_fen, req->reason, refund_id);
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		api_call_fail(call, 404, "order_not_found", "no order %s", id);
		return;
	case -EPERM:
		api_call_fail(call, 409, "not_refundable", "order %s is not paid", id);
		return;
	case -EOVERFLOW:
		api_call_fail(call, 409, "refund_exceeds_paid",
			      "the refund is more than order %s has left to refund", id);
		return;
	default:
		api_call_fail(call, 500, "internal", "the refund could not be journaled: %s",
			      strerror(-r));
		return;
	}
	if (ref && strlen(ref) <= API_POS_REF_MAX) {
		if (m->n_refund_refs == REFUND_REFS_MAX) {
			memmove(&m->refund_refs[0], &m->refund_refs[1],
				sizeof(m->refund_refs[0]) * (REFUND_REFS_MAX - 1));
			m->n_refund_refs--;
		}
		struct refund_ref *rr = &m->refund_refs[m->n_refund_refs++];
		snprintf(rr->ref, sizeof(rr->ref), "%s", ref);
		snprintf(rr->refund_id, sizeof(rr->refund_id), "%s", refund_id);
		snprintf(rr->order_id, sizeof(rr->order_id), "%s", id);
	}
	if (journal_refund_get(m->journal, refund_id, &rf) < 0) {
		api_call_fail(call, 500, "internal", "the refund cannot be read");
		return;
	}
	api_call_reply(call, 201, refund_to_json(&rf));
}

static int
attention_one(const struct journal_order *o, void *userdata)
{
	struct json_object *arr = userdata;

	if (o->fsm.state != ORDER_ATTENTION)
		return 0;
	return json_object_array_add(arr, order_to_json(o)) < 0 ? -ENOMEM : 0;
}

static void
be_status(void *userdata, struct api_call *call)
{
	struct manager *m = userdata;
	struct json_object *o = json_object_new_object(), *scanners, *disp, *att;

	if (!o) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	json_add_str(o, "version", F2FPAY_VERSION);
	json_add_str(o, "engine", "running");
	json_add_str(o, "terminal_id", m->s->cfg->terminal.terminal_id);
	if (m->s->cfg->terminal.store_name)
		json_add_str(o, "store_name", m->s->cfg->terminal.store_name);
	json_add_str(o, "gateway", m->s->cfg->alipay.gateway_url);
	/* The class of the gateway's last answer: "unknown" also covers no answer at all. */
	json_add_str(o, "gateway_last_answer",
		     m->s->watch.last == _ALIPAY_CLASS_MAX
			     ? "none"
			     : alipay_class_to_string(m->s->watch.last));
	if (m->s->watch.last != _ALIPAY_CLASS_MAX)
		json_add_time(o, "gateway_last_answer_at", m->s->watch.last_usec);
	json_object_object_add(o, "active_orders",
			       json_object_new_int((int)engine_active_count(m->s->engine)));
	json_object_object_add(o, "waiting_for_code",
			       m->waiting.active ? json_object_new_string(m->waiting.id) : NULL);
	scanners = json_object_new_array();
	for (size_t i = 0; scanners && i < m->s->n_scanners; i++) {
		struct json_object *s = json_object_new_object();
		const struct scanner_config *sc = scanner_get_config(m->s->scanners[i]);
		if (!s)
			break;
		json_add_str(s, "name", sc->name);
		json_add_str(s, "kind", scanner_kind_to_string(sc->kind));
		json_add_str(s, "state",
			     scanner_state_to_string(scanner_get_state(m->s->scanners[i])));
		json_object_array_add(scanners, s);
	}
	json_object_object_add(o, "scanners", scanners);
	disp = json_object_new_object();
	if (disp) {
		json_object_object_add(disp, "configured",
				       json_object_new_boolean(m->s->display != NULL));
		json_object_object_add(
			disp, "up",
			json_object_new_boolean(m->s->display && display_set_is_up(m->s->display)));
		json_object_object_add(disp, "outputs", display_outputs_json(m));
		if (m->screen < _DISPLAY_SCREEN_MAX)
			json_add_str(disp, "screen", display_screen_kind_to_string(m->screen));
		json_object_object_add(o, "display", disp);
	}
	att = json_object_new_array();
	if (att)
		(void)journal_order_foreach(m->journal, true, attention_one, att);
	json_object_object_add(o, "attention", att);
	json_object_object_add(o, "sse_clients",
			       json_object_new_int(m->api ? (int)api_sse_clients(m->api) : 0));
	json_object_object_add(o, "scans", json_object_new_int64((int64_t)m->scans));
	json_object_object_add(o, "notifications",
			       json_object_new_int64((int64_t)m->notifications));
	json_object_object_add(o, "notifications_forged",
			       json_object_new_int64((int64_t)m->notifications_forged));
	manager_space_status(m, o);
	json_object_object_add(o, "config_reload_pending",
			       json_object_new_boolean(m->pending_cfg != NULL));
	{
		struct health h = {};
		manager_health(m, &h);
		json_object_object_add(o, "conditions", health_to_json(&h));
	}
	(void)reconcile_status_add(m->s->reconcile, o);
	api_call_reply(call, 200, o);
}

static void
be_reconciliation(void *userdata, struct api_call *call, const char *date)
{
	struct manager *m = userdata;

	reconcile_api_get(m->s->reconcile, call, date);
}

/*
 * GET /v1/backup: a consistent copy of the journal, made beside it (the only place the daemon
 * may write), unlinked at once and streamed from the open file, so nothing stays behind even
 * if the client goes away.
 */
static void
be_backup(void *userdata, struct api_call *call)
{
	struct manager *m = userdata;
	const char *jp = m->s->cfg->journal.path, *slash = strrchr(jp, '/');
	_cleanup_free_ char *tmp = NULL;
	struct stat st;
	int fd, r;

	if (asprintf(&tmp, "%.*s/.backup-XXXXXX", slash ? (int)(slash - jp) : 1, slash ? jp : ".") <
	    0) {
		api_call_fail(call, 500, "internal", "out of memory");
		return;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		api_call_fail(call, 500, "backup_failed", "cannot create %s: %s", tmp,
			      strerror(errno));
		return;
	}
	close(fd);
	r = journal_backup(m->journal, tmp);
	fd = r < 0 ? -1 : open(tmp, O_RDONLY | O_CLOEXEC);
	if (r >= 0 && fd < 0)
		r = -errno;
	(void)unlink(tmp);
	if (r < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		api_call_fail(call, 500, "backup_failed", "the journal cannot be copied: %s",
			      strerror(r < 0 ? -r : errno));
		return;
	}
	log_info("Journal backup of %lld bytes sent", (long long)st.st_size);
	api_call_reply_file(call, fd, (uint64_t)st.st_size, "application/vnd.sqlite3");
}

static const struct api_backend manager_backend = {
	.order_create = be_order_create,
	.order_get = be_order_get,
	.order_list = be_order_list,
	.order_cancel = be_order_cancel,
	.order_refund = be_order_refund,
	.status = be_status,
	.reconciliation = be_reconciliation,
	.backup = be_backup,
};

const struct api_backend *
manager_api_backend(void)
{
	return &manager_backend;
}
