/* SPDX-License-Identifier: MIT */
/* The manager: wires scanners, the order engine, the customer display and the local API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "daemon/api.h"
#include "daemon/notify.h"

/*
 * doc/design.md §2. The manager owns the keys, the gateway client, the journal, the order
 * engine, the scanners and the display built from one configuration; the local API and the
 * notify listener stay with f2fpayd's main and call into the manager through
 * manager_api_backend() and manager_notify().
 *
 * Scan orders created without an auth_code wait for the scanner, one at a time per terminal,
 * as journaled orders in WAITING_FOR_CODE (nothing sent, no money can move): they survive a
 * restart, and the scanner's code starts the pay of the same order.
 */

struct manager;

/*
 * Builds everything from cfg (borrowed; must stay valid until manager_reload() replaces it or
 * the manager is freed): loads and checks the keys (a private key readable by group or others
 * and the app public key configured as Alipay's are refused), opens the journal
 * (journal_open_marked(): migrated if older, never silently replaced), resumes every unfinished
 * order (recovery) before returning, opens the scanners and the display. event is borrowed. Returns
 * 0 and a new manager, or -errno (logged).
 */
int manager_new(sd_event *event, const struct config *cfg, struct manager **ret);

/* Stops the scanners and the display, abandons calls in flight (the journal has them for
 * recovery at the next start) and frees. NULL-safe; returns NULL. */
struct manager *manager_free(struct manager *m);

/* The API backend table; pass the manager as its userdata. */
const struct api_backend *manager_api_backend(void);

/* Where SSE events go (borrowed; NULL to stop). */
void manager_set_api(struct manager *m, struct api *api);

/*
 * The notify receiver (doc/protocol.md §4), with the notify_handler_t signature: verifies, checks
 * app_id, seller_id, out_trade_no and total_amount against the journal, records the raw body,
 * applies it to the engine idempotently. A signature that does not verify is NOTIFY_FORGED and
 * nothing is written for it.
 */
enum notify_verdict manager_notify(void *userdata, const char *content_type, const char *body,
				   size_t len);

/*
 * The listener whose held notifications (NOTIFY_HELD) the manager releases once their rows are
 * on the disk (borrowed; NULL before freeing it).
 */
void manager_set_notify(struct manager *m, struct notify *n);

/*
 * SIGHUP: applies cfg (taken on success: the manager frees it; on failure the caller keeps
 * it) between orders. Returns 0 when applied now, 1 when an order is in progress and the new
 * configuration will be applied once the terminal is idle, -errno when it cannot be used (the
 * old one stays, the reason is logged). The journal and the listeners keep their paths.
 */
int manager_reload(struct manager *m, struct config *cfg);

/* Syncs the final transitions waiting for their sync and tells them (engine_flush()). */
int manager_settle(struct manager *m);

/* Orders not final, including a scan order waiting for its code. */
unsigned manager_busy(const struct manager *m);

/* f2fpayd --list-scanners: prints every device that could be a scanner. */
int manager_list_scanners(FILE *f);

/*
 * The monitoring resources (metrics_render_fn of daemon/metrics-server.h; userdata is the
 * manager): /metrics, /health (503 while a problem condition holds), /version.
 */
struct buf;
int manager_monitor_render(void *userdata, const char *path, struct buf *out,
			   const char **ret_type);

/* doc/engine.md "Time": "; the clock is not synchronized" for the STATUS line, or "". */
const char *manager_clock_note(void);
