/* SPDX-License-Identifier: MIT */
/* The keyboard-wedge assembler: xkb decoding, suffix and inter-key timeout, SYN_DROPPED. */
#include <errno.h>
#include <linux/input.h>
#include <stdlib.h>
#include <xkbcommon/xkbcommon.h>

#include "common/log.h"
#include "drivers/scanner/keyasm.h"

/* evdev keycodes are offset by 8 in xkb (the X11 convention libxkbcommon keeps). */
#define EVDEV_OFFSET 8

struct keyasm {
	struct keyasm_config cfg;
	struct xkb_context *ctx;
	struct xkb_keymap *keymap;
	struct xkb_state *state;
	struct scan_code code;
	bool active;   /* at least one key of a code was seen */
	bool dropped;  /* after SYN_DROPPED, until the next SYN_REPORT */
	bool skipping; /* after SYN_DROPPED, until the scan in progress ends */
	usec_t last_usec;
};

static void
keyasm_state_reset(struct keyasm *ka)
{
	struct xkb_state *st = xkb_state_new(ka->keymap);
	xkb_mod_index_t num;

	if (!st)
		return; /* keep the old state: better than none */
	xkb_state_unref(ka->state);
	ka->state = st;
	/* A scanner emitting keypad digits assumes Num Lock is on, as a PC has it after boot. */
	num = xkb_keymap_mod_get_index(ka->keymap, XKB_MOD_NAME_NUM);
	if (num != XKB_MOD_INVALID)
		xkb_state_update_mask(st, 0, 0, UINT32_C(1) << num, 0, 0, 0);
}

int
keyasm_new(const struct keyasm_config *cfg, struct keyasm **ret)
{
	struct keyasm *ka;
	struct xkb_rule_names names = {
		.rules = "evdev",
		.model = "pc105",
		.layout = cfg->layout ? cfg->layout : "us",
		.variant = cfg->variant,
	};

	ka = calloc(1, sizeof(*ka));
	if (!ka)
		return -ENOMEM;
	ka->cfg = *cfg;
	ka->cfg.layout = ka->cfg.variant = NULL; /* borrowed: not kept */
	if (ka->cfg.max_len == 0 || ka->cfg.max_len > SCAN_CODE_MAX)
		ka->cfg.max_len = SCAN_CODE_MAX;
	/* The host's XKB_DEFAULT_* variables must not change how a scanner is decoded. */
	ka->ctx = xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
	if (!ka->ctx) {
		keyasm_free(ka);
		return -ENOMEM;
	}
	xkb_context_set_log_level(ka->ctx, XKB_LOG_LEVEL_CRITICAL);
	ka->keymap = xkb_keymap_new_from_names(ka->ctx, &names, XKB_KEYMAP_COMPILE_NO_FLAGS);
	if (!ka->keymap) {
		keyasm_free(ka);
		return log_error_errno(EINVAL, "Unknown keyboard layout \"%s\"%s%s", names.layout,
				       names.variant ? " variant " : "", strempty(names.variant));
	}
	keyasm_state_reset(ka);
	if (!ka->state) {
		keyasm_free(ka);
		return -ENOMEM;
	}
	scan_code_clear(&ka->code);
	*ret = ka;
	return 0;
}

struct keyasm *
keyasm_free(struct keyasm *ka)
{
	if (!ka)
		return NULL;
	xkb_state_unref(ka->state);
	xkb_keymap_unref(ka->keymap);
	xkb_context_unref(ka->ctx);
	explicit_bzero(&ka->code, sizeof(ka->code));
	free(ka);
	return NULL;
}

void
keyasm_reset(struct keyasm *ka)
{
	scan_code_clear(&ka->code);
	ka->active = false;
	ka->dropped = false;
	ka->skipping = false;
	keyasm_state_reset(ka);
}

static void
keyasm_discard(struct keyasm *ka)
{
	scan_code_clear(&ka->code);
	ka->active = false;
}

/* Hands the code over and starts a new one. */
static int
keyasm_finish(struct keyasm *ka, bool by_timeout, struct scan_code *ret)
{
	bool deliver = ka->active && (ka->code.len > 0 || ka->code.overflow);

	if (deliver && by_timeout && !ka->code.overflow && ka->code.len < KEYASM_MIN_TIMEOUT_LEN)
		deliver = false;
	if (deliver)
		*ret = ka->code;
	keyasm_discard(ka);
	return deliver ? 1 : 0;
}

