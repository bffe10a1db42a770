/* SPDX-License-Identifier: MIT */
/* Notification bodies in the journal: packed exactly, replays kept once, still verifiable. */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/engine/journal-body.h"
#include "daemon/engine/journal.h"
#include "payment/keys.h"
#include "payment/notify.h"
#include "test.h"

/* Usage: test-journal-body FIXTURE_V1_JOURNAL KEYS_DIR */

#define T0 ((usec_t)1795723200 * USEC_PER_SEC)

static char dir[] = "/tmp/test-journal-body-XXXXXX";
static char path[256];

static void
remove_journal(void)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", ".clean"};
	char p[300];

	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

static void
roundtrip(const void *body, size_t size)
{
	_cleanup_free_ void *packed = NULL, *back = NULL;
	size_t n = 0;

	CHECK_INT_EQ(journal_body_pack(body, size, &packed, &n), 0);
	CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_DICT1, packed, n, size, &back), 0);
	CHECK(size == 0 || memcmp(back, body, size) == 0);
	CHECK_INT_EQ(((const char *)back)[size], 0);
	/* Any other size is refused, never cut or padded. */
	free(back);
	back = NULL;
	CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_DICT1, packed, n, size + 1, &back),
		     size < JOURNAL_BODY_MAX ? -EBADMSG : -E2BIG);
	if (size > 0)
		CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_DICT1, packed, n, size - 1, &back),
			     -EBADMSG);
	CHECK(back == NULL);
}

/* The codec: exact bytes back for any input; damage and unknown codecs refused. */
static void
test_codec(void)
{
	/* Packed in 2026 by journal_body_pack(): codec 1 must unpack it the same forever. */
	static const char golden_body[] =
		"notify_type=trade_status_sync&notify_id=2026golden&app_id=2021000000000001&"
		"trade_status=TRADE_SUCCESS&total_amount=12.34&sign=ab%2Bcd%3D%3D";
	static const uint8_t golden[] = {
		0x23, 0x36, 0x52, 0x41, 0x7a, 0xd2, 0xf3, 0x73, 0x52, 0x52, 0xf3, 0x90, 0xa3, 0xd7,
		0x00, 0x01, 0x0c, 0x89, 0x0e, 0x59, 0x43, 0x23, 0x3d, 0x63, 0x13, 0x88, 0xed, 0x89,
		0x49, 0xaa, 0x46, 0x4e, 0xc9, 0x29, 0xaa, 0xc6, 0x2e, 0x40, 0x04, 0x00,
	};
	_cleanup_free_ uint8_t *big = malloc(JOURNAL_BODY_MAX + 1);
	_cleanup_free_ void *back = NULL;
	uint8_t damaged[sizeof(golden)];
	unsigned seed = 14;
	size_t n;

	CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_DICT1, golden, sizeof(golden),
					 sizeof(golden_body) - 1, &back),
		     0);
	CHECK(memcmp(back, golden_body, sizeof(golden_body)) == 0);
	free(TAKE_PTR(back));

	roundtrip("", 0);
	roundtrip(golden_body, sizeof(golden_body) - 1);
	roundtrip("\0\0\0", 3);
	CHECK(big);
	for (size_t i = 0; i <= JOURNAL_BODY_MAX; i++)
		big[i] = (uint8_t)rand_r(&seed);
	roundtrip(big, 4096);
	roundtrip(big, JOURNAL_BODY_MAX);
	CHECK_INT_EQ(journal_body_pack(big, JOURNAL_BODY_MAX + 1, &back, &n), -E2BIG);

	/* The notify_id as the form writes it: a field of its own, never a part of another. */
	{
		char id[8];
		CHECK_INT_EQ(journal_body_notify_id("notify_id=a1&x=2", 16, id, sizeof(id)), 0);
		CHECK_STR_EQ(id, "a1");
		CHECK_INT_EQ(journal_body_notify_id("x=1&notify_id=b2", 16, id, sizeof(id)), 0);
		CHECK_STR_EQ(id, "b2");
		CHECK_INT_EQ(journal_body_notify_id("xnotify_id=c&y=1", 16, id, sizeof(id)),
			     -ENOENT);
		CHECK_INT_EQ(journal_body_notify_id("notify_id=12345678", 18, id, sizeof(id)),
			     -E2BIG);
		CHECK_INT_EQ(journal_body_notify_id("notify_id=", 10, id, sizeof(id)), 0);
		CHECK_STR_EQ(id, "");
		CHECK(journal_notify_key("a1") >= 0 &&
		      journal_notify_key("a1") != journal_notify_key("b2"));
	}

	/* As received (schema 4 and before). */
	CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_RAW, "abc", 3, 3, &back), 0);
	CHECK_STR_EQ(back, "abc");
	free(TAKE_PTR(back));
	CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_RAW, "abc", 3, 2, &back), -EBADMSG);
	CHECK_INT_EQ(journal_body_unpack(7, "abc", 3, 3, &back), -EINVAL);

	/* Every single damaged byte, and every cut, is refused or gives other bytes: never the
	 * body (the size check and the end of the stream catch what the bits do not). */
	for (size_t i = 0; i < sizeof(golden); i++) {
		memcpy(damaged, golden, sizeof(golden));
		damaged[i] ^= 0x5a;
		if (journal_body_unpack(JOURNAL_BODY_DICT1, damaged, sizeof(golden),
					sizeof(golden_body) - 1, &back) == 0) {
			CHECK(memcmp(back, golden_body, sizeof(golden_body) - 1) != 0);
			free(TAKE_PTR(back));
		}
		CHECK_INT_EQ(journal_body_unpack(JOURNAL_BODY_DICT1, golden, i,
						 sizeof(golden_body) - 1, &back),
			     -EBADMSG);
	}
	CHECK(back == NULL);
}

