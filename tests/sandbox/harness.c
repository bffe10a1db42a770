/* SPDX-License-Identifier: MIT */
/* Test harness: runs f2fpay-sandbox as a child, speaks HTTP to it, signs requests for it. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox-spawn.h"
#include "test.h"

const char *harness_ca_file;

void
harness_start(struct harness *h, const char *bin, const char *keys_dir, const char *const *extra)
{
	char app_priv[512], alipay_pub[512];

	snprintf(app_priv, sizeof(app_priv), "%s/app-private.pem", keys_dir);
	snprintf(alipay_pub, sizeof(alipay_pub), "%s/alipay-public.pem", keys_dir);
	CHECK(sb_key_load_private(app_priv, &h->app_key) == 0);
	CHECK(sb_key_load_public(alipay_pub, &h->alipay_pub) == 0);
	h->keys_dir = keys_dir;
	h->pid = sandbox_spawn(bin, keys_dir, extra, h->url, sizeof(h->url));
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
harness_alive(struct harness *h)
{
	return waitpid(h->pid, NULL, WNOHANG) == 0;
}

int
harness_stop(struct harness *h)
{
	int status = 0;

	kill(h->pid, SIGTERM);
	CHECK(waitpid(h->pid, &status, 0) == h->pid);
	EVP_PKEY_free(h->app_key);
	EVP_PKEY_free(h->alipay_pub);
	curl_global_cleanup();
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static size_t
collect(char *p, size_t size, size_t n, void *userdata)
{
	CHECK(buf_append(userdata, p, size * n) == 0);
	return size * n;
}

long
harness_http(const char *method, const char *url, const char *content_type, const void *body,
	     size_t len, struct buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char ct[256];
	long status = -1;

	CHECK(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (harness_ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, harness_ca_file);
	if (STR_EQ(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		snprintf(ct, sizeof(ct), "Content-Type: %s",
			 content_type ? content_type : "application/x-www-form-urlencoded");
		hdr = curl_slist_append(hdr, ct);
		/* No "Expect: 100-continue" pause for big bodies. */
		hdr = curl_slist_append(hdr, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return status;
}

static void
add_enc(struct sb_params *p, enum sb_charset cs, const char *k, const char *v)
{
	_cleanup_free_ char *e = NULL;

	CHECK(sb_charset_from_utf8(cs, v, strlen(v), &e, NULL) == 0);
	CHECK(sb_params_set(p, k, e) == 0);
}

void
harness_request(struct harness *h, const char *method, const char *biz, const char *charset,
		const char *sign_type, char **ret_query, char **ret_body)
{
	enum sb_charset cs = sb_charset_from_string(charset);
	struct sb_params q = {}, b = {}, all = {};
	struct buf s = BUF_INIT(1 << 24), qs = BUF_INIT(1 << 24), bs = BUF_INIT(1 << 24);
	enum sb_sign_type st = SB_SIGN_RSA2;
	char ts[BEIJING_TIME_BUF];
	_cleanup_free_ char *sig = NULL;

	if (cs == SB_CHARSET_UNKNOWN)
		cs = SB_CHARSET_UTF8;
	(void)sb_sign_type_from_string(sign_type, &st);
	add_enc(&q, cs, "app_id", "2021000000000001");
	add_enc(&q, cs, "method", method);
	add_enc(&q, cs, "charset", charset);
	add_enc(&q, cs, "sign_type", sign_type);
	add_enc(&q, cs, "timestamp", beijing_format_time(time(NULL), ts));
	add_enc(&q, cs, "version", "1.0");
	if (biz)
		add_enc(&b, cs, "biz_content", biz);
	for (size_t i = 0; i < q.n; i++)
		CHECK(sb_params_set(&all, q.v[i].key, q.v[i].value) == 0);
	for (size_t i = 0; i < b.n; i++)
		CHECK(sb_params_set(&all, b.v[i].key, b.v[i].value) == 0);
	CHECK(sb_params_sign_string(&all, 0, &s) == 0);
	CHECK(sb_sign(h->app_key, st, s.data, s.len, &sig) == 0);
	CHECK(sb_params_set(&q, "sign", sig) == 0);
	CHECK(sb_params_encode(&q, &qs) == 0);
	CHECK(sb_params_encode(&b, &bs) == 0);
	*ret_query = buf_steal(&qs);
	*ret_body = buf_steal(&bs);
	buf_free(&s);
	sb_params_free(&q);
	sb_params_free(&b);
	sb_params_free(&all);
}

long
harness_call(struct harness *h, const char *method, const char *biz, const char *charset,
	     struct buf *out)
{
	_cleanup_free_ char *q = NULL, *b = NULL, *url = NULL;

	harness_request(h, method, biz, charset, "RSA2", &q, &b);
	CHECK(asprintf(&url, "%s/gateway.do?%s", h->url, q) > 0);
	return harness_http("POST", url, NULL, b, strlen(b), out);
}

int
harness_verify_response(struct harness *h, const char *method, const char *body, size_t len)
{
	char key[128];
	const char *node, *sig, *end;
	_cleanup_free_ char *sign = NULL;
	int depth = 0, in_str = 0;
	size_t i;

	snprintf(key, sizeof(key), "{\"%s_response\":", method);
	for (char *p = key; *p; p++)
		if (*p == '.')
			*p = '_';
	if (len < strlen(key) || memcmp(body, key, strlen(key)) != 0)
		return 0;
	node = body + strlen(key);
	/* A string-aware brace matcher over the raw bytes (doc/protocol.md §3). */
	for (i = 0; node + i < body + len; i++) {
		char c = node[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == '{')
			depth++;
		else if (c == '}' && --depth == 0)
			break;
	}
	if (depth != 0)
		return 0;
	sig = strstr(node + i, "\"sign\":\"");
	if (!sig)
		return 0;
	sig += 8;
	end = strchr(sig, '"');
	if (!end)
		return 0;
	sign = strndup(sig, (size_t)(end - sig));
	return sb_verify(h->alipay_pub, SB_SIGN_RSA2, node, i + 1, sign) == 1;
}

char *
harness_json_str(const char *json, const char *key)
{
	char pat[128];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(json, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	for (e = p; *e && *e != '"'; e++)
		if (*e == '\\' && e[1])
			e++;
	return strndup(p, (size_t)(e - p));
}
