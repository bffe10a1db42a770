/* SPDX-License-Identifier: MIT */
/* f2fpayd's entry point: options, configuration, the event loop, signals, sd_notify, the API. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "config/config.h"
#include "daemon/api.h"
#include "daemon/check.h"
#include "daemon/control.h"
#include "daemon/engine/journal.h"
#include "daemon/journald.h"
#include "daemon/manager.h"
#include "daemon/metrics-server.h"
#include "daemon/notify.h"
#include "daemon/reload.h"
#include "daemon/service-notify.h"
#include "drivers/display/display-module.h"

struct daemon {
	sd_event *event;
	const char *config_path;
	struct config *config;
	struct api *api;
	struct notify *notify;
	struct manager *manager;
	int journal_lock; /* held for the daemon's life */
	struct control *control;
	struct metrics_server *metrics;
	struct reload_keys keys; /* in-memory key copies the running configuration came from */
	uint64_t watchdog_usec;
};

/* The systemd watchdog (WatchdogSec=) pinged from the loop, so a stuck loop is noticed; sent
 * like every other message to the manager, without ever blocking the loop. */
static int
on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	service_notify("WATCHDOG=1");
	(void)sd_event_source_set_time_relative(s, d->watchdog_usec / 2);
	return 0;
}

static int
on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	/* Journal writes are synchronous: nothing is half written. Orders in flight stay in the
	 * journal and are resumed at the next start; final ones waiting for their sync are synced
	 * and told now. */
	if (d->manager)
		(void)manager_settle(d->manager);
	log_info("Stopping on %s (%u orders in progress are resumed at the next start)",
		 strsignal((int)si->ssi_signo), d->manager ? manager_busy(d->manager) : 0);
	service_notify("STOPPING=1\nSTATUS=Stopping");
	return sd_event_exit(d->event, 0);
}

/*
 * A reload: the configuration file (and drop-ins) read again, the keys read again — from the
 * files passed by `f2fpayd --reload` when it sent them, else from where the configuration says —
 * and checked together before anything is applied. On any error the old configuration stays
 * whole and msg says why.
 */
static int
daemon_reload(struct daemon *d, const struct control_key *keys, size_t n, char *msg,
	      size_t msg_size)
{
	struct reload_keys held = RELOAD_KEYS_INIT;
	struct config *c = NULL;
	int r;

	service_notify("RELOADING=1\nSTATUS=Reloading the configuration");
	r = config_load_file(d->config_path, 0, &c);
	if (r < 0) {
		snprintf(msg, msg_size, "%s has errors (see the log); nothing changed",
			 d->config_path);
		goto fail;
	}
	r = reload_keys_take(c, keys, n, &held);
	if (r < 0) {
		snprintf(msg, msg_size, "the new keys cannot be taken; nothing changed");
		goto fail;
	}
	r = check_keys(c);
	if (r < 0) {
		snprintf(msg, msg_size, "the keys are wrong (see the log); nothing changed");
		goto fail;
	}
	(void)check_devices(c, CHECK_DISPLAY);
	/* The listeners keep their sockets; [api], [notify] and [journal] changes apply at the
	 * next start. The rest is applied between orders. */
	r = manager_reload(d->manager, c);
	if (r < 0) {
		snprintf(msg, msg_size, "%s cannot be used (see the log); nothing changed",
			 d->config_path);
		goto fail;
	}
	reload_keys_close(&d->keys);
	d->keys = held;
	snprintf(msg, msg_size, "%s%s%s", d->config_path, n > 0 ? " and the keys" : "",
		 r > 0 ? " reloaded; applied once the orders in progress are settled"
		       : " reloaded");
	log_info("Reload: %s", msg);
	service_notify("READY=1\nSTATUS=Running (configuration reloaded)");
	return 0;
fail:
	config_free(c);
	reload_keys_close(&held);
	log_warning("Reload refused: %s", msg);
	service_notify("READY=1\nSTATUS=Configuration reload failed, running with the old one");
	return r;
}

/*
 * SIGHUP: like `systemctl reload`, with the keys from where the configuration says — or, once
 * `f2fpayd --reload` has handed keys over, those (systemd's copies are older).
 */
static int
on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;
	struct control_key keys[CONTROL_MAX_KEYS];
	char msg[CONTROL_REPLY_MAX];
	size_t n = reload_keys_as_control(&d->keys, keys);

	(void)daemon_reload(d, keys, n, msg, sizeof(msg));
	return 0;
}

static int
on_control_reload(void *userdata, const struct control_key *keys, size_t n, char *msg,
		  size_t msg_size)
{
	return daemon_reload(userdata, keys, n, msg, msg_size);
}

