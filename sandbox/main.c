/* SPDX-License-Identifier: MIT */
/* f2fpay-sandbox: a local Alipay gateway for tests and the demo (doc/design.md §11). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/money.h"
#include "sandbox/sandbox.h"

#define URI_MAX (64 * 1024)

/* One HTTP request: the raw URI (query undecoded, for charsets) and the body so far. */
struct request {
	char *uri;
	struct buf body;
	int too_big;
	int headers_seen; /* MHD calls once for the headers before any body */
};

static const char help_text[] =
	"Usage: f2fpay-sandbox [OPTIONS]\n"
	"A local Alipay OpenAPI gateway (gateway.do) for tests and the demo.\n"
	"\n"
	"Options:\n"
	"  --listen ADDR:PORT         address to serve on (default 127.0.0.1:0; port 0 picks\n"
	"                             a free port). The first line on stdout is\n"
	"                             \"listening on http[s]://ADDR:PORT\".\n"
	"  --app-id ID                the one app the gateway knows (default 2021000000000001)\n"
	"  --pid PID                  the seller's 16-digit 2088… id; bill account = PID0156\n"
	"                             (default 2088000000000001)\n"
	"  --app-public-key FILE      the app's RSA public key (PEM or bare base64)\n"
	"  --app-cert FILE            certificate mode: the app's certificate (PEM)\n"
	"  --alipay-private-key FILE  the gateway's signing key (PEM or bare base64)\n"
	"  --alipay-cert FILE         certificate mode: the gateway's certificate; its SN is\n"
	"                             sent as alipay_cert_sn\n"
	"  --root-cert FILE           certificate mode: the root bundle (alipay_root_cert_sn)\n"
	"  --tls-cert FILE            serve HTTPS with this certificate (PEM)...\n"
	"  --tls-key FILE             ...and this key\n"
	"  --state FILE               keep the ledger in FILE (loaded at start, rewritten on\n"
	"                             every change) so it survives restarts\n"
	"  --confirm-after SECONDS    scenario 1: the buyer confirms after this long (default 5)\n"
	"  --slow-delay SECONDS       scenario 9: how long the reply is held (default 35)\n"
	"  --discount YUAN            the platform's discount on every payment larger than it\n"
	"                             (discount_amount; the buyer pays the rest; default 0)\n"
	"  --time-scale N             divide notification retry intervals, QR lifetimes and\n"
	"                             bill URL lifetimes by N (default 1)\n"
	"  --throttle-queries N       answer the next N alipay.trade.query calls 40005\n"
	"                             isv.method-call-limited, as a busy gateway does (default 0)\n"
	"  --notify-wait-buyer-pay    also notify trades created unpaid (WAIT_BUYER_PAY), an\n"
	"                             option merchants can enable at Alipay (default off)\n"
	"  -v, --verbose              log every request and notification\n"
	"  -h, --help                 this text\n"
	"\n"
	"Buyer behaviour of alipay.trade.pay, by the last digit of an 18-digit auth code\n"
	"starting 28 (other codes of 16-24 digits starting 25-30 behave as 0; anything else\n"
	"gets 40004 ACQ.PAYMENT_AUTH_CODE_INVALID):\n"
	"  0  paid at once (10000)\n"
	"  1  10003; the buyer confirms after --confirm-after s -> TRADE_SUCCESS\n"
	"  2  10003; the buyer never confirms (stays WAIT_BUYER_PAY; cancel -> action=close)\n"
	"  3  40004 ACQ.BUYER_BALANCE_NOT_ENOUGH\n"
	"  4  40004 ACQ.PAYMENT_AUTH_CODE_INVALID\n"
	"  5  20000 ACQ.SYSTEM_ERROR, although the trade succeeded (query shows TRADE_SUCCESS)\n"
	"  6  the trade succeeds but the connection is closed before any response\n"
	"  7  the trade succeeds but the response's signature is wrong\n"
	"  8  10003, buyer never confirms; the first cancel answers 20000 with retry_flag=Y,\n"
	"     the next succeeds\n"
	"  9  the response is delayed past any sane client timeout (--slow-delay); the trade\n"
	"     stays unpaid\n"
	"\n"
	"Endpoints:\n"
	"  GET|POST /gateway.do           the OpenAPI: alipay.trade.pay, .query, .cancel,\n"
	"                                 .precreate, .refund, .close, .fastpay.refund.query,\n"
	"                                 alipay.data.dataservice.bill.downloadurl.query\n"
	"  POST /sim/scan-qr              play the buyer: {\"qr_code\":\"…\",\"pay\":true|false}\n"
	"  GET  /sim/trades[?out_trade_no=X]  the ledger as JSON (read-only): per trade its "
	"status,\n"
	"                                 counts of pay/query/cancel/close/refund requests,\n"
	"                                 refunds, notifications with each delivery time\n"
	"  GET  /downloadBillFile.resource  bill zips (URLs from the bill query; 30 s)\n"
	"\n"
	"Notifications (TRADE_SUCCESS, TRADE_CLOSED, refunds) go to notify_url (loopback\n"
	"addresses only) with retries after\n"
	"4m, 10m, 10m, 1h, 2h, 6h, 15h (divided by --time-scale) until the reply is `success`.\n";

