/* SPDX-License-Identifier: MIT */
/* The manager's parts: its state and what each file offers the others. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "common/time-util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/gateway-alipay.h"
#include "daemon/journal-space.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "daemon/manager.h"
#include "daemon/reconcile/reconcile.h"
#include "daemon/central-refund.h"
#include "daemon/ship.h"
#include "drivers/display/display.h"
#include "drivers/scanner/scanner-sd-event.h"
#include "drivers/scanner/scanner.h"
#include "payment/http/http-sd-event.h"
#include "payment/request.h"

#define RESULT_SCREEN_USEC (5 * USEC_PER_SEC) /* paid/failed/canceled stay this long */
#define NOT_SUPPORTED_USEC (3 * USEC_PER_SEC) /* "not supported" before the order again */
#define DEFAULT_SUBJECT    "f2fpayd"
#define QR_WAITS_MAX       16                  /* ?wait=qr creates answered later */
#define QR_WAIT_USEC       (15 * USEC_PER_SEC) /* the longest a ?wait=qr create waits */

/* The gateway as the engine sees it, noting the class of each answer for GET /v1/status. */
struct gateway_watch {
	struct gateway inner;
	struct manager *manager; /* counts into its metrics, refreshes its status */
	enum alipay_class last;  /* _ALIPAY_CLASS_MAX: no answer yet */
	bool last_answered;      /* the last call got an answer (not a transport failure) */
	bool last_clock_refused; /* it was isv.invalid-timestamp: our clock, not our keys */
	usec_t last_usec;
};

struct gateway_watch_call {
	struct gateway_watch *w;
	enum gateway_call_kind kind;
	usec_t start_usec; /* CLOCK_MONOTONIC */
	gateway_done_t done;
	void *userdata;
	void *inner;
};

/* Everything built from one configuration; replaced whole on a reload. */
struct stack {
	const struct config *cfg;
	struct config *owned; /* cfg when it came from a reload */
	struct alipay_keys *keys;
	struct alipay_client_config client;
	struct http_client *http;
	struct gateway_alipay *ga;
	struct gateway_watch watch;
	struct engine *engine;
	struct engine_subscription *sub;
	struct reconcile *reconcile; /* the daily bill check (doc/protocol.md §5.8) */
	struct ship *ship;           /* copies the journal to the store's database, or NULL */
	struct central_refund *central_refund; /* refunds other tills' orders, or NULL */
	struct scanner *scanners[CONFIG_MAX_SCANNERS];
	struct scanner_sd *scanner_sd[CONFIG_MAX_SCANNERS];
	size_t n_scanners;
	struct display_set *display; /* NULL when there is none */
};

/* A create with ?wait=qr, answered once the order leaves precreate (or QR_WAIT_USEC passed). */
struct qr_wait {
	struct manager *manager;
	struct api_call *call; /* NULL: the slot is free */
	unsigned status;       /* 201 */
	char id[ORDER_ID_MAX + 1];
	sd_event_source *timer;
};

struct manager {
	sd_event *event;
	struct journal *journal;
	struct stack *s;            /* heap: the gateway keeps pointers into it */
	struct config *pending_cfg; /* a reload waiting for the terminal to be idle */
	struct api *api;
	/* The scan order in WAITING_FOR_CODE (one per terminal; journaled, so it survives a
	 * restart), "" for none. */
	char waiting_id[ORDER_ID_MAX + 1];
	struct qr_wait qr_waits[QR_WAITS_MAX];
	char display_order[ORDER_ID_MAX + 1]; /* the order the customer display follows */
	enum display_screen_kind screen;
	sd_event_source *screen_timer;  /* result screen → idle, or the QR countdown */
	sd_event_source *display_retry; /* a display backend that failed */
	sd_event_source *draw;          /* draws `drawing` when the loop has nothing else to do */
	sd_event_source *draw_delay;    /* draws a "processing" screen still current by then */
	sd_event_source *draw_next;     /* draws once FRAME_INTERVAL_USEC after the last frame */
	uint64_t drawn_usec;            /* when the last frame was drawn (CLOCK_MONOTONIC) */
	struct display_screen drawing;  /* the newest screen; its strings owned */
	bool drawn;                     /* `drawing` is on the display */
	sd_event_source *reload_defer;  /* applies pending_cfg from the loop */
	uint64_t scans, notifications, notifications_forged;
	int attention;               /* orders in ATTENTION as last counted; -1: count them again */
	struct journal_space *space; /* room for the journal: new orders stop before it is full */
	char status_line[256];       /* the STATUS= last sent */
	sd_event_source *status_defer;
	sd_event_source *log_defer; /* writes the lines held since a scan (manager_hold_log()) */
	sd_event_source *checkpoint_defer; /* the journal's checkpoint between orders */
	struct notify *notify;             /* releases the held notifications; borrowed */
	sd_event_source *notify_sync;      /* syncs them if no order's commit does first */
	struct metrics metrics;            /* since start, across reloads */
};
struct json_object;

