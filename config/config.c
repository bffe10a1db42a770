/* SPDX-License-Identifier: MIT */
/* The configuration parser: libinih for the syntax, a key table for names, types and defaults. */
#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "config/config.h"

enum cfg_section {
	SEC_NONE = -1,
	SEC_ALIPAY,
	SEC_TERMINAL,
	SEC_TIMING,
	SEC_SCANNER,
	SEC_DISPLAY,
	SEC_API,
	SEC_NOTIFY,
	SEC_JOURNAL,
	SEC_RECONCILE,
	SEC_CENTRAL,
	SEC_METRICS,
	_SEC_MAX,
};

static const char *const section_names[_SEC_MAX] = {
	[SEC_ALIPAY] = "alipay",   [SEC_TERMINAL] = "terminal", [SEC_TIMING] = "timing",
	[SEC_SCANNER] = "scanner", [SEC_DISPLAY] = "display",   [SEC_API] = "api",
	[SEC_NOTIFY] = "notify",   [SEC_JOURNAL] = "journal",   [SEC_RECONCILE] = "reconcile",
	[SEC_CENTRAL] = "central", [SEC_METRICS] = "metrics",
};

enum cfg_type {
	T_STR,     /* printable text, no control characters */
	T_SECRET,  /* like T_STR, wiped and redacted */
	T_ID,      /* letters and digits */
	T_REF,     /* letters, digits, '_' and '-' (store and operator ids) */
	T_DIGITS,  /* digits only (app_id, seller_id) */
	T_PATH,    /* an absolute path */
	T_CRED,    /* a systemd credential name */
	T_URL,     /* http:// or https:// */
	T_BOOL,    /* yes|no (true|false, on|off, 1|0 accepted) */
	T_UINT,    /* decimal in [min, max] */
	T_MODE,    /* octal file mode */
	T_USEC,    /* 50ms, 5s, 2m, 1h; in [min, max] µs */
	T_MINUTES, /* like T_USEC, whole minutes only */
	T_ENUM,    /* one of names[] */
	T_USBID,   /* vvvv:pppp hexadecimal */
	T_DISPLAY, /* none, or a list of tty | fb:/dev/fbN | png:PATH | web[:ADDR:PORT] | pole:DEV
		    */
	T_ADDR,    /* IPv4:PORT or [IPv6]:PORT */
	T_HHMM,    /* HH:MM */
	T_LAYOUT,  /* xkb layout name, optionally layout(variant) */
};

static const char *const sign_type_names[] = {"RSA2", "RSA", NULL};
static const char *const charset_names[] = {"utf-8", "GBK", NULL};
static const char *const kind_names[] = {"evdev", "serial", "hidpos", NULL};
static const char *const suffix_names[] = {"enter", "kp-enter", "tab", "none", NULL};
static const char *const framing_names[] = {"cr", "lf", "crlf", "none", NULL};
static const char *const prefix_names[] = {"none", "aim", "code-id", NULL};
static const char *const report_layout_names[] = {"auto",           "honeywell",  "newland",
						  "aim-after-byte", "simple-com", NULL};
static const char *const language_names[] = {"both", "zh", "en", NULL};
static const char *const pole_protocol_names[] = {"led8n", "cd5220", NULL};

#define K_EVDEV  (1u << CONFIG_SCANNER_EVDEV)
#define K_SERIAL (1u << CONFIG_SCANNER_SERIAL)
#define K_HIDPOS (1u << CONFIG_SCANNER_HIDPOS)

struct cfg_key {
	enum cfg_section section;
	const char *name;
	enum cfg_type type;
	size_t offset; /* into the section's struct */
	const char *def;
	uint64_t min, max; /* T_UINT, T_USEC, T_MINUTES: range; string types: max length */
	const char *const *names;
	unsigned kinds; /* [scanner] keys: the kinds they apply to, 0 = all */
};

#define SEC_MS  (USEC_PER_MSEC)
#define SEC_S   (USEC_PER_SEC)
#define SEC_MIN (60 * USEC_PER_SEC)

#define A(f)  offsetof(struct config_alipay, f)
#define TE(f) offsetof(struct config_terminal, f)
#define TI(f) offsetof(struct config_timing, f)
#define S(f)  offsetof(struct config_scanner, f)
#define D(f)  offsetof(struct config_display, f)
#define AP(f) offsetof(struct config_api, f)
#define N(f)  offsetof(struct config_notify, f)
#define J(f)  offsetof(struct config_journal, f)
#define R(f)  offsetof(struct config_reconcile, f)
#define C(f)  offsetof(struct config_central, f)
#define ME(f) offsetof(struct config_metrics, f)

