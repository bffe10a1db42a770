/* SPDX-License-Identifier: MIT */
/* Reads a bill zip back for the tests: entry names (raw bytes) and GBK contents as UTF-8. */
#pragma once

#include <stddef.h>

struct zip_entry {
	char *name_raw;  /* the name's bytes as stored (GBK) */
	char *name_utf8; /* decoded */
	char *text_utf8; /* contents decoded from GBK */
};

/* Returns the number of entries (≤ max) or -1 if the zip does not read. */
int zip_read_entries(const void *zip, size_t len, struct zip_entry *ret, int max);
void zip_entries_free(struct zip_entry *e, int n);
