/* SPDX-License-Identifier: MIT */
/* Parsing and validation of local API request bodies and path parameters (no I/O). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_JSON_MAX_DEPTH    8
#define API_SUBJECT_MAX       256 /* bytes; doc/protocol.md §5.1 subject is at most 256 characters */
#define API_REASON_MAX        256
#define API_AUTH_CODE_MAX     32
#define API_POS_REF_MAX       64
#define API_ORDER_ID_MAX      64
#define API_STATE_MAX         32
#define API_OPERATOR_MAX      28 /* doc/protocol.md §5.1 operator_id */
#define API_ERROR_MESSAGE_MAX 200

enum api_order_mode {
	API_ORDER_SCAN, /* the buyer shows a payment code (auth_code given, or scanned next) */
	API_ORDER_QR,   /* the buyer scans the QR shown on the customer display */
};

/* A validated POST /v1/orders body. Strings are owned by the struct (api_order_request_done). */
struct api_order_request {
	int64_t amount_fen;
	char *subject;     /* NULL: the backend chooses (store name) */
	int mode;          /* enum api_order_mode */
	char *auth_code;   /* NULL: scan orders wait for the scanner; always NULL for QR */
	char *pos_ref;     /* NULL or the POS's reference, also the idempotency key */
	char *operator_id; /* NULL: the configured [terminal] operator_id */
	bool wait_qr;      /* ?wait=qr: answer once the QR is there (or it failed), bounded */
	/* Set by the API layer, not the parser (borrowed): the idempotency key (pos_ref or the
	 * Idempotency-Key header, NULL for none) and what it asks for, which the backend keeps
	 * with the order so that a retry after a restart is judged the same way. */
	const char *idem_key;
	const char *fingerprint;
};

/* A validated POST /v1/orders/{id}/refunds body. */
struct api_refund_request {
	int64_t amount_fen;
	char *reason; /* NULL or text */
};

/* Why a request was refused: HTTP status, a stable code, a human message. */
struct api_error {
	unsigned status;
	const char *code; /* static string */
	char message[API_ERROR_MESSAGE_MAX];
};

/*
 * Parses and validates a JSON order body (`len` bytes, not necessarily NUL-terminated).
 * Returns 0 and fills *ret (free with api_order_request_done), or -EINVAL with *err filled
 * (400 malformed_json with the byte position, 400 invalid_field/invalid_amount/...), -ENOMEM.
 */
int api_order_request_parse(const char *body, size_t len, struct api_order_request *ret,
			    struct api_error *err);
void api_order_request_done(struct api_order_request *r);

/* The same for refund bodies. */
int api_refund_request_parse(const char *body, size_t len, struct api_refund_request *ret,
			     struct api_error *err);
void api_refund_request_done(struct api_refund_request *r);

/* Path and query parameters: order ids [A-Za-z0-9_-]{1,64}, dates yyyy-MM-dd, states. */
int api_order_id_valid(const char *s);
int api_date_valid(const char *s);
int api_state_valid(const char *s);

/* Fills *err; returns -EINVAL for convenience. */
int api_error_set(struct api_error *err, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
