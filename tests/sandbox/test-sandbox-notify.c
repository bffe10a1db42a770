/* SPDX-License-Identifier: MIT */
/* Notifications in UTF-8 and GBK, verified by payment/'s notification parser. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/macro.h"
#include "harness.h"
#include "payment/api.h"
#include "payment/keys.h"
#include "payment/notify.h"
#include "test.h"

#define MAX_GOT 16

/* A one-thread HTTP receiver that records each POST and answers `success`. */
struct receiver {
	int fd;
	int port;
	pthread_mutex_t lock;
	unsigned n;
	char *content_type[MAX_GOT];
	char *body[MAX_GOT];
	size_t body_len[MAX_GOT];
};

static void *
receiver_run(void *userdata)
{
	struct receiver *r = userdata;

	for (;;) {
		struct buf in = BUF_INIT(1 << 20);
		char chunk[4096], *hdr_end = NULL, *ct, *cl;
		size_t want = 0;
		ssize_t k;
		int c = accept(r->fd, NULL, NULL);

		if (c < 0)
			break;
		while ((k = read(c, chunk, sizeof(chunk))) > 0) {
			CHECK(buf_append(&in, chunk, (size_t)k) == 0);
			hdr_end = strstr(in.data, "\r\n\r\n");
			if (hdr_end) {
				cl = strcasestr(in.data, "\r\nContent-Length:");
				want = (size_t)(hdr_end + 4 - in.data) +
				       (cl ? strtoul(cl + 17, NULL, 10) : 0);
				if (in.len >= want)
					break;
			}
		}
		if (hdr_end && in.len >= want) {
			pthread_mutex_lock(&r->lock);
			if (r->n < MAX_GOT) {
				ct = strcasestr(in.data, "\r\nContent-Type: ");
				r->content_type[r->n] =
					ct ? strndup(ct + 16, strcspn(ct + 16, "\r")) : strdup("");
				r->body_len[r->n] = want - (size_t)(hdr_end + 4 - in.data);
				r->body[r->n] = malloc(r->body_len[r->n] + 1);
				CHECK(r->body[r->n]);
				memcpy(r->body[r->n], hdr_end + 4, r->body_len[r->n]);
				r->body[r->n][r->body_len[r->n]] = '\0';
				r->n++;
			}
			pthread_mutex_unlock(&r->lock);
			static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: "
						 "7\r\nConnection: close\r\n\r\nsuccess";
			CHECK(write(c, ok, strlen(ok)) == (ssize_t)strlen(ok));
		}
		close(c);
		buf_free(&in);
	}
	return NULL;
}

static void
receiver_start(struct receiver *r, pthread_t *t)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	*r = (struct receiver){.lock = PTHREAD_MUTEX_INITIALIZER};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(r->fd >= 0);
	CHECK(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(r->fd, 16) == 0);
	CHECK(getsockname(r->fd, (struct sockaddr *)&sa, &len) == 0);
	r->port = ntohs(sa.sin_port);
	CHECK(pthread_create(t, NULL, receiver_run, r) == 0);
}

static void
receiver_stop(struct receiver *r, pthread_t t)
{
	shutdown(r->fd, SHUT_RDWR);
	close(r->fd);
	pthread_join(t, NULL);
	for (unsigned i = 0; i < r->n; i++) {
		free(r->content_type[i]);
		free(r->body[i]);
	}
}

static size_t
discard(char *p, size_t size, size_t n, void *userdata)
{
	return size * n;
}

