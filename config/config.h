/* SPDX-License-Identifier: MIT */
/* f2fpayd's configuration: a plain struct tree filled by a strict INI parser with a key table. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/time-util.h"

/* What f2fpayd.service hands over (SetCredential=) for a key file systemd could not load. */
#define CONFIG_CREDENTIAL_NOT_LOADED "f2fpayd-key-file-not-found"

#define CONFIG_DEFAULT_PATH  "/etc/f2fpay/f2fpayd.conf"
#define CONFIG_MAX_SCANNERS  8
#define CONFIG_MAX_LINE      199 /* bytes per line, newline excluded (libinih's line buffer) */
#define CONFIG_MAX_FILE_SIZE (256 * 1024)
#define CONFIG_MAX_FILES     32 /* the main file and its drop-ins */
/*
 * A value starting with this marks a setting the operator still has to fill in (the packaged
 * f2fpayd.conf ships them): loading refuses it with "edit FILE: line N: [section] key is not
 * set yet (VALUE)", VALUE being the marker followed by a hint.
 */
#define CONFIG_PLACEHOLDER   "EDIT-ME"

enum config_sign_type {
	CONFIG_SIGN_RSA2,
	CONFIG_SIGN_RSA,
};

enum config_charset {
	CONFIG_CHARSET_UTF8,
	CONFIG_CHARSET_GBK,
};

enum config_scanner_kind {
	CONFIG_SCANNER_EVDEV,
	CONFIG_SCANNER_SERIAL,
	CONFIG_SCANNER_HIDPOS,
};

enum config_suffix {
	CONFIG_SUFFIX_ENTER,
	CONFIG_SUFFIX_KP_ENTER,
	CONFIG_SUFFIX_TAB,
	CONFIG_SUFFIX_NONE,
};

enum config_framing {
	CONFIG_FRAMING_CR,
	CONFIG_FRAMING_LF,
	CONFIG_FRAMING_CRLF,
	CONFIG_FRAMING_NONE, /* an idle gap ends a frame */
};

enum config_prefix {
	CONFIG_PREFIX_NONE,
	CONFIG_PREFIX_AIM,
	CONFIG_PREFIX_CODE_ID,
};

enum config_report_layout {
	CONFIG_REPORT_AUTO,
	CONFIG_REPORT_HONEYWELL,
	CONFIG_REPORT_NEWLAND,
	CONFIG_REPORT_AIM_AFTER_BYTE,
	CONFIG_REPORT_SIMPLE_COM,
};

enum config_display_backend {
	CONFIG_DISPLAY_NONE,
	CONFIG_DISPLAY_FB,   /* target = /dev/fbN */
	CONFIG_DISPLAY_PNG,  /* target = PATH of the PNG written on every change */
	CONFIG_DISPLAY_TTY,  /* target = NULL */
	CONFIG_DISPLAY_WEB,  /* target = ADDR:PORT (IPv6 in brackets) of the page's listener */
	CONFIG_DISPLAY_POLE, /* target = the serial port of a pole display */
};

enum config_pole_protocol {
	CONFIG_POLE_LED8N,
	CONFIG_POLE_CD5220,
};

#define CONFIG_DISPLAY_MAX 8 /* displays driven at once */

enum config_language {
	CONFIG_LANG_BOTH,
	CONFIG_LANG_ZH,
	CONFIG_LANG_EN,
};

/*
 * Key material: either a file path or a systemd credential name. After config_load() succeeds,
 * `resolved` is the path to read and `origin` the file to name in messages, both NULL when unset:
 * for a path, both are the path; for a credential NAME, `origin` is NAME in the configuration's
 * folder (where f2fpayd.service's LoadCredential= takes it from) and `resolved` is
 * $CREDENTIALS_DIRECTORY/NAME, or the origin itself when that variable is unset (a check run by
 * root from a shell).
 */
struct config_alipay {
	char *gateway_url;
	char *app_id;
	int sign_type;
	int charset;
	bool cert_mode;
	char *app_private_key, *app_private_key_credential, *app_private_key_resolved,
		*app_private_key_origin;
	char *alipay_public_key, *alipay_public_key_credential, *alipay_public_key_resolved,
		*alipay_public_key_origin;
	char *app_cert, *app_cert_credential, *app_cert_resolved, *app_cert_origin;
	char *alipay_cert, *alipay_cert_credential, *alipay_cert_resolved, *alipay_cert_origin;
	char *alipay_root_cert, *alipay_root_cert_credential, *alipay_root_cert_resolved,
		*alipay_root_cert_origin;
	char *app_auth_token; /* secret: wiped on free, redacted in dumps */
	char *notify_url;
	char *seller_id;
	char *ca_file;
	usec_t connect_timeout_usec;
	usec_t total_timeout_usec;
};

struct config_terminal {
	char *store_id;
	char *terminal_id; /* letters and digits: part of every out_trade_no */
	char *operator_id;
	char *store_name;
};

struct config_timing {
	usec_t query_interval_usec;
	unsigned query_count;
	usec_t cancel_interval_usec;
	unsigned cancel_count;
	usec_t attention_backoff_usec;
	usec_t attention_backoff_max_usec;
	usec_t timeout_express_usec; /* whole minutes (doc/protocol.md §5.1 timeout_express "Nm") */
	usec_t qr_shown_usec;        /* whole minutes (qr_code_timeout_express) */
};

