/* SPDX-License-Identifier: MIT */
/* Prints a query's rows as a text table, CSV or JSON, the way f2fpayctl prints its lists. */
#pragma once

#include <libpq-fe.h>
#include <stdio.h>

enum central_format {
	CENTRAL_FORMAT_TEXT, /* aligned columns under upper-case headers, "-" for NULL */
	CENTRAL_FORMAT_CSV,  /* a header line, quoted cells where needed, "" for NULL */
	CENTRAL_FORMAT_JSON, /* an array of objects; integers as numbers, NULL as null */
	_CENTRAL_FORMAT_MAX,
};

/* Writes res (borrowed; a TUPLES_OK result) to f. 0, or -errno when writing fails. */
int central_table_print(const PGresult *res, enum central_format fmt, FILE *f);

/* Writes one CSV cell: quoted (with '"' doubled) when it holds a comma, a quote or a newline. */
void central_csv_cell(const char *s, FILE *f);
