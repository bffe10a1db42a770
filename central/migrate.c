/* SPDX-License-Identifier: MIT */
/* Creates and upgrades the central schema; creates the login roles of tills and offices. */
#include "central/migrate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/pg.h"
#include "central/schema.h"
#include "common/log.h"

/* One number for every f2fpay-central migrate run: pg_advisory_xact_lock(key). */
#define MIGRATE_LOCK_KEY "4621504600000001"

static const char bootstrap_sql[] = "CREATE SCHEMA IF NOT EXISTS f2fpay;"
				    "CREATE TABLE IF NOT EXISTS f2fpay.schema_version ("
				    " version integer PRIMARY KEY,"
				    " summary text NOT NULL,"
				    " applied_at timestamptz NOT NULL DEFAULT now());";

int
central_schema_version(PGconn *c, int *ret)
{
	_cleanup_(PQclearp) PGresult *res = NULL;
	char *end;
	long v;
	int r;

	r = central_exec(c,
			 "SELECT CASE WHEN to_regclass('f2fpay.schema_version') IS NULL THEN 0"
			 " ELSE (SELECT coalesce(max(version), 0) FROM f2fpay.schema_version) END",
			 "Reading the schema version", &res);
	if (r < 0)
		return r;
	v = strtol(PQgetvalue(res, 0, 0), &end, 10);
	if (*end || v < 0 || v > INT_MAX)
		return log_error_errno(EIO, "The schema version is not a number");
	*ret = (int)v;
	return 0;
}

static int
migrate_step(PGconn *c, const struct central_migration *m)
{
	const char *params[2];
	char version[16];
	_cleanup_(PQclearp) PGresult *res = NULL;
	char what[64];
	char err[512];
	int r;

	snprintf(what, sizeof(what), "Migration %d", m->version);
	r = central_exec(c, m->sql, what, NULL);
	if (r < 0)
		return r;
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->summary;
	res = PQexecParams(c,
			   "INSERT INTO f2fpay.schema_version (version, summary) VALUES ($1, $2)",
			   2, NULL, params, NULL, NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		return log_error_errno(EIO, "Recording migration %d failed: %s", m->version,
				       central_error_line(c, err, sizeof(err)));
	log_info("Applied migration %d: %s", m->version, m->summary);
	return 0;
}

static int
migrate_in_transaction(PGconn *c, int *ret_from)
{
	const struct central_migration *ms;
	size_t n;
	int from, r;

	r = central_exec(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
			 "Taking the migration lock", NULL);
	if (r < 0)
		return r;
	r = central_exec(c, bootstrap_sql, "Creating the schema", NULL);
	if (r < 0)
		return r;
	r = central_schema_version(c, &from);
	if (r < 0)
		return r;
	if (from > CENTRAL_SCHEMA_VERSION)
		return log_error_errno(
			EPROTONOSUPPORT,
			"The central database has schema version %d, newer than this "
			"f2fpay-central (%d): upgrade f2fpay-central first",
			from, CENTRAL_SCHEMA_VERSION);
	ms = central_migrations(&n);
	for (size_t i = 0; i < n; i++) {
		if (ms[i].version <= from)
			continue;
		r = migrate_step(c, &ms[i]);
		if (r < 0)
			return r;
	}
	*ret_from = from;
	return 0;
}

int
central_migrate(PGconn *c, int *ret_from, int *ret_to)
{
	int from = 0, r;

	r = central_exec(c, "BEGIN", "Starting the migration", NULL);
	if (r < 0)
		return r;
	r = migrate_in_transaction(c, &from);
	if (r < 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		return r;
	}
	r = central_exec(c, "COMMIT", "Committing the migration", NULL);
	if (r < 0)
		return r;
	if (from == CENTRAL_SCHEMA_VERSION)
		log_info("The central schema is up to date (version %d)", from);
	if (ret_from)
		*ret_from = from;
	if (ret_to)
		*ret_to = CENTRAL_SCHEMA_VERSION;
	return 0;
}

static bool
role_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63)
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return !(name[0] >= '0' && name[0] <= '9');
}

int
central_role_add(PGconn *c, enum central_role_kind kind, const char *name, const char *password)
{
	const char *group =
		kind == CENTRAL_ROLE_KIND_TILL ? CENTRAL_ROLE_TILL : CENTRAL_ROLE_OFFICE;
	_cleanup_(PQclearp) PGresult *res = NULL;
	const char *params[1] = {name};
	char *enc, *lit;
	char *sql = NULL;
	char what[128];
	int r;

	if (!role_name_valid(name))
		return log_error_errno(
			EINVAL,
			"A role name is 1-63 lower-case letters, digits and '_', not "
			"starting with a digit: %s",
			name);
	res = PQexecParams(c, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, NULL, params, NULL,
			   NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		return log_error_errno(EIO, "Looking up role %s failed", name);
	/* The server gets the SCRAM verifier, never the password (nor its logs, on an error). */
	enc = PQencryptPasswordConn(c, password, name, NULL);
	if (!enc)
		return log_error_errno(EIO, "Cannot encrypt the password of %s", name);
	lit = PQescapeLiteral(c, enc, strlen(enc));
	PQfreemem(enc);
	if (!lit)
		return log_error_errno(ENOMEM, "Out of memory");
	/* The name was checked above: letters, digits and '_' need no quoting. */
	r = asprintf(&sql, "%s ROLE %s LOGIN PASSWORD %s; GRANT %s TO %s;",
		     PQntuples(res) > 0 ? "ALTER" : "CREATE", name, lit, group, name);
	explicit_bzero(lit, strlen(lit));
	PQfreemem(lit);
	if (r < 0)
		return log_error_errno(ENOMEM, "Out of memory");
	snprintf(what, sizeof(what), "Creating role %s", name);
	r = central_exec(c, sql, what, NULL);
	erase_and_free(sql);
	if (r < 0)
		return r;
	log_info("Role %s is a %s login", name, group);
	return 0;
}
