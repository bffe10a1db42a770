/* SPDX-License-Identifier: MIT */
/* Crash test: SIGKILL the engine at every write-ahead point and at random, then check money. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/money.h"
#include "daemon/engine/journal.h"
#include "sandbox-proc.h"
#include "test.h"

/*
 * Usage: test-engine-crash SANDBOX KEYS_DIR RUNNER SWEEP_TEMPLATES TOTAL_ORDERS RANDOM_KILLS [SEED]
 * 1. Sweep: for each order template (scan digits, QR paid, QR expired, refunds), new orders
 *    of it are run with F2FPAY_CRASH_AT=1, 2, 3, … — each killed at that write-ahead point of
 *    its own life and recovered by a clean run — until an order gets through: every point of
 *    every template is hit.
 * 2. Random: more orders, the runner SIGKILLed after a random delay RANDOM_KILLS times, then
 *    a last run that must finish.
 * The sandbox keeps its ledger throughout. Then: every order and refund final; paid in the
 * journal exactly when paid at the gateway; no trade left WAIT_BUYER_PAY; one pay request per
 * trade; no out_trade_no twice; refunds applied once each and matching the journal.
 */

static const char *sandbox_bin, *keys_dir, *runner_bin;
static char dir[] = "/tmp/test-engine-crash-XXXXXX";
static char journal_path[256], script_path[256];
static struct sandbox_proc sb;

#define SCRIPT_MAX 2048
static char script[SCRIPT_MAX][64];
static unsigned script_n;

static void
script_add(const char *line)
{
	CHECK(script_n < SCRIPT_MAX);
	snprintf(script[script_n++], sizeof(script[0]), "%s", line);
}

static void
script_flush(void)
{
	FILE *f = fopen(script_path, "we");

	CHECK(f);
	for (unsigned i = 0; i < script_n; i++)
		fprintf(f, "%s\n", script[i]);
	CHECK(fclose(f) == 0);
}

/* Appends one order of the given template ('0'–'9' scan digit, 'q' QR paid, 'x' QR left to
 * expire, 'c' a scenario-5 scan aborted while its pay answer is unknown: the cancel finds it
 * paid and refunds it), with refunds for some paid scans. */
static void
script_add_order(char tmpl, unsigned i)
{
	char l[64];
	unsigned line;

	if (tmpl == 'q' || tmpl == 'x') {
		snprintf(l, sizeof(l), "qr %u %s", 200 + i, tmpl == 'q' ? "pay" : "expire");
		script_add(l);
		return;
	}
	snprintf(l, sizeof(l), "scan %u 28111122223333444%c", 100 + i, tmpl == 'c' ? '5' : tmpl);
	script_add(l);
	line = script_n;
	if (tmpl == 'c') {
		snprintf(l, sizeof(l), "abort %u", line);
		script_add(l);
		return;
	}
	if (tmpl == '0' && i % 2 == 0) {
		snprintf(l, sizeof(l), "refund %u %u", line, 100 + i);
		script_add(l);
	} else if (tmpl == '0' || (tmpl == '5' && i % 3 == 0)) {
		snprintf(l, sizeof(l), "refund %u 40", line);
		script_add(l);
		snprintf(l, sizeof(l), "refund %u %u", line, 60 + i);
		script_add(l);
	}
}

/* Runs the runner once; kill_after_usec 0 = no kill by us. Returns the wait status. */
static int
runner_run(uint64_t crash_at, uint64_t kill_after_usec)
{
	char crash[32];
	int status = 0;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		if (crash_at) {
			snprintf(crash, sizeof(crash), "%" PRIu64, crash_at);
			setenv("F2FPAY_CRASH_AT", crash, 1);
		} else
			unsetenv("F2FPAY_CRASH_AT");
		execl(runner_bin, runner_bin, sb.url, keys_dir, journal_path, script_path, NULL);
		_exit(127);
	}
	if (kill_after_usec) {
		struct timespec ts = {.tv_sec = (time_t)(kill_after_usec / USEC_PER_SEC),
				      .tv_nsec = (long)(kill_after_usec % USEC_PER_SEC) * 1000};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	return status;
}