/* The key table: every key f2fpayd.conf(5) documents, in dump order. */
static const struct cfg_key keys[] = {
	/* doc/protocol.md §1: the production gateway by default; the sandbox is opt-in. */
	{SEC_ALIPAY, "gateway_url", T_URL, A(gateway_url), "https://openapi.alipay.com/gateway.do",
	 0, 512},
	{SEC_ALIPAY, "app_id", T_DIGITS, A(app_id), NULL, 0, 32},
	{SEC_ALIPAY, "sign_type", T_ENUM, A(sign_type), "RSA2", .names = sign_type_names},
	{SEC_ALIPAY, "charset", T_ENUM, A(charset), "utf-8", .names = charset_names},
	{SEC_ALIPAY, "cert_mode", T_BOOL, A(cert_mode), "no"},
	{SEC_ALIPAY, "app_private_key", T_PATH, A(app_private_key), NULL, 0, 512},
	{SEC_ALIPAY, "app_private_key_credential", T_CRED, A(app_private_key_credential), NULL, 0,
	 64},
	{SEC_ALIPAY, "alipay_public_key", T_PATH, A(alipay_public_key), NULL, 0, 512},
	{SEC_ALIPAY, "alipay_public_key_credential", T_CRED, A(alipay_public_key_credential), NULL,
	 0, 64},
	{SEC_ALIPAY, "app_cert", T_PATH, A(app_cert), NULL, 0, 512},
	{SEC_ALIPAY, "app_cert_credential", T_CRED, A(app_cert_credential), NULL, 0, 64},
	{SEC_ALIPAY, "alipay_cert", T_PATH, A(alipay_cert), NULL, 0, 512},
	{SEC_ALIPAY, "alipay_cert_credential", T_CRED, A(alipay_cert_credential), NULL, 0, 64},
	{SEC_ALIPAY, "alipay_root_cert", T_PATH, A(alipay_root_cert), NULL, 0, 512},
	{SEC_ALIPAY, "alipay_root_cert_credential", T_CRED, A(alipay_root_cert_credential), NULL, 0,
	 64},
	{SEC_ALIPAY, "app_auth_token", T_SECRET, A(app_auth_token), NULL, 0, 128},
	{SEC_ALIPAY, "notify_url", T_URL, A(notify_url), NULL, 0, 180},
	{SEC_ALIPAY, "seller_id", T_DIGITS, A(seller_id), NULL, 0, 28},
	{SEC_ALIPAY, "ca_file", T_PATH, A(ca_file), NULL, 0, 512},
	{SEC_ALIPAY, "connect_timeout", T_USEC, A(connect_timeout_usec), "10s", 100 * SEC_MS,
	 60 * SEC_S},
	{SEC_ALIPAY, "total_timeout", T_USEC, A(total_timeout_usec), "20s", 1 * SEC_S, 120 * SEC_S},

	{SEC_TERMINAL, "store_id", T_REF, TE(store_id), NULL, 0, 32},
	{SEC_TERMINAL, "terminal_id", T_ID, TE(terminal_id), NULL, 0, 32},
	{SEC_TERMINAL, "operator_id", T_REF, TE(operator_id), NULL, 0, 28},
	{SEC_TERMINAL, "store_name", T_STR, TE(store_name), NULL, 0, 64},

	/* doc/design.md §5.5: the official demo's timings. */
	{SEC_TIMING, "query_interval", T_USEC, TI(query_interval_usec), "5s", 100 * SEC_MS,
	 60 * SEC_S},
	{SEC_TIMING, "query_count", T_UINT, TI(query_count), "6", 1, 100},
	{SEC_TIMING, "cancel_interval", T_USEC, TI(cancel_interval_usec), "2s", 100 * SEC_MS,
	 60 * SEC_S},
	{SEC_TIMING, "cancel_count", T_UINT, TI(cancel_count), "3", 1, 100},
	{SEC_TIMING, "attention_backoff", T_USEC, TI(attention_backoff_usec), "30s", 100 * SEC_MS,
	 3600 * SEC_S},
	{SEC_TIMING, "attention_backoff_max", T_USEC, TI(attention_backoff_max_usec), "10m",
	 1 * SEC_S, 24 * 3600 * SEC_S},
	{SEC_TIMING, "timeout_express", T_MINUTES, TI(timeout_express_usec), "2m", 1 * SEC_MIN,
	 120 * SEC_MIN},
	{SEC_TIMING, "qr_shown", T_MINUTES, TI(qr_shown_usec), "2m", 1 * SEC_MIN, 120 * SEC_MIN},

	{SEC_SCANNER, "kind", T_ENUM, S(kind), NULL, .names = kind_names},
	{SEC_SCANNER, "by_id", T_PATH, S(by_id), NULL, 0, 256, .kinds = K_EVDEV},
	{SEC_SCANNER, "usb_id", T_USBID, 0, NULL, .kinds = K_EVDEV | K_HIDPOS},
	{SEC_SCANNER, "name_pattern", T_STR, S(name_pattern), NULL, 0, 128, .kinds = K_EVDEV},
	{SEC_SCANNER, "layout", T_LAYOUT, S(layout), "us", 0, 32, .kinds = K_EVDEV},
	{SEC_SCANNER, "suffix", T_ENUM, S(suffix), "enter", .names = suffix_names,
	 .kinds = K_EVDEV},
	{SEC_SCANNER, "interkey_timeout", T_USEC, S(interkey_timeout_usec), "50ms", 5 * SEC_MS,
	 2 * SEC_S, .kinds = K_EVDEV},
	{SEC_SCANNER, "device", T_PATH, S(device), NULL, 0, 256, .kinds = K_SERIAL},
	{SEC_SCANNER, "baud", T_UINT, S(baud), "9600", 1200, 115200, .kinds = K_SERIAL},
	{SEC_SCANNER, "framing", T_ENUM, S(framing), "cr", .names = framing_names,
	 .kinds = K_SERIAL},
	{SEC_SCANNER, "idle_gap", T_USEC, S(idle_gap_usec), "50ms", 5 * SEC_MS, 2 * SEC_S,
	 .kinds = K_SERIAL},
	{SEC_SCANNER, "prefix", T_ENUM, S(prefix), "none", .names = prefix_names,
	 .kinds = K_EVDEV | K_SERIAL},
	{SEC_SCANNER, "honeywell_enable", T_BOOL, S(honeywell_enable), "no", .kinds = K_HIDPOS},
	{SEC_SCANNER, "report_layout", T_ENUM, S(report_layout), "auto",
	 .names = report_layout_names, .kinds = K_HIDPOS},
	{SEC_SCANNER, "max_length", T_UINT, S(max_length), "128", 16, 4096},

	{SEC_DISPLAY, "backend", T_DISPLAY, 0, "none", 0, 1024},
	{SEC_DISPLAY, "width", T_UINT, D(width), "800", 64, 4096},
	{SEC_DISPLAY, "height", T_UINT, D(height), "480", 64, 4096},
	{SEC_DISPLAY, "language", T_ENUM, D(language), "both", .names = language_names},
	{SEC_DISPLAY, "pole_baud", T_UINT, D(pole_baud), "2400", 1200, 115200},
	{SEC_DISPLAY, "pole_protocol", T_ENUM, D(pole_protocol), "led8n",
	 .names = pole_protocol_names},

	{SEC_API, "socket", T_PATH, AP(socket), "/run/f2fpay/api.sock", 0, 107},
	{SEC_API, "socket_mode", T_MODE, AP(socket_mode), "0660"},
	{SEC_API, "socket_group", T_REF, AP(socket_group), "f2fpay-pos", 0, 32},
	{SEC_API, "tcp_listen", T_ADDR, AP(tcp_listen), NULL, 0, 64},
	{SEC_API, "token", T_SECRET, AP(token), NULL, 16, 256},
	{SEC_API, "token_credential", T_CRED, AP(token_credential), NULL, 0, 64},
	{SEC_API, "body_limit", T_UINT, AP(body_limit), "16384", 256, 1048576},
	{SEC_API, "max_connections", T_UINT, AP(max_connections), "128", 1, 1024},
	{SEC_API, "max_sse_clients", T_UINT, AP(max_sse_clients), "8", 1, 256},
	{SEC_API, "sse_queue_limit", T_UINT, AP(sse_queue_limit), "256", 8, 65536},

	{SEC_NOTIFY, "listen", T_ADDR, N(listen), NULL, 0, 64},
	{SEC_NOTIFY, "path", T_PATH, N(path), "/alipay/notify", 0, 128},
	{SEC_NOTIFY, "body_limit", T_UINT, N(body_limit), "16384", 1024, 1048576},
	{SEC_NOTIFY, "max_connections", T_UINT, N(max_connections), "64", 1, 1024},

	{SEC_JOURNAL, "path", T_PATH, J(path), "/var/lib/f2fpay/journal.db", 0, 512},

	{SEC_RECONCILE, "enabled", T_BOOL, R(enabled), "yes"},
	{SEC_RECONCILE, "time", T_HHMM, R(time_min), "10:00"},
	{SEC_RECONCILE, "retries", T_UINT, R(retries), "3", 0, 20},
	{SEC_RECONCILE, "keep_days", T_UINT, R(keep_days), "400", 0, 36500},

	{SEC_METRICS, "listen", T_ADDR, ME(listen), NULL, 0, 64},

	/* doc/central.md "Shipping". */
	{SEC_CENTRAL, "url", T_STR, C(url), NULL, 0, 512},
	{SEC_CENTRAL, "password_file", T_PATH, C(password_file), NULL, 0, 512},
	{SEC_CENTRAL, "password_credential", T_CRED, C(password_credential), NULL, 0, 64},
	{SEC_CENTRAL, "batch_size", T_UINT, C(batch_size), "500", 1, 5000},
	{SEC_CENTRAL, "poll_interval", T_USEC, C(poll_interval_usec), "1s", 50 * SEC_MS,
	 60 * SEC_S},
	{SEC_CENTRAL, "retry_interval", T_USEC, C(retry_interval_usec), "10s", 100 * SEC_MS,
	 3600 * SEC_S},
	{SEC_CENTRAL, "timeout", T_USEC, C(timeout_usec), "30s", 1 * SEC_S, 600 * SEC_S},
	{SEC_CENTRAL, "heartbeat", T_USEC, C(heartbeat_usec), "1m", 1 * SEC_S, 3600 * SEC_S},
};

#define N_KEYS ELEMENTSOF(keys)

/*
 * A location: the file's index among the files read (the main file is 0, then its drop-ins in
 * order) in the high bits, the line in the low ones; 0 = none.
 */
#define LOC_LINE_BITS 20
#define LOC(ctx)      (((ctx)->file << LOC_LINE_BITS) | (ctx)->line)

struct parse_ctx {
	struct config *config;
	const char *source;                    /* the file being read */
	const char *sources[CONFIG_MAX_FILES]; /* every file read so far, by index */
	unsigned file;                         /* index of the file being read */
	unsigned flags;
	/* The memory reader. */
	const char *data;
	size_t size, pos;
	unsigned line;
	/* The section the last header opened; scanner = index into config->scanners. */
	enum cfg_section section;
	size_t scanner;
	bool section_bad; /* unknown or refused section: its keys are skipped (one error said) */
	/* Where each key was set (0 = not set); slot 0 for plain sections, 1 + i for scanners. */
	unsigned set_line[1 + CONFIG_MAX_SCANNERS][N_KEYS];
	/* The value of each key whose last setting is an EDIT-ME placeholder (owned), else NULL. */
	char *placeholder[1 + CONFIG_MAX_SCANNERS][N_KEYS];
	unsigned section_line[_SEC_MAX];
	unsigned scanner_line[CONFIG_MAX_SCANNERS];
	unsigned errors;
};

static unsigned
loc_line(unsigned loc)
{
	return loc & ((1u << LOC_LINE_BITS) - 1);
}

/* Whether a recorded location is in the file being read. */
static bool
same_file(const struct parse_ctx *ctx, unsigned loc)
{
	return loc >> LOC_LINE_BITS == ctx->file;
}

static void _printf_(3, 4) ctx_error(struct parse_ctx *ctx, unsigned loc, const char *fmt, ...)
{
	unsigned line = loc_line(loc);
	const char *source = ctx->sources[loc >> LOC_LINE_BITS];
	_cleanup_buf_ struct buf b = BUF_INIT(1024);
	va_list ap;
	int r;

	ctx->errors++;
	va_start(ap, fmt);
	r = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_reserve(&b, (size_t)r + 1) < 0) {
		log_error("%s: configuration error", source);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)r + 1, fmt, ap);
	va_end(ap);
	if (line > 0)
		log_error("%s:%u: %s", source, line, b.data);
	else
		log_error("%s: %s", source, b.data);
}

static void *
section_base(struct config *c, enum cfg_section s, size_t scanner)
{
	switch (s) {
	case SEC_ALIPAY:
		return &c->alipay;
	case SEC_TERMINAL:
		return &c->terminal;
	case SEC_TIMING:
		return &c->timing;
	case SEC_SCANNER:
		return &c->scanners[scanner];
	case SEC_DISPLAY:
		return &c->display;
	case SEC_API:
		return &c->api;
	case SEC_NOTIFY:
		return &c->notify;
	case SEC_JOURNAL:
		return &c->journal;
	case SEC_RECONCILE:
		return &c->reconcile;
	case SEC_CENTRAL:
		return &c->central;
	case SEC_METRICS:
		return &c->metrics;
	case SEC_NONE:
	case _SEC_MAX:
		break;
	}
	return NULL;
}

static bool
is_secret_key(const struct cfg_key *k)
{
	return k->type == T_SECRET;
}

