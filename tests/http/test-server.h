/* SPDX-License-Identifier: MIT */
/* A misbehaving-on-demand HTTP/1.1 server on 127.0.0.1 for the transport tests (threads). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum test_server_mode {
	TEST_SERVER_NORMAL,     /* answer every request, keep-alive */
	TEST_SERVER_STALL,      /* read the request, never answer (until stopped) */
	TEST_SERVER_RESET,      /* read the request, then close with SO_LINGER 0 (RST) */
	TEST_SERVER_BIG,        /* answer 10 MiB with a Content-Length */
	TEST_SERVER_BIG_NOLEN,  /* answer 10 MiB without a length, ended by close */
	TEST_SERVER_DROP_LATER, /* answer the first request received; read every later one and
				 * close its connection without answering */
	/* As DROP_LATER, and stop listening at the first drop: a new connection is refused. */
	TEST_SERVER_DROP_LATER_GONE,
	TEST_SERVER_GARBAGE, /* read the request, answer bytes that are not HTTP, close */
	/* Close the first connection as soon as it is accepted; NORMAL for the others. */
	TEST_SERVER_CLOSE_FIRST,
};

#define TEST_SERVER_BIG_SIZE (10u * 1024u * 1024u)

struct test_server;

/*
 * Starts a server in `mode` on an ephemeral port of 127.0.0.1 (or of every address when
 * `any_addr`). With `cert`/`key` (PEM files, borrowed) it speaks TLS. Aborts on failure.
 * A NORMAL answer is 200 with the body "ok " followed by the request body; a path of
 * "/status/NNN" answers NNN instead.
 */
struct test_server *test_server_start(enum test_server_mode mode, const char *cert, const char *key,
				      bool any_addr);
uint16_t test_server_port(struct test_server *s);
/* Counters, safe to read while the server runs. */
unsigned test_server_connections(struct test_server *s);  /* accepted TCP connections */
unsigned test_server_requests(struct test_server *s);     /* complete requests read */
unsigned test_server_tls_failures(struct test_server *s); /* failed TLS handshakes */
unsigned test_server_tls_resumed(struct test_server *s);  /* handshakes that resumed */
unsigned test_server_closed(struct test_server *s);       /* connections finished */
unsigned test_server_handshakes(struct test_server *s);   /* completed TLS handshakes */
/* Closes every open connection from the server's side, as an idle timeout would. */
void test_server_drop_connections(struct test_server *s);
/* How many complete requests had this exact path. */
unsigned test_server_count_path(struct test_server *s, const char *path);
/* A copy of the i-th request received (head and body), or NULL; caller frees. */
char *test_server_request(struct test_server *s, unsigned i);
/* Stops, joins every thread, frees. NULL-safe. */
void test_server_stop(struct test_server *s);
