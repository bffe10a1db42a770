/* SPDX-License-Identifier: MIT */
/* Helpers shared by the payment tests: reading the committed test keys. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payment/keys.h"
#include "common/macro.h"
#include "test.h"

/* The folder with the test keys, given as the first argument by meson. */
static const char *test_key_dir = "keys";

static inline void
test_set_key_dir(int argc, char **argv)
{
	if (argc > 1)
		test_key_dir = argv[1];
}

/* Reads keys/<name> into a new string; aborts on failure. */
static inline char *
test_read_key(const char *name, size_t *ret_len)
{
	char path[4096], *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", test_key_dir, name);
	CHECK(alipay_file_read(path, ALIPAY_KEY_FILE_MAX, &text, &len) == 0);
	if (ret_len)
		*ret_len = len;
	return text;
}

static inline EVP_PKEY *
test_load_private(const char *name)
{
	size_t len;
	char *text = test_read_key(name, &len);
	EVP_PKEY *k = NULL;

	CHECK(alipay_key_load_private(text, len, &k) == 0);
	free(text);
	return k;
}

static inline EVP_PKEY *
test_load_public(const char *name)
{
	size_t len;
	char *text = test_read_key(name, &len);
	EVP_PKEY *k = NULL;

	CHECK(alipay_key_load_public(text, len, &k) == 0);
	free(text);
	return k;
}

/* Runs a shell command and returns its stdout (new string, trailing newline kept). */
static inline char *
test_run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *out = malloc(65536);
	size_t len = 0, n;

	CHECK(f);
	CHECK(out);
	while ((n = fread(out + len, 1, 65535 - len, f)) > 0)
		len += n;
	out[len] = 0;
	CHECK(pclose(f) == 0);
	return out;
}
