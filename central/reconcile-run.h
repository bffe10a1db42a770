/* SPDX-License-Identifier: MIT */
/* f2fpay-central reconcile: fetch each app_id's bill once, reconcile the store, print it. */
#pragma once

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "central/table.h"

/*
 * doc/central.md "Store-wide reconciliation". configs are till configurations (f2fpayd.conf),
 * one or more per app_id: each app_id's bill is fetched once, on an sd-event loop, and matched
 * against the database c. Prints one report per app_id to f (JSON: the report, or an array of
 * them for several app_ids; CSV: every report's rows; text: tables). Returns 0 when every
 * report is "ok", 1 when a report was made but is not (discrepancies or tills behind), or
 * -errno when a bill could not be had or the database failed (logged).
 */
int central_reconcile_run(PGconn *c, const char *date, char *const *configs, size_t n_configs,
			  enum central_format fmt, FILE *f);
