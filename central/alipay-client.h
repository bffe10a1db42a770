/* SPDX-License-Identifier: MIT */
/* The Alipay client of a till's configuration, for the store's tool (its bills). */
#pragma once

#include "config/config.h"
#include "payment/keys.h"
#include "payment/request.h"

struct central_alipay {
	struct config *config;
	struct alipay_keys *keys;
	struct alipay_client_config client; /* borrows config and keys */
};

/*
 * Loads a till's f2fpayd.conf (its [alipay] section matters here) and its keys, as f2fpayd would
 * (a private key others may read is refused). Returns 0 and fills *ret, or -errno (logged).
 */
int central_alipay_load(const char *path, struct central_alipay *ret);
void central_alipay_done(struct central_alipay *a);
