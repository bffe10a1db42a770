/* SPDX-License-Identifier: MIT */
/* The engine's gateway implemented with the Alipay client (payment/) and payment/http. */
#pragma once

#include <systemd/sd-event.h>

#include "daemon/engine/gateway.h"
#include "payment/http/http.h"
#include "payment/request.h"

struct gateway_alipay;

struct gateway_alipay_config {
	const struct alipay_client_config *client; /* borrowed, must outlive the gateway */
	usec_t timeout_usec;         /* whole request; 0 = the transport's default (30 s) */
	usec_t connect_timeout_usec; /* DNS + TCP + TLS; 0 = the transport's default */
	const char *store_id;        /* optional, borrowed */
	const char *terminal_id;     /* optional, borrowed */
	const char *operator_id;     /* optional, borrowed: sent with every pay and precreate */
};

/*
 * Creates the adapter. event and http are borrowed and must outlive it; cfg is copied (its
 * strings stay borrowed). Pays go out with no connection reuse (doc/protocol.md §8), so libcurl can
 * never re-send one behind our back.
 */
int gateway_alipay_new(sd_event *event, struct http_client *http,
		       const struct gateway_alipay_config *cfg, struct gateway_alipay **ret);
/* Cancels calls in flight (no callbacks) and frees. NULL-safe. */
void gateway_alipay_free(struct gateway_alipay *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gateway_alipay *, gateway_alipay_free);

/* The struct gateway to hand to engine_new(); valid while g lives. */
struct gateway gateway_alipay_ops(struct gateway_alipay *g);

/*
 * While `on`, keeps one connection to the gateway opened (TCP + TLS) for the next pay, replaced
 * before it idles too long; the next pay goes out on it (its one request). Off closes it. For
 * the time a scan order waits for its payment code (doc/engine.md). Failures are logged, never
 * reported: the pay then opens its own connection.
 */
void gateway_alipay_warm(struct gateway_alipay *g, bool on);

/* Calls that went to the transport, per kind (tests and benchmarks). */
unsigned gateway_alipay_sent(const struct gateway_alipay *g, enum gateway_call_kind k);
/* Pays sent with the request prepared during their commit (struct gateway's prepare()). */
unsigned gateway_alipay_prepared_used(const struct gateway_alipay *g);
