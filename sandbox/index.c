/* SPDX-License-Identifier: MIT */
/*
 * The trades by out_trade_no, trade_no and payment code: an open-addressing hash table, so that
 * a pay, a query or a notification finds its trade as quickly among 100,000 trades as among
 * ten (a scan of the ledger grew with every trade: after 10,000 the sandbox spent more CPU on
 * a pay than the client paying). Called with the lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "sandbox/sandbox.h"

struct sb_index_slot {
	uint64_t hash; /* 0: empty */
	struct sb_trade *t;
};

static uint64_t
key_hash(enum sb_key kind, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ?: 1;
}

/* The trade's current value of the key: an entry whose trade no longer has it is skipped. */
static const char *
trade_key(const struct sb_trade *t, enum sb_key kind)
{
	switch (kind) {
	case SB_KEY_OUT_TRADE_NO:
		return t->out_trade_no;
	case SB_KEY_TRADE_NO:
		return t->trade_no;
	case SB_KEY_AUTH_CODE:
		return t->auth_code;
	}
	return NULL;
}

static void
slot_put(struct sb_index_slot *slots, size_t cap, uint64_t hash, struct sb_trade *t)
{
	size_t i = hash & (cap - 1);

	while (slots[i].hash)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct sb_index_slot){.hash = hash, .t = t};
}

void
sb_trade_index(struct sandbox *sb, struct sb_trade *t, enum sb_key kind)
{
	struct sb_index *x = &sb->index;
	const char *key = trade_key(t, kind);

	if (isempty(key) || x->broken)
		return;
	if ((x->used + 1) * 2 > x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 1024;
		struct sb_index_slot *slots = calloc(cap, sizeof(*slots));

		if (!slots) {
			x->broken = true; /* lookups scan the ledger from now on */
			return;
		}
		for (size_t i = 0; i < x->cap; i++)
			if (x->slots[i].hash)
				slot_put(slots, cap, x->slots[i].hash, x->slots[i].t);
		free(x->slots);
		x->slots = slots;
		x->cap = cap;
	}
	slot_put(x->slots, x->cap, key_hash(kind, key), t);
	x->used++;
}

struct sb_trade *
sb_trade_lookup(struct sandbox *sb, enum sb_key kind, const char *key)
{
	const struct sb_index *x = &sb->index;
	uint64_t h;

	if (isempty(key))
		return NULL;
	if (x->broken) {
		for (size_t i = 0; i < sb->n_trades; i++)
			if (STR_EQ_PTR(trade_key(sb->trades[i], kind), key))
				return sb->trades[i];
		return NULL;
	}
	if (!x->cap)
		return NULL;
	h = key_hash(kind, key);
	for (size_t i = h & (x->cap - 1); x->slots[i].hash; i = (i + 1) & (x->cap - 1))
		if (x->slots[i].hash == h && STR_EQ_PTR(trade_key(x->slots[i].t, kind), key))
			return x->slots[i].t;
	return NULL;
}

void
sb_index_free(struct sb_index *x)
{
	free(x->slots);
	*x = (struct sb_index){};
}
