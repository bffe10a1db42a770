/* SPDX-License-Identifier: MIT */
/* Building the components (keys, gateway, engine, scanners, display) from a configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/manager-private.h"
#include "payment/keys.h"

static void
stack_done(struct stack *s)
{
	for (size_t i = 0; i < s->n_scanners; i++) {
		s->scanner_sd[i] = scanner_sd_detach(s->scanner_sd[i]);
		s->scanners[i] = scanner_free(s->scanners[i]);
	}
	s->n_scanners = 0;
	s->display = display_set_free(s->display);
	s->central_refund = central_refund_free(s->central_refund);
	s->ship = ship_free(s->ship);
	reconcile_free(s->reconcile);
	s->reconcile = NULL;
	engine_unsubscribe(s->sub);
	s->sub = NULL;
	engine_free(s->engine);
	s->engine = NULL;
	gateway_alipay_free(s->ga);
	s->ga = NULL;
	if (s->http)
		http_client_free(s->http);
	s->http = NULL;
	s->keys = alipay_keys_free(s->keys);
	config_free(s->owned);
	s->owned = NULL;
}

struct stack *
stack_free(struct stack *s)
{
	if (s) {
		stack_done(s);
		free(s);
	}
	return NULL;
}

static int
stack_keys(struct stack *s)
{
	const struct config_alipay *a = &s->cfg->alipay;
	int r;

	r = alipay_keys_new(&s->keys);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the key set: %m");
	if (!a->app_private_key_resolved)
		return log_error_errno(EINVAL, "No app private key configured");
	/* doc/design.md §12.1: a private key readable by group or others is refused. */
	r = alipay_key_file_check_mode(a->app_private_key_resolved);
	if (r < 0)
		return r;
	r = alipay_keys_set_app_private_key_file(s->keys, a->app_private_key_resolved);
	if (r < 0)
		return r;
	if (a->cert_mode) {
		if ((r = alipay_keys_set_app_cert_file(s->keys, a->app_cert_resolved)) < 0 ||
		    (r = alipay_keys_set_alipay_cert_file(s->keys, a->alipay_cert_resolved)) < 0 ||
		    (r = alipay_keys_set_alipay_root_cert_file(s->keys,
							       a->alipay_root_cert_resolved)) < 0)
			return r;
	} else {
		if (!a->alipay_public_key_resolved)
			return log_error_errno(EINVAL, "No Alipay public key configured");
		/* doc/protocol.md §2.2: the app public key configured as Alipay's is refused here.
		 */
		r = alipay_keys_set_alipay_public_key_file(s->keys, a->alipay_public_key_resolved);
		if (r < 0)
			return r;
	}
	return alipay_keys_check(s->keys);
}

static void
gateway_watch_done(const struct gateway_result *gr, void *userdata)
{
	struct gateway_watch_call *c = userdata;
	gateway_done_t done = c->done;
	void *ud = c->userdata;

	/* A pay that never left fails with a reason of ours: still no answer from the gateway. */
	bool answered = gr && !gr->not_delivered &&
			(gr->res.cls != ALIPAY_CLASS_UNKNOWN || gr->res.sub_code);
	enum alipay_class cls = gr ? gr->res.cls : ALIPAY_CLASS_UNKNOWN;

	if (c->w->last != cls || c->w->last_answered != answered)
		manager_notify_status(c->w->manager);
	c->w->last = cls;
	c->w->last_answered = answered;
	c->w->last_clock_refused = gr && STR_EQ_PTR(gr->res.sub_code, "isv.invalid-timestamp");
	c->w->last_usec = now_usec(CLOCK_REALTIME);
	metrics_gateway_call(&c->w->manager->metrics, c->kind, answered, cls,
			     now_usec(CLOCK_MONOTONIC) - c->start_usec);
	free(c);
	done(gr, ud);
}

static int
gateway_watch_submit(void *userdata, const struct gateway_call *call, gateway_done_t done,
		     void *done_userdata, void **ret_handle)
{
	struct gateway_watch *w = userdata;
	struct gateway_watch_call *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct gateway_watch_call){.w = w,
					 .kind = call->kind,
					 .start_usec = now_usec(CLOCK_MONOTONIC),
					 .done = done,
					 .userdata = done_userdata};
	r = w->inner.submit(w->inner.userdata, call, gateway_watch_done, c, &c->inner);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret_handle = c;
	return 0;
}

