/* SPDX-License-Identifier: MIT */
/* Scanners: codes to the waiting order, device states to the event stream. */
#include <json-c/json.h>
#include <stdio.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/paycode.h"
#include "daemon/manager-private.h"

void
on_scanner(struct scanner *s, const struct scanner_event *ev, void *userdata)
{
	struct manager *m = userdata;
	const struct scanner_config *sc = scanner_get_config(s);
	struct json_object *j;

	if (ev->type == SCANNER_EVENT_STATE) {
		if (ev->state == SCANNER_STATE_MISSING) {
			char rule[512];
			if (scanner_config_describe(sc, rule, sizeof(rule)) < 0)
				snprintf(rule, sizeof(rule), "%s scanner", sc->name);
			log_warning(
				"Scanner %s: missing: no %s is plugged in. Plug it in, or "
				"compare [scanner %s] with what `f2fpayd --list-scanners` shows",
				sc->name, rule, sc->name);
		} else
			log_info("Scanner %s: %s%s%s", sc->name, scanner_state_to_string(ev->state),
				 ev->device[0] ? " " : "", ev->device);
		j = json_object_new_object();
		if (!j)
			return;
		json_add_str(j, "kind", "scanner");
		json_add_str(j, "name", sc->name);
		json_add_str(j, "state", scanner_state_to_string(ev->state));
		if (ev->device[0])
			json_add_str(j, "device", ev->device);
		manager_broadcast(m, "device", j);
		manager_notify_status(m);
		return;
	}
	if (ev->type != SCANNER_EVENT_CODE)
		return;
	m->scans++;
	/* doc/design.md §9.1: classification decides where a code goes. */
	if (ev->cls == SCAN_CLASS_ALIPAY && !isempty(m->waiting_id)) {
		char masked[PAYCODE_MAX_LEN + 1];
		paycode_mask(ev->text, masked);
		manager_hold_log(m);
		log_info("Scanner %s: payment code %s for %s", sc->name, masked, m->waiting_id);
		waiting_pay(m, ev->text);
		return;
	}
	if (ev->cls == SCAN_CLASS_REJECTED) {
		log_warning("Scanner %s: a code too long or with control characters was dropped",
			    sc->name);
		return;
	}
	j = json_object_new_object();
	if (!j)
		return;
	json_add_str(j, "scanner", sc->name);
	json_add_str(j, "class", scan_class_to_string(ev->cls));
	/* doc/api.md "scan": a product barcode goes out whole, a wallet's payment code (ours with
	 * no order waiting, or another wallet's) only masked: the POS learns a code was shown,
	 * never the code. */
	if (ev->cls == SCAN_CLASS_BARCODE)
		json_add_str(j, "code", ev->text);
	else {
		char masked[PAYCODE_MAX_LEN + 1];
		paycode_mask(ev->text, masked);
		json_add_str(j, "code", masked);
		json_object_object_add(j, "masked", json_object_new_boolean(true));
	}
	if (ev->aim[0])
		json_add_str(j, "aim", ev->aim);
	manager_broadcast(m, "scan", j);
	if (ev->cls == SCAN_CLASS_OTHER_WALLET) {
		struct journal_order w;
		bool waiting = waiting_get(m, &w) >= 0;
		struct display_screen scr = {
			.kind = DISPLAY_SCREEN_FAILED,
			.store_name = m->s->cfg->terminal.store_name,
			.reason_code = DISPLAY_REASON_CODE_NOT_SUPPORTED,
			.amount_fen = waiting ? w.amount_fen : 0,
			.seconds_left = -1,
		};
		log_info("Scanner %s: another wallet's payment code: not supported", sc->name);
		manager_show(m, &scr, waiting ? w.fsm.id : NULL);
		screen_timer_arm(m, NOT_SUPPORTED_USEC);
	}
}

void
scanner_config_from(const struct config_scanner *c, struct scanner_config *sc)
{
	scanner_config_init(sc);
	sc->name = c->name;
	switch (c->kind) {
	case CONFIG_SCANNER_EVDEV:
		sc->kind = SCANNER_KIND_EVDEV;
		sc->match_path = c->by_id;
		break;
	case CONFIG_SCANNER_SERIAL:
		sc->kind = SCANNER_KIND_SERIAL;
		sc->match_path = c->device;
		break;
	default:
		sc->kind = SCANNER_KIND_HIDPOS;
		break;
	}
	sc->match_vidpid = c->has_usb_id;
	sc->vid = c->usb_vid;
	sc->pid = c->usb_pid;
	sc->match_name = c->name_pattern;
	if (c->layout)
		sc->layout = c->layout;
	switch (c->suffix) {
	case CONFIG_SUFFIX_KP_ENTER:
		sc->suffix = SCANNER_SUFFIX_KP_ENTER;
		break;
	case CONFIG_SUFFIX_TAB:
		sc->suffix = SCANNER_SUFFIX_TAB;
		break;
	case CONFIG_SUFFIX_NONE:
		sc->suffix = SCANNER_SUFFIX_NONE;
		break;
	default:
		sc->suffix = SCANNER_SUFFIX_ENTER;
		break;
	}
	if (c->interkey_timeout_usec)
		sc->interkey_timeout_usec = c->interkey_timeout_usec;
	if (c->baud)
		sc->baud = c->baud;
	sc->framing = c->framing == CONFIG_FRAMING_LF     ? SCANNER_FRAMING_LF
		      : c->framing == CONFIG_FRAMING_CRLF ? SCANNER_FRAMING_CRLF
		      : c->framing == CONFIG_FRAMING_NONE ? SCANNER_FRAMING_NONE
							  : SCANNER_FRAMING_CR;
	if (c->idle_gap_usec)
		sc->idle_gap_usec = c->idle_gap_usec;
	/* The config enums list the same names in the same order as the scanner's. */
	sc->prefix = (enum scanner_prefix)c->prefix;
	sc->report_layout = (enum scanner_report_layout)c->report_layout;
	sc->honeywell_enable = c->honeywell_enable;
	if (c->max_length)
		sc->max_len = c->max_length;
}

/* ---- --list-scanners ---- */

static void
list_one_scanner(enum scanner_kind kind, const char *node, uint16_t vid, uint16_t pid,
		 const char *name, void *userdata)
{
	FILE *f = userdata;

	fprintf(f, "%-7s %-40s %04x:%04x  %s\n", scanner_kind_to_string(kind), strna(node), vid,
		pid, strna(name));
}

int
manager_list_scanners(FILE *f)
{
	int total = 0;

	fprintf(f, "%-7s %-40s %-9s  %s\n", "KIND", "DEVICE", "VID:PID", "NAME");
	for (int k = 0; k < _SCANNER_KIND_MAX; k++) {
		int r = scanner_list((enum scanner_kind)k, list_one_scanner, f);
		if (r < 0)
			log_warning_errno(r, "Cannot list %s devices: %m",
					  scanner_kind_to_string((enum scanner_kind)k));
		else
			total += r;
	}
	fprintf(f, "%d device%s\n", total, total == 1 ? "" : "s");
	return 0;
}
