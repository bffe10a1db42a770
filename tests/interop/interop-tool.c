/* SPDX-License-Identifier: MIT */
/* Command-line access to the payment core for the Node SDK interop scripts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "payment/api.h"
#include "payment/form.h"
#include "payment/keys.h"
#include "payment/notify.h"
#include "payment/request.h"
#include "payment/response.h"

/*
 * Usage (keys are read from KEYDIR, the committed test keys):
 *   sign-request KEYDIR RSA2|RSA NOW BIZ_JSON [cert] → {"sign_string","url","body"}
 *   verify-request KEYDIR URL BODY             → the received parameters as JSON, exit 1 if bad
 *   sign-response KEYDIR METHOD CERT_SN|-      (node JSON on stdin) → the body
 *   verify-response KEYDIR METHOD CERT_SN|-    (body on stdin) → {"class","verified",…}
 *   sign-notify KEYDIR utf-8|GBK               (fields JSON object on stdin) → form body
 *   verify-notify KEYDIR                       (form body on stdin) → fields JSON, exit 1 if bad
 *   cert-sn FILE | root-cert-sn FILE           → the SN
 */

static char *
read_stdin(size_t *ret_len)
{
	size_t cap = 1 << 20, len = 0, n;
	char *s = malloc(cap + 1);

	if (!s)
		exit(2);
	while ((n = fread(s + len, 1, cap - len, stdin)) > 0)
		len += n;
	s[len] = 0;
	*ret_len = len;
	return s;
}

static EVP_PKEY *
load(const char *dir, const char *name, int private)
{
	char path[4096], *text = NULL;
	size_t len;
	EVP_PKEY *k = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (alipay_file_read(path, ALIPAY_KEY_FILE_MAX, &text, &len) < 0)
		exit(2);
	if ((private ? alipay_key_load_private(text, len, &k)
		     : alipay_key_load_public(text, len, &k)) < 0)
		exit(2);
	free(text);
	return k;
}

static void
print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static int
cmd_sign_request(char **argv)
{
	struct alipay_keys *keys = NULL;
	char path[4096], *ss = NULL, *biz = NULL;
	struct json_object *biz_obj = json_tokener_parse(argv[3]);
	struct alipay_request r = ALIPAY_REQUEST_INIT;
	struct alipay_client_config c = {
		.gateway_url = "https://openapi.alipay.com/gateway.do",
		.app_id = "2021000000000001",
		.charset = ALIPAY_CHARSET_UTF8,
	};
	struct json_object *out;
	time_t now = (time_t)strtoll(argv[2], NULL, 10);

	if (alipay_sign_type_from_string(argv[1], &c.sign_type) < 0 || alipay_keys_new(&keys) < 0)
		return 2;
	snprintf(path, sizeof(path), "%s/app-private-pkcs8.pem", argv[0]);
	if (alipay_keys_set_app_private_key_file(keys, path) < 0)
		return 2;
	if (argv[4] && strcmp(argv[4], "cert") == 0) {
		/* Certificate mode: app_cert_sn and alipay_root_cert_sn join the parameters. */
		snprintf(path, sizeof(path), "%s/app-cert.crt", argv[0]);
		if (alipay_keys_set_app_cert_file(keys, path) < 0)
			return 2;
		snprintf(path, sizeof(path), "%s/root-bundle.crt", argv[0]);
		if (alipay_keys_set_alipay_root_cert_file(keys, path) < 0)
			return 2;
	}
	c.keys = keys;
	/* biz_content goes through json-c like the typed calls' does. */
	if (!biz_obj || alipay_json_to_string_request(biz_obj, &biz) < 0)
		return 2;
	if (alipay_request_params(&c, "alipay.trade.pay", biz, now, NULL, &ss) < 0 ||
	    alipay_request_build_json(&c, "alipay.trade.pay", biz_obj, now, &r) < 0)
		return 1;
	out = json_object_new_object();
	add_str(out, "sign_string", ss);
	add_str(out, "url", r.url);
	add_str(out, "body", r.body);
	print_json(out);
	free(ss);
	free(biz);
	json_object_put(biz_obj);
	alipay_request_done(&r);
	alipay_keys_free(keys);
	return 0;
}

static int
cmd_verify_request(char **argv)
{
	EVP_PKEY *key = load(argv[0], "app-public.pem", 0);
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	const char *q = strchr(argv[1], '?');
	struct json_object *out;
	int r;

	q = q ? q + 1 : "";
	r = alipay_request_verify(q, strlen(q), argv[2], strlen(argv[2]), key, &p, NULL, NULL);
	EVP_PKEY_free(key);
	if (r < 0)
		return 1;
	out = json_object_new_object();
	for (size_t i = 0; i < p.n; i++)
		add_str(out, p.items[i].key, p.items[i].value);
	print_json(out);
	alipay_params_done(&p);
	return 0;
}

