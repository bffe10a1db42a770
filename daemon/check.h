/* SPDX-License-Identifier: MIT */
/* The checks the service and --check-config share: keys, devices, and the exit statuses. */
#pragma once

#include "config/config.h"

/*
 * f2fpayd's exit statuses (f2fpayd(8), EXIT STATUS). f2fpayd.service restarts on a runtime
 * failure and not on a configuration error (RestartPreventExitStatus=): restarting cannot mend
 * a configuration, and a unit in "failed" tells the operator to look.
 */
#define F2FPAYD_EXIT_OK      0
#define F2FPAYD_EXIT_FAILURE 1  /* a runtime failure (journal, sockets, ...) */
#define F2FPAYD_EXIT_USAGE   2  /* bad command line */
#define F2FPAYD_EXIT_CONFIG  78 /* the configuration or the keys are wrong (EX_CONFIG) */

/*
 * Loads every key and certificate c names and checks them together: each file holds what it
 * should, the app certificate belongs to the private key, the Alipay public key is not the app's
 * own. Each problem is logged naming the file the operator manages (the origin in /etc, not a
 * credential copy) and what to put there. Returns 0, or -EINVAL/-EKEYREJECTED/-errno.
 */
int check_keys(const struct config *c);

enum check_devices_flags {
	CHECK_SCANNERS = 1 << 0, /* look for each configured scanner (the running daemon's
				  * drivers report their own state) */
	CHECK_DISPLAY = 1 << 1,  /* the display's target can be written */
};

/*
 * Looks for each configured scanner without opening it, and checks that the display's target
 * can be written, as flags say. Problems are logged as warnings saying what to do (a missing
 * device is a state the daemon lives with, not an error). Returns the number of problems.
 */
unsigned check_devices(const struct config *c, unsigned flags);
