/* SPDX-License-Identifier: MIT */
/* The HTTP slot policy: who is shed for room, who passes a deadline, and what no byte renews. */
#include <sys/socket.h>

#include "daemon/conn-guard.h"
#include "test.h"

#define S(n) ((usec_t)(n)*USEC_PER_SEC)

static struct conn_source
src(uint8_t n)
{
	struct conn_source s = {.family = AF_INET};
	s.addr[0] = n;
	return s;
}

int
main(void)
{
	struct conn_guard g = {.limits = {.max_connections = 3,
					  .max_per_source = 2,
					  .header_deadline_usec = S(5),
					  .request_deadline_usec = S(10),
					  .keepalive_usec = S(15)}};
	struct guarded_conn a, b, c, d, e, f, h;
	struct conn_source s1 = src(1), s2 = src(2), s3 = src(3);

	/* One source may hold two: its third sheds the one of its own that waited longest. */
	CHECK(conn_guard_add(&g, &a, &s1, S(0)) == NULL);
	CHECK(conn_guard_add(&g, &b, &s1, S(1)) == NULL);
	CHECK(conn_guard_add(&g, &c, &s1, S(2)) == &a);
	CHECK(a.shed);
	/* A connection whose request is in is never shed: the next reader goes instead. */
	conn_guard_set_state(&g, &b, CONN_GUARD_HANDLED, S(2));
	CHECK(conn_guard_add(&g, &d, &s1, S(3)) == &c);
	/* Three in all: a fourth source's arrival sheds the longest waiting reader of any. */
	CHECK(conn_guard_add(&g, &e, &s2, S(4)) == NULL);
	CHECK(conn_guard_add(&g, &f, &s3, S(5)) == &d);
	CHECK_INT_EQ(g.live, 3);
	CHECK_INT_EQ(g.shed_for_room, 3);

	/* Deadlines count from the accept: 5 s for the headers (e from 4 s, f from 5 s). */
	CHECK(conn_guard_next_expired(&g, S(9) - 1) == NULL);
	CHECK(conn_guard_next_expired(&g, S(9)) == &e);
	CHECK(conn_guard_next_expired(&g, S(9)) == NULL);
	/* Headers in at 6 s: the whole request is due 10 s after the accept, whatever comes. */
	conn_guard_set_state(&g, &f, CONN_GUARD_READING_BODY, S(6));
	CHECK(conn_guard_next_expired(&g, S(15) - 1) == NULL);
	CHECK(conn_guard_next_expired(&g, S(15)) == &f);

	/* Answered at 20 s and kept alive: 15 s of grace, then the usual 5 s for the headers. */
	conn_guard_set_state(&g, &b, CONN_GUARD_READING_HEAD, S(20));
	CHECK(conn_guard_next_expired(&g, S(40) - 1) == NULL);
	CHECK(conn_guard_next_expired(&g, S(40)) == &b);
	CHECK_INT_EQ(g.shed_for_deadline, 3);
	CHECK(!conn_guard_has_reading(&g));

	/* When every slot is busy with a request, the newcomer itself is refused. */
	struct conn_guard g2 = {.limits = {.max_connections = 1,
					   .header_deadline_usec = S(5),
					   .request_deadline_usec = S(10)}};
	CHECK(conn_guard_add(&g2, &h, &s1, S(0)) == NULL);
	conn_guard_set_state(&g2, &h, CONN_GUARD_HANDLED, S(0));
	CHECK(conn_guard_add(&g2, &a, &s2, S(1)) == &a);
	conn_guard_remove(&g2, &a);
	conn_guard_remove(&g2, &h);
	CHECK_INT_EQ(g2.live, 0);
	CHECK(g2.conns == NULL);

	for (struct guarded_conn *x = g.conns; x;) {
		struct guarded_conn *next = x->next;
		conn_guard_remove(&g, x);
		x = next;
	}
	CHECK_INT_EQ(g.live, 0);
	printf("conn-guard: ok\n");
	return 0;
}
