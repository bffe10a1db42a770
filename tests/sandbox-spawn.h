/* SPDX-License-Identifier: MIT */
/* Starts f2fpay-sandbox as a child of a test and reads the address it listens on. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Starts `bin` on an ephemeral loopback port with the test keys of keys_dir
 * (app-public.pem, alipay-private.pem) plus `extra` arguments (NULL-terminated, may be NULL),
 * and writes "http[s]://127.0.0.1:PORT" into url. The child gets SIGTERM if the test dies.
 * Aborts the test on failure; returns the child's pid.
 */
pid_t sandbox_spawn(const char *bin, const char *keys_dir, const char *const *extra, char *url,
		    size_t url_size);