static void
gateway_watch_cancel(void *userdata, void *handle)
{
	struct gateway_watch *w = userdata;
	struct gateway_watch_call *c = handle;

	w->inner.cancel(w->inner.userdata, c->inner);
	free(c);
}

static void
gateway_watch_prepare(void *userdata, const struct gateway_call *call)
{
	struct gateway_watch *w = userdata;

	if (w->inner.prepare)
		w->inner.prepare(w->inner.userdata, call);
}

/* The drivers' spec of one configured display. */
static int
display_spec_of(const struct config_display *d, const struct config_display_output *o, char *spec,
		size_t size)
{
	switch (o->backend) {
	case CONFIG_DISPLAY_TTY:
		snprintf(spec, size, "tty");
		return 0;
	case CONFIG_DISPLAY_FB:
		snprintf(spec, size, "fb:%s", o->target);
		return 0;
	case CONFIG_DISPLAY_PNG:
		snprintf(spec, size, "png:%s,size=%ux%u", o->target, d->width, d->height);
		return 0;
	case CONFIG_DISPLAY_WEB:
		snprintf(spec, size, "web:%s", o->target);
		return 0;
	case CONFIG_DISPLAY_POLE:
		snprintf(spec, size, "pole:%s,baud=%u,protocol=%s", o->target, d->pole_baud,
			 d->pole_protocol == CONFIG_POLE_CD5220 ? "cd5220" : "led8n");
		return 0;
	case CONFIG_DISPLAY_NONE:
		break;
	}
	return -EINVAL;
}

int
stack_display(struct stack *s, sd_event *event)
{
	const struct config_display *d = &s->cfg->display;
	char specs[CONFIG_DISPLAY_MAX][1024];
	const char *p[CONFIG_DISPLAY_MAX];
	int r;

	if (d->n_outputs == 0)
		return 0;
	for (unsigned i = 0; i < d->n_outputs && i < CONFIG_DISPLAY_MAX; i++) {
		r = display_spec_of(d, &d->outputs[i], specs[i], sizeof(specs[i]));
		if (r < 0)
			return r;
		p[i] = specs[i];
	}
	r = display_set_new(p, d->n_outputs, &s->display);
	if (r < 0)
		return r;
	/* The web page's listener serves its viewers from the daemon's loop. */
	return display_set_attach_event(s->display, event);
}

/* Reports go beside the journal (the state directory); the schedule comes from [reconcile]. */
static int
stack_reconcile(struct manager *m, const struct config *cfg, struct stack *s)
{
	struct reconcile_config rc;
	char dir[4096];
	const char *slash = strrchr(cfg->journal.path, '/');
	int r;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - cfg->journal.path) : 1,
		 slash ? cfg->journal.path : ".");
	reconcile_config_init(&rc);
	rc.state_dir = *dir ? dir : "/";
	rc.terminal = cfg->terminal.terminal_id;
	rc.client = &s->client;
	rc.schedule = cfg->reconcile.enabled;
	rc.schedule_minute = cfg->reconcile.time_min;
	rc.max_attempts = cfg->reconcile.retries + 1;
	rc.keep_days = cfg->reconcile.keep_days;
	r = reconcile_new(m->event, s->http, m->journal, &rc, &s->reconcile);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the reconciliation: %m");
	return 0;
}