static int
cmd_sign_response(char **argv)
{
	EVP_PKEY *key = load(argv[0], "alipay-private.pem", 1);
	size_t len;
	char *in = read_stdin(&len), *body = NULL;
	struct json_object *node = json_tokener_parse(in);

	if (!node || alipay_response_build(argv[1], node, key, ALIPAY_SIGN_RSA2,
					   strcmp(argv[2], "-") ? argv[2] : NULL, &body, NULL) < 0)
		return 1;
	fputs(body, stdout);
	free(body);
	free(in);
	json_object_put(node);
	EVP_PKEY_free(key);
	return 0;
}

static int
cmd_verify_response(char **argv)
{
	EVP_PKEY *key = load(argv[0], "alipay-public.pem", 0);
	size_t len;
	char *in = read_stdin(&len);
	struct alipay_response r = ALIPAY_RESPONSE_INIT;
	struct json_object *out;

	if (alipay_response_parse(in, len, argv[1], key, ALIPAY_SIGN_RSA2,
				  strcmp(argv[2], "-") ? argv[2] : NULL, &r) < 0)
		return 1;
	out = json_object_new_object();
	add_str(out, "class", alipay_class_to_string(r.cls));
	json_object_object_add(out, "verified", json_object_new_boolean(r.verified));
	add_str(out, "code", r.code);
	add_str(out, "sub_code", r.sub_code);
	print_json(out);
	alipay_response_done(&r);
	free(in);
	EVP_PKEY_free(key);
	return 0;
}

static int
cmd_sign_notify(char **argv)
{
	EVP_PKEY *key = load(argv[0], "alipay-private.pem", 1);
	struct alipay_params p = ALIPAY_PARAMS_INIT;
	enum alipay_charset cs;
	size_t len;
	char *in = read_stdin(&len), *body = NULL;
	struct json_object *o = json_tokener_parse(in);

	if (!o || alipay_charset_from_string(argv[1], &cs) < 0)
		return 2;
	json_object_object_foreach(o, k, v)
	{
		if (alipay_params_add(&p, k, json_object_get_string(v)) < 0)
			return 2;
	}
	if (alipay_notify_build(&p, cs, key, ALIPAY_SIGN_RSA2, &body, NULL) < 0)
		return 1;
	fputs(body, stdout);
	free(body);
	free(in);
	json_object_put(o);
	alipay_params_done(&p);
	EVP_PKEY_free(key);
	return 0;
}

static int
cmd_verify_notify(char **argv)
{
	EVP_PKEY *key = load(argv[0], "alipay-public.pem", 0);
	struct alipay_notify n = ALIPAY_NOTIFY_INIT;
	struct json_object *out;
	size_t len;
	char *in = read_stdin(&len);
	int r;

	r = alipay_notify_parse(in, len, key, &n);
	free(in);
	EVP_PKEY_free(key);
	if (r < 0)
		return 1;
	out = json_object_new_object();
	for (size_t i = 0; i < n.fields.n; i++)
		add_str(out, n.fields.items[i].key, n.fields.items[i].value);
	json_object_object_add(out, "_total_amount_fen", json_object_new_int64(n.total_amount_fen));
	print_json(out);
	alipay_notify_done(&n);
	return 0;
}

static int
cmd_cert_sn(char **argv, int root)
{
	char *text = NULL, sn[ALIPAY_CERT_SN_SIZE], *rsn = NULL;
	size_t len;

	if (alipay_file_read(argv[0], ALIPAY_KEY_FILE_MAX, &text, &len) < 0)
		return 2;
	if (root) {
		if (alipay_root_cert_sn(text, len, &rsn) < 0)
			return 1;
		puts(rsn);
		free(rsn);
	} else {
		if (alipay_cert_load(text, len, sn, NULL) < 0)
			return 1;
		puts(sn);
	}
	free(text);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "sign-request") == 0)
		return cmd_sign_request(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "verify-request") == 0)
		return cmd_verify_request(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "sign-response") == 0)
		return cmd_sign_response(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "verify-response") == 0)
		return cmd_verify_response(argv + 2);
	if (argc >= 4 && strcmp(argv[1], "sign-notify") == 0)
		return cmd_sign_notify(argv + 2);
	if (argc >= 3 && strcmp(argv[1], "verify-notify") == 0)
		return cmd_verify_notify(argv + 2);
	if (argc >= 3 && strcmp(argv[1], "cert-sn") == 0)
		return cmd_cert_sn(argv + 2, 0);
	if (argc >= 3 && strcmp(argv[1], "root-cert-sn") == 0)
		return cmd_cert_sn(argv + 2, 1);
	fprintf(stderr, "usage: see the comment at the top of interop-tool.c\n");
	return 2;
}
