/* SPDX-License-Identifier: MIT */
/* Runs f2fpay-sandbox as a child for the engine tests and reads its ledger over HTTP. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

struct sandbox_proc {
	pid_t pid;
	char url[256];     /* "http://127.0.0.1:PORT" */
	char gateway[300]; /* url + "/gateway.do" */
};

/*
 * Starts `bin` on 127.0.0.1:0 with the test keys in keys_dir, plus `extra` arguments
 * (NULL-terminated). Aborts the test on failure.
 */
void sandbox_proc_start(struct sandbox_proc *p, const char *bin, const char *keys_dir,
			const char *const *extra);
/* SIGTERM and wait. */
void sandbox_proc_stop(struct sandbox_proc *p);

/* GET /sim/trades, parsed; new reference (json_object_put). Aborts on failure. */
struct json_object *sandbox_proc_trades(struct sandbox_proc *p);
/* The ledger entry of one trade (borrowed from root), or NULL. */
struct json_object *sandbox_proc_trade(struct json_object *root, const char *out_trade_no);
/* An integer or string member of a trade; 0 / "" when absent. */
int64_t sandbox_proc_int(struct json_object *trade, const char *key);
const char *sandbox_proc_str(struct json_object *trade, const char *key);

/* POST /sim/scan-qr: the buyer scans (and pays if pay). Returns the HTTP status. */
long sandbox_proc_scan(struct sandbox_proc *p, const char *qr_code, bool pay);
