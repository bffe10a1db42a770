/* SPDX-License-Identifier: MIT */
/* The emulated gateway's shared state: configuration, the trade ledger and its lock. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/time-util.h"
#include "sandbox/crypto.h"
#include "sandbox/form.h"

#define SB_OUT_TRADE_NO_MAX 64
#define SB_TRADE_NO_LEN     28
#define SB_NOTIFY_ATTEMPTS  8 /* doc/protocol.md §4: 8 deliveries over about 25 h */
#define SB_TRADES_MAX       100000
#define SB_REFUNDS_MAX      100 /* per trade */
#define SB_BODY_MAX         (1024 * 1024)

enum sb_status {
	SB_STATUS_NONE = 0, /* precreated, not scanned: does not exist for queries (§5.4) */
	SB_STATUS_WAIT_BUYER_PAY,
	SB_STATUS_TRADE_SUCCESS,
	SB_STATUS_TRADE_CLOSED,
	_SB_STATUS_MAX,
};

struct sb_refund {
	char *out_request_no;
	int64_t amount_fen;
	time_t at;
	unsigned requests; /* refund calls that named this out_request_no */
};

/* One asynchronous notification and its deliveries (doc/protocol.md §4). */
struct sb_notice {
	struct sb_params fields; /* UTF-8, without notify_time/sign (added at each delivery) */
	unsigned attempts;
	int delivered;
	usec_t next_usec; /* CLOCK_REALTIME */
	usec_t sent_usec[SB_NOTIFY_ATTEMPTS];
	char *last_reply; /* first bytes of the last answer, or the transport error */
};

struct sb_trade {
	char trade_no[SB_TRADE_NO_LEN + 1];
	char *out_trade_no;
	int precreate;
	char *qr_code;
	int qr_dead;
	usec_t qr_expire_usec;
	char *subject, *store_id, *operator_id, *terminal_id;
	int64_t total_fen;
	enum sb_status status;
	int scenario;    /* last digit of the auth code (doc/design.md §11.1), -1 for precreate */
	char *auth_code; /* the payment code it was paid with: single-use; NULL for a QR */
	time_t gmt_create, gmt_payment, gmt_close;
	usec_t confirm_usec; /* scenario 1: when the buyer confirms */
	char buyer_logon_id[64];
	char buyer_user_id[17];
	char *notify_url;
	enum sb_charset charset;
	enum sb_sign_type sign_type;
	char *cancel_action; /* "close"/"refund" once cancelled */
	unsigned pay_requests, query_requests, cancel_requests, close_requests, refund_requests;
	struct sb_refund *refunds;
	size_t n_refunds;
	int64_t refunded_fen;
	struct sb_notice *notices;
	size_t n_notices;
	int timed;     /* in sandbox.timed */
	int in_outbox; /* in sandbox.outbox */
};

struct sb_bill {
	char token[33];
	usec_t expire_usec;
	char *file_name;
	void *zip;
	size_t zip_len;
};

struct sb_config {
	const char *listen;
	const char *app_id;
	const char *pid; /* the seller's 16-digit 2088… id */
	const char *app_public_key_path, *app_cert_path;
	const char *alipay_private_key_path, *alipay_cert_path, *root_cert_path;
	const char *tls_cert_path, *tls_key_path;
	const char *state_path;
	double confirm_after_sec;
	double time_scale;
	double slow_delay_sec;     /* scenario 9 */
	int64_t discount_fen;      /* --discount: the platform's discount on every payment */
	int notify_wait_buyer_pay; /* Alipay's optional WAIT_BUYER_PAY notification */
	unsigned throttle_queries; /* this many queries (in all) answer 40005 first */
	int verbose;
};

/* index.c: the trades by key. */
enum sb_key {
	SB_KEY_OUT_TRADE_NO,
	SB_KEY_TRADE_NO,
	SB_KEY_AUTH_CODE,
};

struct sb_index {
	struct sb_index_slot *slots;
	size_t cap, used;
	bool broken; /* out of memory once: lookups scan the ledger */
};

struct sandbox {
	struct sb_config cfg;
	EVP_PKEY *app_key;    /* public */
	EVP_PKEY *alipay_key; /* private */
	int cert_mode;
	char app_cert_sn[SB_CERT_SN_LEN + 1];
	char alipay_cert_sn[SB_CERT_SN_LEN + 1];
	char *root_cert_sn;
	char base_url[128]; /* "http://127.0.0.1:40123" */

