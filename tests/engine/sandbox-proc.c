/* SPDX-License-Identifier: MIT */
/* Runs f2fpay-sandbox as a child for the engine tests and reads its ledger over HTTP. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/macro.h"
#include "sandbox-proc.h"
#include "sandbox-spawn.h"
#include "test.h"

void
sandbox_proc_start(struct sandbox_proc *p, const char *bin, const char *keys_dir,
		   const char *const *extra)
{
	p->pid = sandbox_spawn(bin, keys_dir, extra, p->url, sizeof(p->url));
	snprintf(p->gateway, sizeof(p->gateway), "%s/gateway.do", p->url);
}

void
sandbox_proc_stop(struct sandbox_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	CHECK(waitpid(p->pid, NULL, 0) == p->pid);
	p->pid = 0;
}

static size_t
collect(char *data, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	if (buf_append(b, data, size * n) < 0)
		return 0;
	return size * n;
}

static long
http(const char *url, const char *post, struct buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	long status = -1;

	CHECK(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (post) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

struct json_object *
sandbox_proc_trades(struct sandbox_proc *p)
{
	struct buf b = BUF_INIT(64u << 20);
	char url[320];
	struct json_object *o;

	snprintf(url, sizeof(url), "%s/sim/trades", p->url);
	CHECK(http(url, NULL, &b) == 200);
	CHECK(b.data);
	o = json_tokener_parse(b.data);
	CHECK(o);
	buf_free(&b);
	return o;
}

struct json_object *
sandbox_proc_trade(struct json_object *root, const char *id)
{
	struct json_object *arr;

	if (!json_object_object_get_ex(root, "trades", &arr))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i), *v;
		if (json_object_object_get_ex(t, "out_trade_no", &v) &&
		    STR_EQ(json_object_get_string(v), id))
			return t;
	}
	return NULL;
}

int64_t
sandbox_proc_int(struct json_object *t, const char *key)
{
	struct json_object *v;
	return t && json_object_object_get_ex(t, key, &v) ? json_object_get_int64(v) : 0;
}

const char *
sandbox_proc_str(struct json_object *t, const char *key)
{
	struct json_object *v;
	return t && json_object_object_get_ex(t, key, &v) ? json_object_get_string(v) : "";
}

long
sandbox_proc_scan(struct sandbox_proc *p, const char *qr_code, bool pay)
{
	struct json_object *o = json_object_new_object();
	struct buf b = BUF_INIT(1u << 20);
	char url[320];
	long status;

	json_object_object_add(o, "qr_code", json_object_new_string(qr_code));
	json_object_object_add(o, "pay", json_object_new_boolean(pay));
	snprintf(url, sizeof(url), "%s/sim/scan-qr", p->url);
	status = http(url, json_object_to_json_string(o), &b);
	buf_free(&b);
	json_object_put(o);
	return status;
}
