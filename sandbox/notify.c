/* SPDX-License-Identifier: MIT */
/* Asynchronous notifications (doc/protocol.md §4): signed form POSTs with Alipay's retry schedule.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/macro.h"
#include "sandbox/sandbox.h"

#define REPLY_MAX 256

/* doc/protocol.md §4: 8 deliveries, at intervals 4m, 10m, 10m, 1h, 2h, 6h, 15h. */
static const unsigned retry_interval_sec[SB_NOTIFY_ATTEMPTS - 1] = {
	4 * 60, 10 * 60, 10 * 60, 3600, 2 * 3600, 6 * 3600, 15 * 3600,
};

int
sb_notify_url_allowed(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (!u)
		return 0;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		/* Notifications go to loopback only: the sandbox must never reach the outside. */
		ok = (STR_EQ(scheme, "http") || STR_EQ(scheme, "https")) &&
		     (strncmp(host, "127.", 4) == 0 || STR_EQ(host, "localhost") ||
		      STR_EQ(host, "[::1]"));
		for (const char *p = host; ok && *p && strncmp(host, "127.", 4) == 0; p++)
			if (!strchr("0123456789.", *p))
				ok = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

struct delivery {
	struct sb_trade *trade;
	size_t notice;
	char *url;
	struct buf body;
	char content_type[96];
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	(void)buf_append(b, ptr, MIN(n, b->max - b->len));
	return n;
}

/* Builds the signed body of one delivery; called with the lock held. */
static int
delivery_prepare(struct sandbox *sb, struct sb_trade *t, struct sb_notice *n, struct delivery *d)
{
	struct sb_params p = {};
	struct buf s = BUF_INIT(1024 * 1024);
	_cleanup_free_ char *sig = NULL;
	char now[BEIJING_TIME_BUF];
	int r = 0;

	for (size_t i = 0; i < n->fields.n && r >= 0; i++) {
		_cleanup_free_ char *v = NULL;

		r = sb_charset_from_utf8(t->charset, n->fields.v[i].value,
					 strlen(n->fields.v[i].value), &v, NULL);
		if (r >= 0)
			r = sb_params_set(&p, n->fields.v[i].key, v);
	}
	if (r >= 0)
		r = sb_params_set(&p, "notify_time", beijing_format_time(time(NULL), now));
	/* doc/protocol.md §4: sign all but sign and sign_type, empties dropped, in the charset. */
	if (r >= 0)
		r = sb_params_sign_string(&p, SB_SIGN_DROP_SIGN_TYPE | SB_SIGN_DROP_EMPTY, &s);
	if (r >= 0)
		r = sb_sign(sb->alipay_key, t->sign_type, s.data ?: "", s.len, &sig);
	if (r >= 0)
		r = sb_params_set(&p, "sign", sig);
	if (r >= 0)
		r = sb_params_encode(&p, &d->body);
	if (r >= 0) {
		d->url = strdup(t->notify_url);
		if (!d->url)
			r = -ENOMEM;
	}
	snprintf(d->content_type, sizeof(d->content_type),
		 "Content-Type: application/x-www-form-urlencoded; text/html; charset=%s",
		 t->charset == SB_CHARSET_GBK ? "GBK" : "utf-8");
	buf_free(&s);
	sb_params_free(&p);
	return r;
}

static int
delivery_send(struct delivery *d, struct buf *reply)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	CURLcode rc;
	long status = 0;

	if (!h)
		return -ENOMEM;
	hdr = curl_slist_append(hdr, d->content_type);
	curl_easy_setopt(h, CURLOPT_URL, d->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, d->body.data ?: "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)d->body.len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "Mozilla/4.0");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		buf_truncate(reply, 0);
		(void)buf_printf(reply, "error: %s", curl_easy_strerror(rc));
		return 0;
	}
	return 0;
}

static void *
notify_thread(void *userdata)
{
	struct sandbox *sb = userdata;

	for (;;) {
		struct delivery d = {.body = BUF_INIT(2 * 1024 * 1024)};
		struct buf reply = BUF_INIT(REPLY_MAX);
		int found = 0;
		usec_t now;

		pthread_mutex_lock(&sb->lock);
		if (sb->stopping) {
			pthread_mutex_unlock(&sb->lock);
			break;
		}
		now = now_usec(CLOCK_REALTIME);
		sb_ledger_tick(sb, now);
		/* The trades with a notification left to deliver, not the whole ledger. */
		for (size_t i = 0; i < sb->n_outbox && !found;) {
			struct sb_trade *t = sb->outbox[i];
			bool left = false;

			for (size_t k = 0; k < t->n_notices && !found; k++) {
				struct sb_notice *n = &t->notices[k];

				if (n->delivered || n->attempts >= SB_NOTIFY_ATTEMPTS)
					continue;
				left = true;
				if (n->next_usec > now)
					continue;
				d.trade = t;
				d.notice = k;
				if (delivery_prepare(sb, t, n, &d) < 0) {
					n->attempts =
						SB_NOTIFY_ATTEMPTS; /* cannot be built: give up */
					continue;
				}
				found = 1;
			}
			if (!left && !found) {
				t->in_outbox = 0;
				sb->outbox[i] = sb->outbox[--sb->n_outbox];
			} else
				i++;
		}
		pthread_mutex_unlock(&sb->lock);

		if (found) {
			(void)delivery_send(&d, &reply);
			pthread_mutex_lock(&sb->lock);
			{
				struct sb_notice *n = &d.trade->notices[d.notice];
				usec_t sent = now_usec(CLOCK_REALTIME);

				n->sent_usec[n->attempts] = sent;
				n->attempts++;
				free(n->last_reply);
				n->last_reply = strdup(reply.data ?: "");
				/* doc/protocol.md §4: exactly the 7 bytes `success`, else resend
				 * later. */
				if (reply.len == 7 && memcmp(reply.data, "success", 7) == 0)
					n->delivered = 1;
				else if (n->attempts < SB_NOTIFY_ATTEMPTS)
					n->next_usec =
						sent +
						sb_scaled_usec(sb,
							       retry_interval_sec[n->attempts - 1]);
				if (sb->cfg.verbose)
					log_info("notify %s %s attempt %u: %s",
						 d.trade->out_trade_no,
						 strna(sb_params_get(&n->fields, "trade_status")),
						 n->attempts, n->delivered ? "success" : "retry");
				(void)sb_ledger_save(sb);
			}
			pthread_mutex_unlock(&sb->lock);
		}
		free(d.url);
		buf_free(&d.body);
		buf_free(&reply);
		if (!found)
			usleep(10 * 1000);
	}
	return NULL;
}

int
sb_notify_start(struct sandbox *sb, pthread_t *ret)
{
	int r = pthread_create(ret, NULL, notify_thread, sb);

	if (r != 0)
		return log_error_errno(r, "Failed to start the notification thread: %m");
	return 0;
}
