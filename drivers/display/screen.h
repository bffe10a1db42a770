/* SPDX-License-Identifier: MIT */
/* The screens' texts, reasons and string hygiene: plain C without a graphics library, so the
 * daemon links them itself while the backends stay in the display module. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/display/display.h"

/* The fixed bilingual labels of a screen kind (static strings; subtitle may be NULL). */
struct display_labels {
	const char *title_zh;
	const char *title_en;
	const char *sub_zh;
	const char *sub_en;
};
void display_labels_get(enum display_screen_kind k, struct display_labels *ret);
/*
 * Keeps the texts of one language: for Chinese only the English ones become NULL; for English
 * only the English ones move into the first place and the second becomes NULL. *first and
 * *second are a Chinese/English pair (a title, a subtitle, a reason).
 */
void display_language_pick(enum display_language lang, const char **first, const char **second);

/*
 * Copies untrusted text into a displayable string: invalid UTF-8 becomes U+FFFD, control
 * characters become spaces, bidi embedding/override/isolate controls are dropped (so a string
 * cannot reorder the text around it), and the result is cut at a character boundary to at most
 * max_bytes of content followed by "…" when anything was cut. Returns 1 if truncated, 0 if not,
 * -ENOMEM. *ret is new (never NULL on success). s may be NULL (gives "").
 */
int display_text_sanitize(const char *s, size_t max_bytes, char **ret);

/* The whole reason table (static), for the test that checks it is sorted. Returns the count. */
size_t display_reason_table(const struct display_reason **ret);

/* "¥88.88" into buf (DISPLAY_AMOUNT_BUF bytes); "" for amounts <= 0. Returns buf. */
#define DISPLAY_AMOUNT_BUF 32
char *display_amount_format(int64_t fen, char buf[static DISPLAY_AMOUNT_BUF]);

/* "1:59" into buf; seconds clamped to 0..5999. Returns buf. */
#define DISPLAY_COUNTDOWN_BUF 16
char *display_countdown_format(int seconds, char buf[static DISPLAY_COUNTDOWN_BUF]);

/* Whether two screens show the same: every field equal, strings by content (NULL = NULL). */
bool display_screen_equal(const struct display_screen *a, const struct display_screen *b);
