/* SPDX-License-Identifier: MIT */
/* RSA2 (SHA256withRSA) and RSA (SHA1withRSA) signatures over bytes, base64 on one line. */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

/* doc/protocol.md §2.2: both PKCS#1 v1.5, deterministic. */
enum alipay_sign_type {
	ALIPAY_SIGN_RSA2, /* SHA256withRSA, recommended */
	ALIPAY_SIGN_RSA,  /* SHA1withRSA, legacy */
	_ALIPAY_SIGN_MAX,
};

/* A 4096-bit key gives 684 base64 characters; anything longer is not a signature of ours. */
#define ALIPAY_SIGNATURE_B64_MAX 1024

/* "RSA2" / "RSA"; NULL for an out-of-range value. */
const char *alipay_sign_type_to_string(enum alipay_sign_type t);
/* Exact, case-sensitive match of "RSA2" or "RSA"; -EINVAL otherwise. */
int alipay_sign_type_from_string(const char *s, enum alipay_sign_type *ret);

/*
 * Signs `len` bytes of `data` (already in the request's charset) with the private `key`
 * (borrowed). On success *ret_b64 is a new NUL-terminated standard base64 string without line
 * breaks (caller frees). Returns -EINVAL for a key that is not RSA, -EIO on an OpenSSL failure.
 */
int alipay_sign(EVP_PKEY *key, enum alipay_sign_type type, const void *data, size_t len,
		char **ret_b64);

/*
 * Verifies base64 signature `sig_b64` (borrowed; whitespace not allowed) over `data` with the
 * public `key` (borrowed). Returns 0 when it verifies, -EBADMSG when the signature is malformed
 * or does not match, -EINVAL for bad arguments, -EIO on an OpenSSL failure.
 */
int alipay_verify(EVP_PKEY *key, enum alipay_sign_type type, const void *data, size_t len,
		  const char *sig_b64);
