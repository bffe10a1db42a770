/* SPDX-License-Identifier: MIT */
/* The one rule for an Alipay payment code and the one way it is masked wherever it is shown. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * doc/engine.md "Payment codes". An Alipay payment code (auth_code) is 16 to 24 digits whose
 * first two are 25 to 30. Alipay warns that the length may vary, so the prefix and the digits
 * are what identify one. Everything that decides "is this a payment code" (the scanner's
 * classification, the local API, the engine, the request builder) calls paycode_is_alipay();
 * everything that shows one (journal, logs, API, event stream, echoed gateway messages) shows
 * paycode_mask()'s form: the first 2 digits (which wallet) and the last 4 (what the buyer's
 * phone shows the cashier) kept, every other digit replaced by '*'.
 *
 * The sandbox keeps its own copy of the rule on purpose: it checks the client independently.
 */

#define PAYCODE_MIN_LEN   16
#define PAYCODE_MAX_LEN   24
#define PAYCODE_KEEP_HEAD 2
#define PAYCODE_KEEP_TAIL 4

/* True when the len bytes at s are an Alipay payment code. s need not be NUL-terminated. */
bool paycode_is_alipay(const char *s, size_t len);

/* The same for a NUL-terminated string; NULL is not a code. */
bool paycode_is_alipay_str(const char *s);

/*
 * Writes the masked form of code into buf: every character replaced by '*' except the first
 * PAYCODE_KEEP_HEAD and the last PAYCODE_KEEP_TAIL. A code shorter than 8 characters is masked
 * whole; one longer than PAYCODE_MAX_LEN is cut to it first. NULL gives "".
 */
void paycode_mask(const char *code, char buf[static PAYCODE_MAX_LEN + 1]);

/* Masks, in place, every run of digits in the NUL-terminated text s that is a payment code. */
void paycode_mask_in_text(char *s);

/* Wipes n bytes that held a payment code (never optimised away). NULL-safe. */
void paycode_wipe(void *p, size_t n);