static void
pay_with_notify(const char *gateway, enum alipay_charset cs, const char *notify_url,
		const char *keys, const char *otn)
{
	_cleanup_free_ char *priv = NULL, *pub = NULL, *ct = NULL;
	struct alipay_keys *k = NULL;
	struct alipay_request req = ALIPAY_REQUEST_INIT;
	static unsigned n;
	char code[19];
	/* doc/sandbox.md: a payment code is single-use; a fresh one per pay, paid at once. */
	snprintf(code, sizeof(code), "2876344382%07u0", ++n);
	struct alipay_pay_args a = {.out_trade_no = otn,
				    .auth_code = code,
				    .subject = "测试商品 A&B=1%",
				    .total_amount_fen = 1234};
	struct curl_slist *hdr = NULL;
	CURL *h = curl_easy_init();

	CHECK(asprintf(&priv, "%s/app-private.pem", keys) > 0);
	CHECK(asprintf(&pub, "%s/alipay-public.pem", keys) > 0);
	CHECK(alipay_keys_new(&k) == 0);
	CHECK(alipay_keys_set_app_private_key_file(k, priv) == 0);
	CHECK(alipay_keys_set_alipay_public_key_file(k, pub) == 0);
	struct alipay_client_config cfg = {.gateway_url = gateway,
					   .app_id = "2021000000000001",
					   .sign_type = ALIPAY_SIGN_RSA2,
					   .charset = cs,
					   .notify_url = notify_url,
					   .keys = k};
	CHECK(alipay_api_pay(&cfg, &a, time(NULL), &req) == 0);
	CHECK(asprintf(&ct, "Content-Type: %s", req.content_type) > 0);
	hdr = curl_slist_append(hdr, ct);
	curl_easy_setopt(h, CURLOPT_URL, req.url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.body_len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	CHECK(curl_easy_perform(h) == CURLE_OK);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	alipay_request_done(&req);
	alipay_keys_free(k);
}

static unsigned
received(struct receiver *r)
{
	unsigned n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int
main(int argc, char **argv)
{
	struct harness h = {};
	struct receiver r;
	pthread_t t;
	_cleanup_free_ char *gateway = NULL, *notify_url = NULL;
	unsigned cases = 0;

	CHECK(argc == 3);
	receiver_start(&r, &t);
	harness_start(&h, argv[1], argv[2], NULL);
	CHECK(asprintf(&gateway, "%s/gateway.do", h.url) > 0);
	CHECK(asprintf(&notify_url, "http://127.0.0.1:%d/notify?x=1", r.port) > 0);
	for (int i = 0; i < 2; i++) {
		enum alipay_charset cs = i ? ALIPAY_CHARSET_GBK : ALIPAY_CHARSET_UTF8;
		struct alipay_notify n = ALIPAY_NOTIFY_INIT;
		unsigned before = received(&r), k;
		char otn[64], want_ct[128];
		_cleanup_free_ char *tampered = NULL;
		char *p;

		fprintf(stderr, "case: %s notification verified by payment/notify\n",
			i ? "GBK" : "UTF-8");
		cases++;
		snprintf(otn, sizeof(otn), "ntf%d_%d_%ld", i, (int)getpid(), (long)time(NULL));
		pay_with_notify(gateway, cs, notify_url, argv[2], otn);
		for (int w = 0; w < 400 && received(&r) == before; w++)
			usleep(50 * 1000);
		CHECK(received(&r) > before);
		k = before;
		snprintf(want_ct, sizeof(want_ct),
			 "application/x-www-form-urlencoded; text/html; charset=%s",
			 i ? "GBK" : "utf-8");
		CHECK_STR_EQ(r.content_type[k], want_ct);
		CHECK_INT_EQ(alipay_notify_parse(r.body[k], r.body_len[k], h.alipay_pub, &n), 0);
		CHECK_INT_EQ(n.charset, cs);
		CHECK_STR_EQ(n.subject, "测试商品 A&B=1%");
		CHECK_STR_EQ(n.out_trade_no, otn);
		CHECK_STR_EQ(n.app_id, "2021000000000001");
		CHECK_STR_EQ(n.seller_id, "2088000000000001");
		CHECK_STR_EQ(n.notify_type, "trade_status_sync");
		CHECK_INT_EQ(n.trade_status, ALIPAY_TRADE_STATUS_SUCCESS);
		CHECK_INT_EQ(n.total_amount_fen, 1234);
		alipay_notify_done(&n);
		if (i) /* doc/protocol.md §4: the bytes on the wire are GBK ("测" = B2 E2). */
			CHECK(strstr(r.body[k], "%B2%E2"));

		fprintf(stderr, "case: a tampered %s notification does not verify\n",
			i ? "GBK" : "UTF-8");
		cases++;
		tampered = strdup(r.body[k]);
		CHECK(tampered);
		p = strstr(tampered, "total_amount=12.34");
		CHECK(p);
		p[strlen("total_amount=12.3")] = '5';
		n = ALIPAY_NOTIFY_INIT;
		CHECK(alipay_notify_parse(tampered, strlen(tampered), h.alipay_pub, &n) < 0);
	}
	receiver_stop(&r, t);
	CHECK_INT_EQ(harness_stop(&h), 0);
	printf("%u cases passed\n", cases);
	return 0;
}
