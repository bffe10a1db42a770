/* SPDX-License-Identifier: MIT */
/* f2fpayd's entry point: options, configuration check and dump. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "config/config.h"

static void
help(void)
{
	printf("f2fpayd [OPTIONS]\n\n"
	       "Alipay face-to-face payment daemon for Linux checkout terminals.\n\n"
	       "  -c --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	       "     --check-config  check the configuration and exit\n"
	       "     --dump-config   print the effective configuration and exit\n"
	       "     --config-keys   print the table of configuration keys and exit\n"
	       "  -h --help          show this help\n"
	       "     --version       show the version\n");
}

int
main(int argc, char **argv)
{
	enum {
		ARG_CHECK = 0x100,
		ARG_DUMP,
		ARG_KEYS,
		ARG_VERSION
	};
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, ARG_CHECK},
		{"dump-config", no_argument, NULL, ARG_DUMP},
		{"config-keys", no_argument, NULL, ARG_KEYS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false, dump = false;
	_cleanup_config_ struct config *config = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case ARG_CHECK:
			check = true;
			break;
		case ARG_DUMP:
			dump = true;
			break;
		case ARG_KEYS:
			return config_table_dump(stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("f2fpayd %s\n", F2FPAY_VERSION);
			return EXIT_SUCCESS;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument: %s", argv[optind]);
		return 2;
	}
	if (check || dump)
		log_set_prefix(0);

	r = config_load_file(path, 0, &config);
	if (r < 0)
		return EXIT_FAILURE;
	if (dump)
		return config_dump(config, stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (check) {
		printf("%s: configuration OK\n", path);
		return EXIT_SUCCESS;
	}
	/* The order manager is wired in here; until then the daemon refuses to run. */
	log_error("%s: configuration OK, but this build has no order manager yet", path);
	return EXIT_FAILURE;
}