struct config_scanner {
	char *name;
	int kind;
	char *by_id; /* evdev: /dev/input/by-id/... */
	bool has_usb_id;
	uint16_t usb_vid, usb_pid;
	char *name_pattern; /* evdev: fnmatch(3) pattern on the device name */
	char *layout;       /* evdev: xkb layout the scanner emits */
	int suffix;
	usec_t interkey_timeout_usec;
	char *device; /* serial: /dev/ttyACM0 ... */
	unsigned baud;
	int framing;
	usec_t idle_gap_usec; /* serial: ends a frame (framing none), refuses a torn one */
	int prefix;           /* evdev, serial: enum config_prefix */
	bool honeywell_enable;
	int report_layout; /* hidpos: enum config_report_layout */
	unsigned max_length;
};

struct config_display_output {
	int backend;  /* enum config_display_backend, never NONE */
	char *target; /* as the backend says */
};

struct config_display {
	unsigned n_outputs; /* 0 = no display ("none") */
	struct config_display_output outputs[CONFIG_DISPLAY_MAX];
	unsigned width, height;
	int language;
	unsigned pole_baud;
	int pole_protocol;
};

struct config_api {
	char *socket;
	unsigned socket_mode;
	char *socket_group;
	char *tcp_listen; /* "127.0.0.1:PORT" or "[::1]:PORT"; NULL = no TCP listener */
	char *token;      /* secret */
	char *token_credential;
	unsigned body_limit;
	unsigned max_connections;
	unsigned max_sse_clients;
	unsigned sse_queue_limit;
};

struct config_notify {
	char *listen; /* "ADDR:PORT"; NULL = no notify listener */
	char *path;
	unsigned body_limit;
	unsigned max_connections;
};

struct config_journal {
	char *path;
};

struct config_reconcile {
	bool enabled;
	unsigned time_min; /* minutes after 00:00 Beijing time */
	unsigned retries;
	unsigned keep_days; /* stored bills and reports; 0 = for ever */
};

struct config_metrics {
	char *listen; /* "127.0.0.1:9464"; NULL = no metrics listener */
};

/* doc/central.md "Shipping": the store's central PostgreSQL; url NULL = no shipping. */
struct config_central {
	char *url; /* postgresql://… without a password */
	char *password_file, *password_credential, *password_resolved, *password_origin;
	unsigned batch_size; /* events per transaction */
	usec_t poll_interval_usec;
	usec_t retry_interval_usec;
	usec_t timeout_usec;   /* connecting, and each batch */
	usec_t heartbeat_usec; /* an empty batch when nothing was sent for this long */
};

struct config {
	char *source; /* file name the config came from (the main file) */
	char *dir; /* its folder: credentials are looked for there without $CREDENTIALS_DIRECTORY */
	struct config_alipay alipay;
	struct config_terminal terminal;
	struct config_timing timing;
	struct config_scanner scanners[CONFIG_MAX_SCANNERS];
	size_t n_scanners;
	struct config_display display;
	struct config_api api;
	struct config_notify notify;
	struct config_journal journal;
	struct config_reconcile reconcile;
	struct config_central central;
	struct config_metrics metrics;
};

enum config_load_flags {
	CONFIG_SKIP_FILE_CHECKS = 1 << 0, /* syntax and values only: no stat() of key files */
};

/*
 * Parses the INI text `data` (`size` bytes) named `source` (used in "source:line: ..." messages),
 * applies defaults and checks values and their combinations. Every error is logged at LOG_ERR
 * as "source:line: message" (or "source: message" when no line applies). Returns 0 and a new
 * config in *ret (free with config_free), or -EINVAL when anything was wrong, -ENOMEM.
 */
int config_load_string(const char *data, size_t size, const char *source, unsigned flags,
		       struct config **ret);

/*
 * Reads the file at `path`, then its drop-ins `path`.d/ *.conf in byte order of their names, each
 * at most CONFIG_MAX_FILE_SIZE, and parses them as one configuration: a drop-in may open any
 * section again (a [scanner NAME] of an earlier file included) and set keys that an earlier
 * file set; within one file a key or section appears once. Messages name the file and line.
 */
int config_load_file(const char *path, unsigned flags, struct config **ret);

/*
 * The drop-ins of `path` in the order they are read: a new NULL-terminated array in *ret (free
 * with config_dropin_paths_free) and their number; none when `path`.d does not exist.
 */
int config_dropin_paths(const char *path, char ***ret, size_t *ret_n);
void config_dropin_paths_free(char **paths);

/* Frees a config; secrets are wiped. NULL is fine. */
void config_free(struct config *c);
static inline void
config_freep(struct config **c)
{
	config_free(*c);
}
#define _cleanup_config_ __attribute__((cleanup(config_freep)))

/*
 * Writes every key with its effective value as INI text that parses back to the same config:
 * unset keys appear commented out ("# key ="); secrets are shown as "(redacted)" (a dump with
 * secrets does not parse back to the same values, by design).
 */
int config_dump(const struct config *c, FILE *f);

/*
 * Writes the key table, one key a line: "section<TAB>key<TAB>default" ("" for no default).
 * The man page test uses it to keep f2fpayd.conf(5) true.
 */
int config_table_dump(FILE *f);

const char *config_sign_type_to_string(int v);
const char *config_charset_to_string(int v);
