/* SPDX-License-Identifier: MIT */
/* The Alipay client of a till's configuration, for the store's tool. */
#include "central/alipay-client.h"

#include <errno.h>

#include "common/log.h"

static int
load_keys(const struct config_alipay *a, struct alipay_keys *k)
{
	int r;

	if (!a->app_private_key_resolved)
		return log_error_errno(EINVAL, "No app private key configured");
	/* doc/design.md §12.1: a private key readable by group or others is refused. */
	r = alipay_key_file_check_mode(a->app_private_key_resolved);
	if (r < 0)
		return r;
	r = alipay_keys_set_app_private_key_file(k, a->app_private_key_resolved);
	if (r < 0)
		return r;
	if (a->cert_mode) {
		if ((r = alipay_keys_set_app_cert_file(k, a->app_cert_resolved)) < 0 ||
		    (r = alipay_keys_set_alipay_cert_file(k, a->alipay_cert_resolved)) < 0 ||
		    (r = alipay_keys_set_alipay_root_cert_file(k, a->alipay_root_cert_resolved)) <
			    0)
			return r;
	} else {
		if (!a->alipay_public_key_resolved)
			return log_error_errno(EINVAL, "No Alipay public key configured");
		r = alipay_keys_set_alipay_public_key_file(k, a->alipay_public_key_resolved);
		if (r < 0)
			return r;
	}
	return alipay_keys_check(k);
}

int
central_alipay_load(const char *path, struct central_alipay *ret)
{
	struct central_alipay a = {};
	const struct config_alipay *c;
	int r;

	r = config_load_file(path, 0, &a.config);
	if (r < 0)
		return log_error_errno(r, "Cannot use the configuration %s", path);
	r = alipay_keys_new(&a.keys);
	if (r >= 0)
		r = load_keys(&a.config->alipay, a.keys);
	if (r < 0) {
		central_alipay_done(&a);
		return log_error_errno(r, "%s: the keys cannot be used: %m", path);
	}
	c = &a.config->alipay;
	a.client = (struct alipay_client_config){
		.gateway_url = c->gateway_url,
		.app_id = c->app_id,
		.sign_type = c->sign_type == CONFIG_SIGN_RSA ? ALIPAY_SIGN_RSA : ALIPAY_SIGN_RSA2,
		.charset =
			c->charset == CONFIG_CHARSET_GBK ? ALIPAY_CHARSET_GBK : ALIPAY_CHARSET_UTF8,
		.app_auth_token = c->app_auth_token,
		.keys = a.keys,
	};
	*ret = a;
	return 0;
}

void
central_alipay_done(struct central_alipay *a)
{
	a->keys = alipay_keys_free(a->keys);
	config_free(a->config);
	a->config = NULL;
}
