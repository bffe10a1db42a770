/* SPDX-License-Identifier: MIT */
/* The keyboard-wedge assembler: xkb decoding, Alt codes, Ctrl, lock LEDs, suffix and gaps. */
#include <errno.h>
#include <linux/input.h>
#include <stdlib.h>
#include <xkbcommon/xkbcommon.h>

#include "common/log.h"
#include "drivers/scanner/altcode.h"
#include "drivers/scanner/keyasm.h"

/* evdev keycodes are offset by 8 in xkb (the X11 convention libxkbcommon keeps). */
#define EVDEV_OFFSET 8

struct keyasm {
	struct keyasm_config cfg;
	struct xkb_context *ctx;
	struct xkb_keymap *keymap;
	struct xkb_state *state;
	xkb_mod_index_t mod_num, mod_caps, mod_ctrl, mod_alt;
	int led_num, led_caps; /* 1, 0, or -1 unknown */
	struct scan_code code;
	bool active;  /* at least one key of a code was seen */
	bool dropped; /* after SYN_DROPPED, until the next SYN_REPORT */
	bool torn;    /* the previous code was cut by a gap: this one is its rest */
	/* Alt held over keypad digits. */
	unsigned alt_digits, alt_value;
	bool alt_leading_zero, alt_other; /* a non-keypad key came while Alt was held */
	usec_t last_usec;
};

static void
keyasm_apply_leds(struct keyasm *ka)
{
	xkb_mod_mask_t locked = xkb_state_serialize_mods(ka->state, XKB_STATE_MODS_LOCKED);
	xkb_mod_mask_t depressed = xkb_state_serialize_mods(ka->state, XKB_STATE_MODS_DEPRESSED);
	xkb_mod_mask_t latched = xkb_state_serialize_mods(ka->state, XKB_STATE_MODS_LATCHED);
	xkb_layout_index_t group =
		xkb_state_serialize_layout(ka->state, XKB_STATE_LAYOUT_EFFECTIVE);
	/* Without a Num Lock LED the device cannot learn the host's state: it assumes on, as a PC
	 * has it after boot. */
	bool num = ka->led_num != 0, caps = ka->led_caps > 0;

	if (ka->mod_num != XKB_MOD_INVALID) {
		locked &= ~(UINT32_C(1) << ka->mod_num);
		if (num)
			locked |= UINT32_C(1) << ka->mod_num;
	}
	if (ka->mod_caps != XKB_MOD_INVALID) {
		locked &= ~(UINT32_C(1) << ka->mod_caps);
		if (caps)
			locked |= UINT32_C(1) << ka->mod_caps;
	}
	xkb_state_update_mask(ka->state, depressed, latched, locked, 0, 0, group);
}

