/* SPDX-License-Identifier: MIT */
/* libpq helpers shared by f2fpay-central and the daemon's shipper: connection parameters, errors.
 */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(PGconn *, PQfinish);
DEFINE_TRIVIAL_CLEANUP_FUNC(PGresult *, PQclear);

#define CENTRAL_PASSWORD_MAX 1024

/*
 * Reads a password file (the first line, without its newline; at most CENTRAL_PASSWORD_MAX
 * bytes). Returns 0 and a new string in *ret (wipe it with erase_and_free()), -E2BIG for a longer
 * one, -EINVAL for an empty one, another -errno when the file cannot be read. Logs failures.
 */
int central_password_read(const char *path, char **ret);

/*
 * The keyword/value arrays for PQconnectdbParams()/PQconnectStartParams() with expand_dbname = 1:
 * url (a postgresql:// URI or a conninfo string) and the password (NULL: libpq's own sources,
 * e.g. ~/.pgpass). The arrays borrow the strings.
 */
struct central_conninfo {
	const char *keys[4];
	const char *values[4];
};
void central_conninfo_init(struct central_conninfo *ci, const char *url, const char *password,
			   const char *application_name);

/* A blocking connection for the command-line tool. Logs the server's message on failure. */
int central_connect(const char *url, const char *password, PGconn **ret);

/*
 * Runs sql (blocking) and checks the result status: 0 for COMMAND_OK or TUPLES_OK (then *ret, when
 * not NULL, takes the result), -EIO otherwise, logged with what and the server's message.
 */
int central_exec(PGconn *c, const char *sql, const char *what, PGresult **ret);

/* The server's message of the last failure of c, one line (for logs and the status API). */
const char *central_error_line(PGconn *c, char *buf, size_t size);
