/* SPDX-License-Identifier: MIT */
/* The SQLite journal: orders, their append-only event log, refunds, notifications, counters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/paycode.h"
#include "common/time-util.h"
#include "payment/order/order-fsm.h"

/*
 * doc/design.md §6. WAL mode, synchronous=FULL, schema versioned with user_version and marked
 * with application_id. Write-ahead: journal_order_save() / journal_refund_save() commit an
 * order's new state together with the request about to be sent, before it leaves. A journal that
 * is truncated, corrupted, foreign or from a newer version is refused at open with a clear
 * message; it is never silently replaced by a fresh one.
 */

#define JOURNAL_SCHEMA_VERSION 6
#define JOURNAL_APPLICATION_ID 0x46325046 /* "F2PF" */

/* doc/engine.md "Trade numbers": <terminal>_<yyyymmdd>_<install>_<run>_<seq>. */
#define JOURNAL_INSTALL_ID_LEN  8   /* random at creation: a-z and 2-7 */
#define JOURNAL_RUN_ID_LEN      4   /* random at every open, same alphabet */
#define JOURNAL_TERMINAL_MAX    24  /* keeps the out_trade_no and its _r<n> refunds within 64 */
#define JOURNAL_IDEM_KEY_MAX    64  /* an Idempotency-Key or pos_ref */
#define JOURNAL_FINGERPRINT_MAX 512 /* the API's: amount, mode, a 256-byte subject, code */
#define JOURNAL_SUBJECT_MAX     256 /* doc/protocol.md §5.1 subject, bytes */
#define JOURNAL_AUTH_CODE_MAX   PAYCODE_MAX_LEN
#define JOURNAL_POS_REF_MAX     64
#define JOURNAL_QR_CODE_MAX     256
#define JOURNAL_TRADE_NO_MAX    64
#define JOURNAL_REASON_MAX      256
#define JOURNAL_OPERATOR_MAX    28  /* doc/protocol.md §5.1 operator_id */
#define JOURNAL_BUYER_MAX       100 /* buyer_logon_id, masked by Alipay */
#define JOURNAL_FUND_BILL_MAX   1024

/* The receipt of a paid order, from Alipay's pay or query answer; amounts -1 when absent. */
struct journal_receipt {
	char gmt_payment[20]; /* "yyyy-MM-dd HH:mm:ss", Beijing time; "" before payment */
	char buyer_logon_id[JOURNAL_BUYER_MAX + 1];
	char fund_bill_list[JOURNAL_FUND_BILL_MAX + 1]; /* compact JSON array, or "" */
	int64_t receipt_fen, buyer_pay_fen, point_fen, invoice_fen, discount_fen, mdiscount_fen;
};

/* An empty receipt: no strings, every amount absent. */
#define JOURNAL_RECEIPT_INIT                           \
	((struct journal_receipt){.receipt_fen = -1,   \
				  .buyer_pay_fen = -1, \
				  .point_fen = -1,     \
				  .invoice_fen = -1,   \
				  .discount_fen = -1,  \
				  .mdiscount_fen = -1})

struct journal;

/* One order as journaled: the machine's memory plus what the requests need. */
struct journal_order {
	struct order fsm;
	int64_t amount_fen;
	int64_t refunded_fen;       /* sum of the refunds that are done */
	int64_t pending_refund_fen; /* sum of the refunds not final yet */
	char subject[JOURNAL_SUBJECT_MAX + 1];
	char auth_code_masked[JOURNAL_AUTH_CODE_MAX + 1]; /* never the full payment code */
	char pos_ref[JOURNAL_POS_REF_MAX + 1];
	char idem_key[JOURNAL_IDEM_KEY_MAX + 1]; /* the pos_ref or the Idempotency-Key, "" none */
	char qr_code[JOURNAL_QR_CODE_MAX + 1];
	char trade_no[JOURNAL_TRADE_NO_MAX + 1];
	enum order_request pending; /* the request committed as about to be sent */
	usec_t created_usec;
	char operator_id[JOURNAL_OPERATOR_MAX + 1]; /* "": the configured one */
	struct journal_receipt receipt;
};