static void
keyasm_state_reset(struct keyasm *ka)
{
	struct xkb_state *st = xkb_state_new(ka->keymap);

	if (!st)
		return; /* keep the old state: better than none */
	xkb_state_unref(ka->state);
	ka->state = st;
	keyasm_apply_leds(ka);
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
	ka->led_num = ka->led_caps = -1;
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
	ka->mod_num = xkb_keymap_mod_get_index(ka->keymap, XKB_MOD_NAME_NUM);
	ka->mod_caps = xkb_keymap_mod_get_index(ka->keymap, XKB_MOD_NAME_CAPS);
	ka->mod_ctrl = xkb_keymap_mod_get_index(ka->keymap, XKB_MOD_NAME_CTRL);
	ka->mod_alt = xkb_keymap_mod_get_index(ka->keymap, XKB_MOD_NAME_ALT);
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

static void
keyasm_alt_clear(struct keyasm *ka)
{
	ka->alt_digits = ka->alt_value = 0;
	ka->alt_leading_zero = ka->alt_other = false;
}

void
keyasm_reset(struct keyasm *ka)
{
	scan_code_clear(&ka->code);
	ka->active = false;
	ka->dropped = false;
	ka->torn = false;
	keyasm_alt_clear(ka);
	keyasm_state_reset(ka);
}

void
keyasm_set_leds(struct keyasm *ka, int num, int caps)
{
	ka->led_num = num < 0 ? -1 : num > 0;
	ka->led_caps = caps < 0 ? -1 : caps > 0;
	keyasm_apply_leds(ka);
}

static void
keyasm_discard(struct keyasm *ka)
{
	scan_code_clear(&ka->code);
	ka->active = false;
	keyasm_alt_clear(ka);
}

/* Hands the code over and starts a new one. */
static int
keyasm_finish(struct keyasm *ka, bool by_timeout, struct scan_code *ret)
{
	bool deliver = ka->active && (ka->code.len > 0 || ka->code.overflow || ka->code.reject);
	bool suffixed = ka->cfg.suffix != SCANNER_SUFFIX_NONE;

	if (deliver && by_timeout && suffixed) {
		/* A scan is sent whole, suffix included: a gap before the suffix means the
		 * scan was cut, and what follows is its rest. Neither is a code. */
		scan_code_refuse(&ka->code, "a gap before the suffix key (a torn scan)");
		ka->torn = true;
	} else if (!by_timeout)
		ka->torn = false;
	if (deliver && by_timeout && !suffixed && !ka->code.overflow && !ka->code.reject &&
	    ka->code.len < KEYASM_MIN_TIMEOUT_LEN)
		deliver = false;
	if (deliver && ka->alt_digits > 0)
		scan_code_refuse(&ka->code, "an Alt code left unfinished");
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

/* The control character that stands for the suffix when typed as Ctrl+letter or an Alt code. */
static bool
keyasm_is_suffix_char(const struct keyasm *ka, uint32_t cp)
{
	switch (ka->cfg.suffix) {
	case SCANNER_SUFFIX_ENTER:
	case SCANNER_SUFFIX_KP_ENTER:
		return cp == '\r';
	case SCANNER_SUFFIX_TAB:
		return cp == '\t';
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

/* Starts a code on its first key: the rest of a torn scan is refused from the start. */
static void
keyasm_begin(struct keyasm *ka)
{
	if (ka->active)
		return;
	ka->active = true;
	if (ka->torn)
		scan_code_refuse(&ka->code, "the rest of a scan torn by a gap");
}

/* Appends one character (or ends the code when it is the suffix's control character). */
static int
keyasm_char(struct keyasm *ka, uint32_t cp, struct scan_code *ret)
{
	char buf[4];

	if (keyasm_is_suffix_char(ka, cp))
		return keyasm_finish(ka, false, ret);
	keyasm_begin(ka);
	scan_code_append(&ka->code, buf, utf8_encode(cp, buf), ka->cfg.max_len);
	return 0;
}

static bool
keysym_is_modifier(xkb_keysym_t ks)
{
	return (ks >= XKB_KEY_Shift_L && ks <= XKB_KEY_Hyper_R) ||
	       (ks >= XKB_KEY_ISO_Lock && ks <= XKB_KEY_ISO_Last_Group_Lock) ||
	       ks == XKB_KEY_Num_Lock || ks == XKB_KEY_Scroll_Lock || ks == XKB_KEY_Mode_switch ||
	       ks == XKB_KEY_Multi_key;
}

static bool
mod_active(const struct keyasm *ka, xkb_mod_index_t m)
{
	return m != XKB_MOD_INVALID &&
	       xkb_state_mod_index_is_active(ka->state, m, XKB_STATE_MODS_EFFECTIVE) > 0;
}

/* The keypad digit a key is, whatever the Num Lock state, or -1. */
static int
keypad_digit(uint16_t code)
{
	static const uint16_t kp[10] = {KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
					KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9};
	for (int i = 0; i < 10; i++)
		if (kp[i] == code)
			return i;
	return -1;
}

/* Alt released: the keypad digits typed under it become one character. */
static int
keyasm_alt_end(struct keyasm *ka, struct scan_code *ret)
{
	uint32_t cp;
	int r = 0;

	if (ka->alt_digits == 0)
		return 0;
	if (ka->alt_other)
		scan_code_refuse(&ka->code, "another key inside an Alt code");
	else if (ka->alt_digits > ALTCODE_DIGITS_MAX ||
		 altcode_to_unicode(ka->alt_value, ka->alt_leading_zero, &cp) < 0)
		scan_code_refuse(&ka->code, "an Alt code outside the code page");
	else {
		keyasm_alt_clear(ka);
		return keyasm_char(ka, cp, ret);
	}
	keyasm_alt_clear(ka);
	return r;
}

/* Ctrl with a key: the ASCII control character, or -1 when the key has none. */
static int
keyasm_ctrl_char(struct keyasm *ka, xkb_keycode_t kc)
{
	xkb_keysym_t ks = xkb_keysym_to_lower(xkb_state_key_get_one_sym(ka->state, kc));

	if (ks >= XKB_KEY_a && ks <= XKB_KEY_z)
		return (int)(ks - XKB_KEY_a + 1);
	switch (ks) {
	case XKB_KEY_at:
		return 0;
	case XKB_KEY_bracketleft:
		return 0x1B;
	case XKB_KEY_backslash:
		return 0x1C;
	case XKB_KEY_bracketright:
		return 0x1D;
	case XKB_KEY_asciicircum:
		return 0x1E;
	case XKB_KEY_underscore:
		return 0x1F;
	default:
		return -1;
	}
}

/* A key press inside or at the start of a code (not the suffix key). */
static int
keyasm_press(struct keyasm *ka, uint16_t code, xkb_keycode_t kc, struct scan_code *ret)
{
	xkb_keysym_t ks = xkb_state_key_get_one_sym(ka->state, kc);
	bool alt = mod_active(ka, ka->mod_alt) &&
		   xkb_state_mod_index_is_consumed(ka->state, kc, ka->mod_alt) <= 0;
	bool ctrl = mod_active(ka, ka->mod_ctrl) &&
		    xkb_state_mod_index_is_consumed(ka->state, kc, ka->mod_ctrl) <= 0;
	char buf[64];
	int n, d;

	if (keysym_is_modifier(ks))
		return 0; /* its state change is applied by the caller */
	if (alt && !ctrl) {
		d = keypad_digit(code);
		keyasm_begin(ka);
		if (d < 0) {
			/* Alt with anything but the keypad digits is a shortcut, not text. */
			ka->alt_other = true;
			scan_code_refuse(&ka->code, "Alt with a key other than a keypad digit");
			return 0;
		}
		if (ka->alt_digits == 0)
			ka->alt_leading_zero = d == 0;
		if (ka->alt_digits < 8)
			ka->alt_value = ka->alt_value * 10 + (unsigned)d;
		ka->alt_digits++;
		return 0;
	}
	if (ctrl) {
		int c = alt ? -1 : keyasm_ctrl_char(ka, kc);
		if (c < 0) {
			keyasm_begin(ka);
			scan_code_refuse(&ka->code,
					 "Ctrl with a key that has no control character");
			return 0;
		}
		return keyasm_char(ka, (uint32_t)c, ret);
	}
	n = xkb_state_key_get_utf8(ka->state, kc, buf, sizeof(buf));
	keyasm_begin(ka);
	if (n <= 0 || (size_t)n >= sizeof(buf)) {
		/* An arrow, a function key, a keypad key with Num Lock off: dropping it would
		 * deliver a different code. */
		scan_code_refuse(&ka->code, keypad_digit(code) >= 0 || code == KEY_KPDOT
						    ? "a keypad key with Num Lock off"
						    : "a key that types no character");
		return 0;
	}
	scan_code_append(&ka->code, buf, (size_t)n, ka->cfg.max_len);
	return 0;
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
			ka->active = true;
			scan_code_refuse(&ka->code, "key events were lost (SYN_DROPPED)");
			ka->last_usec = t;
		} else if (code == SYN_REPORT) {
			ka->dropped = false;
		}
		return 0;
	}
	if (type == EV_LED) {
		if (code == LED_NUML)
			keyasm_set_leds(ka, value != 0, ka->led_caps);
		else if (code == LED_CAPSL)
			keyasm_set_leds(ka, ka->led_num, value != 0);
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

	/* A key after the gap belongs to a new code; the old one ends here. */
	if (ka->active && ka->cfg.interkey_timeout_usec > 0 &&
	    t >= ka->last_usec + ka->cfg.interkey_timeout_usec) {
		r = keyasm_finish(ka, true, ret);
		if (r > 0 && value == 1 && keyasm_is_suffix(ka, code)) {
			xkb_state_update_key(ka->state, kc, XKB_KEY_DOWN);
			/* The suffix of the torn scan: the rest is empty, the tear is over. */
			ka->torn = false;
			return r;
		}
	}
	if (ka->active)
		ka->last_usec = t;

	if (value == 0) {
		bool was_alt = mod_active(ka, ka->mod_alt);
		xkb_state_update_key(ka->state, kc, XKB_KEY_UP);
		if (was_alt && !mod_active(ka, ka->mod_alt) && r == 0)
			return keyasm_alt_end(ka, ret);
		return r;
	}

	if (keyasm_is_suffix(ka, code) && ka->alt_digits == 0) {
		xkb_state_update_key(ka->state, kc, XKB_KEY_DOWN);
		if (r > 0) {
			ka->torn = false;
			return r; /* the suffix after a gap ends the torn scan's empty rest */
		}
		return keyasm_finish(ka, false, ret);
	}
	if (r == 0) {
		r = keyasm_press(ka, code, kc, ret);
		if (ka->active)
			ka->last_usec = t;
	} else {
		/* The key that came after the gap starts the next code: its time counts. */
		(void)keyasm_press(ka, code, kc, &(struct scan_code){0});
		if (ka->active)
			ka->last_usec = t;
	}
	xkb_state_update_key(ka->state, kc, XKB_KEY_DOWN);
	return r;
}