static bool
killed(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

struct check {
	struct journal *j;
	struct json_object *ledger;
	unsigned orders, paid, refunds_done, unfinished, refunded_by_cancel;
	int64_t seq;
};

static int
dump_event(const struct journal_event *e, void *userdata)
{
	fprintf(stderr, "  #%" PRId64 " %" PRIu64 " %s: %s -> %s [%s]\n", e->seq, e->at_usec,
		e->what, e->from_state, e->to_state, e->request);
	return 0;
}

static int
dump_refund(const struct journal_refund *r, void *userdata)
{
	const char *order_id = userdata;
	char a[MONEY_BUF_SIZE];

	if (STR_EQ(r->order_id, order_id))
		fprintf(stderr, "  refund %s %s %s attempts %u sub_code '%s' pending %s\n",
			r->fsm.id, money_format(r->amount_fen, a),
			refund_state_to_string(r->fsm.state), (unsigned)r->fsm.attempts,
			r->fsm.sub_code, refund_request_to_string(r->pending));
	return 0;
}

/* On a failed check: the order's whole journal history and the gateway's view of its trade. */
static void
dump_order(struct check *c, const struct journal_order *o)
{
	char a[MONEY_BUF_SIZE], b[MONEY_BUF_SIZE];
	struct json_object *arr;

	fprintf(stderr, "order %s (%s): %s, amount %s, refunded %s\n", o->fsm.id, o->pos_ref,
		order_state_to_string(o->fsm.state), money_format(o->amount_fen, a),
		money_format(o->refunded_fen, b));
	(void)journal_event_foreach(c->j, o->fsm.id, dump_event, NULL);
	(void)journal_refund_foreach(c->j, false, dump_refund, (void *)o->fsm.id);
	if (!json_object_object_get_ex(c->ledger, "trades", &arr))
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i);
		if (STR_EQ(sandbox_proc_str(t, "out_trade_no"), o->fsm.id))
			fprintf(stderr, "  gateway: %s\n",
				json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN));
	}
}

/*
 * What the gateway must show as refunded for the order: the refunds the journal applied, or,
 * when the cancel found the trade paid and refunded it (doc/protocol.md §5.3: action "refund", the
 * whole remainder), the whole amount. Such an order was never paid in the journal, so it has
 * no refunds of its own and refunded_fen stays 0 while the gateway shows everything refunded.
 */
static int64_t
expected_gateway_refund_fen(const struct journal_order *o)
{
	if (o->fsm.state == ORDER_REFUNDED_BY_CANCEL)
		return o->amount_fen;
	return o->refunded_fen;
}

static int
check_order(const struct journal_order *o, void *userdata)
{
	struct check *c = userdata;
	struct json_object *t = sandbox_proc_trade(c->ledger, o->fsm.id);
	const char *st = sandbox_proc_str(t, "trade_status");
	bool gw_paid = STR_EQ(st, "TRADE_SUCCESS") || STR_EQ(st, "TRADE_FINISHED");
	bool fully_refunded = STR_EQ(st, "TRADE_CLOSED") && o->refunded_fen == o->amount_fen;

	c->orders++;
	if (!order_state_is_final(o->fsm.state)) {
		fprintf(stderr, "order %s left %s\n", o->fsm.id,
			order_state_to_string(o->fsm.state));
		c->unfinished++;
	}
	/* Paid in the journal exactly when paid at the gateway (a full refund closes it). */
	if ((o->fsm.state == ORDER_PAID) != (gw_paid || (fully_refunded && o->refunded_fen > 0)))
		dump_order(c, o);
	CHECK_INT_EQ(o->fsm.state == ORDER_PAID,
		     gw_paid || (fully_refunded && o->refunded_fen > 0));
	c->paid += o->fsm.state == ORDER_PAID;
	c->refunded_by_cancel += o->fsm.state == ORDER_REFUNDED_BY_CANCEL;
	CHECK(!STR_EQ(st, "WAIT_BUYER_PAY"));
	/* doc/protocol.md §8: a pay reaches the gateway at most once. */
	CHECK(sandbox_proc_int(t, "pay_requests") <= 1);
	if (o->fsm.state == ORDER_REFUNDED_BY_CANCEL)
		CHECK_STR_EQ(sandbox_proc_str(t, "cancel_action"), "refund");
	/* Refunds: the gateway applied exactly what the journal says. */
	if (t) {
		char fee[MONEY_BUF_SIZE];
		struct json_object *arr;
		CHECK(json_object_object_get_ex(t, "refunds", &arr));
		for (size_t i = 0; i < json_object_array_length(arr); i++)
			for (size_t k = i + 1; k < json_object_array_length(arr); k++)
				CHECK(!STR_EQ(sandbox_proc_str(json_object_array_get_idx(arr, i),
							       "out_request_no"),
					      sandbox_proc_str(json_object_array_get_idx(arr, k),
							       "out_request_no")));
		money_format(expected_gateway_refund_fen(o), fee);
		if (!STR_EQ(sandbox_proc_str(t, "refund_fee"), fee))
			dump_order(c, o);
		CHECK_STR_EQ(sandbox_proc_str(t, "refund_fee"), fee);
	} else {
		if (o->refunded_fen != 0)
			dump_order(c, o);
		CHECK_INT_EQ(o->refunded_fen, 0);
	}
	return 0;
}

static int
check_refund(const struct journal_refund *r, void *userdata)
{
	struct check *c = userdata;
	struct json_object *t = sandbox_proc_trade(c->ledger, r->order_id), *arr;
	bool found = false;

	CHECK(refund_state_is_final(r->fsm.state));
	CHECK(t && json_object_object_get_ex(t, "refunds", &arr));
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (STR_EQ(sandbox_proc_str(json_object_array_get_idx(arr, i), "out_request_no"),
			   r->fsm.id))
			found = true;
	if (found != (r->fsm.state == REFUND_DONE)) {
		struct journal_order o;
		fprintf(stderr, "refund %s: journal %s, at the gateway: %s\n", r->fsm.id,
			refund_state_to_string(r->fsm.state), found ? "applied" : "not applied");
		if (journal_order_get(c->j, r->order_id, &o) >= 0)
			dump_order(c, &o);
	}
	CHECK_INT_EQ(found, r->fsm.state == REFUND_DONE);
	c->refunds_done += r->fsm.state == REFUND_DONE;
	return 0;
}