static bool
str_all(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !(extra && strchr(extra, *s)))
			return false;
	return true;
}

static bool
str_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Parses an unsigned decimal without sign, spaces or overflow. */
static int
parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* "50ms", "5s", "2m", "1h"; a bare number is refused so that units are never guessed. */
static int
parse_usec(const char *s, usec_t *ret)
{
	static const struct {
		const char *suffix;
		usec_t mult;
	} units[] = {{"ms", USEC_PER_MSEC},
		     {"s", USEC_PER_SEC},
		     {"m", 60 * USEC_PER_SEC},
		     {"h", 3600 * USEC_PER_SEC}};
	size_t n = 0;
	char num[24];
	uint64_t v;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = 0;
	if (parse_u64(num, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (STR_EQ(s + n, units[i].suffix)) {
			if (v > UINT64_MAX / units[i].mult)
				return -ERANGE;
			*ret = v * units[i].mult;
			return 0;
		}
	return -EINVAL;
}

static void
format_usec(usec_t v, char *buf, size_t size)
{
	if (v % (3600 * USEC_PER_SEC) == 0 && v > 0)
		snprintf(buf, size, "%" PRIu64 "h", v / (3600 * USEC_PER_SEC));
	else if (v % (60 * USEC_PER_SEC) == 0 && v > 0)
		snprintf(buf, size, "%" PRIu64 "m", v / (60 * USEC_PER_SEC));
	else if (v % USEC_PER_SEC == 0)
		snprintf(buf, size, "%" PRIu64 "s", v / USEC_PER_SEC);
	else
		snprintf(buf, size, "%" PRIu64 "ms", v / USEC_PER_MSEC);
}

static int
parse_bool(const char *s, bool *ret)
{
	if (STR_EQ(s, "yes") || STR_EQ(s, "true") || STR_EQ(s, "on") || STR_EQ(s, "1"))
		*ret = true;
	else if (STR_EQ(s, "no") || STR_EQ(s, "false") || STR_EQ(s, "off") || STR_EQ(s, "0"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int
parse_hex16(const char *s, size_t n, uint16_t *ret)
{
	unsigned v = 0;

	if (n != 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit((unsigned char)s[i])
						? s[i] - '0'
						: (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	*ret = (uint16_t)v;
	return 0;
}

/* "IPv4:PORT" or "[IPv6]:PORT"; the host part is written into host (size ≥ 64). */
static int
parse_addr(const char *s, char host[static 64], unsigned *ret_port)
{
	const char *colon;
	uint64_t port;
	size_t n;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		colon = end + 1;
		if (n == 0 || n >= 64)
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = 0;
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		if (n == 0 || n >= 64)
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = 0;
		struct in_addr a4;
		if (inet_pton(AF_INET, host, &a4) != 1)
			return -EINVAL;
	}
	if (parse_u64(colon + 1, &port) < 0 || port == 0 || port > 65535)
		return -EINVAL;
	*ret_port = (unsigned)port;
	return 0;
}

/* One item of [display] backend: fills o, or says why not. */
static int
parse_display_one(const char *item, struct config_display_output *o, char *why, size_t why_size)
{
	const char *target = NULL;
	char web[80], host[64];
	unsigned port;

	*o = (struct config_display_output){0};
	if (STR_EQ(item, "tty"))
		o->backend = CONFIG_DISPLAY_TTY;
	else if (strncmp(item, "tty:", 4) == 0) {
		/* doc/operations.md, "Devices under the service". */
		snprintf(
			why, why_size,
			"the tty display writes to f2fpayd's standard output: for a serial port or "
			"a console, write \"tty\" and give the device to the service as TTYPath= "
			"with StandardOutput=tty");
		return -EINVAL;
	} else if (strncmp(item, "fb:", 3) == 0 && strstr(item, ",vt=")) {
		snprintf(why, why_size,
			 "vt= is not supported: the service may not switch virtual terminals; keep "
			 "the console off the framebuffer instead (fbcon=map:9 on the kernel "
			 "command "
			 "line)");
		return -EINVAL;
	} else if (strncmp(item, "fb:", 3) == 0) {
		o->backend = CONFIG_DISPLAY_FB;
		target = item + 3;
		if (strncmp(target, "/dev/fb", 7) != 0 || !target[7] ||
		    !str_all(target + 7, NULL)) {
			snprintf(why, why_size, "expected fb:/dev/fbN, not \"%s\"", item);
			return -EINVAL;
		}
	} else if (strncmp(item, "png:", 4) == 0 || strncmp(item, "pole:", 5) == 0) {
		o->backend = item[1] == 'n' ? CONFIG_DISPLAY_PNG : CONFIG_DISPLAY_POLE;
		target = strchr(item, ':') + 1;
		/* ',' separates the driver's options: not part of a path here. */
		if (target[0] != '/' || !str_printable(target) || strchr(target, ',')) {
			snprintf(why, why_size, "expected %.4s:/absolute/path, not \"%s\"", item,
				 item);
			return -EINVAL;
		}
	} else if (STR_EQ(item, "web") || strncmp(item, "web:", 4) == 0) {
		/* web, web:PORT or web:ADDR:PORT; the page listens on loopback unless told. */
		const char *rest = item[3] ? item + 4 : "8090";
		o->backend = CONFIG_DISPLAY_WEB;
		if (strchr(rest, ':'))
			snprintf(web, sizeof(web), "%s", rest);
		else
			snprintf(web, sizeof(web), "127.0.0.1:%s", rest);
		if (strlen(rest) >= 64 || parse_addr(web, host, &port) < 0) {
			snprintf(why, why_size,
				 "expected web, web:PORT or web:ADDR:PORT with a numeric address, "
				 "not \"%s\"",
				 item);
			return -EINVAL;
		}
		target = web;
	} else {
		snprintf(why, why_size,
			 "expected none, or tty, fb:/dev/fbN, png:PATH, web[:ADDR:PORT] or "
			 "pole:DEVICE separated by spaces, not \"%s\"",
			 item);
		return -EINVAL;
	}
	if (target) {
		o->target = strdup(target);
		if (!o->target)
			return -ENOMEM;
	}
	return 0;
}

/* [display] backend: "none" or up to CONFIG_DISPLAY_MAX displays separated by spaces. */
static int
parse_display_list(struct config_display *d, const char *value, char *why, size_t why_size)
{
	struct config_display_output outs[CONFIG_DISPLAY_MAX];
	_cleanup_free_ char *copy = strdup(value);
	char *item, *save = NULL;
	unsigned n = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, " \t", &save); item; item = strtok_r(NULL, " \t", &save)) {
		if (STR_EQ(item, "none") && n == 0 && !strtok_r(NULL, " \t", &save))
			break;
		if (n == CONFIG_DISPLAY_MAX) {
			snprintf(why, why_size, "at most %d displays", CONFIG_DISPLAY_MAX);
			r = -EINVAL;
			break;
		}
		r = parse_display_one(item, &outs[n], why, why_size);
		if (r < 0)
			break;
		for (unsigned i = 0; i < n; i++)
			if (outs[i].backend == outs[n].backend &&
			    (outs[i].target == outs[n].target ||
			     STR_EQ_PTR(outs[i].target, outs[n].target))) {
				snprintf(why, why_size, "\"%s\" is listed twice", item);
				r = -EINVAL;
			}
		n++;
		if (r < 0)
			break;
	}
	if (r < 0) {
		for (unsigned i = 0; i < n; i++)
			free(outs[i].target);
		return r;
	}
	for (unsigned i = 0; i < d->n_outputs; i++)
		free(d->outputs[i].target);
	memcpy(d->outputs, outs, n * sizeof(outs[0]));
	d->n_outputs = n;
	return 0;
}

static void
display_list_format(const struct config_display *d, char *buf, size_t size)
{
	static const char *const prefix[] = {
		[CONFIG_DISPLAY_FB] = "fb:",     [CONFIG_DISPLAY_PNG] = "png:",
		[CONFIG_DISPLAY_TTY] = "tty",    [CONFIG_DISPLAY_WEB] = "web:",
		[CONFIG_DISPLAY_POLE] = "pole:",
	};
	size_t o = 0;

	snprintf(buf, size, "none");
	for (unsigned i = 0; i < d->n_outputs && o < size; i++) {
		const struct config_display_output *out = &d->outputs[i];
		int k = snprintf(buf + o, size - o, "%s%s%s", i ? " " : "", prefix[out->backend],
				 out->target ? out->target : "");
		if (k < 0)
			break;
		o += (size_t)k;
	}
}

static bool
host_is_loopback(const char *host)
{
	struct in_addr a4;

	if (STR_EQ(host, "localhost") || STR_EQ(host, "::1"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

/* Splits "scheme://host[:port]/..." and returns the host (brackets of IPv6 removed). */
static int
url_host(const char *url, bool *ret_https, char host[static 256])
{
	const char *p, *end;
	size_t n;

	if (strncmp(url, "https://", 8) == 0) {
		*ret_https = true;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*ret_https = false;
		p = url + 7;
	} else
		return -EINVAL;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return -EINVAL;
		p++;
	} else
		end = p + strcspn(p, ":/?#");
	n = (size_t)(end - p);
	if (n == 0 || n >= 256)
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)host[i]) && !strchr(".-:", host[i]))
			return -EINVAL;
	return 0;
}

static const char *
enum_list(const char *const *names, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; names[i] && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "|" : "", names[i]);
	return buf;
}

static void
free_string_field(const struct cfg_key *k, char **p)
{
	if (is_secret_key(k))
		erase_and_free(*p);
	else
		free(*p);
	*p = NULL;
}

/* Parses `value` for key `k` into the section at `base`; on error says why into `why`. */
static int
key_parse(const struct cfg_key *k, void *base, const char *value, char *why, size_t why_size)
{
	void *field = (char *)base + k->offset;
	size_t len = strlen(value);
	char tmp[256];

	switch (k->type) {
	case T_STR:
	case T_SECRET:
	case T_ID:
	case T_REF:
	case T_DIGITS:
	case T_PATH:
	case T_CRED:
	case T_URL:
	case T_ADDR:
	case T_LAYOUT: {
		if (len == 0) {
			snprintf(why, why_size, "empty value (leave the key out instead)");
			return -EINVAL;
		}
		if (k->max && len > k->max) {
			snprintf(why, why_size, "value longer than %" PRIu64 " characters", k->max);
			return -EINVAL;
		}
		if (k->type == T_SECRET && k->min && len < k->min) {
			snprintf(why, why_size, "value shorter than %" PRIu64 " characters",
				 k->min);
			return -EINVAL;
		}
		if (!str_printable(value)) {
			snprintf(why, why_size, "control characters in the value");
			return -EINVAL;
		}
		if (k->type == T_ID && !str_all(value, NULL)) {
			snprintf(why, why_size, "only letters and digits are allowed");
			return -EINVAL;
		}
		if (k->type == T_REF && !str_all(value, "_-")) {
			snprintf(why, why_size, "only letters, digits, '_' and '-' are allowed");
			return -EINVAL;
		}
		if (k->type == T_DIGITS)
			for (const char *p = value; *p; p++)
				if (!isdigit((unsigned char)*p)) {
					snprintf(why, why_size, "only digits are allowed");
					return -EINVAL;
				}
		if (k->type == T_PATH &&
		    (value[0] != '/' || strstr(value, "/../") || strchr(value, ' '))) {
			snprintf(why, why_size,
				 "an absolute path without spaces or /../ is required");
			return -EINVAL;
		}
		if (k->type == T_CRED && (!str_all(value, "_-.") || value[0] == '.')) {
			snprintf(why, why_size,
				 "a credential name (letters, digits, '_', '-', '.')");
			return -EINVAL;
		}
		if (k->type == T_URL) {
			bool https;
			char host[256];
			if (url_host(value, &https, host) < 0 || strpbrk(value, " \"'<>\\")) {
				snprintf(why, why_size, "an http:// or https:// URL is required");
				return -EINVAL;
			}
		}
		if (k->type == T_ADDR) {
			char host[64];
			unsigned port;
			if (parse_addr(value, host, &port) < 0) {
				snprintf(
					why, why_size,
					"expected IPv4:PORT or [IPv6]:PORT with a numeric address");
				return -EINVAL;
			}
		}
		if (k->type == T_LAYOUT && !str_all(value, "()_-")) {
			snprintf(why, why_size, "an xkb layout name such as us or de(nodeadkeys)");
			return -EINVAL;
		}
		char *copy = strdup(value);
		if (!copy)
			return -ENOMEM;
		free_string_field(k, (char **)field);
		*(char **)field = copy;
		return 0;
	}
	case T_BOOL:
		if (parse_bool(value, (bool *)field) < 0) {
			snprintf(why, why_size, "expected yes or no");
			return -EINVAL;
		}
		return 0;
	case T_UINT: {
		uint64_t v;
		if (parse_u64(value, &v) < 0 || v < k->min || v > k->max) {
			snprintf(why, why_size,
				 "expected a whole number from %" PRIu64 " to %" PRIu64, k->min,
				 k->max);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)v;
		return 0;
	}
	case T_MODE: {
		unsigned v = 0;
		if (len < 3 || len > 4)
			goto bad_mode;
		for (const char *p = value; *p; p++) {
			if (*p < '0' || *p > '7')
				goto bad_mode;
			v = v * 8 + (unsigned)(*p - '0');
		}
		if (v > 0777)
			goto bad_mode;
		*(unsigned *)field = v;
		return 0;
bad_mode:
		snprintf(why, why_size, "expected an octal mode such as 0660");
		return -EINVAL;
	}
	case T_USEC:
	case T_MINUTES: {
		usec_t v;
		char lo[24], hi[24];
		format_usec(k->min, lo, sizeof(lo));
		format_usec(k->max, hi, sizeof(hi));
		if (parse_usec(value, &v) < 0 || v < k->min || v > k->max) {
			snprintf(why, why_size,
				 "expected a duration from %s to %s (units ms, s, m, h)", lo, hi);
			return -EINVAL;
		}
		if (k->type == T_MINUTES && v % (60 * USEC_PER_SEC) != 0) {
			snprintf(why, why_size, "expected whole minutes (for example 2m)");
			return -EINVAL;
		}
		*(usec_t *)field = v;
		return 0;
	}
	case T_ENUM:
		for (int i = 0; k->names[i]; i++)
			if (STR_EQ(value, k->names[i])) {
				*(int *)field = i;
				return 0;
			}
		snprintf(why, why_size, "expected %s", enum_list(k->names, tmp, sizeof(tmp)));
		return -EINVAL;
	case T_USBID: {
		struct config_scanner *s = base;
		const char *colon = strchr(value, ':');
		uint16_t vid, pid;
		if (!colon || parse_hex16(value, (size_t)(colon - value), &vid) < 0 ||
		    parse_hex16(colon + 1, strlen(colon + 1), &pid) < 0) {
			snprintf(why, why_size, "expected VID:PID in hexadecimal, e.g. 05e0:1200");
			return -EINVAL;
		}
		s->has_usb_id = true;
		s->usb_vid = vid;
		s->usb_pid = pid;
		return 0;
	}
	case T_DISPLAY:
		return parse_display_list(base, value, why, why_size);
	case T_HHMM: {
		unsigned h, m;
		if (len != 5 || !isdigit((unsigned char)value[0]) ||
		    !isdigit((unsigned char)value[1]) || value[2] != ':' ||
		    !isdigit((unsigned char)value[3]) || !isdigit((unsigned char)value[4]))
			goto bad_time;
		h = (unsigned)(value[0] - '0') * 10 + (unsigned)(value[1] - '0');
		m = (unsigned)(value[3] - '0') * 10 + (unsigned)(value[4] - '0');
		if (h > 23 || m > 59)
			goto bad_time;
		*(unsigned *)field = h * 60 + m;
		return 0;
bad_time:
		snprintf(why, why_size, "expected HH:MM (24 hours, Beijing time)");
		return -EINVAL;
	}
	}
	return -EINVAL;
}

static int
key_format(const struct cfg_key *k, const void *base, char *buf, size_t size)
{
	const void *field = (const char *)base + k->offset;

	switch (k->type) {
	case T_STR:
	case T_ID:
	case T_REF:
	case T_DIGITS:
	case T_PATH:
	case T_CRED:
	case T_URL:
	case T_ADDR:
	case T_LAYOUT:
		snprintf(buf, size, "%s", strempty(*(char *const *)field));
		return 0;
	case T_SECRET:
		snprintf(buf, size, "%s", *(char *const *)field ? "(redacted)" : "");
		return 0;
	case T_BOOL:
		snprintf(buf, size, "%s", *(const bool *)field ? "yes" : "no");
		return 0;
	case T_UINT:
		snprintf(buf, size, "%u", *(const unsigned *)field);
		return 0;
	case T_MODE:
		snprintf(buf, size, "%04o", *(const unsigned *)field);
		return 0;
	case T_USEC:
	case T_MINUTES:
		format_usec(*(const usec_t *)field, buf, size);
		return 0;
	case T_ENUM: {
		int v = *(const int *)field;
		snprintf(buf, size, "%s", k->names[v]);
		return 0;
	}
	case T_USBID: {
		const struct config_scanner *s = base;
		if (s->has_usb_id)
			snprintf(buf, size, "%04x:%04x", s->usb_vid, s->usb_pid);
		else
			buf[0] = 0;
		return 0;
	}
	case T_DISPLAY:
		display_list_format(base, buf, size);
		return 0;
	case T_HHMM: {
		unsigned v = *(const unsigned *)field;
		snprintf(buf, size, "%02u:%02u", v / 60, v % 60);
		return 0;
	}
	}
	return -EINVAL;
}

static int
section_apply_defaults(struct config *c, enum cfg_section sec, size_t scanner)
{
	void *base = section_base(c, sec, scanner);
	char why[256];

	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].section != sec || !keys[i].def)
			continue;
		int r = key_parse(&keys[i], base, keys[i].def, why, sizeof(why));
		if (r < 0)
			return log_bug("default of %s.%s invalid: %s", section_names[sec],
				       keys[i].name, why);
	}
	return 0;
}