struct kept {
	unsigned n;
	char notify_id[JOURNAL_NOTIFY_ID_MAX + 1];
	char *body;
	size_t size;
	EVP_PKEY *key;
	unsigned verified;
};

static int
kept_cb(const struct journal_notification *n, void *userdata)
{
	struct kept *k = userdata;
	struct alipay_notify an = ALIPAY_NOTIFY_INIT;

	k->n++;
	snprintf(k->notify_id, sizeof(k->notify_id), "%s", n->notify_id);
	free(k->body);
	k->body = malloc(n->size + 1);
	CHECK(k->body);
	memcpy(k->body, n->body, n->size + 1);
	k->size = n->size;
	/* What an audit does: verify Alipay's signature over the bytes kept. */
	if (k->key && alipay_notify_parse(n->body, n->size, k->key, &an) == 0) {
		k->verified++;
		CHECK(isempty(n->notify_id) || STR_EQ(an.notify_id, n->notify_id));
		alipay_notify_done(&an);
	}
	return 0;
}

/* The signed notifications of the schema-1 fixture, as sqlite3 reads them from a copy (an open
 * of the fixture itself would leave its -wal and -shm files in the source tree). */
static unsigned
fixture_bodies(const char *fixture, char *bodies[static 8], size_t sizes[static 8])
{
	char copy[300], cmd[800];
	sqlite3 *db;
	sqlite3_stmt *s;
	unsigned n = 0;

	snprintf(copy, sizeof(copy), "%s/fixture.db", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fixture, copy);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT_EQ(
		sqlite3_prepare_v2(db, "SELECT body FROM notifications ORDER BY seq", -1, &s, NULL),
		SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW && n < 8) {
		sizes[n] = (size_t)sqlite3_column_bytes(s, 0);
		bodies[n] = malloc(sizes[n] + 1);
		CHECK(bodies[n]);
		memcpy(bodies[n], sqlite3_column_blob(s, 0), sizes[n]);
		bodies[n][sizes[n]] = 0;
		n++;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	CHECK(unlink(copy) == 0);
	return n;
}

static int64_t
sql_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v;

	CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Codec 2 packs body with dict (may be NULL) and gives it back exactly; its packed size. */
static size_t
roundtrip2(const void *body, size_t size, const void *dict, size_t dict_size)
{
	_cleanup_free_ void *packed = NULL, *back = NULL;
	size_t n = 0;

	CHECK_INT_EQ(journal_body_pack2(body, size, dict, dict_size, &packed, &n), 0);
	CHECK_INT_EQ(journal_body_unpack_dict(JOURNAL_BODY_SPLIT, packed, n, size, dict, dict_size,
					      &back),
		     0);
	CHECK(size == 0 || memcmp(back, body, size) == 0);
	CHECK_INT_EQ(((const char *)back)[size], 0);
	free(back);
	back = NULL;
	CHECK_INT_EQ(journal_body_unpack_dict(JOURNAL_BODY_SPLIT, packed, n, size + 1, dict,
					      dict_size, &back),
		     -EBADMSG);
	if (dict_size > 0)
		/* Without its dictionary, never the same bytes. */
		CHECK(journal_body_unpack_dict(JOURNAL_BODY_SPLIT, packed, n, size, NULL, 0,
					       &back) < 0 ||
		      memcmp(back, body, size) != 0);
	return n;
}

/*
 * doc/engine.md "Notifications", codec 2: Alipay's signature kept as its 256 bytes, the rest
 * deflated with the journal's dictionary too: well under codec 1, exact for any input, a
 * signature written otherwise kept as text.
 */
static void
test_split_codec(const char *fixture)
{
	static const char *const odd[] = {
		"",
		"sign=",
		"sign=QUJD",                     /* first field, no padding */
		"a=1&sign=QUI%3D",               /* one padding */
		"a=1&sign=QQ%3D%3D&b=2",         /* two, a field after it */
		"a=1&sign=QR%3D%3D",             /* stray bits: not what encoding gives */
		"a=1&sign=AB%2bCD%3d%3d",        /* lower-case escapes */
		"a=1&sign=AB+C",                 /* a '+' that form decoding makes a space */
		"a=1&sign=QUJD%",                /* cut escape */
		"a=1&sign=Q%3DJD",               /* padding inside */
		"a=1&sign=====",                 /* only padding */
		"a=1&xsign=QUJD&sign_type=RSA2", /* no field sign */
		"a=1&sign=QUJD&sign=REVG",       /* twice: the first one */
	};
	_cleanup_free_ void *dict = NULL;
	char *bodies[8];
	size_t sizes[8], dict_size = 0;
	unsigned n = fixture_bodies(fixture, bodies, sizes);

	for (size_t i = 0; i < ELEMENTSOF(odd); i++)
		roundtrip2(odd[i], strlen(odd[i]), NULL, 0);
	CHECK(n >= 2);
	CHECK_INT_EQ(journal_body_dict_make(bodies[0], sizes[0], &dict, &dict_size), 0);
	CHECK(dict_size > 0 && dict_size < sizes[0] - 300); /* without the signature's text */
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ void *p1 = NULL;
		size_t n1 = 0, n2, n3;

		CHECK_INT_EQ(journal_body_pack(bodies[i], sizes[i], &p1, &n1), 0);
		n2 = roundtrip2(bodies[i], sizes[i], NULL, 0);
		n3 = roundtrip2(bodies[i], sizes[i], dict, dict_size);
		for (size_t k = 0; k < ELEMENTSOF(odd); k++)
			roundtrip2(bodies[i], sizes[i], odd[k], strlen(odd[k]));
		/* The signature's 344 characters of base64 (some escaped) as 256 bytes. */
		CHECK(n2 + 40 < n1);
		/* Another notification of the shop as dictionary: its fields' names, order and
		 * usual values, its app and seller go (1,100 bytes received: ~450 → ~330). */
		CHECK(n3 + 60 < n2);
		free(bodies[i]);
	}
	free(dict);
	dict = NULL;
	/* No signature: the body itself. */
	CHECK_INT_EQ(journal_body_dict_make("a=1", 3, &dict, &dict_size), 0);
	CHECK(dict_size == 3 && memcmp(dict, "a=1", 3) == 0);
}