/* What creates an order; strings borrowed, NULL when absent. */
struct journal_order_request {
	const char *terminal;
	enum order_kind kind;
	int64_t amount_fen;
	const char *subject;
	const char *auth_code; /* stored masked; a scan order without one waits for it */
	const char *pos_ref;
	/* The idempotency key (the pos_ref, or the API's Idempotency-Key header): unique among
	 * orders. The fingerprint says what the key was used for: the same key with another
	 * fingerprint is refused. */
	const char *idem_key;
	const char *fingerprint;
	usec_t code_wait_usec;   /* a scan order without auth_code waits this long for it */
	const char *operator_id; /* the cashier, NULL for none (at most JOURNAL_OPERATOR_MAX) */
	/*
	 * Optional, doc/engine.md "Write-ahead": called inside the creating transaction with the
	 * new order, which it may move on (the engine runs the machine's start and sets the
	 * request about to leave). It returns < 0 to give up the order (nothing is written), 0 to
	 * keep it as it was, or 1 when it moved the order. The order is stored as it then is, with
	 * one event row "created" (from "" to its state, with its pending request), in one
	 * durable commit between the cashier's order and its first request. Not called when the
	 * idempotency key returns an existing order.
	 */
	int (*first_move)(struct journal_order *o, void *userdata);
	void *first_move_userdata;
};

struct journal_refund {
	struct refund fsm; /* fsm.id is the out_request_no */
	char order_id[ORDER_ID_MAX + 1];
	int64_t amount_fen;
	char reason[JOURNAL_REASON_MAX + 1];
	enum refund_request pending;
	usec_t created_usec;
};

/* One row of an order's event log. */
struct journal_event {
	int64_t seq;
	usec_t at_usec;
	char what[32]; /* "created", an order event name, "refund:<event>" */
	char from_state[32];
	char to_state[32];
	char request[48]; /* the request committed with this transition, "" for none */
};

/*
 * Opens (or creates, if path does not exist) the journal. A journal of an older schema is
 * migrated in place, in one transaction, by the numbered steps of journal.c (doc/operations.md
 * "Upgrades"). Every open draws a new run id: the numbers it hands out are new ones even when
 * the journal was restored from a backup, copied to another till or lost its write-ahead file. A
 * new journal is built in a temporary file and renamed into place once its schema is committed, so
 * any file found at path must be a complete journal. Returns 0 and a new handle, or: -EUCLEAN when
 * the file is empty, not SQLite, fails PRAGMA quick_check (run when the journal was not closed
 * cleanly: journal_close()), or is not a journal; -EPROTONOSUPPORT
 * when it was written by a newer schema; another -errno on I/O errors. Every failure is logged
 * once, with the path and what to do.
 */
int journal_open(const char *path, struct journal **ret);
/*
 * Closes the handle (NULL-safe). doc/engine.md "Integrity check": when SQLite closes the journal
 * cleanly (write-ahead file merged and removed), "<path>.clean" records the file as it was left
 * (device, inode, size, modification and change times); the next open that finds the file just so
 * skips PRAGMA quick_check. Every open removes the record first, so a crash leaves none.
 */
void journal_close(struct journal *j);

/* Whether this open ran PRAGMA quick_check (no record of a clean close matched the file). */
bool journal_checked_at_open(const struct journal *j);

/*
 * Copies the write-ahead file into the journal and truncates it to zero bytes (the space it
 * held returns to the filesystem). Returns 0, or -errno (-EBUSY while a reader holds it,
 * -ENOSPC when the journal cannot grow); not logged, the caller retries.
 */
int journal_checkpoint(struct journal *j);

