/* SPDX-License-Identifier: MIT */
/* f2fpay-scantest: lists candidate scanners and echoes decoded codes live, for installers. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "drivers/scanner/scanner.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = 1;
}

static void
print_device(enum scanner_kind kind, const char *node, uint16_t vid, uint16_t pid, const char *name,
	     void *userdata)
{
	printf("%-7s %-40s %04x:%04x %s\n", scanner_kind_to_string(kind), node, vid, pid, name);
}

static void
usage(void)
{
	printf("Usage: f2fpay-scantest --list\n"
	       "       f2fpay-scantest --kind evdev|serial|hidpos [--path P] [--vidpid VVVV:PPPP]\n"
	       "               [--name PATTERN] [--layout us] [--variant V] [--suffix "
	       "enter|kp-enter|tab|none]\n"
	       "               [--timeout-ms 50] [--baud 9600] [--framing cr|lf|crlf] "
	       "[--aim-strip]\n"
	       "               [--honeywell] [--max-len 256] [--count N]\n"
	       "Echoes every decoded code with its class until interrupted (or N codes).\n");
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"list", no_argument, NULL, 'l'},
					     {"kind", required_argument, NULL, 'k'},
					     {"path", required_argument, NULL, 'p'},
					     {"vidpid", required_argument, NULL, 'v'},
					     {"name", required_argument, NULL, 'n'},
					     {"layout", required_argument, NULL, 'L'},
					     {"variant", required_argument, NULL, 'V'},
					     {"suffix", required_argument, NULL, 's'},
					     {"timeout-ms", required_argument, NULL, 't'},
					     {"baud", required_argument, NULL, 'b'},
					     {"framing", required_argument, NULL, 'f'},
					     {"aim-strip", no_argument, NULL, 'a'},
					     {"honeywell", no_argument, NULL, 'H'},
					     {"max-len", required_argument, NULL, 'm'},
					     {"count", required_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {}};
	_cleanup_(scanner_freep) struct scanner *s = NULL;
	struct scanner_config cfg;
	unsigned long v, count = 0, seen = 0;
	bool list = false;
	int c, r;

	log_set_prefix(0);
	scanner_config_init(&cfg);
	cfg.name = "scantest";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'k':
			r = scanner_kind_from_string(optarg);
			if (r < 0)
				goto bad;
			cfg.kind = (enum scanner_kind)r;
			break;
		case 'p':
			cfg.match_path = optarg;
			break;
		case 'v':
			if (scanner_vidpid_from_string(optarg, &cfg.vid, &cfg.pid) < 0)
				goto bad;
			cfg.match_vidpid = true;
			break;
		case 'n':
			cfg.match_name = optarg;
			break;
		case 'L':
			cfg.layout = optarg;
			break;
		case 'V':
			cfg.variant = optarg;
			break;
		case 's':
			r = scanner_suffix_from_string(optarg);
			if (r < 0)
				goto bad;
			cfg.suffix = (enum scanner_suffix)r;
			break;
		case 't':
			if (parse_uint(optarg, 10000, &v) < 0)
				goto bad;
			cfg.interkey_timeout_usec = v * USEC_PER_MSEC;
			break;
		case 'b':
			if (parse_uint(optarg, 4000000, &v) < 0)
				goto bad;
			cfg.baud = (unsigned)v;
			break;
		case 'f':
			r = scanner_framing_from_string(optarg);
			if (r < 0)
				goto bad;
			cfg.framing = (enum scanner_framing)r;
			break;
		case 'a':
			cfg.aim_strip = true;
			break;
		case 'H':
			cfg.honeywell_enable = true;
			break;
		case 'm':
			if (parse_uint(optarg, SCAN_CODE_MAX, &v) < 0)
				goto bad;
			cfg.max_len = v;
			break;
		case 'c':
			if (parse_uint(optarg, 1000000, &count) < 0)
				goto bad;
			break;
		case 'h':
			usage();
			return 0;
		default:
			goto bad;
		}
	}
	if (list) {
		for (int k = 0; k < _SCANNER_KIND_MAX; k++)
			if (scanner_list((enum scanner_kind)k, print_device, NULL) < 0)
				fprintf(stderr, "cannot list %s devices\n",
					scanner_kind_to_string((enum scanner_kind)k));
		return 0;
	}
	r = scanner_new(&cfg, &s);
	if (r < 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop) {
		struct pollfd p = {.fd = scanner_get_fd(s), .events = POLLIN};
		usec_t now = now_usec(CLOCK_MONOTONIC), d = scanner_get_deadline(s);
		int timeout_ms = d == USEC_INFINITY ? -1
				 : d <= now         ? 0
						    : (int)MIN((d - now + 999) / 1000, 60000);
		struct scanner_event ev;

		if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
			return 1;
		(void)scanner_process(s, now_usec(CLOCK_MONOTONIC));
		while (scanner_next_event(s, &ev) > 0) {
			if (ev.type == SCANNER_EVENT_STATE) {
				printf("state %s %s\n", scanner_state_to_string(ev.state),
				       ev.device);
				continue;
			}
			/* An installer checks the exact text: print it (this tool is not the
			 * daemon, whose logs never show payment codes). */
			printf("code %s %s%s%s\n", scan_class_to_string(ev.cls), ev.text,
			       ev.aim[0] ? " aim=" : "", ev.aim);
			if (count && ++seen >= count)
				return 0;
		}
	}
	return 0;
bad:
	usage();
	return 2;
}