static bool
keyasm_is_suffix(const struct keyasm *ka, uint16_t code)
{
	switch (ka->cfg.suffix) {
	case SCANNER_SUFFIX_ENTER:
		return code == KEY_ENTER;
	case SCANNER_SUFFIX_KP_ENTER:
		return code == KEY_KPENTER;
	case SCANNER_SUFFIX_TAB:
		return code == KEY_TAB;
	case SCANNER_SUFFIX_NONE:
	case _SCANNER_SUFFIX_MAX:
		break;
	}
	return false;
}

usec_t
keyasm_deadline(const struct keyasm *ka)
{
	if (!ka->active || ka->cfg.interkey_timeout_usec == 0)
		return USEC_INFINITY;
	return ka->last_usec + ka->cfg.interkey_timeout_usec;
}

int
keyasm_timeout(struct keyasm *ka, usec_t now, struct scan_code *ret)
{
	usec_t d = keyasm_deadline(ka);

	if (d == USEC_INFINITY || now < d)
		return 0;
	return keyasm_finish(ka, true, ret);
}

int
keyasm_feed(struct keyasm *ka, uint16_t type, uint16_t code, int32_t value, usec_t t,
	    struct scan_code *ret)
{
	xkb_keycode_t kc = (xkb_keycode_t)code + EVDEV_OFFSET;
	int r = 0;

	if (type == EV_SYN) {
		if (code == SYN_DROPPED) {
			/* Events were lost: what was typed so far cannot be trusted, nor the rest
			 * of the same scan (its first keys may be what was lost). */
			keyasm_discard(ka);
			ka->dropped = true;
			ka->skipping = ka->cfg.suffix != SCANNER_SUFFIX_NONE ||
				       ka->cfg.interkey_timeout_usec > 0;
			ka->last_usec = t;
		} else if (code == SYN_REPORT) {
			ka->dropped = false;
		}
		return 0;
	}
	if (type != EV_KEY || value == 2) /* 2 = autorepeat: a scanner never means it */
		return 0;
	if (value != 0 && value != 1)
		return 0;
	if (ka->dropped) {
		/* Keep modifiers in step (libevdev's resync sends their real state), no text. */
		xkb_state_update_key(ka->state, kc, value ? XKB_KEY_DOWN : XKB_KEY_UP);
		return 0;
	}
	if (value == 0) {
		xkb_state_update_key(ka->state, kc, XKB_KEY_UP);
		return 0;
	}

	if (ka->skipping) {
		/* The torn scan ends with its suffix or a gap; a key after the gap starts anew. */
		bool gap = ka->cfg.interkey_timeout_usec > 0 &&
			   t >= ka->last_usec + ka->cfg.interkey_timeout_usec;
		if (!gap) {
			xkb_state_update_key(ka->state, kc, XKB_KEY_DOWN);
			ka->last_usec = t;
			if (keyasm_is_suffix(ka, code))
				ka->skipping = false;
			return 0;
		}
		ka->skipping = false;
	}

	/* A key after the gap belongs to a new code; the old one ends here. */
	if (ka->active && ka->cfg.interkey_timeout_usec > 0 &&
	    t >= ka->last_usec + ka->cfg.interkey_timeout_usec)
		r = keyasm_finish(ka, true, ret);

	if (keyasm_is_suffix(ka, code)) {
		xkb_state_update_key(ka->state, kc, XKB_KEY_DOWN);
		if (r > 0)
			return r; /* the suffix after a gap ends an empty code */
		return keyasm_finish(ka, false, ret);
	}

	char buf[64];
	int n = xkb_state_key_get_utf8(ka->state, kc, buf, sizeof(buf));
	xkb_state_update_key(ka->state, kc, XKB_KEY_DOWN);
	if (n > 0 && (size_t)n < sizeof(buf)) {
		ka->active = true;
		scan_code_append(&ka->code, buf, (size_t)n, ka->cfg.max_len);
		ka->last_usec = t;
	} else if (ka->active) {
		ka->last_usec = t; /* a modifier inside a code keeps it alive */
	}
	return r;
}