/* The control socket beside the API socket, for `f2fpayd --reload`. */
static int
daemon_control_start(struct daemon *d)
{
	_cleanup_free_ char *path = control_path_for(d->config->api.socket);

	if (!path)
		return log_error_errno(ENOMEM, "Out of memory");
	return control_new(d->event, path, on_control_reload, d, &d->control);
}

static int
daemon_run(struct daemon *d)
{
	struct api_options opts;
	const struct config_api *ca = &d->config->api;
	sigset_t mask;
	int n, r;

	/* One daemon per journal, decided before anything else: a second one touches neither
	 * the journal, nor the orders, nor the first one's API socket. */
	r = journal_lock(d->config->journal.path, &d->journal_lock);
	if (r == -EBUSY)
		service_notify("STATUS=Journal %s is in use by another f2fpayd",
			       d->config->journal.path);
	if (r < 0)
		return r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "sigprocmask: %m");
	signal(SIGPIPE, SIG_IGN);

	/* A loop of its own, not sd_event_default(): the default loop checks on every turn, with
	 * a system call, that it runs on the thread that made it (one more each turn, about 15 an
	 * order). */
	r = sd_event_new(&d->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");
	r = service_notify_attach(d->event);
	if (r < 0)
		return r;
	if (sd_watchdog_enabled(false, &d->watchdog_usec) > 0 &&
	    (r = sd_event_add_time_relative(d->event, NULL, CLOCK_MONOTONIC, d->watchdog_usec / 2,
					    d->watchdog_usec / 8, on_watchdog, d)) < 0)
		return log_error_errno(r, "Failed to add the watchdog timer: %m");
	if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_term, d)) < 0 ||
	    (r = sd_event_add_signal(d->event, NULL, SIGINT, on_term, d)) < 0 ||
	    (r = sd_event_add_signal(d->event, NULL, SIGHUP, on_hup, d)) < 0)
		return log_error_errno(r, "Failed to watch signals: %m");

	service_notify("STATUS=Opening the journal and resuming unfinished orders");
	r = manager_new(d->event, d->config, &d->manager);
	if (r < 0)
		return r;

	api_options_init(&opts);
	opts.socket_path = ca->socket;
	opts.socket_mode = ca->socket_mode;
	opts.socket_group = ca->socket_group;
	opts.tcp_listen = ca->tcp_listen;
	opts.token = ca->token;
	opts.body_limit = ca->body_limit;
	opts.max_connections = ca->max_connections;
	opts.max_sse_clients = ca->max_sse_clients;
	opts.sse_queue_limit = ca->sse_queue_limit;
	/* systemd socket activation (f2fpayd.socket) passes the API socket. */
	n = sd_listen_fds(1);
	if (n < 0)
		return log_error_errno(n, "Failed to read passed sockets: %m");
	if (n > 1)
		return log_error_errno(EINVAL, "Expected one passed socket, got %d", n);
	if (n == 1) {
		opts.listen_fd = SD_LISTEN_FDS_START;
		log_info("Serving the API on the socket passed by systemd");
	}
	r = api_new(&d->api, d->event, &opts, manager_api_backend(), d->manager);
	if (r < 0)
		return r;
	manager_set_api(d->manager, d->api);
	r = daemon_control_start(d);
	if (r < 0)
		return r;
	if (d->config->metrics.listen) {
		r = metrics_server_new(d->event, d->config->metrics.listen, manager_monitor_render,
				       d->manager, &d->metrics);
		if (r < 0)
			return r;
	}
	if (d->config->notify.listen) {
		const struct config_notify *cn = &d->config->notify;
		struct notify_options no = {
			.listen = cn->listen,
			.path = cn->path,
			.body_limit = cn->body_limit,
			.max_connections = cn->max_connections,
		};
		r = notify_new(&d->notify, d->event, &no, manager_notify, d->manager);
		if (r < 0)
			return r;
		manager_set_notify(d->manager, d->notify);
	}

	log_info("f2fpayd %s running for terminal %s", F2FPAY_VERSION,
		 d->config->terminal.terminal_id);
	/* doc/engine.md "Time": a clock the gateway will refuse is said at once, in words. */
	if (clock_is_synchronized() == 0)
		log_warning("The system clock is not synchronized (adjtimex: STA_UNSYNC). The "
			    "gateway refuses requests whose time is off by more than a few "
			    "minutes (isv.invalid-timestamp): enable NTP (timedatectl set-ntp "
			    "true) and check `timedatectl`.");
	/* What starting up used and freed (configuration, keys, fonts) goes back before READY. */
	(void)malloc_trim(0);
	service_notify("READY=1\nSTATUS=Running%s", manager_clock_note());
	r = sd_event_loop(d->event);
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m");
	return 0;
}