static void
check_all(void)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct check c = {};
	struct json_object *arr;

	c.ledger = sandbox_proc_trades(&sb);
	CHECK_INT_EQ(journal_open(journal_path, &j), 0);
	c.j = j;
	CHECK_INT_EQ(journal_order_foreach(j, false, check_order, &c), 0);
	CHECK_INT_EQ(c.unfinished, 0);
	CHECK_INT_EQ(journal_refund_foreach(j, false, check_refund, &c), 0);
	/* Every trade at the gateway is one of ours, each out_trade_no once. */
	CHECK(json_object_object_get_ex(c.ledger, "trades", &arr));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		const char *id =
			sandbox_proc_str(json_object_array_get_idx(arr, i), "out_trade_no");
		struct journal_order o;
		CHECK_INT_EQ(journal_order_get(j, id, &o), 0);
		for (size_t k = i + 1; k < json_object_array_length(arr); k++)
			CHECK(!STR_EQ(id, sandbox_proc_str(json_object_array_get_idx(arr, k),
							   "out_trade_no")));
	}
	/* The allocator handed out at least one number per order and never one twice. */
	CHECK_INT_EQ(journal_counter_get(j, "out_trade_no_seq", &c.seq), 0);
	CHECK(c.seq >= (int64_t)c.orders);
	printf("%u orders (%u paid, %u refunded by cancel), %zu trades at the gateway, %u refunds "
	       "applied\n",
	       c.orders, c.paid, c.refunded_by_cancel, json_object_array_length(arr),
	       c.refunds_done);
	json_object_put(c.ledger);
}

int
main(int argc, char **argv)
{
	static const char *const extra[] = {"--confirm-after", "0.1", "--slow-delay", "1", NULL};
	unsigned sweep_orders, total_orders, random_kills, seed = 1;
	/* Sweep order: the cheap and central templates first (CI runs a prefix). */
	static const char templates[] = "c015q2869x347";
	unsigned sweep_runs = 0, crash_kills = 0, random_done = 0;
	int status;

	CHECK(argc >= 7);
	sandbox_bin = argv[1];
	keys_dir = argv[2];
	runner_bin = argv[3];
	sweep_orders = (unsigned)strtoul(argv[4], NULL, 10);
	total_orders = (unsigned)strtoul(argv[5], NULL, 10);
	random_kills = (unsigned)strtoul(argv[6], NULL, 10);
	if (argc > 7)
		seed = (unsigned)strtoul(argv[7], NULL, 10);
	CHECK(mkdtemp(dir));
	snprintf(journal_path, sizeof(journal_path), "%s/journal.db", dir);
	snprintf(script_path, sizeof(script_path), "%s/script", dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sandbox_proc_start(&sb, sandbox_bin, keys_dir, extra);

	/* 1. One order per template: its first run dies at write-ahead point k of its life (the
	 * earlier orders are final, so the run has no other point), then a clean run recovers
	 * it; k = 1, 2, … until a run gets through without reaching point k. */
	for (unsigned t = 0; t < sweep_orders && t < strlen(templates); t++) {
		for (uint64_t k = 1;; k++) {
			CHECK(k < 1000);
			script_add_order(templates[t], script_n);
			script_flush();
			status = runner_run(k, 0);
			sweep_runs++;
			if (!killed(status)) {
				CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
				break;
			}
			crash_kills++;
			status = runner_run(0, 0);
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
	}
	check_all();

	/* 2. More orders of every kind, a batch per run, each run killed at a random moment. */
	for (unsigned i = 0, added = 0; i <= random_kills; i++) {
		unsigned upto = total_orders * (i + 1) / (random_kills + 1);
		for (; added < upto; added++) {
			unsigned pick = rand_r(&seed) % 20;
			script_add_order(pick < 16   ? (char)('0' + added % 10)
					 : pick < 19 ? 'q'
						     : 'x',
					 script_n);
		}
		script_flush();
		if (i == random_kills)
			break;
		uint64_t delay = (uint64_t)(rand_r(&seed) % 1500) * USEC_PER_MSEC;
		status = runner_run(0, delay ? delay : 1);
		if (!killed(status)) {
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			random_done++;
		}
	}
	status = runner_run(0, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_all();

	printf("sweep: %u runs, %u killed at a write-ahead point; random: %u kills, %u runs "
	       "finished before the kill\n",
	       sweep_runs, crash_kills, random_kills - random_done, random_done);
	CHECK(sweep_orders == 0 || crash_kills > 0);
	sandbox_proc_stop(&sb);
	curl_global_cleanup();
	{
		char p[300];
		unlink(journal_path);
		snprintf(p, sizeof(p), "%s-wal", journal_path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", journal_path);
		unlink(p);
		unlink(script_path);
		rmdir(dir);
	}
	return 0;
}
