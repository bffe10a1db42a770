/* SPDX-License-Identifier: MIT */
/* Runs f2fpay-sandbox as a child for the engine tests and reads its ledger over HTTP. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/macro.h"
#include "sandbox-proc.h"
#include "test.h"

void
sandbox_proc_start(struct sandbox_proc *p, const char *bin, const char *keys_dir,
		   const char *const *extra)
{
	char app_pub[512], alipay_priv[512], line[256];
	const char *argv[64];
	int fds[2], n = 0;
	FILE *f;

	snprintf(app_pub, sizeof(app_pub), "%s/app-public.pem", keys_dir);
	snprintf(alipay_priv, sizeof(alipay_priv), "%s/alipay-private.pem", keys_dir);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--app-public-key";
	argv[n++] = app_pub;
	argv[n++] = "--alipay-private-key";
	argv[n++] = alipay_priv;
	for (size_t i = 0; extra && extra[i] && n < 60; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	p->pid = fork();
	CHECK(p->pid >= 0);
	if (p->pid == 0) {
		/* A test that aborts must not leave the sandbox behind. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], STDOUT_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	CHECK(f);
	CHECK(fgets(line, sizeof(line), f));
	fclose(f);
	CHECK(strncmp(line, "listening on ", 13) == 0);
	line[strcspn(line, "\n")] = '\0';
	snprintf(p->url, sizeof(p->url), "%s", line + 13);
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
