/* SPDX-License-Identifier: MIT */
/* Slot and deadline policy for HTTP listeners: pure, the caller closes what it is told to. */
#include <string.h>

#include "daemon/conn-guard.h"

static bool
source_eq(const struct conn_source *a, const struct conn_source *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static bool
reading(const struct guarded_conn *c)
{
	return !c->shed && c->state != CONN_GUARD_HANDLED;
}

/* The reading connection that has waited longest (of `src` unless NULL). */
static struct guarded_conn *
oldest_reading(struct conn_guard *g, const struct conn_source *src)
{
	struct guarded_conn *best = NULL;

	for (struct guarded_conn *c = g->conns; c; c = c->next)
		if (reading(c) && (!src || source_eq(&c->src, src)) &&
		    (!best || c->since <= best->since))
			best = c;
	return best;
}

static struct guarded_conn *
shed(struct guarded_conn *c)
{
	if (c)
		c->shed = true;
	return c;
}

struct guarded_conn *
conn_guard_add(struct conn_guard *g, struct guarded_conn *c, const struct conn_source *src,
	       usec_t now_usec)
{
	unsigned same = 0;

	*c = (struct guarded_conn){.src = *src, .since = now_usec, .userdata = c->userdata};
	c->next = g->conns;
	if (g->conns)
		g->conns->prev = c;
	g->conns = c;
	g->live++;
	g->accepted++;
	for (struct guarded_conn *o = g->conns; o; o = o->next)
		if (!o->shed && source_eq(&o->src, src))
			same++;
	if (g->limits.max_per_source && same > g->limits.max_per_source) {
		g->live--;
		g->shed_for_room++;
		return shed(oldest_reading(g, src) ?: c);
	}
	if (g->live > g->limits.max_connections) {
		g->live--;
		g->shed_for_room++;
		return shed(oldest_reading(g, NULL) ?: c);
	}
	return NULL;
}

void
conn_guard_set_state(struct conn_guard *g, struct guarded_conn *c, enum conn_guard_state state,
		     usec_t now_usec)
{
	if (state == CONN_GUARD_READING_HEAD) {
		/* Answered: the next request on this connection gets the keep-alive grace. */
		c->since = now_usec;
		c->grace = g->limits.keepalive_usec;
	}
	c->state = state;
}

void
conn_guard_remove(struct conn_guard *g, struct guarded_conn *c)
{
	if (!c->shed)
		g->live--;
	if (c->prev)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

struct guarded_conn *
conn_guard_next_expired(struct conn_guard *g, usec_t now_usec)
{
	for (struct guarded_conn *c = g->conns; c; c = c->next) {
		usec_t limit = c->grace + (c->state == CONN_GUARD_READING_HEAD
						   ? g->limits.header_deadline_usec
						   : g->limits.request_deadline_usec);
		if (reading(c) && now_usec >= c->since && now_usec - c->since >= limit) {
			g->live--;
			g->shed_for_deadline++;
			return shed(c);
		}
	}
	return NULL;
}

bool
conn_guard_has_reading(const struct conn_guard *g)
{
	for (const struct guarded_conn *c = g->conns; c; c = c->next)
		if (reading(c))
			return true;
	return false;
}
