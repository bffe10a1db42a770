/* SPDX-License-Identifier: MIT */
/* The central PostgreSQL schema: its numbered migrations and the roles tills and offices use. */
#pragma once

#include <stddef.h>

/*
 * doc/central.md "Schema". Everything lives in the schema "f2fpay"; f2fpay.schema_version holds
 * one row per migration applied. Migrations only ever get appended: step n of this list is what
 * version n of the database means, in every release.
 */
#define CENTRAL_SCHEMA_VERSION 2

/* The group roles the schema grants to (cluster-wide names, NOLOGIN). */
#define CENTRAL_ROLE_TILL   "f2fpay_till"
#define CENTRAL_ROLE_OFFICE "f2fpay_office"

struct central_migration {
	int version;
	const char *summary;
	const char *sql; /* one or more statements, run inside the migration's transaction */
};

/* The migrations, oldest first; *ret_n is set to their number. Returned array is static. */
const struct central_migration *central_migrations(size_t *ret_n);