static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned status, const char *type, const void *data,
	size_t len, const char *filename)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (filename) {
		char cd[256];

		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", filename);
		(void)MHD_add_response_header(resp, "Content-Disposition", cd);
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
respond_str(struct MHD_Connection *conn, unsigned status, const char *s)
{
	return respond(conn, status, "application/json;charset=utf-8", s, strlen(s), NULL);
}

static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->uri = strndup(uri, URI_MAX);
	req->body = BUF_INIT(SB_BODY_MAX);
	return req;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (!req)
		return;
	free(req->uri);
	buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

/* Sleeps s seconds, or less when the sandbox is stopping (scenario 9 must not hold SIGTERM). */
static void
sleep_sec(struct sandbox *sb, double s)
{
	usec_t end = now_usec(CLOCK_MONOTONIC) + (usec_t)(s * 1e6);

	for (;;) {
		usec_t now = now_usec(CLOCK_MONOTONIC);
		int stopping;

		pthread_mutex_lock(&sb->lock);
		stopping = sb->stopping;
		pthread_mutex_unlock(&sb->lock);
		if (stopping || now >= end)
			return;
		usleep((useconds_t)MIN(end - now, 50 * USEC_PER_MSEC));
	}
}

static enum MHD_Result
serve_bill(struct sandbox *sb, struct MHD_Connection *conn)
{
	const char *token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
	enum MHD_Result ret = MHD_NO;
	int found = 0;

	pthread_mutex_lock(&sb->lock);
	sb_ledger_tick(sb, now_usec(CLOCK_REALTIME));
	for (size_t i = 0; token && i < sb->n_bills; i++)
		if (STR_EQ(sb->bills[i].token, token)) {
			ret = respond(conn, 200, "application/octet-stream", sb->bills[i].zip,
				      sb->bills[i].zip_len, sb->bills[i].file_name);
			found = 1;
			break;
		}
	pthread_mutex_unlock(&sb->lock);
	if (!found)
		/* doc/protocol.md §5.8: the URL stops working after 30 seconds. */
		ret = respond_str(conn, 404, "{\"error\":\"bill URL expired or unknown\"}");
	return ret;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	       const char *version, const char *upload_data, size_t *upload_data_size,
	       void **con_cls)
{
	struct sandbox *sb = cls;
	struct request *req = *con_cls;
	const char *query;
	char path[256];
	size_t plen;

	if (!req)
		return MHD_NO;
	if (!req->headers_seen) {
		req->headers_seen = 1;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!req->too_big && buf_append(&req->body, upload_data, *upload_data_size) < 0)
			req->too_big = 1; /* keep reading, answer once the body is in */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!STR_EQ(method, "GET") && !STR_EQ(method, "POST"))
		return respond_str(conn, 405, "{\"error\":\"method not allowed\"}");
	query = strchr(strempty(req->uri), '?');
	plen = query ? (size_t)(query - req->uri) : strlen(strempty(req->uri));
	snprintf(path, sizeof(path), "%.*s", (int)MIN(plen, sizeof(path) - 1), strempty(req->uri));
	query = query ? query + 1 : "";
	if (sb->cfg.verbose)
		log_info("%s %s (%zu bytes)", method, path, req->body.len);

	if (STR_EQ(path, "/gateway.do")) {
		struct sb_reply reply = {.body = BUF_INIT(4 * SB_BODY_MAX)};
		enum MHD_Result ret;
		int r;

		if (req->too_big) {
			static const char e[] = "{\"error_response\":{\"code\":\"40002\",\"msg\":"
						"\"Invalid Arguments\","
						"\"sub_code\":\"isv.request-too-large\",\"sub_"
						"msg\":\"请求体超过1MB\"}}";
			return respond(conn, 200, "text/html;charset=utf-8", e, strlen(e), NULL);
		}
		r = sb_gateway_handle(
			sb, query, req->body.data ?: "", req->body.len,
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"), &reply);
		if (r < 0) {
			static const char e[] = "{\"error_response\":{\"code\":\"20000\",\"msg\":"
						"\"Service Currently "
						"Unavailable\",\"sub_code\":\"isp.unknow-error\","
						"\"sub_msg\":\"系统繁忙\"}}";
			buf_free(&reply.body);
			log_error_errno(r, "Failed to handle a request: %m");
			return respond(conn, 200, "text/html;charset=utf-8", e, strlen(e), NULL);
		}
		if (reply.delay_sec > 0)
			sleep_sec(sb, reply.delay_sec); /* scenario 9 */
		if (reply.close_connection) {
			/* Scenario 6: processed, then the connection dies before any response. */
			buf_free(&reply.body);
			return MHD_NO;
		}
		ret = respond(conn, 200, reply.content_type, reply.body.data ?: "", reply.body.len,
			      NULL);
		buf_free(&reply.body);
		return ret;
	}
	if (STR_EQ(path, "/sim/scan-qr") && STR_EQ(method, "POST")) {
		struct buf out = BUF_INIT(4096);
		enum MHD_Result ret;
		int status = 500;

		if (sb_sim_scan(sb, req->body.data ?: "", req->body.len, &status, &out) < 0)
			status = 500;
		ret = respond_str(conn, (unsigned)status, out.data ?: "{}");
		buf_free(&out);
		return ret;
	}
	if (STR_EQ(path, "/sim/trades")) {
		struct buf out = BUF_INIT(256 * 1024 * 1024);
		enum MHD_Result ret;

		pthread_mutex_lock(&sb->lock);
		sb_ledger_tick(sb, now_usec(CLOCK_REALTIME));
		(void)sb_ledger_dump_json(
			sb,
			MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "out_trade_no"),
			&out);
		pthread_mutex_unlock(&sb->lock);
		ret = respond_str(conn, 200, out.data ?: "{}");
		buf_free(&out);
		return ret;
	}
	if (STR_EQ(path, "/downloadBillFile.resource"))
		return serve_bill(sb, conn);
	return respond_str(conn, 404, "{\"error\":\"not found\"}");
}

