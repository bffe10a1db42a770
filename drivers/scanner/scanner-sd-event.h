/* SPDX-License-Identifier: MIT */
/* Drives a scanner from an sd-event loop: its fd, its deadline, and a callback per event. */
#pragma once

#include <systemd/sd-event.h>

#include "drivers/scanner/scanner.h"

/* Called once per decoded code or state change; ev is borrowed for the call. */
typedef void (*scanner_handler_fn)(struct scanner *s, const struct scanner_event *ev,
				   void *userdata);

struct scanner_sd;

/*
 * Adds an I/O source for the scanner's fd and a timer for its deadline to event (both
 * borrowed; the scanner must outlive the attachment). Returns 0 and a new attachment, or
 * -errno from sd-event.
 */
int scanner_sd_attach(struct scanner *s, sd_event *event, scanner_handler_fn fn, void *userdata,
		      struct scanner_sd **ret);
/* Removes the sources; the scanner is left open. NULL-safe; returns NULL. */
struct scanner_sd *scanner_sd_detach(struct scanner_sd *a);