static void
help(void)
{
	printf("f2fpayd [OPTIONS]\n\n"
	       "Alipay face-to-face payment daemon for Linux checkout terminals.\n\n"
	       "  -c --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	       "     --check-config  check the configuration, keys and devices, and exit\n"
	       "     --reload        ask the running daemon to reload (systemctl reload)\n"
	       "     --dump-config   print the effective configuration and exit\n"
	       "     --config-keys   print the table of configuration keys and exit\n"
	       "     --list-scanners list the devices that could be scanners and exit\n"
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
		ARG_LIST_SCANNERS,
		ARG_RELOAD,
		ARG_VERSION
	};
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, ARG_CHECK},
		{"dump-config", no_argument, NULL, ARG_DUMP},
		{"config-keys", no_argument, NULL, ARG_KEYS},
		{"list-scanners", no_argument, NULL, ARG_LIST_SCANNERS},
		{"reload", no_argument, NULL, ARG_RELOAD},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{},
	};
	struct daemon d = {.config_path = CONFIG_DEFAULT_PATH, .journal_lock = -1};
	bool check = false, dump = false, reload = false;
	int c, r;

	/* A fixed threshold: large buffers (a display's frame, a bill) are unmapped when freed,
	 * rather than glibc raising the threshold after the first one and keeping them. */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* The heap's free top is kept while orders are shown and given back when the till is
	 * idle (manager_memory_idle()): trimmed at glibc's default 128 KB, an order's transient
	 * buffers (a frame's compressor, a request) were unmapped and faulted in again. */
	(void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
	/* One arena: the loop is the only long-lived thread. The short ones (libcurl's name
	 * lookups, pango's fontconfig start-up) would each leave an arena of their own behind,
	 * a few hundred KB resident that no malloc_trim() of the main heap returns. */
	(void)mallopt(M_ARENA_MAX, 1);
	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case ARG_CHECK:
			check = true;
			break;
		case ARG_DUMP:
			dump = true;
			break;
		case ARG_KEYS:
			return config_table_dump(stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
		case ARG_RELOAD:
			reload = true;
			break;
		case ARG_LIST_SCANNERS:
			return manager_list_scanners(stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("f2fpayd %s\n", F2FPAY_VERSION);
			return EXIT_SUCCESS;
		default:
			return F2FPAYD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument: %s", argv[optind]);
		return F2FPAYD_EXIT_USAGE;
	}
	if (check || dump || reload)
		log_set_prefix(0);
	if (reload)
		return reload_request(d.config_path);

	r = config_load_file(d.config_path, 0, &d.config);
	/* The keys are checked together (pairs, swapped keys) before anything starts. */
	if (r >= 0 && !dump)
		r = check_keys(d.config);
	if (r < 0) {
		if (!check && !dump)
			service_notify("STATUS=Configuration errors in %s: see the log; fix them "
				       "and start again",
				       d.config_path);
		config_free(d.config);
		return F2FPAYD_EXIT_CONFIG;
	}
	if (dump)
		r = config_dump(d.config, stdout);
	else if (check) {
		unsigned warnings = check_devices(d.config, CHECK_SCANNERS | CHECK_DISPLAY);
		printf("%s: configuration OK%s\n", d.config_path,
		       warnings ? " (devices: see the warnings above)" : "");
	} else {
		(void)journald_sink_install();
		(void)check_devices(d.config, CHECK_DISPLAY);
		/* Without its module a configured display cannot work, and restarting cannot mend
		 * a broken installation: stop as for a configuration error (no restart loop). */
		if (d.config->display.n_outputs > 0 && display_module_load() < 0) {
			service_notify(
				"STATUS=The display module is missing or from another "
				"version: reinstall f2fpayd, or remove the [display] backend");
			config_free(d.config);
			return F2FPAYD_EXIT_CONFIG;
		}
		r = daemon_run(&d);
	}

	d.metrics = metrics_server_free(d.metrics);
	d.control = control_free(d.control);
	reload_keys_close(&d.keys);
	if (d.manager) {
		manager_set_notify(d.manager, NULL);
		manager_set_api(d.manager, NULL);
	}
	d.notify = notify_free(d.notify);
	d.api = api_free(d.api);
	d.manager = manager_free(d.manager);
	if (d.journal_lock >= 0)
		close(d.journal_lock);
	config_free(d.config);
	service_notify_detach();
	sd_event_unref(d.event);
	return r < 0 ? F2FPAYD_EXIT_FAILURE : F2FPAYD_EXIT_OK;
}