/* Finds a section by name: "alipay", or "scanner NAME" (ret_arg points at NAME). */
static enum cfg_section
section_lookup(const char *name, const char **ret_arg)
{
	*ret_arg = NULL;
	if (strncmp(name, "scanner", 7) == 0 && (name[7] == ' ' || name[7] == '\t')) {
		const char *arg = name + 8;
		while (*arg == ' ' || *arg == '\t')
			arg++;
		*ret_arg = arg;
		return SEC_SCANNER;
	}
	for (int i = 0; i < _SEC_MAX; i++)
		if (i != SEC_SCANNER && STR_EQ(name, section_names[i]))
			return (enum cfg_section)i;
	return SEC_NONE;
}

static void
section_open(struct parse_ctx *ctx, const char *name)
{
	const char *arg;
	enum cfg_section sec = section_lookup(name, &arg);
	struct config *c = ctx->config;

	ctx->section_bad = true;
	ctx->section = sec;
	if (sec == SEC_NONE) {
		if (STR_EQ(name, "scanner"))
			ctx_error(ctx, LOC(ctx), "[scanner] needs a name: [scanner NAME]");
		else
			ctx_error(ctx, LOC(ctx), "unknown section [%s]", name);
		return;
	}
	if (sec == SEC_SCANNER) {
		if (!*arg || strlen(arg) > 32 || !str_all(arg, "_-")) {
			ctx_error(ctx, LOC(ctx),
				  "scanner name must be 1-32 letters, digits, '_' or '-'");
			return;
		}
		for (size_t i = 0; i < c->n_scanners; i++) {
			if (!STR_EQ(c->scanners[i].name, arg))
				continue;
			if (same_file(ctx, ctx->scanner_line[i])) {
				ctx_error(ctx, LOC(ctx),
					  "duplicate section [scanner %s] (first at line %u)", arg,
					  loc_line(ctx->scanner_line[i]));
				return;
			}
			/* A drop-in adds to or overrides a scanner of an earlier file. */
			ctx->scanner = i;
			ctx->section_bad = false;
			return;
		}
		if (c->n_scanners >= CONFIG_MAX_SCANNERS) {
			ctx_error(ctx, LOC(ctx), "more than %d scanners", CONFIG_MAX_SCANNERS);
			return;
		}
		struct config_scanner *s = &c->scanners[c->n_scanners];
		s->name = strdup(arg);
		if (!s->name) {
			ctx_error(ctx, LOC(ctx), "out of memory");
			return;
		}
		if (section_apply_defaults(c, SEC_SCANNER, c->n_scanners) < 0) {
			ctx->errors++;
			return;
		}
		ctx->scanner_line[c->n_scanners] = LOC(ctx);
		ctx->scanner = c->n_scanners++;
		ctx->section_bad = false;
		return;
	}
	if (ctx->section_line[sec] && same_file(ctx, ctx->section_line[sec])) {
		ctx_error(ctx, LOC(ctx), "duplicate section [%s] (first at line %u)", name,
			  loc_line(ctx->section_line[sec]));
		return;
	}
	if (!ctx->section_line[sec])
		ctx->section_line[sec] = LOC(ctx);
	ctx->section_bad = false;
}