/*
 * doc/engine.md "Checkpoints": commits never copy the write-ahead file into the journal below
 * JOURNAL_WAL_CAP_PAGES; the daemon does it between orders with journal_checkpoint_idle()
 * once journal_wal_pages() reaches JOURNAL_WAL_IDLE_PAGES. The file keeps its size and the
 * next commits overwrite it from the start (no file growth to sync on a commit).
 */
#define JOURNAL_WAL_IDLE_PAGES 1000
#define JOURNAL_WAL_CAP_PAGES  4000
/* Frames in the write-ahead file not yet copied into the journal (as of the last commit or
 * checkpoint). */
unsigned journal_wal_pages(const struct journal *j);
/* Copies what it can without waiting for readers (SQLite's PASSIVE mode); 0 or -errno. */
int journal_checkpoint_idle(struct journal *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct journal *, journal_close);

/*
 * The daemon's open: like journal_open(), and the state directory remembers the journal in
 * "<path>.install-id" (its install id). When that file exists but the journal does not, the
 * journal is not replaced by an empty one: -ENOENT, logged with how to start a new journal on
 * purpose (remove the .install-id file).
 */
int journal_open_marked(const char *path, struct journal **ret);

/*
 * One daemon per journal: an exclusive lock on "<path>.lock" (never on the SQLite files, whose
 * own locks must stay SQLite's), held until *ret_fd is closed. -EBUSY when another process holds
 * it, logged with its pid; another -errno when the lock file cannot be made.
 */
int journal_lock(const char *path, int *ret_fd);

/* The journal's random install id (JOURNAL_INSTALL_ID_LEN characters), fixed for its life. */
const char *journal_install_id(const struct journal *j);
/* This open's run id (JOURNAL_RUN_ID_LEN characters). */
const char *journal_run_id(const struct journal *j);

/*
 * The install id inside an out_trade_no of journal_allocate_out_trade_no()'s form, copied to
 * buf: 0, or -EINVAL when out_trade_no does not have that form (an order of an earlier release,
 * or not one of this program's). The terminal may contain '_': the fields are read from the end.
 */
int journal_trade_no_install(const char *out_trade_no, char buf[static JOURNAL_INSTALL_ID_LEN + 1]);

/*
 * Allocates the next out_trade_no "<terminal>_<yyyymmdd>_<install>_<run>_<seq>" (yyyymmdd in
 * UTC+8 of now) and
 * commits the counter: a number is never handed out twice, even if the order is then lost.
 * buf must hold ORDER_ID_MAX + 1 bytes. -EINVAL for a terminal that is empty, too long, or not
 * letters, digits and underscores.
 */
int journal_allocate_out_trade_no(struct journal *j, const char *terminal, time_t now,
				  char buf[static ORDER_ID_MAX + 1]);

/*
 * Creates an order in state NEW with a freshly allocated out_trade_no, in one transaction.
 * auth_code (may be NULL) is stored masked; pos_ref (may be NULL) must be unique: -EEXIST and
 * *ret_existing_id filled (when non-NULL) if an order with that pos_ref exists. Strings are
 * borrowed; over-long strings give -E2BIG. *ret is filled on success.
 */
int journal_order_create(struct journal *j, const char *terminal, enum order_kind kind,
			 int64_t amount_fen, const char *subject, const char *auth_code,
			 const char *pos_ref, usec_t now_usec, struct journal_order *ret,
			 char ret_existing_id[static ORDER_ID_MAX + 1]);

/*
 * Creates an order from req in one transaction: state NEW, or WAITING_FOR_CODE (expiring after
 * req->code_wait_usec, when not 0) for a scan order without auth_code. When req->idem_key was used
 * before: -EEXIST and *ret_existing_id filled if the fingerprints agree (or the order predates
 * them), -EKEYREJECTED (and the id) if not. Over-long strings give -E2BIG.
 */
int journal_order_new(struct journal *j, const struct journal_order_request *req, usec_t now_usec,
		      struct journal_order *ret, char ret_existing_id[static ORDER_ID_MAX + 1]);

