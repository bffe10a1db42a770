/* SPDX-License-Identifier: MIT */
/* The gateway's side of doc/protocol.md §2.2 and §7: keys, RSA/RSA2 signatures, certificate SNs. */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum sb_sign_type {
	SB_SIGN_RSA2 = 0, /* SHA256withRSA */
	SB_SIGN_RSA = 1,  /* SHA1withRSA */
};

/* "RSA2" / "RSA" → 0 and *ret; anything else -EINVAL. */
int sb_sign_type_from_string(const char *s, enum sb_sign_type *ret);
const char *sb_sign_type_name(enum sb_sign_type t);

/*
 * Loads a key from a file holding PEM or bare base64 DER (doc/protocol.md §2.2: both occur).
 * Private: PKCS#8 or PKCS#1. Public: SubjectPublicKeyInfo. Returns a new key in *ret.
 */
int sb_key_load_private(const char *path, EVP_PKEY **ret);
int sb_key_load_public(const char *path, EVP_PKEY **ret);
/* Loads the first certificate of a PEM file. */
int sb_cert_load(const char *path, X509 **ret);

/* Signs len bytes; *ret is new base64 (one line). */
int sb_sign(EVP_PKEY *key, enum sb_sign_type t, const void *data, size_t len, char **ret);
/* Returns 1 if sig_b64 is a valid signature of data, 0 if not, -errno on internal errors. */
int sb_verify(EVP_PKEY *key, enum sb_sign_type t, const void *data, size_t len,
	      const char *sig_b64);

#define SB_CERT_SN_LEN 32
/* doc/protocol.md §7: lowercase hex MD5 of issuer (most specific RDN first) + decimal serial. */
int sb_cert_sn(X509 *cert, char ret[static SB_CERT_SN_LEN + 1]);
/* doc/protocol.md §7: SNs of the RSA-signed certificates of a root bundle joined by `_`; new
 * string. */
int sb_root_cert_sn(const char *path, char **ret);