static int
read_small_file(const char *path, struct buf *b)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char chunk[4096];
	size_t n;

	if (!f)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) < 0)
			return log_error_errno(EFBIG, "%s is too large", path);
	return 0;
}

static int
listen_socket(const char *spec, char *ret_addr, size_t addr_size)
{
	_cleanup_free_ char *host = NULL;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sa);
	const char *colon = strrchr(spec, ':');
	char *end = NULL;
	long port;
	int fd;

	if (!colon)
		return log_error_errno(EINVAL, "--listen %s: expected ADDR:PORT", spec);
	host = strndup(spec, (size_t)(colon - spec));
	port = strtol(colon + 1, &end, 10);
	if (!host || !end || *end || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, STR_EQ(host, "localhost") ? "127.0.0.1" : host, &sa.sin_addr) != 1)
		return log_error_errno(EINVAL, "--listen %s: expected IPv4ADDR:PORT", spec);
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(errno, "Failed to create a socket: %m");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &slen) < 0) {
		int r = -errno;
		close(fd);
		return log_error_errno(r, "Failed to listen on %s: %m", spec);
	}
	snprintf(ret_addr, addr_size, "%s:%u", inet_ntop(AF_INET, &sa.sin_addr, (char[16]){}, 16),
		 ntohs(sa.sin_port));
	return fd;
}