/*
 * The write-ahead point: stores o (state, counters, pending request, qr_code, trade_no,
 * auth_code_masked) and
 * appends one event row (ev taken from_state → o->fsm.state, with the pending request), in one
 * transaction committed with synchronous=FULL. Returns once it is on disk.
 */
int journal_order_save(struct journal *j, const struct journal_order *o, const char *what,
		       enum order_state from_state, usec_t now_usec);

/*
 * The same, committed without its own sync (doc/engine.md "Final transitions share a sync"):
 * on the disk with the next synced commit or journal_sync(), whichever comes first
 * (journal_unsynced() tells). Until then its event is not published: journal_event_seq() does
 * not count it, and a read of the event log (journal_log_after(), journal_log_last()) or a
 * backup syncs it first.
 */
int journal_order_save_deferred(struct journal *j, const struct journal_order *o, const char *what,
				enum order_state from_state, usec_t now_usec);

/* Loads one order by out_trade_no: 0, -ENOENT, or another -errno. */
int journal_order_get(struct journal *j, const char *id, struct journal_order *ret);

/*
 * Calls cb for every order (only those not final when unfinished_only), oldest first. The
 * record is borrowed for the duration of the call. A negative return from cb stops the walk
 * and is returned.
 */
typedef int (*journal_order_cb)(const struct journal_order *o, void *userdata);
int journal_order_foreach(struct journal *j, bool unfinished_only, journal_order_cb cb,
			  void *userdata);

/* What journal_order_page() selects; zero fields do not filter. */
struct journal_order_filter {
	bool by_state;
	enum order_state state;
	bool by_kind;
	enum order_kind kind;
	const char *pos_ref;
	usec_t from_usec, to_usec; /* created_usec in [from, to) */
	int64_t after;             /* a position from a previous page; 0 for the first */
	unsigned limit;            /* at most this many orders (> 0) */
};

/*
 * One page of the orders f selects, in the order they were journaled (a position never
 * changes, and new orders come after every existing one, so paging with *ret_next returns each
 * order once while new ones arrive). cb is called for each, as journal_order_foreach() does.
 * *ret_next is the position to continue after when more orders may follow, 0 otherwise.
 */
int journal_order_page(struct journal *j, const struct journal_order_filter *f, journal_order_cb cb,
		       void *userdata, int64_t *ret_next);

/* Calls cb for each event of the order in log order. */
typedef int (*journal_event_cb)(const struct journal_event *e, void *userdata);
int journal_event_foreach(struct journal *j, const char *order_id, journal_event_cb cb,
			  void *userdata);

/* One row of the whole journal's event log: the event and the order it belongs to. */
struct journal_log_entry {
	struct journal_event ev;
	char order_id[ORDER_ID_MAX + 1];
};

/*
 * Calls cb for at most max events with a sequence above after_seq, in sequence order (the order
 * they were committed in). The entry is borrowed for the call; a negative return from cb stops
 * the walk and is returned.
 */
typedef int (*journal_log_cb)(const struct journal_log_entry *e, void *userdata);
int journal_log_after(struct journal *j, int64_t after_seq, unsigned max, journal_log_cb cb,
		      void *userdata);

/* The sequence and time of the last event: 0 and 0 for an empty log. ret_at_usec may be NULL. */
int journal_log_last(struct journal *j, int64_t *ret_seq, usec_t *ret_at_usec);

/*
 * doc/design.md §5.3 refund rules, checked inside the creating transaction: the order must be PAID
 * (-EPERM otherwise) and amount_fen must not exceed paid − refunded − pending refunds
 * (-EOVERFLOW). The out_request_no is "<order id>_r<n>", fixed for the life of the refund.
 * Creates the refund in state NEW; *ret filled on success. -ENOENT for an unknown order.
 */
int journal_refund_create(struct journal *j, const char *order_id, int64_t amount_fen,
			  const char *reason, usec_t now_usec, struct journal_refund *ret);

