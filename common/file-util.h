/* SPDX-License-Identifier: MIT */
/* Files written whole under a temporary name, for a rename over the real one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Creates a file from tmpl (a path ending in "XXXXXX", which mkostemp(3) replaces in place),
 * writes the len bytes at data into it, gives it mode and, with sync, fsyncs it. 0, or -errno
 * with nothing left behind. The caller renames tmpl over the real path (rename(2) is atomic: a
 * reader sees the old file or the new one) or unlinks it.
 */
int file_write_temp(char *tmpl, const void *data, size_t len, mode_t mode, bool sync);