static char *
strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/*
 * libinih's line reader, fed from memory. It counts lines (for "file:line" messages), refuses
 * over-long lines and NUL bytes, and handles section headers itself so that empty sections,
 * unknown and duplicate ones are seen. What it hands to libinih is only comments, blanks and
 * key = value lines.
 */
static char *
ctx_reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	size_t start = ctx->pos, n;
	char line[CONFIG_MAX_LINE + 2];

	if (ctx->pos >= ctx->size)
		return NULL;
	while (ctx->pos < ctx->size && ctx->data[ctx->pos] != '\n')
		ctx->pos++;
	n = ctx->pos - start;
	if (ctx->pos < ctx->size)
		ctx->pos++; /* the newline */
	ctx->line++;

	str[0] = 0;
	if (memchr(ctx->data + start, 0, n)) {
		ctx_error(ctx, LOC(ctx), "NUL byte in line");
		return str;
	}
	if (n > CONFIG_MAX_LINE || n + 2 > (size_t)num) {
		ctx_error(ctx, LOC(ctx), "line longer than %d bytes", CONFIG_MAX_LINE);
		return str;
	}
	memcpy(line, ctx->data + start, n);
	line[n] = 0;

	char *s = strip(line);
	/* libinih skips a UTF-8 BOM on the first line; so do we, for the header check. */
	if (ctx->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s = strip(s + 3);
	if (*s == 0 || *s == '#' || *s == ';')
		return str;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end || *strip(end + 1) != 0) {
			ctx_error(ctx, LOC(ctx), "malformed section header");
			return str;
		}
		*end = 0;
		section_open(ctx, strip(s + 1));
		return str;
	}
	if (!strchr(s, '=')) {
		ctx_error(ctx, LOC(ctx), "expected key = value");
		return str;
	}
	/* Only '=' separates (libinih would also take ':'; URLs and addresses contain ':'). */
	char *eq = strchr(s, '=');
	char *colon = strchr(s, ':');
	if ((colon && colon < eq) || eq == s) {
		ctx_error(ctx, LOC(ctx), "expected key = value");
		return str;
	}
	/* libinih would cut the value at " ;" (an inline comment) without a word: refuse it. */
	if (strstr(eq, " ;") || strstr(eq, "\t;")) {
		ctx_error(ctx, LOC(ctx), "inline comments are not allowed (\" ;\" in the value)");
		return str;
	}
	snprintf(str, (size_t)num, "%s\n", s);
	return str;
}

static int ctx_handler(void *user, const char *section, const char *name, const char *value);

/*
 * A key of an earlier release, still read so that an upgrade keeps working: aim_strip = yes is
 * prefix = aim (no is the default, nothing). Said once per use, with its replacement.
 */
static int
renamed_aim_strip(struct parse_ctx *ctx, const char *value)
{
	bool on;

	if (parse_bool(value, &on) < 0) {
		ctx_error(ctx, LOC(ctx), "bad value for 'aim_strip': expected yes or no");
		return 1;
	}
	log_warning("%s:%u: 'aim_strip' is deprecated: write 'prefix = %s' instead",
		    ctx->sources[ctx->file], ctx->line, on ? "aim" : "none");
	return on ? ctx_handler(ctx, NULL, "prefix", "aim") : 1;
}

static int
ctx_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	struct config *c = ctx->config;
	unsigned slot;
	char why[256];
	void *base;
	size_t i;

	if (ctx->section == SEC_NONE && !ctx->section_bad) {
		ctx_error(ctx, LOC(ctx), "key '%s' outside of any section", name);
		return 1;
	}
	if (ctx->section_bad)
		return 1; /* the section header error was said once */
	if (ctx->section == SEC_SCANNER && STR_EQ(name, "aim_strip"))
		return renamed_aim_strip(ctx, value);
	for (i = 0; i < N_KEYS; i++)
		if (keys[i].section == ctx->section && STR_EQ(keys[i].name, name))
			break;
	if (i == N_KEYS) {
		ctx_error(ctx, LOC(ctx), "unknown key '%s' in [%s]", name,
			  section_names[ctx->section]);
		return 1;
	}
	slot = ctx->section == SEC_SCANNER ? 1 + (unsigned)ctx->scanner : 0;
	/* Within one file a key is set once; a later drop-in overrides an earlier file. */
	if (ctx->set_line[slot][i] && same_file(ctx, ctx->set_line[slot][i])) {
		ctx_error(ctx, LOC(ctx), "duplicate key '%s' (first at line %u)", name,
			  loc_line(ctx->set_line[slot][i]));
		return 1;
	}
	ctx->set_line[slot][i] = LOC(ctx);
	/* A placeholder is refused unless a later drop-in sets the key (placeholders_check). */
	free(ctx->placeholder[slot][i]);
	ctx->placeholder[slot][i] = NULL;
	if (strncmp(value, CONFIG_PLACEHOLDER, STRLEN(CONFIG_PLACEHOLDER)) == 0) {
		ctx->placeholder[slot][i] = strdup(value);
		if (!ctx->placeholder[slot][i]) {
			ctx_error(ctx, LOC(ctx), "out of memory");
			return 0;
		}
		return 1;
	}
	base = section_base(c, ctx->section, ctx->scanner);
	why[0] = 0;
	int r = key_parse(&keys[i], base, value, why, sizeof(why));
	if (r == -ENOMEM) {
		ctx_error(ctx, LOC(ctx), "out of memory");
		return 0;
	}
	if (r < 0)
		ctx_error(ctx, LOC(ctx), "bad value for '%s': %s", name, why);
	return 1;
}

static size_t
key_index(enum cfg_section sec, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].section == sec && STR_EQ(keys[i].name, name))
			return i;
	abort(); /* a typo in this file */
}

/* The line a key was set on, else its section's header line, else 0. */
static unsigned
where(const struct parse_ctx *ctx, enum cfg_section sec, size_t scanner, const char *name)
{
	unsigned slot = sec == SEC_SCANNER ? 1 + (unsigned)scanner : 0;
	unsigned l = ctx->set_line[slot][key_index(sec, name)];

	if (l)
		return l;
	return sec == SEC_SCANNER ? ctx->scanner_line[scanner] : ctx->section_line[sec];
}