static int
parse_double(const char *opt, const char *s, double min, double *ret)
{
	char *end = NULL;
	double d = strtod(s, &end);

	if (!end || *end || end == s || !(d >= min) || d > 1e9)
		return log_error_errno(EINVAL, "%s: invalid number \"%s\"", opt, s);
	*ret = d;
	return 0;
}

static int
load_keys(struct sandbox *sb)
{
	struct sb_config *c = &sb->cfg;
	X509 *x = NULL;
	int r;

	if (c->app_cert_path || c->alipay_cert_path || c->root_cert_path) {
		if (!c->app_cert_path || !c->alipay_cert_path || !c->root_cert_path)
			return log_error_errno(EINVAL, "Certificate mode needs --app-cert, "
						       "--alipay-cert and --root-cert");
		sb->cert_mode = 1;
		r = sb_cert_load(c->app_cert_path, &x);
		if (r < 0)
			return r;
		r = sb_cert_sn(x, sb->app_cert_sn);
		if (r >= 0) {
			sb->app_key = X509_get_pubkey(x);
			if (!sb->app_key)
				r = log_error_errno(EINVAL, "%s: no public key", c->app_cert_path);
		}
		X509_free(x);
		if (r < 0)
			return r;
		r = sb_cert_load(c->alipay_cert_path, &x);
		if (r < 0)
			return r;
		r = sb_cert_sn(x, sb->alipay_cert_sn);
		X509_free(x);
		if (r < 0)
			return r;
		r = sb_root_cert_sn(c->root_cert_path, &sb->root_cert_sn);
		if (r < 0)
			return r;
	} else {
		if (!c->app_public_key_path)
			return log_error_errno(EINVAL,
					       "--app-public-key (or --app-cert) is required");
		r = sb_key_load_public(c->app_public_key_path, &sb->app_key);
		if (r < 0)
			return r;
	}
	if (!c->alipay_private_key_path)
		return log_error_errno(EINVAL, "--alipay-private-key is required");
	return sb_key_load_private(c->alipay_private_key_path, &sb->alipay_key);
}

