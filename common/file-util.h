/* SPDX-License-Identifier: MIT */
/* Files written whole under a temporary name, for a rename over the real one; ttys held
 * exclusively. */
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

/*
 * Holds the tty fd exclusively (TIOCEXCL): another open of it fails with EBUSY (root's is let
 * through, the kernel's rule), so no second program reads or writes a device a driver owns.
 * 0 or -errno.
 */
int tty_hold_exclusive(int fd);

/*
 * Closes fd (nothing for a negative one), its exclusive hold released first: the flag belongs
 * to the tty, not to the descriptor, and would refuse the next open of it while anyone else
 * still holds it open.
 */
void tty_close(int fd);