/*
 * Like journal_refund_create() with an idempotency key (may be NULL), unique per order: when the
 * order already has a refund with that key, -EEXIST and *ret is that refund if the amounts
 * agree, -EKEYREJECTED (and *ret) if not.
 */
int journal_refund_create_keyed(struct journal *j, const char *order_id, int64_t amount_fen,
				const char *reason, const char *idem_key, usec_t now_usec,
				struct journal_refund *ret);

/* The refund write-ahead point; when the refund becomes DONE, the order's refunded_fen grows
 * in the same transaction. */
int journal_refund_save(struct journal *j, const struct journal_refund *r, const char *what,
			enum refund_state from_state, usec_t now_usec);

int journal_refund_get(struct journal *j, const char *id, struct journal_refund *ret);

typedef int (*journal_refund_cb)(const struct journal_refund *r, void *userdata);
int journal_refund_foreach(struct journal *j, bool unfinished_only, journal_refund_cb cb,
			   void *userdata);

/* Calls cb for each refund of one order, oldest first; like journal_refund_foreach(). */
int journal_refund_foreach_order(struct journal *j, const char *order_id, journal_refund_cb cb,
				 void *userdata);

#define JOURNAL_NOTIFY_ID_MAX 128
#define JOURNAL_OUTCOME_MAX   128

/*
 * doc/engine.md "Notifications": records a received notification, committed durably: body
 * (borrowed, size bytes, at most JOURNAL_BODY_MAX) is kept exactly, packed with codec 2 and the
 * journal's dictionary (journal-body.h; the first verified body makes it), with its notify_id (may
 * be NULL), whether it verified and what was made of it. A replay (doc/protocol.md §4: Alipay
 * repeats a notification until it hears "success", signed anew each time) with the notify_id,
 * out_trade_no, verdict and outcome of a row already kept writes nothing and returns 1 (the first
 * delivery's bytes stay); 0 when a row was added.
 */
int journal_notification_add(struct journal *j, const char *out_trade_no, const char *notify_id,
			     const void *body, size_t size, bool verified, const char *outcome,
			     usec_t now_usec);

/*
 * The same, committed without its own sync: the row reaches the disk with the next commit of an
 * order or refund, or journal_sync(), whichever comes first (journal_unsynced() tells; the
 * callback of journal_set_synced_cb() hears it). Alipay's "success" waits for that; a power cut
 * before it loses only a row Alipay sends again.
 */
int journal_notification_add_deferred(struct journal *j, const char *out_trade_no,
				      const char *notify_id, const void *body, size_t size,
				      bool verified, const char *outcome, usec_t now_usec);

/* Whether a commit in the write-ahead file is not on the disk yet. */
bool journal_unsynced(const struct journal *j);

/* Puts every commit on the disk (one fdatasync of the write-ahead file, none when nothing waits);
 * 0 or -errno (logged). */
int journal_sync(struct journal *j);

/* cb(userdata) runs when commits that were waiting reach the disk: from inside the commit or
 * journal_sync() that put them there, so it must not use the journal. NULL: nobody. */
typedef void (*journal_synced_cb)(void *userdata);
void journal_set_synced_cb(struct journal *j, journal_synced_cb cb, void *userdata);

/* One received notification as journaled. */
struct journal_notification {
	int64_t seq;
	usec_t received_usec;
	char out_trade_no[ORDER_ID_MAX + 1];
	char notify_id[JOURNAL_NOTIFY_ID_MAX + 1]; /* "" when it had none (or before schema 4) */
	const char *body; /* the exact bytes received, size of them, then a NUL; borrowed */
	size_t size;
	bool verified;
	char outcome[JOURNAL_OUTCOME_MAX + 1];
};

/*
 * Calls cb for each notification kept for out_trade_no (all of them when NULL), oldest first,
 * with the body unpacked. -EBADMSG (logged) for a body that does not unpack. A negative return
 * from cb stops the walk and is returned.
 */
