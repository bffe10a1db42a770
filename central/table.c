/* SPDX-License-Identifier: MIT */
/* Prints a query's rows as a text table, CSV or JSON (doc/central.md "Back office"). */
#include "central/table.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"

/* The type OIDs of PostgreSQL's integers (pg_type.h, fixed since forever). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

static bool
is_integer(const PGresult *res, int col)
{
	Oid t = PQftype(res, col);
	return t == OID_INT8 || t == OID_INT2 || t == OID_INT4;
}

static int
print_text(const PGresult *res, FILE *f)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	_cleanup_free_ size_t *width = calloc((size_t)cols + 1, sizeof(*width));

	if (!width)
		return -ENOMEM;
	for (int c = 0; c < cols; c++) {
		width[c] = strlen(PQfname(res, c));
		for (int r = 0; r < rows; r++)
			width[c] = MAX(width[c],
				       PQgetisnull(res, r, c) ? 1 : (size_t)PQgetlength(res, r, c));
	}
	for (int c = 0; c < cols; c++) {
		const char *name = PQfname(res, c);
		for (const char *p = name; *p; p++)
			fputc(toupper((unsigned char)*p), f);
		if (c + 1 < cols)
			fprintf(f, "%*s", (int)(width[c] - strlen(name) + 2), "");
	}
	fputc('\n', f);
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			const char *v = PQgetisnull(res, r, c) ? "-" : PQgetvalue(res, r, c);
			if (c + 1 < cols)
				fprintf(f, "%-*s  ", (int)width[c], v);
			else
				fputs(v, f);
		}
		fputc('\n', f);
	}
	return 0;
}

void
central_csv_cell(const char *s, FILE *f)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int
print_csv(const PGresult *res, FILE *f)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	for (int c = 0; c < cols; c++) {
		if (c)
			fputc(',', f);
		central_csv_cell(PQfname(res, c), f);
	}
	fputc('\n', f);
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			if (c)
				fputc(',', f);
			if (!PQgetisnull(res, r, c))
				central_csv_cell(PQgetvalue(res, r, c), f);
		}
		fputc('\n', f);
	}
	return 0;
}

static int
print_json(const PGresult *res, FILE *f)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return -ENOMEM;
	for (int r = 0; r < rows; r++) {
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			json_object_put(arr);
			return -ENOMEM;
		}
		for (int c = 0; c < cols; c++) {
			struct json_object *v = NULL;
			if (PQgetisnull(res, r, c))
				v = NULL;
			else if (is_integer(res, c))
				v = json_object_new_int64(strtoll(PQgetvalue(res, r, c), NULL, 10));
			else
				v = json_object_new_string(PQgetvalue(res, r, c));
			json_object_object_add(o, PQfname(res, c), v);
		}
	}
	fprintf(f, "%s\n",
		json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

int
central_table_print(const PGresult *res, enum central_format fmt, FILE *f)
{
	int r = -EINVAL;

	switch (fmt) {
	case CENTRAL_FORMAT_TEXT:
		r = print_text(res, f);
		break;
	case CENTRAL_FORMAT_CSV:
		r = print_csv(res, f);
		break;
	case CENTRAL_FORMAT_JSON:
		r = print_json(res, f);
		break;
	case _CENTRAL_FORMAT_MAX:
		break;
	}
	if (r < 0)
		return r;
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
