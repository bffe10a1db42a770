/* SPDX-License-Identifier: MIT */
/* f2fpay-central: the central database's own tool — schema, roles, and the store's view. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/migrate.h"
#include "central/pg.h"
#include "central/schema.h"
#include "common/log.h"

/* doc/f2fpay-central.1: exit statuses. */
enum {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

struct args {
	const char *url;
	const char *password_file;
	const char *role_password_file;
	int argc;
	char **argv;
};

static void
usage(FILE *f)
{
	fprintf(f, "Usage: f2fpay-central [--url URL] [--password-file FILE] COMMAND [ARGS]\n\n"
		   "Commands:\n"
		   "  migrate                          create or upgrade the schema\n"
		   "  add-role till|office NAME --role-password-file FILE\n"
		   "                                   a login role for a till or the back office\n"
		   "  version                          the schema version of the database\n\n"
		   "Options:\n"
		   "  --url URL                postgresql://… (default: $F2FPAY_CENTRAL_URL)\n"
		   "  --password-file FILE     this tool's password (default: libpq's, e.g. "
		   "~/.pgpass)\n"
		   "  --role-password-file F   add-role: the new role's password\n\n"
		   "Exit status: 0 done, 1 failed, 2 usage, 3 database unreachable.\n");
}

static int
connect_db(const struct args *a, PGconn **ret)
{
	_cleanup_erase_ char *pw = NULL;
	const char *url = a->url ? a->url : getenv("F2FPAY_CENTRAL_URL");

	if (!url) {
		log_error("No database: give --url or set $F2FPAY_CENTRAL_URL");
		return -EINVAL;
	}
	if (a->password_file && central_password_read(a->password_file, &pw) < 0)
		return -EINVAL;
	return central_connect(url, pw, ret);
}

static int
cmd_migrate(const struct args *a)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	int from, to;

	if (a->argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	if (central_migrate(c, &from, &to) < 0)
		return EXIT_FAILED;
	printf("schema version %d (was %d)\n", to, from);
	return EXIT_DONE;
}

static int
cmd_version(const struct args *a)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	int v;

	if (a->argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	if (central_schema_version(c, &v) < 0)
		return EXIT_FAILED;
	printf("%d\n", v);
	return EXIT_DONE;
}

static int
cmd_add_role(const struct args *a)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	_cleanup_erase_ char *pw = NULL;
	enum central_role_kind kind;

	if (a->argc != 3 || !a->role_password_file) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (STR_EQ(a->argv[1], "till"))
		kind = CENTRAL_ROLE_KIND_TILL;
	else if (STR_EQ(a->argv[1], "office"))
		kind = CENTRAL_ROLE_KIND_OFFICE;
	else {
		log_error("add-role: the kind is till or office, not %s", a->argv[1]);
		return EXIT_USAGE;
	}
	if (central_password_read(a->role_password_file, &pw) < 0)
		return EXIT_FAILED;
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	if (central_role_add(c, kind, a->argv[2], pw) < 0)
		return EXIT_FAILED;
	return EXIT_DONE;
}

int
main(int argc, char **argv)
{
	enum {
		ARG_URL = 0x100,
		ARG_PASSWORD_FILE,
		ARG_ROLE_PASSWORD_FILE
	};
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"url", required_argument, NULL, ARG_URL},
		{"password-file", required_argument, NULL, ARG_PASSWORD_FILE},
		{"role-password-file", required_argument, NULL, ARG_ROLE_PASSWORD_FILE},
		{},
	};
	struct args a = {};
	int c;

	log_set_prefix(0);
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_DONE;
		case ARG_URL:
			a.url = optarg;
			break;
		case ARG_PASSWORD_FILE:
			a.password_file = optarg;
			break;
		case ARG_ROLE_PASSWORD_FILE:
			a.role_password_file = optarg;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	a.argc = argc - optind;
	a.argv = argv + optind;
	if (a.argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (STR_EQ(a.argv[0], "migrate"))
		return cmd_migrate(&a);
	if (STR_EQ(a.argv[0], "add-role"))
		return cmd_add_role(&a);
	if (STR_EQ(a.argv[0], "version"))
		return cmd_version(&a);
	log_error("Unknown command %s", a.argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
