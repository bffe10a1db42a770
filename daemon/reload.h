/* SPDX-License-Identifier: MIT */
/*
 * Reloads with fresh keys. systemd copies credentials once, when the service starts, so a key
 * rotated in /etc would otherwise only be seen after a restart. `systemctl reload` runs
 * `f2fpayd --reload` as root (ExecReload=+): it checks the new configuration and keys like
 * --check-config, opens the key files in /etc and passes them to the daemon over the control
 * socket; the daemon applies everything or nothing and answers, and the command's exit status
 * is what `systemctl reload` reports.
 */
#pragma once

#include <stddef.h>

#include "config/config.h"
#include "daemon/control.h"

/* The in-memory key copies a reloaded configuration reads from. */
struct reload_keys {
	int fds[CONTROL_MAX_KEYS];
	char names[CONTROL_MAX_KEYS][CONTROL_NAME_MAX + 1]; /* the credential each stands for */
	size_t n;
};

#define RELOAD_KEYS_INIT \
	{                \
		.n = 0   \
	}

/*
 * For every key of c configured as a credential that `keys` (borrowed) carries, copies the
 * passed file into a private in-memory file and points the key's `resolved` path at it. The
 * copies are added to *held (close them with reload_keys_close once c is no longer needed).
 * Returns 0, or -errno (logged) with nothing changed in c.
 */
int reload_keys_take(struct config *c, const struct control_key *keys, size_t n,
		     struct reload_keys *held);
void reload_keys_close(struct reload_keys *held);

/*
 * The held copies as keys to take again (a later SIGHUP must not go back to the credential
 * copies systemd made at start). Writes at most CONTROL_MAX_KEYS entries; returns the count.
 */
size_t reload_keys_as_control(const struct reload_keys *held, struct control_key *ret);

/*
 * `f2fpayd --reload`: as above, from the command line. Returns the process exit status:
 * F2FPAYD_EXIT_OK, F2FPAYD_EXIT_CONFIG (nothing sent: the configuration or the keys are wrong),
 * or F2FPAYD_EXIT_FAILURE (the daemon refused or could not be asked).
 */
int reload_request(const char *config_path);