static bool
is_set(const struct parse_ctx *ctx, enum cfg_section sec, size_t scanner, const char *name)
{
	unsigned slot = sec == SEC_SCANNER ? 1 + (unsigned)scanner : 0;
	return ctx->set_line[slot][key_index(sec, name)] != 0;
}

/* "app_private_key" → "the app private key", for messages. */
static const char *
key_what(const char *key)
{
	static const struct {
		const char *key, *what;
	} t[] = {
		{"app_private_key", "the app private key"},
		{"alipay_public_key", "the Alipay public key"},
		{"app_cert", "the app certificate"},
		{"alipay_cert", "the Alipay certificate"},
		{"alipay_root_cert", "the Alipay root certificate bundle"},
		{"password_file", "the central database password"},
	};
	for (size_t i = 0; i < ELEMENTSOF(t); i++)
		if (STR_EQ(t[i].key, key))
			return t[i].what;
	return key;
}

/*
 * doc/design.md §12.1: refuse a private key others could read. `origin` is the file the
 * operator manages; a credential copy is root's and 0400 whatever the original is, so the
 * original is what counts. A file the daemon cannot even stat (a folder closed to it) is left
 * to the check run as root (--check-config, ExecReload=).
 */
static void
check_private_mode(struct parse_ctx *ctx, unsigned line, const char *key, const char *origin)
{
	struct stat st;

	if (stat(origin, &st) < 0 || !(st.st_mode & 0077))
		return;
	ctx_error(ctx, line,
		  "%s: %s is accessible by group or others (mode %04o): make it readable by "
		  "its owner only (chmod 600 %s)",
		  key_what(key), origin, (unsigned)(st.st_mode & 07777), origin);
}

/*
 * Resolves a path-or-credential pair; checks the file unless CONFIG_SKIP_FILE_CHECKS. The pair of
 * "KEY" or "KEY_file" is "KEY_credential".
 */

/* True for the stand-in that f2fpayd.service gives a key file systemd could not load. */
static bool
credential_not_loaded(const char *path, const struct stat *st)
{
	char buf[sizeof(CONFIG_CREDENTIAL_NOT_LOADED) + 1];
	ssize_t n;
	int fd;

	if (!S_ISREG(st->st_mode) || st->st_size == 0)
		return S_ISREG(st->st_mode);
	if ((size_t)st->st_size > sizeof(buf))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	return n == (ssize_t)strlen(CONFIG_CREDENTIAL_NOT_LOADED) &&
	       memcmp(buf, CONFIG_CREDENTIAL_NOT_LOADED, (size_t)n) == 0;
}

static void
check_key_file(struct parse_ctx *ctx, enum cfg_section sec, const char *key, const char *path,
	       const char *cred, bool required, bool private, char **ret_resolved,
	       char **ret_origin)
{
	char cred_key[64];
	_cleanup_free_ char *resolved = NULL, *origin = NULL;
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;
	size_t stem = strlen(key);

	if (stem > STRLEN("_file") && STR_EQ(key + stem - STRLEN("_file"), "_file"))
		stem -= STRLEN("_file");
	snprintf(cred_key, sizeof(cred_key), "%.*s_credential", (int)stem, key);
	if (path && cred) {
		ctx_error(ctx, where(ctx, sec, 0, cred_key), "set either %s or %s, not both", key,
			  cred_key);
		return;
	}
	if (!path && !cred) {
		if (required)
			ctx_error(ctx, ctx->section_line[sec], "[%s] %s or %s is required",
				  section_names[sec], key, cred_key);
		return;
	}
	if (cred) {
		if (asprintf(&origin, "%s/%s", ctx->config->dir, cred) < 0 ||
		    asprintf(&resolved, "%s/%s", dir && *dir ? dir : ctx->config->dir, cred) < 0) {
			ctx_error(ctx, 0, "out of memory");
			return;
		}
	} else {
		resolved = strdup(path);
		origin = strdup(path);
		if (!resolved || !origin) {
			ctx_error(ctx, 0, "out of memory");
			return;
		}
	}
	if (!(ctx->flags & CONFIG_SKIP_FILE_CHECKS)) {
		unsigned line = where(ctx, sec, 0, cred ? cred_key : key);
		bool copy = !STR_EQ(resolved, origin);

		/* A credential that systemd could not load arrives as CONFIG_CREDENTIAL_NOT_LOADED
		 * (SetCredential= in f2fpayd.service is its fallback; systemd 252 refuses an empty
		 * value there) or empty, so that this message can say what to do. */
		if (copy && (stat(resolved, &st) < 0 || credential_not_loaded(resolved, &st))) {
			ctx_error(ctx, line,
				  "%s is missing: put it in %s (owner root, mode 0600); "
				  "f2fpayd.service loads it from there as credential '%s'",
				  key_what(key), origin, cred);
			return;
		}
		if (!copy && stat(resolved, &st) < 0) {
			if (errno == ENOENT && cred)
				ctx_error(ctx, line,
					  "%s is missing: put it in %s (owner root, mode 0600)",
					  key_what(key), origin);
			else
				ctx_error(ctx, line, "%s: cannot read %s: %s",
					  cred ? cred_key : key, resolved, strerror(errno));
			return;
		}
		if (!S_ISREG(st.st_mode)) {
			ctx_error(ctx, line, "%s: %s is not a regular file", cred ? cred_key : key,
				  origin);
			return;
		}
		if (private) {
			unsigned before = ctx->errors;
			check_private_mode(ctx, line, key, origin);
			if (ctx->errors != before)
				return;
		}
	}
	*ret_resolved = TAKE_PTR(resolved);
	*ret_origin = TAKE_PTR(origin);
}

static void
check_alipay(struct parse_ctx *ctx)
{
	struct config_alipay *a = &ctx->config->alipay;
	char host[256];
	bool https;

	if (!a->app_id)
		ctx_error(ctx, ctx->section_line[SEC_ALIPAY], "[alipay] app_id is required");
	if (url_host(a->gateway_url, &https, host) == 0 && !https && !host_is_loopback(host))
		ctx_error(ctx, where(ctx, SEC_ALIPAY, 0, "gateway_url"),
			  "gateway_url must use https:// (plain http only to a loopback sandbox)");
	if (a->total_timeout_usec < a->connect_timeout_usec)
		ctx_error(ctx, where(ctx, SEC_ALIPAY, 0, "total_timeout"),
			  "total_timeout is shorter than connect_timeout");

	check_key_file(ctx, SEC_ALIPAY, "app_private_key", a->app_private_key,
		       a->app_private_key_credential, true, true, &a->app_private_key_resolved,
		       &a->app_private_key_origin);
	if (a->cert_mode) {
		/* doc/protocol.md §7: certificate mode needs all three certificates. */
		if (a->alipay_public_key || a->alipay_public_key_credential)
			ctx_error(
				ctx,
				where(ctx, SEC_ALIPAY, 0,
				      a->alipay_public_key ? "alipay_public_key"
							   : "alipay_public_key_credential"),
				"alipay_public_key is not used with cert_mode = yes (the key comes "
				"from alipay_cert)");
		check_key_file(ctx, SEC_ALIPAY, "app_cert", a->app_cert, a->app_cert_credential,
			       true, false, &a->app_cert_resolved, &a->app_cert_origin);
		check_key_file(ctx, SEC_ALIPAY, "alipay_cert", a->alipay_cert,
			       a->alipay_cert_credential, true, false, &a->alipay_cert_resolved,
			       &a->alipay_cert_origin);
		check_key_file(ctx, SEC_ALIPAY, "alipay_root_cert", a->alipay_root_cert,
			       a->alipay_root_cert_credential, true, false,
			       &a->alipay_root_cert_resolved, &a->alipay_root_cert_origin);
	} else {
		static const char *const cert_keys[] = {
			"app_cert",         "app_cert_credential",
			"alipay_cert",      "alipay_cert_credential",
			"alipay_root_cert", "alipay_root_cert_credential"};
		for (size_t i = 0; i < ELEMENTSOF(cert_keys); i++)
			if (is_set(ctx, SEC_ALIPAY, 0, cert_keys[i]))
				ctx_error(ctx, where(ctx, SEC_ALIPAY, 0, cert_keys[i]),
					  "%s needs cert_mode = yes", cert_keys[i]);
		check_key_file(ctx, SEC_ALIPAY, "alipay_public_key", a->alipay_public_key,
			       a->alipay_public_key_credential, true, false,
			       &a->alipay_public_key_resolved, &a->alipay_public_key_origin);
	}
	if (a->ca_file && !(ctx->flags & CONFIG_SKIP_FILE_CHECKS) && access(a->ca_file, R_OK) < 0)
		ctx_error(ctx, where(ctx, SEC_ALIPAY, 0, "ca_file"), "ca_file: cannot read %s: %s",
			  a->ca_file, strerror(errno));
}

