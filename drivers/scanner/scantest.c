/* SPDX-License-Identifier: MIT */
/* f2fpay-scantest: lists candidate scanners, echoes decoded codes live, diagnoses one scan. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/paycode.h"
#include "drivers/scanner/diagnose.h"
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
	       "               [--timeout-ms 50] [--baud 9600] [--framing cr|lf|crlf|none]\n"
	       "               [--idle-gap-ms 50] [--prefix none|aim|code-id] [--honeywell]\n"
	       "               [--report-layout auto|honeywell|newland|aim-after-byte|simple-com]\n"
	       "               [--max-len 256] [--count N] [--show-codes]\n"
	       "               [--diagnose [--expect TEXT] [--settle-ms 500] [--wait-s 60]]\n"
	       "Echoes every decoded code with its class until interrupted (or N codes); a\n"
	       "payment code is masked as everywhere else, unless --show-codes.\n"
	       "--diagnose waits for one scan, shows what the scanner sent, how it decodes and\n"
	       "the settings to use; --expect gives the text of the code scanned (a test label),\n"
	       "so that the layout and prefix can be chosen to give exactly it.\n");
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

/* Milliseconds until `until`, for poll(), at most a minute. */
static int
poll_ms(usec_t until)
{
	usec_t now = now_usec(CLOCK_MONOTONIC);

	if (until == USEC_INFINITY)
		return 60000;
	return until <= now ? 0 : (int)MIN((until - now + 999) / 1000, 60000);
}

/*
 * One scan, captured raw: the scanner is opened with cfg (its own decoding runs alongside and
 * is ignored), and the capture ends once nothing came for settle_usec after the first key,
 * byte or report. Exit status 0 when a setting decodes it, 1 when none does, 3 with no scan.
 */
static int
run_diagnose(struct scanner_config *cfg, const char *expect, usec_t settle_usec, usec_t wait_usec)
{
	_cleanup_(scanner_freep) struct scanner *s = NULL;
	static struct diag d; /* large: not on the stack */
	usec_t give_up = now_usec(CLOCK_MONOTONIC) + wait_usec;
	int r;

	diag_init(&d);
	/* Gaps decide nothing while capturing: the settings come from the capture. */
	if (cfg->kind == SCANNER_KIND_EVDEV)
		cfg->interkey_timeout_usec = 0;
	r = scanner_new(cfg, &s);
	if (r < 0)
		return 1;
	scanner_set_raw_tap(s, diag_record, &d);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("scan one code now (waiting up to %llu s)\n",
	       (unsigned long long)(wait_usec / USEC_PER_SEC));
	fflush(stdout);
	while (!stop) {
		usec_t now = now_usec(CLOCK_MONOTONIC);
		usec_t until =
			MIN(scanner_get_deadline(s), d.started ? now + settle_usec : give_up);
		struct pollfd p = {.fd = scanner_get_fd(s), .events = POLLIN};
		struct scanner_event ev;

		if (d.started && now >= d.last + settle_usec && now >= d.items[d.n - 1].t)
			break;
		if (!d.started && now >= give_up)
			break;
		if (poll(&p, 1, poll_ms(MIN(until, d.started ? d.last + settle_usec : give_up))) <
			    0 &&
		    errno != EINTR)
			return 1;
		(void)scanner_process(s, now_usec(CLOCK_MONOTONIC));
		while (scanner_next_event(s, &ev) > 0)
			if (ev.type == SCANNER_EVENT_STATE)
				printf("state %s %s\n", scanner_state_to_string(ev.state),
				       ev.device);
	}
	scanner_set_raw_tap(s, NULL, NULL);
	r = diag_report(&d, cfg, expect, stdout);
	explicit_bzero(&d, sizeof(d));
	return r == 0 ? 0 : r == -ENODATA ? 3 : 1;
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
					     {"prefix", required_argument, NULL, 'P'},
					     {"idle-gap-ms", required_argument, NULL, 'g'},
					     {"report-layout", required_argument, NULL, 'R'},
					     {"diagnose", no_argument, NULL, 'D'},
					     {"expect", required_argument, NULL, 'e'},
					     {"settle-ms", required_argument, NULL, 'S'},
					     {"wait-s", required_argument, NULL, 'W'},
					     {"honeywell", no_argument, NULL, 'H'},
					     {"max-len", required_argument, NULL, 'm'},
					     {"count", required_argument, NULL, 'c'},
					     {"show-codes", no_argument, NULL, 'C'},
					     {"help", no_argument, NULL, 'h'},
					     {}};
	_cleanup_(scanner_freep) struct scanner *s = NULL;
	struct scanner_config cfg;
	unsigned long v, count = 0, seen = 0, settle_ms = 500, wait_s = 60;
	bool list = false, diagnose = false, show_codes = false;
	const char *expect = NULL;
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
		case 'P':
			r = scanner_prefix_from_string(optarg);
			if (r < 0)
				goto bad;
			cfg.prefix = (enum scanner_prefix)r;
			break;
		case 'g':
			if (parse_uint(optarg, 10000, &v) < 0)
				goto bad;
			cfg.idle_gap_usec = v * USEC_PER_MSEC;
			break;
		case 'R':
			r = scanner_report_layout_from_string(optarg);
			if (r < 0)
				goto bad;
			cfg.report_layout = (enum scanner_report_layout)r;
			break;
		case 'D':
			diagnose = true;
			break;
		case 'e':
			expect = optarg;
			break;
		case 'S':
			if (parse_uint(optarg, 10000, &settle_ms) < 0 || settle_ms == 0)
				goto bad;
			break;
		case 'W':
			if (parse_uint(optarg, 3600, &wait_s) < 0 || wait_s == 0)
				goto bad;
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
		case 'C':
			show_codes = true;
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
	if (diagnose)
		return run_diagnose(&cfg, expect, settle_ms * USEC_PER_MSEC, wait_s * USEC_PER_SEC);
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
			/* Other codes exactly as read, for the installer to compare; a payment
			 * code (often a customer's, scanned to try the till) masked unless asked.
			 */
			char masked[PAYCODE_MAX_LEN + 1];
			const char *text = ev.text;
			if (!show_codes && paycode_is_alipay_str(ev.text)) {
				paycode_mask(ev.text, masked);
				text = masked;
			}
			printf("code %s %s%s%s\n", scan_class_to_string(ev.cls), text,
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