typedef int (*journal_notification_cb)(const struct journal_notification *n, void *userdata);
int journal_notification_foreach(struct journal *j, const char *out_trade_no,
				 journal_notification_cb cb, void *userdata);

/* Reads a counter ("out_trade_no_seq", "journal_writes"); 0 for a counter never set. */
int journal_counter_get(struct journal *j, const char *name, int64_t *ret);

/* The sequence number of the newest event row on the disk (0 for none): every order and refund
 * transition adds one, so it only grows. */
int journal_event_seq(struct journal *j, int64_t *ret);

/*
 * Writes a consistent copy of the whole journal to dest (borrowed), which must not exist or be
 * empty. Usable while orders run: the copy is one read transaction. 0 or -errno (logged).
 */
int journal_backup(struct journal *j, const char *dest);

/*
 * What the journal committed since it was opened: every write transaction (commits), those
 * made durable before returning (synced: synchronous=FULL, one fsync each), and the syncs of
 * journal_sync() (flushes). For tests and the benchmark: the write-ahead rule is counted, not
 * timed.
 */
struct journal_commits {
	uint64_t commits;
	uint64_t synced;
	uint64_t flushes;
};
struct journal_commits journal_commit_count(const struct journal *j);

/*
 * How many SQL statements the journal compiled since it was opened (doc/engine.md "Statements":
 * each one once per connection, then kept). For tests and the benchmark.
 */
uint64_t journal_prepare_count(const struct journal *j);

/* Tests: the next n write-ahead saves (order or refund) fail with -EIO and write nothing. */
void journal_inject_failures(struct journal *j, unsigned n);

/* ---- refunds at any till (doc/central.md "Refunds at any till") ---- */

/* Another till's order as the central database knows it. */
struct journal_foreign_order {
	char id[ORDER_ID_MAX + 1];
	char install_id[JOURNAL_INSTALL_ID_LEN + 1]; /* the owning till's journal */
	char terminal_id[33];
	enum order_kind kind;
	int64_t amount_fen;
	char subject[JOURNAL_SUBJECT_MAX + 1];
	char pos_ref[JOURNAL_POS_REF_MAX + 1];
	char trade_no[JOURNAL_TRADE_NO_MAX + 1];
	usec_t created_usec;
};

/* 1 when order id is another till's, imported here to be refunded; 0 when not; or -errno. */
int journal_order_is_foreign(struct journal *j, const char *id);

/*
 * A refund of another till's order, after the central database reserved its amount: in one
 * transaction, imports fo (borrowed) as a PAID order when this journal does not have it yet (with
 * an "imported" event; its pos_ref kept apart from ours), and creates the refund in state NEW with
 * refund_id as its out_request_no and idem_key (may be NULL) as its key. The engine runs it like
 * any refund. -EINVAL for a bad argument, -E2BIG for over-long strings, -EEXIST when the id or
 * the key is taken; *ret filled on success.
 */
int journal_foreign_refund_create(struct journal *j, const struct journal_foreign_order *fo,
				  const char *refund_id, int64_t amount_fen, const char *reason,
				  const char *idem_key, usec_t now_usec,
				  struct journal_refund *ret);

/*
 * The refund of order_id with key idem_key: 0 and *ret when its amount is amount_fen,
 * -EKEYREJECTED (and *ret) for another amount, -ENOENT when the order has no refund with it.
 */
int journal_refund_find_key(struct journal *j, const char *order_id, const char *idem_key,
			    int64_t amount_fen, struct journal_refund *ret);

/*
 * The out_request_no the next journal_refund_create_keyed() of order_id will give, while no other
 * refund of it is created meanwhile: "<order id>_r<n>". 0, -E2BIG, or a journal error.
 */
int journal_refund_next_id(struct journal *j, const char *order_id,
			   char ret_id[static REFUND_ID_MAX + 1]);
