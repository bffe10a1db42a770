/* SPDX-License-Identifier: MIT */
/* f2fpay-central: the central database's own tool — schema, roles, and the store's view. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/migrate.h"
#include "central/reconcile-run.h"
#include "central/pg.h"
#include "central/schema.h"
#include "central/view.h"
#include "common/log.h"

/* doc/f2fpay-central.1: exit statuses. */
enum {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_NOT_OK = 4,
};

struct args {
	const char *url;
	const char *password_file;
	const char *role_password_file;
	enum central_format format;
	struct central_order_filter filter;
	char *configs[64];
	size_t n_configs;
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
		   "  version                          the schema version of the database\n"
		   "  reservations [--state S] [--terminal T]\n"
		   "                                   refund reservations of refunds at any till\n"
		   "  release REFUND_ID                delete a reservation nothing will settle\n\n"
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

static int
cmd_view(const struct args *a, bool orders)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	int r;

	if (a->argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!orders && (a->filter.date || a->filter.state || a->filter.terminal)) {
		log_error("status takes no --date, --state or --terminal");
		return EXIT_USAGE;
	}
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	r = orders ? central_view_orders(c, &a->filter, a->format, stdout)
		   : central_view_status(c, a->format, stdout);
	if (r == -EINVAL)
		return EXIT_USAGE;
	return r < 0 ? EXIT_FAILED : EXIT_DONE;
}

static int
cmd_reservations(const struct args *a)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	int r;

	if (a->argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	r = central_view_reservations(c, &a->filter, a->format, stdout);
	if (r == -EINVAL)
		return EXIT_USAGE;
	return r < 0 ? EXIT_FAILED : EXIT_DONE;
}

static int
cmd_release(const struct args *a)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;

	if (a->argc != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	return central_reservation_release(c, a->argv[1]) < 0 ? EXIT_FAILED : EXIT_DONE;
}

static int
cmd_reconcile(const struct args *a)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	int r;

	if (a->argc != 2 || a->n_configs == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (connect_db(a, &c) < 0)
		return EXIT_UNREACHABLE;
	r = central_reconcile_run(c, a->argv[1], a->configs, a->n_configs, a->format, stdout);
	if (r == -EINVAL)
		return EXIT_USAGE;
	return r < 0 ? EXIT_FAILED : r > 0 ? EXIT_NOT_OK : EXIT_DONE;
}

int
main(int argc, char **argv)
{
	enum {
		ARG_URL = 0x100,
		ARG_PASSWORD_FILE,
		ARG_ROLE_PASSWORD_FILE,
		ARG_JSON,
		ARG_CSV,
		ARG_DATE,
		ARG_STATE,
		ARG_TERMINAL,
		ARG_CONFIG,
	};
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"url", required_argument, NULL, ARG_URL},
		{"password-file", required_argument, NULL, ARG_PASSWORD_FILE},
		{"role-password-file", required_argument, NULL, ARG_ROLE_PASSWORD_FILE},
		{"json", no_argument, NULL, ARG_JSON},
		{"csv", no_argument, NULL, ARG_CSV},
		{"date", required_argument, NULL, ARG_DATE},
		{"state", required_argument, NULL, ARG_STATE},
		{"terminal", required_argument, NULL, ARG_TERMINAL},
		{"config", required_argument, NULL, ARG_CONFIG},
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
		case ARG_JSON:
			a.format = CENTRAL_FORMAT_JSON;
			break;
		case ARG_CSV:
			a.format = CENTRAL_FORMAT_CSV;
			break;
		case ARG_DATE:
			a.filter.date = optarg;
			break;
		case ARG_STATE:
			a.filter.state = optarg;
			break;
		case ARG_TERMINAL:
			a.filter.terminal = optarg;
			break;
		case ARG_CONFIG:
			if (a.n_configs == ELEMENTSOF(a.configs)) {
				log_error("At most %zu --config files", ELEMENTSOF(a.configs));
				return EXIT_USAGE;
			}
			a.configs[a.n_configs++] = optarg;
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
	if (STR_EQ(a.argv[0], "status"))
		return cmd_view(&a, false);
	if (STR_EQ(a.argv[0], "orders"))
		return cmd_view(&a, true);
	if (STR_EQ(a.argv[0], "reconcile"))
		return cmd_reconcile(&a);
	if (STR_EQ(a.argv[0], "reservations"))
		return cmd_reservations(&a);
	if (STR_EQ(a.argv[0], "release"))
		return cmd_release(&a);
	log_error("Unknown command %s", a.argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