/* The serial speeds scanners and pole displays may use. */
static bool
baud_is_standard(unsigned baud)
{
	static const unsigned bauds[] = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200};

	for (size_t b = 0; b < ELEMENTSOF(bauds); b++)
		if (bauds[b] == baud)
			return true;
	return false;
}

static void
check_display(struct parse_ctx *ctx)
{
	const struct config_display *d = &ctx->config->display;

	if (!baud_is_standard(d->pole_baud))
		ctx_error(ctx, where(ctx, SEC_DISPLAY, 0, "pole_baud"),
			  "pole_baud %u is not a standard rate (1200 ... 115200)", d->pole_baud);
}

static void
check_scanner(struct parse_ctx *ctx, size_t i)
{
	struct config_scanner *s = &ctx->config->scanners[i];

	if (!is_set(ctx, SEC_SCANNER, i, "kind")) {
		ctx_error(ctx, ctx->scanner_line[i], "[scanner %s] kind is required", s->name);
		return;
	}
	for (size_t k = 0; k < N_KEYS; k++) {
		unsigned slot = 1 + (unsigned)i;
		if (keys[k].section != SEC_SCANNER || !ctx->set_line[slot][k] || !keys[k].kinds)
			continue;
		if (!(keys[k].kinds & (1u << s->kind)))
			ctx_error(ctx, ctx->set_line[slot][k],
				  "'%s' does not apply to a %s scanner", keys[k].name,
				  kind_names[s->kind]);
	}
	switch (s->kind) {
	case CONFIG_SCANNER_EVDEV:
		if (!s->by_id && !s->has_usb_id && !s->name_pattern)
			ctx_error(
				ctx, ctx->scanner_line[i],
				"[scanner %s] an evdev scanner needs by_id, usb_id or name_pattern",
				s->name);
		break;
	case CONFIG_SCANNER_SERIAL:
		if (!s->device)
			ctx_error(ctx, ctx->scanner_line[i],
				  "[scanner %s] a serial scanner needs device", s->name);
		if (!baud_is_standard(s->baud))
			ctx_error(ctx, where(ctx, SEC_SCANNER, i, "baud"),
				  "baud %u is not a standard rate (1200 ... 115200)", s->baud);
		break;
	case CONFIG_SCANNER_HIDPOS:
		break;
	}
}

static void
check_api(struct parse_ctx *ctx)
{
	struct config_api *a = &ctx->config->api;
	char host[64];
	unsigned port;

	if (a->tcp_listen) {
		if (parse_addr(a->tcp_listen, host, &port) == 0 && !host_is_loopback(host))
			ctx_error(ctx, where(ctx, SEC_API, 0, "tcp_listen"),
				  "tcp_listen must be a loopback address (127.0.0.0/8 or [::1])");
		if (!a->token && !a->token_credential)
			ctx_error(ctx, where(ctx, SEC_API, 0, "tcp_listen"),
				  "tcp_listen needs token or token_credential");
	}
	if (a->token && a->token_credential) {
		ctx_error(ctx, where(ctx, SEC_API, 0, "token_credential"),
			  "set either token or token_credential, not both");
		return;
	}
	if (a->token_credential && !(ctx->flags & CONFIG_SKIP_FILE_CHECKS)) {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");
		unsigned line = where(ctx, SEC_API, 0, "token_credential");
		_cleanup_free_ char *path = NULL;
		_cleanup_fclose_ FILE *f = NULL;
		char tok[258];
		size_t n;

		if (!dir || !*dir)
			dir = ctx->config
				      ->dir; /* as for the keys: where LoadCredential= reads it */
		if (asprintf(&path, "%s/%s", dir, a->token_credential) < 0) {
			ctx_error(ctx, 0, "out of memory");
			return;
		}
		f = fopen(path, "re");
		if (!f) {
			ctx_error(ctx, line, "token_credential: cannot read %s: %s", path,
				  strerror(errno));
			return;
		}
		n = fread(tok, 1, sizeof(tok) - 1, f);
		tok[n] = 0;
		while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
			tok[--n] = 0;
		if (n < 16 || n > 256 || !str_printable(tok) || strchr(tok, ' ')) {
			explicit_bzero(tok, sizeof(tok));
			ctx_error(ctx, line,
				  "token_credential: the token must be 16-256 printable "
				  "characters without spaces");
			return;
		}
		a->token = strdup(tok);
		explicit_bzero(tok, sizeof(tok));
		if (!a->token)
			ctx_error(ctx, 0, "out of memory");
	}
}

/* doc/central.md "Shipping": a libpq URI whose password comes from a file, never the config. */
static void
check_central(struct parse_ctx *ctx)
{
	struct config_central *c = &ctx->config->central;
	unsigned line = where(ctx, SEC_CENTRAL, 0, "url");
	const char *rest, *auth_end, *at;

	if (!c->url) {
		static const char *const needs_url[] = {"password_file", "password_credential"};
		for (size_t i = 0; i < ELEMENTSOF(needs_url); i++)
			if (is_set(ctx, SEC_CENTRAL, 0, needs_url[i]))
				ctx_error(ctx, where(ctx, SEC_CENTRAL, 0, needs_url[i]),
					  "%s is set but [central] url is not", needs_url[i]);
		return;
	}
	if (strncmp(c->url, "postgresql://", STRLEN("postgresql://")) == 0)
		rest = c->url + STRLEN("postgresql://");
	else if (strncmp(c->url, "postgres://", STRLEN("postgres://")) == 0)
		rest = c->url + STRLEN("postgres://");
	else {
		ctx_error(ctx, line, "url must start with postgresql:// or postgres://");
		return;
	}
	auth_end = rest + strcspn(rest, "/?");
	at = memchr(rest, '@', (size_t)(auth_end - rest));
	if ((at && memchr(rest, ':', (size_t)(at - rest))) || strstr(c->url, "password=")) {
		ctx_error(ctx, line,
			  "url must not carry a password: use password_credential or "
			  "password_file");
		return;
	}
	if (c->password_file || c->password_credential)
		check_key_file(ctx, SEC_CENTRAL, "password_file", c->password_file,
			       c->password_credential, false, true, &c->password_resolved,
			       &c->password_origin);
}

static void
config_check(struct parse_ctx *ctx)
{
	struct config *c = ctx->config;

	check_alipay(ctx);
	if (!c->terminal.terminal_id)
		ctx_error(ctx, ctx->section_line[SEC_TERMINAL],
			  "[terminal] terminal_id is required");
	if (c->timing.attention_backoff_max_usec < c->timing.attention_backoff_usec)
		ctx_error(ctx, where(ctx, SEC_TIMING, 0, "attention_backoff_max"),
			  "attention_backoff_max is shorter than attention_backoff");
	for (size_t i = 0; i < c->n_scanners; i++)
		check_scanner(ctx, i);
	check_api(ctx);
	check_display(ctx);
	if (c->metrics.listen) {
		char host[64];
		unsigned port;
		if (parse_addr(c->metrics.listen, host, &port) == 0 && !host_is_loopback(host))
			ctx_error(ctx, where(ctx, SEC_METRICS, 0, "listen"),
				  "[metrics] listen must be a loopback address (127.0.0.0/8 or "
				  "[::1]); publish it further with a proxy if you must");
	}
	if (c->notify.listen && !c->alipay.notify_url)
		ctx_error(ctx, where(ctx, SEC_NOTIFY, 0, "listen"),
			  "[notify] listen is set but [alipay] notify_url is not (Alipay would "
			  "never call it)");
	check_central(ctx);
}

void
config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &keys[i];
		size_t n = k->section == SEC_SCANNER ? CONFIG_MAX_SCANNERS : 1;
		switch (k->type) {
		case T_STR:
		case T_SECRET:
		case T_ID:
		case T_REF:
		case T_DIGITS:
		case T_PATH:
		case T_CRED:
		case T_URL:
		case T_ADDR:
		case T_LAYOUT:
			for (size_t j = 0; j < n; j++) {
				void *field = (char *)section_base(c, k->section, j) + k->offset;
				free_string_field(k, field);
			}
			break;
		case T_BOOL:
		case T_UINT:
		case T_MODE:
		case T_USEC:
		case T_MINUTES:
		case T_ENUM:
		case T_USBID:
		case T_DISPLAY:
		case T_HHMM:
			break;
		}
	}
	for (size_t j = 0; j < CONFIG_MAX_SCANNERS; j++)
		free(c->scanners[j].name);
	for (size_t j = 0; j < c->display.n_outputs; j++)
		free(c->display.outputs[j].target);
	free(c->alipay.app_private_key_resolved);
	free(c->alipay.app_private_key_origin);
	free(c->alipay.alipay_public_key_resolved);
	free(c->alipay.alipay_public_key_origin);
	free(c->alipay.app_cert_resolved);
	free(c->alipay.app_cert_origin);
	free(c->alipay.alipay_cert_resolved);
	free(c->alipay.alipay_cert_origin);
	free(c->alipay.alipay_root_cert_resolved);
	free(c->central.password_resolved);
	free(c->central.password_origin);
	free(c->alipay.alipay_root_cert_origin);
	free(c->source);
	free(c->dir);
	free(c);
}

struct config_text {
	const char *data;
	size_t size;
	const char *source;
};

