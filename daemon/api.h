/* SPDX-License-Identifier: MIT */
/* The local API (doc/design.md §7): HTTP+JSON on a unix socket, libmicrohttpd on sd-event. */
#pragma once

#include <stdint.h>

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "daemon/api-query.h"
#include "daemon/api-request.h"

struct api;
struct api_call;
struct json_object;

/*
 * The backend the API layer serves: the order manager in f2fpayd, a fake in the tests. Every
 * callback gets a call and must answer it exactly once, with api_call_reply() or
 * api_call_fail(), either before returning or later from the event loop (the connection waits,
 * suspended). Request structs and strings are borrowed for the duration of the callback only.
 *
 * order_create answers 201 with the order object, which must have a string "id"; the API layer
 * remembers it for the idempotency key while it runs, and the backend keeps the key for good
 * (req->idem_key, req->fingerprint): a key it knows answers 200 with api_call_mark_replayed()
 * or 409 idempotency_mismatch. Other answers are passed to the client unchanged.
 */
struct api_backend {
	void (*order_create)(void *userdata, struct api_call *call,
			     const struct api_order_request *req);
	void (*order_get)(void *userdata, struct api_call *call, const char *order_id);
	/*
	 * GET /v1/orders: one page of the orders q selects, in journal order, as
	 * {"orders":[…],"next_cursor":…} (next_cursor only when more may follow).
	 */
	void (*order_list)(void *userdata, struct api_call *call, const struct api_order_query *q);
	/* The order id of a pos_ref, synchronously: 0, -ENOENT, or another -errno. */
	int (*order_find)(void *userdata, const char *pos_ref,
			  char ret_id[static API_ORDER_ID_MAX + 1]);
	/* GET /v1/orders/{id}/refunds: {"refunds":[…]} oldest first; 404 order_not_found. */
	void (*refund_list)(void *userdata, struct api_call *call, const char *order_id);
	/* GET /v1/orders/{id}/refunds/{refund_id}: the refund; 404 refund_not_found. */
	void (*refund_get)(void *userdata, struct api_call *call, const char *order_id,
			   const char *refund_id);
	void (*order_cancel)(void *userdata, struct api_call *call, const char *order_id);
	/* request_ref: the Idempotency-Key header or NULL; the same key must not refund twice. */
	void (*order_refund)(void *userdata, struct api_call *call, const char *order_id,
			     const struct api_refund_request *req, const char *request_ref);
	/*
	 * POST /v1/orders/by-pos-ref/{pos_ref}/refunds when order_find does not know pos_ref: a
	 * refund of another till's order (NULL: 404 order_not_found).
	 */
	void (*refund_by_pos_ref)(void *userdata, struct api_call *call, const char *pos_ref,
				  const struct api_refund_request *req, const char *request_ref);
	void (*status)(void *userdata, struct api_call *call);
	/* GET /v1/version: {"name","version","terminal_id"}, as the metrics listener's /version. */
	void (*version)(void *userdata, struct api_call *call);
	void (*reconciliation)(void *userdata, struct api_call *call, const char *date);
	/*
	 * The newest event sequence number of the journal (synchronous; NULL: none). Event stream
	 * ids follow it, so a client resumes (Last-Event-ID) across events of any kind.
	 */
	int64_t (*event_seq)(void *userdata);
	/* GET /v1/backup: answer with api_call_reply_file() (a copy of the journal). */
	void (*backup)(void *userdata, struct api_call *call);
	/*
	 * Makes what the journal says durable and told (engine_flush()): called before a GET is
	 * handed to the backend, and before every answer but an error leaves. 0, or -errno: then
	 * the answer is 503 journal_full instead. NULL: nothing to do.
	 */
	int (*settle)(void *userdata);
};

struct api_options {
	const char *socket_path;  /* bound unless listen_fd >= 0; NULL = no unix socket */
	unsigned socket_mode;     /* e.g. 0660 */
	const char *socket_group; /* NULL = leave the group alone */
	int listen_fd;            /* a listening socket (systemd socket activation), or -1 */
	const char *tcp_listen;   /* "127.0.0.1:PORT", "[::1]:PORT" or NULL */
	const char *token;        /* bearer token for TCP clients; required with tcp_listen */
	size_t body_limit;
	unsigned max_connections;
	unsigned max_sse_clients;
	unsigned sse_queue_limit;
	unsigned idempotency_keys; /* remembered keys; the oldest settled ones are forgotten */
};

/* Sensible defaults (the config defaults); listen_fd = -1. */
void api_options_init(struct api_options *o);

/*
 * Creates the API: binds or adopts the listening sockets and attaches them to `event`
 * (borrowed, must outlive the api). The backend table is borrowed; userdata is passed to it.
 * Returns 0 and a new api, or -errno (logged).
 */
int api_new(struct api **ret, sd_event *event, const struct api_options *opts,
	    const struct api_backend *backend, void *userdata);

/*
 * Stops listening, answers waiting requests with 503 and ends event streams. Calls the backend
 * still holds stay valid: answering them later is harmless. NULL is fine.
 */
struct api *api_free(struct api *api);

/* The TCP port actually bound (for tcp_listen with port 0 in tests), or 0. */
unsigned api_tcp_port(const struct api *api);

/*
 * Sends an event to every event stream client: `event` is the SSE event name (e.g. "order",
 * "scan", "device", "display"), `json` one JSON value (borrowed, copied). Its id is the
 * backend's event_seq when that grew since the last event, else the last id with a count
 * ("17.1"); the newest events are kept for clients that resume with Last-Event-ID. A client
 * whose queue is full is disconnected (it reconnects and resumes). Returns the number of
 * clients the event was queued for, or -errno.
 */
int api_broadcast(struct api *api, const char *event, const char *json);

/* Number of connected event stream clients. */
unsigned api_sse_clients(const struct api *api);

/* Answers a call with `status` and `body` (taken; NULL for no body). Frees the call. */
void api_call_reply(struct api_call *call, unsigned status, struct json_object *body);
/*
 * Answers 200 with the `size` bytes of the file behind fd (taken: closed once sent or on any
 * failure) as `content_type` (a static string).
 */
void api_call_reply_file(struct api_call *call, int fd, uint64_t size, const char *content_type);

/* The answer to come is a replay of an earlier request: it carries Idempotent-Replayed: true. */
void api_call_mark_replayed(struct api_call *call);

/* Answers a call with {"error":{"code":code,"message":...}}. Frees the call. */
void api_call_fail(struct api_call *call, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
