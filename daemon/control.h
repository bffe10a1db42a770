/* SPDX-License-Identifier: MIT */
/*
 * The control socket: how `f2fpayd --reload` (run as root by `systemctl reload`) hands the
 * daemon fresh key files and waits for its verdict. The socket is the daemon's own (mode 0600),
 * next to the API socket; root and the daemon's user can connect, nobody else.
 *
 * One request per connection (SOCK_SEQPACKET): "RELOAD\n" then one "key NAME\n" line per
 * file descriptor passed with it (SCM_RIGHTS), NAME being the credential name the file stands
 * for. One answer: "OK text" or "FAIL text".
 */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"

#define CONTROL_MAX_KEYS  8
#define CONTROL_NAME_MAX  64
#define CONTROL_REPLY_MAX 1024

struct control_key {
	char name[CONTROL_NAME_MAX + 1];
	int fd; /* borrowed by the handler for the call; closed afterwards */
};

/*
 * Runs one reload with the keys passed (n may be 0). Writes a one-line verdict into msg and
 * returns 0 for success or -errno for a refused reload (nothing applied).
 */
typedef int (*control_reload_fn)(void *userdata, const struct control_key *keys, size_t n,
				 char *msg, size_t msg_size);

struct control;

/*
 * Parses a request (NUL-terminated, modified in place): "RELOAD\n", then exactly n_fds lines
 * "key NAME\n" naming keys[0..n_fds) in order (NAME: letters, digits, '_', '-', '.', at most
 * CONTROL_NAME_MAX). Returns 0 or -EBADMSG.
 */
int control_parse_request(char *req, struct control_key *keys, size_t n_fds);

/*
 * Listens on `path` (borrowed; a stale socket there is replaced) from the loop `event`.
 * Connections from users other than root and the daemon's own are refused.
 */
int control_new(sd_event *event, const char *path, control_reload_fn fn, void *userdata,
		struct control **ret);
/* Stops listening and removes the socket. NULL-safe; returns NULL. */
struct control *control_free(struct control *c);

/* The control socket that belongs with an API socket path: "DIR/control.sock". New string. */
char *control_path_for(const char *api_socket);

/*
 * Client side: sends a reload with `n` keys (names and fds borrowed) to `path` and waits at most
 * timeout_usec for the answer, written into reply (NUL-terminated). Returns 0 when the daemon
 * answered OK, -EBADE when it refused (reply says why), or -errno when it could not be asked.
 */
int control_reload(const char *path, const char *const *names, const int *fds, size_t n,
		   usec_t timeout_usec, char *reply, size_t reply_size);