int
main(int argc, char **argv)
{
	enum {
		ARG_LISTEN = 0x100,
		ARG_APP_ID,
		ARG_PID,
		ARG_APP_PUBLIC_KEY,
		ARG_APP_CERT,
		ARG_ALIPAY_PRIVATE_KEY,
		ARG_ALIPAY_CERT,
		ARG_ROOT_CERT,
		ARG_TLS_CERT,
		ARG_TLS_KEY,
		ARG_STATE,
		ARG_CONFIRM_AFTER,
		ARG_SLOW_DELAY,
		ARG_TIME_SCALE,
		ARG_DISCOUNT,
		ARG_NOTIFY_WAIT_BUYER_PAY,
		ARG_THROTTLE_QUERIES,
	};
	static const struct option options[] = {
		{"listen", required_argument, NULL, ARG_LISTEN},
		{"app-id", required_argument, NULL, ARG_APP_ID},
		{"pid", required_argument, NULL, ARG_PID},
		{"app-public-key", required_argument, NULL, ARG_APP_PUBLIC_KEY},
		{"app-cert", required_argument, NULL, ARG_APP_CERT},
		{"alipay-private-key", required_argument, NULL, ARG_ALIPAY_PRIVATE_KEY},
		{"alipay-cert", required_argument, NULL, ARG_ALIPAY_CERT},
		{"root-cert", required_argument, NULL, ARG_ROOT_CERT},
		{"tls-cert", required_argument, NULL, ARG_TLS_CERT},
		{"tls-key", required_argument, NULL, ARG_TLS_KEY},
		{"state", required_argument, NULL, ARG_STATE},
		{"confirm-after", required_argument, NULL, ARG_CONFIRM_AFTER},
		{"slow-delay", required_argument, NULL, ARG_SLOW_DELAY},
		{"time-scale", required_argument, NULL, ARG_TIME_SCALE},
		{"discount", required_argument, NULL, ARG_DISCOUNT},
		{"notify-wait-buyer-pay", no_argument, NULL, ARG_NOTIFY_WAIT_BUYER_PAY},
		{"throttle-queries", required_argument, NULL, ARG_THROTTLE_QUERIES},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct sandbox sb = {
		.cfg = {.listen = "127.0.0.1:0",
			.app_id = "2021000000000001",
			.pid = "2088000000000001",
			.confirm_after_sec = 5,
			.time_scale = 1,
			.slow_delay_sec = 35},
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	struct buf tls_cert = BUF_INIT(1024 * 1024), tls_key = BUF_INIT(1024 * 1024);
	struct MHD_Daemon *d = NULL;
	char addr[64];
	pthread_t notifier;
	sigset_t mask;
	int c, r, fd, sig = 0, started = 0;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) >= 0) {
		r = 0;
		switch (c) {
		case ARG_LISTEN:
			sb.cfg.listen = optarg;
			break;
		case ARG_APP_ID:
			sb.cfg.app_id = optarg;
			break;
		case ARG_PID:
			if (strlen(optarg) != 16 || strncmp(optarg, "2088", 4) != 0 ||
			    strspn(optarg, "0123456789") != 16)
				r = log_error_errno(EINVAL,
						    "--pid: expected 16 digits starting 2088");
			sb.cfg.pid = optarg;
			break;
		case ARG_APP_PUBLIC_KEY:
			sb.cfg.app_public_key_path = optarg;
			break;
		case ARG_APP_CERT:
			sb.cfg.app_cert_path = optarg;
			break;
		case ARG_ALIPAY_PRIVATE_KEY:
			sb.cfg.alipay_private_key_path = optarg;
			break;
		case ARG_ALIPAY_CERT:
			sb.cfg.alipay_cert_path = optarg;
			break;
		case ARG_ROOT_CERT:
			sb.cfg.root_cert_path = optarg;
			break;
		case ARG_TLS_CERT:
			sb.cfg.tls_cert_path = optarg;
			break;
		case ARG_TLS_KEY:
			sb.cfg.tls_key_path = optarg;
			break;
		case ARG_STATE:
			sb.cfg.state_path = optarg;
			break;
		case ARG_CONFIRM_AFTER:
			r = parse_double("--confirm-after", optarg, 0, &sb.cfg.confirm_after_sec);
			break;
		case ARG_SLOW_DELAY:
			r = parse_double("--slow-delay", optarg, 0, &sb.cfg.slow_delay_sec);
			break;
		case ARG_DISCOUNT:
			if (money_parse_flags(optarg, MONEY_ALLOW_ZERO, &sb.cfg.discount_fen) < 0)
				r = log_error_errno(EINVAL, "--discount: \"%s\" is not yuan",
						    optarg);
			break;
		case ARG_TIME_SCALE:
			r = parse_double("--time-scale", optarg, 1e-9, &sb.cfg.time_scale);
			break;
		case ARG_THROTTLE_QUERIES: {
			double n;
			r = parse_double("--throttle-queries", optarg, 0, &n);
			sb.cfg.throttle_queries = (unsigned)n;
			break;
		}
		case ARG_NOTIFY_WAIT_BUYER_PAY:
			sb.cfg.notify_wait_buyer_pay = 1;
			break;
		case 'v':
			sb.cfg.verbose = 1;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		default:
			return 2;
		}
		if (r < 0)
			return 2;
	}
	if (optind < argc) {
		log_error("Unexpected argument: %s", argv[optind]);
		return 2;
	}
	if (!!sb.cfg.tls_cert_path != !!sb.cfg.tls_key_path) {
		log_error("--tls-cert and --tls-key go together");
		return 2;
	}
	r = load_keys(&sb);
	if (r >= 0 && sb.cfg.tls_cert_path) {
		r = read_small_file(sb.cfg.tls_cert_path, &tls_cert);
		if (r >= 0)
			r = read_small_file(sb.cfg.tls_key_path, &tls_key);
	}
	if (r >= 0)
		r = sb_ledger_load(&sb);
	if (r < 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		r = log_error_errno(EIO, "Failed to initialise libcurl");
		goto out;
	}
	fd = listen_socket(sb.cfg.listen, addr, sizeof(addr));
	if (fd < 0) {
		r = fd;
		goto out_curl;
	}
	snprintf(sb.base_url, sizeof(sb.base_url), "%s://%s",
		 sb.cfg.tls_cert_path ? "https" : "http", addr);

	/* Signals are taken by sigwait() below, never by the server threads. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* One call for both: TLS adds its flag and its two options. Each pay comes on a
	 * connection of its own, served by a thread of its own: poll() (no FD_SETSIZE limit), a
	 * 32 KiB pool (MHD maps and zeroes larger ones for every connection) and 512 KiB stacks
	 * (glibc keeps more of them than of 8 MiB ones). */
	struct MHD_OptionItem tls_options[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert.data},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key.data},
		{MHD_OPTION_END, 0, NULL},
	};
	bool tls = sb.cfg.tls_cert_path != NULL;
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
				     MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0),
			     0, NULL, NULL, access_handler, &sb, MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_URI_LOG_CALLBACK, uri_logger, &sb,
			     MHD_OPTION_NOTIFY_COMPLETED, request_completed, &sb,
			     MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_CONNECTION_LIMIT, 128u,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_ARRAY,
			     tls ? tls_options : tls_options + 2, MHD_OPTION_END);
	if (!d) {
		close(fd);
		r = log_error_errno(EIO, "Failed to start the HTTP server on %s", addr);
		goto out_curl;
	}
	r = sb_notify_start(&sb, &notifier);
	if (r < 0)
		goto out_mhd;
	started = 1;
	printf("listening on %s\n", sb.base_url);
	fflush(stdout);
	log_info("f2fpay-sandbox %s: app %s%s, seller %s", F2FPAY_VERSION, sb.cfg.app_id,
		 sb.cert_mode ? " (certificate mode)" : "", sb.cfg.pid);

	(void)sigwait(&mask, &sig);
	log_info("Signal %d: stopping", sig);
	pthread_mutex_lock(&sb.lock);
	sb.stopping = 1;
	pthread_mutex_unlock(&sb.lock);
out_mhd:
	MHD_stop_daemon(d);
	close(fd);
	if (started) {
		pthread_mutex_lock(&sb.lock);
		sb.stopping = 1;
		pthread_mutex_unlock(&sb.lock);
		pthread_join(notifier, NULL);
	}
out_curl:
	curl_global_cleanup();
out:
	pthread_mutex_lock(&sb.lock);
	if (r >= 0)
		(void)sb_ledger_save(&sb);
	sb_ledger_free(&sb);
	pthread_mutex_unlock(&sb.lock);
	EVP_PKEY_free(sb.app_key);
	EVP_PKEY_free(sb.alipay_key);
	free(sb.root_cert_sn);
	buf_free_erase(&tls_key);
	buf_free(&tls_cert);
	return r < 0 ? 1 : 0;
}