	pthread_mutex_t lock; /* guards everything below */
	struct sb_trade **trades;
	size_t n_trades;
	struct sb_index index;
	/* Trades time may change (a buyer's confirmation due, a QR that expires), and trades
	 * with a notification to deliver: what the ticks and the notifier look at, rather than
	 * every trade. */
	struct sb_trade **timed, **outbox;
	size_t n_timed, n_outbox;
	uint64_t seq;
	struct sb_bill *bills;
	size_t n_bills;
	int stopping;
};

/* index.c — called with the lock held. Keys are a trade's out_trade_no, trade_no and auth_code,
 * each indexed by sb_trade_index() once set (again whenever it changes: an entry whose trade no
 * longer has the key is skipped). */
void sb_trade_index(struct sandbox *sb, struct sb_trade *t, enum sb_key kind);
struct sb_trade *sb_trade_lookup(struct sandbox *sb, enum sb_key kind, const char *key);
void sb_index_free(struct sb_index *x);

/* ledger.c — all called with the lock held. */
struct sb_trade *sb_trade_find(struct sandbox *sb, const char *out_trade_no, const char *trade_no);
struct sb_trade *sb_trade_find_qr(struct sandbox *sb, const char *qr_code);
/* The trade a payment code was used for, or NULL (doc/sandbox.md: codes are single-use). */
struct sb_trade *sb_trade_find_auth_code(struct sandbox *sb, const char *auth_code);
int sb_trade_new(struct sandbox *sb, const char *out_trade_no, struct sb_trade **ret);
void sb_trade_free(struct sb_trade *t);
const char *sb_status_name(enum sb_status s);

/* What a paid trade's receipt says (--discount): the platform's discount, what the buyer paid
 * (buyer_pay_amount, invoice_amount), what the merchant receives (receipt_amount: the platform
 * pays its discount), and fund_bill_list as JSON with the given name of the channel key
 * ("fund_channel" in answers, "fundChannel" in notifications, as Alipay writes them). */
struct sb_receipt {
	int64_t discount_fen, buyer_pay_fen, receipt_fen;
	char fund_bill_list[160];
};
void sb_receipt(const struct sandbox *sb, const struct sb_trade *t, const char *channel_key,
		struct sb_receipt *ret);
/* Applies what time does: scenario-1 confirmations, QR expiry. */
void sb_ledger_tick(struct sandbox *sb, usec_t now);
/* Called once t->confirm_usec or t->qr_expire_usec is set: the ticks look at t until then. */
int sb_trade_watch_time(struct sandbox *sb, struct sb_trade *t);
/* t has a notification to deliver: the notifier looks at it until none is left. */
int sb_trade_outbox_add(struct sandbox *sb, struct sb_trade *t);
/* Queues a notification of t's current state (no-op without notify_url). */
int sb_trade_notify(struct sandbox *sb, struct sb_trade *t, const struct sb_refund *refund);
/* Appends the JSON ledger (GET /sim/trades) to out; only out_trade_no's trade if not NULL. */
int sb_ledger_dump_json(struct sandbox *sb, const char *out_trade_no, struct buf *out);
/* --state: writes the ledger atomically / loads it. No-op without a path. */
int sb_ledger_save(struct sandbox *sb);
int sb_ledger_load(struct sandbox *sb);
void sb_ledger_free(struct sandbox *sb);
/* Scaled seconds → usec. */
usec_t sb_scaled_usec(const struct sandbox *sb, double seconds);

/* gateway.c: one gateway.do request → response. */
struct sb_reply {
	struct buf body;
	const char *content_type;
	int close_connection; /* scenario 6 */
	double delay_sec;     /* scenario 9 */
};
/* query/body borrowed; body may be binary. Never fails for bad input: the reply says why. */
int sb_gateway_handle(struct sandbox *sb, const char *query, const char *body, size_t body_len,
		      const char *content_type, struct sb_reply *reply);
/* POST /sim/scan-qr */
int sb_sim_scan(struct sandbox *sb, const char *body, size_t len, int *ret_status, struct buf *out);

/* notify.c */
int sb_notify_start(struct sandbox *sb, pthread_t *ret);
/* 1 if url is http(s) to a loopback address (notifications never go elsewhere). */
int sb_notify_url_allowed(const char *url);

/* bill.c: builds the zip of one day (UTC+8 00:00 at day_start); -ENOENT if no trades. */
int sb_bill_build(struct sandbox *sb, time_t day_start, time_t now, char **ret_name, void **ret_zip,
		  size_t *ret_len);
