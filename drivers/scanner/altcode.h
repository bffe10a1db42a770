/* SPDX-License-Identifier: MIT */
/* Alt+keypad character codes ("Alt mode" of keyboard-wedge scanners). Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest number of keypad digits in one Alt code ("0255"). */
#define ALTCODE_DIGITS_MAX 4

/*
 * The code point of Alt+`value` on the keypad: without a leading 0 through CP437 (the OEM code
 * page), with one through Windows-1252 (the ANSI code page); below 128 both are ASCII.
 * -EINVAL for 0, values above 255 and values the code page leaves undefined.
 */
int altcode_to_unicode(unsigned value, bool leading_zero, uint32_t *ret);
/* Writes cp (≤ 0x10FFFF) as UTF-8; returns the number of bytes. */
size_t utf8_encode(uint32_t cp, char out[static 4]);