/* Kept packed and exact, re-verifiable; a replay writes nothing; other bytes are kept too. */
static void
test_journal(const char *fixture, EVP_PKEY *key)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char *bodies[8];
	size_t sizes[8];
	unsigned n = fixture_bodies(fixture, bodies, sizes);
	struct journal_commits c0, c1;
	struct kept k = {.key = key};
	char notify_id[64];

	CHECK(n >= 2);
	remove_journal();
	CHECK_INT_EQ(journal_open(path, &j), 0);
	for (unsigned i = 0; i < n; i++) {
		struct alipay_notify an = ALIPAY_NOTIFY_INIT;

		CHECK_INT_EQ(alipay_notify_parse(bodies[i], sizes[i], key, &an), 0);
		snprintf(notify_id, sizeof(notify_id), "%s", an.notify_id);
		c0 = journal_commit_count(j);
		CHECK_INT_EQ(journal_notification_add(j, an.out_trade_no, notify_id, bodies[i],
						      sizes[i], true, "TRADE_SUCCESS", T0 + i),
			     0);
		c1 = journal_commit_count(j);
		CHECK_INT_EQ(c1.synced - c0.synced, 1);
		/* Alipay sends it again: nothing written, not even a commit. */
		CHECK_INT_EQ(journal_notification_add(j, an.out_trade_no, notify_id, bodies[i],
						      sizes[i], true, "TRADE_SUCCESS", T0 + i + 9),
			     1);
		CHECK_INT_EQ(journal_commit_count(j).commits, c1.commits);
		alipay_notify_done(&an);
	}
	CHECK_INT_EQ(journal_notification_foreach(j, NULL, kept_cb, &k), 0);
	CHECK_INT_EQ(k.n, n);
	CHECK_INT_EQ(k.verified, n);
	CHECK(k.size == sizes[n - 1] && memcmp(k.body, bodies[n - 1], k.size) == 0);
	/* Packed: well under half of what was received; codec 2, with the dictionary made of
	 * the first one (doc/engine.md "Notifications"). */
	CHECK(sql_int("SELECT SUM(length(body)) * 2 FROM notifications") <
	      sql_int("SELECT SUM(body_size) FROM notifications"));
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM notifications WHERE body_codec = 2 AND "
			     "body_dict = 1"),
		     n);
	CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM body_dicts"), 1);

	/* Delivered again, signed anew (other bytes): a replay all the same, the first kept. */
	c0 = journal_commit_count(j);
	bodies[0][sizes[0] - 1] ^= 1;
	CHECK_INT_EQ(journal_notification_add(j, "T01_20261206_1", "20262200000000000000000100",
					      bodies[0], sizes[0], true, "TRADE_SUCCESS", T0),
		     1);
	CHECK_INT_EQ(journal_commit_count(j).commits, c0.commits);
	bodies[0][sizes[0] - 1] ^= 1;
	/* A row whose key matches but whose body names another notify_id is no replay (keys of
	 * two ids can be equal). */
	{
		char sql[160];
		sqlite3 *db;
		snprintf(sql, sizeof(sql), "UPDATE notification_rows SET notify_key = %" PRId64,
			 journal_notify_key("other-id"));
		CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK_INT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		CHECK_INT_EQ(journal_notification_add(j, "T01_20261206_1", "other-id", bodies[0],
						      sizes[0], true, "TRADE_SUCCESS", T0),
			     0);
		snprintf(sql, sizeof(sql), "UPDATE notification_rows SET notify_key = NULL");
		CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
		CHECK_INT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	/* Another outcome, another order or no notify_id: rows of their own. */
	CHECK_INT_EQ(journal_notification_add(j, "T01_20261206_1", "20262200000000000000000100",
					      bodies[0], sizes[0], true, "refused", T0),
		     0);
	CHECK_INT_EQ(journal_notification_add(j, "T01_20261206_9", "20262200000000000000000100",
					      bodies[0], sizes[0], true, "TRADE_SUCCESS", T0),
		     0);
	CHECK_INT_EQ(journal_notification_add(j, "T01_20261206_1", NULL, bodies[0], sizes[0], true,
					      "TRADE_SUCCESS", T0),
		     0);
	free(k.body);
	k = (struct kept){.key = key};
	CHECK_INT_EQ(journal_notification_foreach(j, "T01_20261206_1", kept_cb, &k), 0);
	CHECK_INT_EQ(k.n, 4);
	CHECK_INT_EQ(k.verified, 4); /* the first delivery's bytes, still Alipay's signature */
	free(k.body);
	for (unsigned i = 0; i < n; i++)
		free(bodies[i]);
}

