/* SPDX-License-Identifier: MIT */
/* The display driver as a module the daemon loads only when a display is configured. */
#pragma once

#include <stddef.h>

#include "common/log.h"
#include "drivers/display/display.h"

/*
 * doc/design.md §10. The backends need cairo, pango, fontconfig, libpng and qrencode: megabytes
 * of libraries and fonts a till without a customer display would map for nothing. They are
 * built as a module, DISPLAY_MODULE_NAME, installed in the package's library folder; the daemon
 * links a small loader instead (display-load.c) whose display_set_*() functions load the module
 * on the first display_set_new() with at least one display, then call into it. The texts and
 * screen copies (screen.h) stay in the daemon: they need no library.
 */
#define DISPLAY_MODULE_NAME   "f2fpayd-display.so"
#define DISPLAY_MODULE_SYMBOL "f2fpay_display_module"

/* The module's one exported symbol: a table of the functions the daemon calls. A module from
 * another build (another size or version) is refused rather than called. */
struct display_module {
	size_t size; /* sizeof(struct display_module) */
	const char *version;
	void (*log_forward)(log_internalv_t forward);
	int (*set_new)(const char *const *specs, size_t n, struct display_set **ret);
	int (*set_attach_event)(struct display_set *set, sd_event *event);
	size_t (*set_size)(const struct display_set *set);
	struct display *(*set_get)(const struct display_set *set, size_t i);
	int (*set_show)(struct display_set *set, const struct display_screen *s);
	int (*set_retry)(struct display_set *set, uint64_t now_usec);
	uint64_t (*set_next_retry_usec)(const struct display_set *set);
	int (*set_is_up)(const struct display_set *set);
	int (*set_trim)(struct display_set *set);
	struct display_set *(*set_free)(struct display_set *set);
	int (*is_up)(const struct display *d);
	const char *(*spec)(const struct display *d);
};

typedef const struct display_module *(*display_module_get_t)(void);

/* The loader: loads the module once (from the build tree when run from there, else from
 * DISPLAY_MODULE_DIR) and checks it. 0, or -ELIBACC / -ELIBBAD with the reason logged.
 * display_set_new() calls it; `f2fpayd --check` calls it when a display is configured. */
int display_module_load(void);

/* 1 once the module is loaded (for the test that a till without a display maps none). */
int display_module_loaded(void);