/*
 * The packaged file ships placeholders for what only the operator knows: each key still set to
 * one once every file is read is refused, naming the file to edit. Frees the placeholders.
 */
static void
placeholders_check(struct parse_ctx *ctx, bool report)
{
	for (size_t slot = 0; slot < 1 + CONFIG_MAX_SCANNERS; slot++)
		for (size_t i = 0; i < N_KEYS; i++) {
			char *value = ctx->placeholder[slot][i];
			unsigned loc = ctx->set_line[slot][i];

			if (!value)
				continue;
			if (report) {
				ctx->errors++;
				log_error("edit %s: line %u: [%s] %s is not set yet (%s)",
					  ctx->sources[loc >> LOC_LINE_BITS], loc_line(loc),
					  section_names[keys[i].section], keys[i].name, value);
			}
			free(value);
			ctx->placeholder[slot][i] = NULL;
		}
}

/* Parses the texts in order into one config: the main file, then its drop-ins. */
static int
config_load_texts(const struct config_text *t, size_t n, const char *dir, unsigned flags,
		  struct config **ret)
{
	_cleanup_config_ struct config *c = NULL;
	_cleanup_free_ struct parse_ctx *ctx = NULL;
	int r;

	assert(n >= 1 && n <= CONFIG_MAX_FILES);
	c = calloc(1, sizeof(*c));
	ctx = calloc(1, sizeof(*ctx));
	if (!c || !ctx)
		return log_error_errno(ENOMEM, "Out of memory");
	c->source = strdup(t[0].source);
	c->dir = strdup(dir);
	if (!c->source || !c->dir)
		return log_error_errno(ENOMEM, "Out of memory");
	for (int s = 0; s < _SEC_MAX; s++)
		if (s != SEC_SCANNER && section_apply_defaults(c, (enum cfg_section)s, 0) < 0)
			return -EBADMSG;

	ctx->config = c;
	ctx->flags = flags;
	for (size_t i = 0; i < n; i++) {
		ctx->file = (unsigned)i;
		ctx->sources[i] = t[i].source;
		ctx->source = t[i].source;
		ctx->data = t[i].data;
		ctx->size = t[i].size;
		ctx->pos = 0;
		ctx->line = 0;
		ctx->section = SEC_NONE;
		ctx->section_bad = false;

		r = ini_parse_stream(ctx_reader, ctx, ctx_handler, ctx);
		if (r == -2) {
			placeholders_check(ctx, false);
			return log_error_errno(ENOMEM, "%s: out of memory", t[i].source);
		}
		if (r > 0 && ctx->errors == 0)
			ctx_error(ctx, (ctx->file << LOC_LINE_BITS) | (unsigned)r, "syntax error");
	}
	placeholders_check(ctx, true);
	if (ctx->errors == 0)
		config_check(ctx);
	if (ctx->errors > 0)
		return -EINVAL;
	*ret = TAKE_PTR(c);
	return 0;
}

/* The folder of a file name ("." when it has none). New string, NULL when out of memory. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int
config_load_string(const char *data, size_t size, const char *source, unsigned flags,
		   struct config **ret)
{
	struct config_text t = {.data = data, .size = size, .source = source};
	_cleanup_free_ char *dir = dir_of(source);

	if (!dir)
		return log_error_errno(ENOMEM, "Out of memory");
	return config_load_texts(&t, 1, dir, flags, ret);
}

/* Reads a whole file of at most CONFIG_MAX_FILE_SIZE bytes into a new buffer. */
static int
file_slurp(const char *path, char **ret, size_t *ret_size)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *data = NULL;
	size_t n;

	f = fopen(path, "re");
	if (!f)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	data = malloc(CONFIG_MAX_FILE_SIZE + 1);
	if (!data)
		return log_error_errno(ENOMEM, "Out of memory");
	n = fread(data, 1, CONFIG_MAX_FILE_SIZE + 1, f);
	if (ferror(f))
		return log_error_errno(EIO, "Failed to read %s: %m", path);
	if (n > CONFIG_MAX_FILE_SIZE)
		return log_error_errno(EFBIG, "%s: larger than %d bytes", path,
				       CONFIG_MAX_FILE_SIZE);
	*ret = TAKE_PTR(data);
	*ret_size = n;
	return 0;
}

static int
dropin_filter(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return de->d_name[0] != '.' && len > 5 && STR_EQ(de->d_name + len - 5, ".conf");
}

/* Byte order, whatever the locale: "10-x.conf" < "20-y.conf" < "a.conf". */
static int
dropin_compare(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
config_dropin_paths(const char *path, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *dir = NULL;
	struct dirent **list = NULL;
	char **paths;
	int n, r = 0;
	size_t k = 0;

	if (asprintf(&dir, "%s.d", path) < 0)
		return -ENOMEM;
	n = scandir(dir, &list, dropin_filter, dropin_compare);
	if (n < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*ret = NULL;
			*ret_n = 0;
			return 0;
		}
		return log_error_errno(errno, "Failed to list %s: %m", dir);
	}
	paths = calloc((size_t)n + 1, sizeof(*paths));
	if (!paths)
		r = -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct stat st;
		char *p = NULL;

		if (r == 0 && asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0)
			r = -ENOMEM;
		/* Only regular files (or links to them) count; a folder named x.conf does not. */
		if (p && (stat(p, &st) < 0 || !S_ISREG(st.st_mode))) {
			free(p);
			p = NULL;
		}
		if (p)
			paths[k++] = p;
		free(list[i]);
	}
	free(list);
	if (r < 0) {
		config_dropin_paths_free(paths);
		return log_error_errno(r, "Out of memory");
	}
	if (k + 1 > CONFIG_MAX_FILES) {
		config_dropin_paths_free(paths);
		return log_error_errno(E2BIG, "%s: more than %d drop-ins", dir,
				       CONFIG_MAX_FILES - 1);
	}
	*ret = paths;
	*ret_n = k;
	return 0;
}

void
config_dropin_paths_free(char **paths)
{
	if (!paths)
		return;
	for (char **p = paths; *p; p++)
		free(*p);
	free(paths);
}

int
config_load_file(const char *path, unsigned flags, struct config **ret)
{
	struct config_text t[CONFIG_MAX_FILES] = {};
	char *data[CONFIG_MAX_FILES] = {};
	char **dropins = NULL;
	_cleanup_free_ char *dir = dir_of(path);
	size_t n = 0, nd = 0;
	int r;

	if (!dir)
		return log_error_errno(ENOMEM, "Out of memory");
	r = file_slurp(path, &data[0], &t[0].size);
	if (r < 0)
		return r;
	t[0] = (struct config_text){.data = data[0], .size = t[0].size, .source = path};
	n = 1;
	r = config_dropin_paths(path, &dropins, &nd);
	for (size_t i = 0; r == 0 && i < nd; i++) {
		r = file_slurp(dropins[i], &data[n], &t[n].size);
		if (r < 0)
			break;
		t[n].data = data[n];
		t[n].source = dropins[i];
		n++;
	}
	if (r == 0)
		r = config_load_texts(t, n, dir, flags, ret);
	for (size_t i = 0; i < n; i++)
		free(data[i]);
	config_dropin_paths_free(dropins);
	return r;
}

int
config_dump(const struct config *c, FILE *f)
{
	char value[600];
	bool first = true;

	for (int s = 0; s < _SEC_MAX; s++) {
		size_t n = s == SEC_SCANNER ? c->n_scanners : 1;
		for (size_t j = 0; j < n; j++) {
			const void *base = section_base((struct config *)c, (enum cfg_section)s, j);
			if (s == SEC_SCANNER)
				fprintf(f, "%s[scanner %s]\n", first ? "" : "\n",
					c->scanners[j].name);
			else
				fprintf(f, "%s[%s]\n", first ? "" : "\n", section_names[s]);
			first = false;
			for (size_t i = 0; i < N_KEYS; i++) {
				if (keys[i].section != (enum cfg_section)s)
					continue;
				/* Keys of other scanner kinds have no effect: left out. */
				if (s == SEC_SCANNER && keys[i].kinds &&
				    !(keys[i].kinds & (1u << c->scanners[j].kind)))
					continue;
				if (key_format(&keys[i], base, value, sizeof(value)) < 0)
					return -EINVAL;
				/* Unset keys are commented out, so the dump parses back. */
				if (value[0])
					fprintf(f, "%s = %s\n", keys[i].name, value);
				else
					fprintf(f, "# %s =\n", keys[i].name);
			}
		}
	}
	return ferror(f) ? -EIO : 0;
}

int
config_table_dump(FILE *f)
{
	for (size_t i = 0; i < N_KEYS; i++)
		fprintf(f, "%s\t%s\t%s\n", section_names[keys[i].section], keys[i].name,
			strempty(keys[i].def));
	return ferror(f) ? -EIO : 0;
}

const char *
config_sign_type_to_string(int v)
{
	return v >= 0 && v < (int)ELEMENTSOF(sign_type_names) - 1 ? sign_type_names[v] : NULL;
}

const char *
config_charset_to_string(int v)
{
	return v >= 0 && v < (int)ELEMENTSOF(charset_names) - 1 ? charset_names[v] : NULL;
}