static int
stack_build_in(struct manager *m, const struct config *cfg, struct stack *s)
{
	const struct config_alipay *a = &cfg->alipay;
	struct http_client_config hc = {.ca_file = a->ca_file};
	struct gateway_alipay_config gc = {
		.timeout_usec = a->total_timeout_usec,
		.connect_timeout_usec = a->connect_timeout_usec,
		.store_id = cfg->terminal.store_id,
		.terminal_id = cfg->terminal.terminal_id,
		.operator_id = cfg->terminal.operator_id,
	};
	struct engine_config ec = {.terminal = cfg->terminal.terminal_id};
	struct gateway ops;
	int r;

	*s = (struct stack){.cfg = cfg};
	r = stack_keys(s);
	if (r < 0)
		return r;
	s->client = (struct alipay_client_config){
		.gateway_url = a->gateway_url,
		.app_id = a->app_id,
		.sign_type = a->sign_type == CONFIG_SIGN_RSA ? ALIPAY_SIGN_RSA : ALIPAY_SIGN_RSA2,
		.charset =
			a->charset == CONFIG_CHARSET_GBK ? ALIPAY_CHARSET_GBK : ALIPAY_CHARSET_UTF8,
		.notify_url = a->notify_url,
		.app_auth_token = a->app_auth_token,
		.keys = s->keys,
	};
	r = http_client_new_sd_event(m->event, &hc, &s->http);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the HTTPS client: %m");
	gc.client = &s->client;
	r = gateway_alipay_new(m->event, s->http, &gc, &s->ga);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the gateway client: %m");

	/* doc/design.md §5.5 timings; QR orders are also polled, so a lost notification costs
	 * nothing. */
	order_config_init(&ec.fsm);
	ec.fsm.query_interval_usec = cfg->timing.query_interval_usec;
	ec.fsm.max_queries = cfg->timing.query_count;
	ec.fsm.cancel_interval_usec = cfg->timing.cancel_interval_usec;
	ec.fsm.cancel_retries = cfg->timing.cancel_count;
	ec.fsm.attention_initial_usec = cfg->timing.attention_backoff_usec;
	ec.fsm.attention_max_usec = cfg->timing.attention_backoff_max_usec;
	ec.fsm.pay_timeout_usec = cfg->timing.timeout_express_usec;
	ec.fsm.qr_timeout_usec = cfg->timing.qr_shown_usec;
	ec.fsm.qr_poll_interval_usec = cfg->timing.query_interval_usec;
	if (ec.fsm.refund_retry_usec > cfg->timing.query_interval_usec)
		ec.fsm.refund_retry_usec = cfg->timing.query_interval_usec;
	s->watch = (struct gateway_watch){
		.inner = gateway_alipay_ops(s->ga), .manager = m, .last = _ALIPAY_CLASS_MAX};
	ops = (struct gateway){
		.submit = gateway_watch_submit,
		.cancel = gateway_watch_cancel,
		.prepare = gateway_watch_prepare,
		.userdata = &s->watch,
	};
	r = engine_new(m->event, m->journal, &ec, &ops, &s->engine);
	if (r < 0)
		return log_error_errno(r, "Failed to create the order engine: %m");
	r = engine_subscribe(s->engine, on_transition, m, &s->sub);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the order engine: %m");
	/* doc/design.md §6.2: every unfinished order is resumed before new ones are taken. */
	r = engine_start(s->engine);
	if (r < 0)
		return r;
	r = stack_reconcile(m, cfg, s);
	if (r < 0)
		return r;
	/* doc/central.md "Shipping": the store's database, when there is one. */
	if (cfg->central.url) {
		r = ship_new(m->event, m->journal, &cfg->central, &cfg->terminal, a->app_id,
			     cfg->journal.path, &s->ship);
		if (r < 0)
			return log_error_errno(
				r, "Failed to set up shipping to the central database: %m");
		/* doc/central.md "Refunds at any till". */
		r = central_refund_new(m->event, m->journal, s->engine, &cfg->central,
				       cfg->terminal.terminal_id, &s->central_refund);
		if (r < 0)
			return log_error_errno(r, "Failed to set up refunds at any till: %m");
	}

	for (size_t i = 0; i < cfg->n_scanners; i++) {
		struct scanner_config sc;

		scanner_config_from(&cfg->scanners[i], &sc);
		r = scanner_new(&sc, &s->scanners[i]);
		if (r < 0)
			return log_error_errno(r, "Scanner %s: cannot be set up: %m", sc.name);
		s->n_scanners = i + 1;
		r = scanner_sd_attach(s->scanners[i], m->event, on_scanner, m, &s->scanner_sd[i]);
		if (r < 0)
			return log_error_errno(r, "Scanner %s: cannot be watched: %m", sc.name);
	}
	r = stack_display(s, m->event);
	if (r < 0)
		return log_error_errno(r, "The display cannot be set up: %m");
	return 0;
}

/* A new stack in *ret, or -errno (logged). */
int
stack_build(struct manager *m, const struct config *cfg, struct stack **ret)
{
	struct stack *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = stack_build_in(m, cfg, s);
	if (r < 0) {
		stack_free(s);
		return r;
	}
	*ret = s;
	return 0;
}