/* Schema 1's bodies (as received) stay readable and verifiable; their notify_ids replay. */
static void
test_migration(const char *fixture, EVP_PKEY *key)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	char *bodies[8];
	size_t sizes[8];
	unsigned n = fixture_bodies(fixture, bodies, sizes);
	struct kept k = {.key = key};
	char cmd[600];

	remove_journal();
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fixture, path);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(journal_open(path, &j), 0);
	CHECK_INT_EQ(journal_notification_foreach(j, NULL, kept_cb, &k), 0);
	CHECK_INT_EQ(k.n, n);
	CHECK_INT_EQ(k.verified, n);
	CHECK(k.size == sizes[n - 1] && memcmp(k.body, bodies[n - 1], k.size) == 0);
	CHECK(strlen(k.notify_id) > 10 && strstr(bodies[n - 1], k.notify_id));
	/* The last one again: a replay of a row schema 1 kept. */
	{
		struct alipay_notify an = ALIPAY_NOTIFY_INIT;
		CHECK_INT_EQ(alipay_notify_parse(bodies[n - 1], sizes[n - 1], key, &an), 0);
		CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM notifications WHERE body_codec = 0"), n);
		CHECK_INT_EQ(journal_notification_add(
				     j, an.out_trade_no, an.notify_id, bodies[n - 1], sizes[n - 1],
				     true, alipay_trade_status_to_string(an.trade_status), T0),
			     1);
		CHECK_INT_EQ(sql_int("SELECT COUNT(*) FROM notifications"), n);
		alipay_notify_done(&an);
	}
	free(k.body);
	for (unsigned i = 0; i < n; i++)
		free(bodies[i]);
}

int
main(int argc, char **argv)
{
	struct alipay_keys *keys = NULL;
	char p[512];

	CHECK(argc == 3);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	log_set_max_level(LOG_WARNING);
	CHECK_INT_EQ(alipay_keys_new(&keys), 0);
	snprintf(p, sizeof(p), "%s/alipay-public.pem", argv[2]);
	CHECK_INT_EQ(alipay_keys_set_alipay_public_key_file(keys, p), 0);

	test_codec();
	test_split_codec(argv[1]);
	test_journal(argv[1], alipay_keys_get_alipay_public_key(keys));
	test_migration(argv[1], alipay_keys_get_alipay_public_key(keys));

	alipay_keys_free(keys);
	remove_journal();
	rmdir(dir);
	return 0;
}