/* manager-display.c: frees the screen waiting to be drawn. */
void manager_draw_free(struct manager *m);
/* The till went idle (the idle screen is drawn, or there is no display): gives back the memory
 * only drawing and serving orders needed (manager-memory.c). */
void manager_memory_idle(struct manager *m);
/* Holds the loop's log lines until it is idle (a code was scanned: its pay goes first). */
void manager_hold_log(struct manager *m);
/* manager-checkpoint.c: the journal's checkpoint, after drawing and between orders. */
void manager_checkpoint_soon(struct manager *m);

/* manager-health.c: problem conditions (STATUS=, /health) and the monitoring resources. */
void manager_health(struct manager *m, struct health *h);
/* The conditions that hold, as [{"name","count","detail"?}…]; new object, NULL when out of
 * memory. */
struct json_object *health_to_json(const struct health *h);
/* {"name":"f2fpayd","version","terminal_id"}: GET /version (metrics) and GET /v1/version (API);
 * new object, NULL when out of memory. */
struct json_object *manager_version_json(struct manager *m);

/* manager-json.c: the API's views (doc/api.md) and the event stream. */
usec_t manager_now(struct manager *m);
const char *state_upper(enum order_state s, char buf[static 32]);
const char *refund_state_upper(enum refund_state s, char buf[static 32]);
void json_add_str(struct json_object *o, const char *key, const char *value);
void json_add_money(struct json_object *o, const char *key, int64_t fen);
void json_add_time(struct json_object *o, const char *key, usec_t t);
struct json_object *order_to_json(const struct journal_order *o);
struct json_object *refund_to_json(const struct journal_refund *r);
/* Sends j (taken) as an SSE event. */
void manager_broadcast(struct manager *m, const char *event, struct json_object *j);

/* manager-display.c: the customer display. */
void manager_show(struct manager *m, const struct display_screen *scr, const char *order_id);
struct json_object *display_outputs_json(struct manager *m);
void show_idle(struct manager *m);
void screen_timer_arm(struct manager *m, usec_t after_usec);
void show_order(struct manager *m, const struct journal_order *o);
void show_current(struct manager *m);
bool display_order_settled(struct manager *m);

/* manager-space.c: the journal's room on the status, the display and the API. */
void manager_space_changed(void *userdata, bool writable);
bool manager_space_refuses(struct manager *m, struct api_call *call);
void manager_space_status(struct manager *m, struct json_object *o);

/* manager.c: status, reloads and the engine observer. */
void manager_notify_status(struct manager *m);
void apply_pending_reload(struct manager *m);
void on_transition(const struct engine_transition *t, void *userdata);

/* manager-waiting.c: the scan order waiting for a payment code. */
/* Finds the order in WAITING_FOR_CODE after a start or a reload (recovery ran). */
void waiting_find(struct manager *m);
/* Sets (or clears, with NULL) the scan order waiting for its code. */
void waiting_set(struct manager *m, const char *id);
/* Loads the waiting order: 0, or -ENOENT when there is none. */
int waiting_get(struct manager *m, struct journal_order *ret);
/* Follows the waiting order's transitions: once it leaves WAITING_FOR_CODE it is no more. */
void waiting_follow(struct manager *m, const struct journal_order *o);
void waiting_pay(struct manager *m, const char *code);

/* manager-qrwait.c: creates with ?wait=qr. qr_wait_start() takes the call when the order is
 * still before its precreate answer (true), else the caller answers now. */
bool qr_wait_start(struct manager *m, struct api_call *call, const struct journal_order *o,
		   unsigned status);
void qr_wait_transition(struct manager *m, const struct journal_order *o);
void qr_wait_free_all(struct manager *m);

/* manager-scanners.c */
void on_scanner(struct scanner *s, const struct scanner_event *ev, void *userdata);
void scanner_config_from(const struct config_scanner *c, struct scanner_config *sc);

/* manager-stack.c: everything built from one configuration. */
struct stack *stack_free(struct stack *s);
/* A new stack in *ret, or -errno (logged). */
int stack_build(struct manager *m, const struct config *cfg, struct stack **ret);
/* The displays of s->cfg into s->display, on the loop; -errno. */
int stack_display(struct stack *s, sd_event *event);
