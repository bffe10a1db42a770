/* SPDX-License-Identifier: MIT */
/* Creates and upgrades the central schema; creates the login roles of tills and offices. */
#pragma once

#include <libpq-fe.h>

/*
 * doc/central.md "Schema": brings the database c is connected to from its version to
 * CENTRAL_SCHEMA_VERSION, every missing migration in one transaction under an advisory lock (two
 * runs at once wait for each other; a failed step leaves the database as it was). Needs a role
 * that may create schemas and roles. Returns 0 and fills *ret_from / *ret_to (may be NULL);
 * -EPROTONOSUPPORT when the database is newer than this tool; -EIO on a server error. Logs.
 */
int central_migrate(PGconn *c, int *ret_from, int *ret_to);

/* The database's schema version: 0 for none; -EIO (logged) when it cannot be read. */
int central_schema_version(PGconn *c, int *ret);

enum central_role_kind {
	CENTRAL_ROLE_KIND_TILL,
	CENTRAL_ROLE_KIND_OFFICE,
};

/*
 * Creates the login role `name` (letters, digits, '_', at most 63; -EINVAL otherwise) with the
 * password (borrowed, never logged) as a member of the till or the office group role; an existing
 * role gets the password and the membership. -EIO on a server error. Logs.
 */
int central_role_add(PGconn *c, enum central_role_kind kind, const char *name,
		     const char *password);
