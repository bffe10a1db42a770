/* SPDX-License-Identifier: MIT */
/* Loading the app's private key, Alipay's public key, and certificate-mode certificates + SNs. */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

/* A certificate SN: 32 lower-case hex digits (MD5) + NUL (doc/protocol.md §7). */
#define ALIPAY_CERT_SN_SIZE 33
/* Key and certificate files are small; a root bundle holds a handful of certificates. */
#define ALIPAY_KEY_FILE_MAX (64u * 1024u)

/*
 * Low-level loaders, usable on their own (the sandbox loads the Alipay private key and the app
 * public key with them). `text` is borrowed, `len` bytes, not necessarily NUL-terminated.
 *
 * alipay_key_load_private(): PEM ("BEGIN PRIVATE KEY" = PKCS#8, "BEGIN RSA PRIVATE KEY" =
 * PKCS#1) or bare base64 of the DER (PKCS#8 `MIIEv…` or PKCS#1 `MIIEp…`, detected by parsing),
 * surrounding whitespace and line breaks ignored (doc/protocol.md §2.2). Must be RSA.
 * alipay_key_load_public(): SubjectPublicKeyInfo, PEM ("BEGIN PUBLIC KEY") or bare base64
 * (`MIIBIjAN…`). Must be RSA.
 * Both return a new EVP_PKEY in *ret (caller frees with EVP_PKEY_free), -EINVAL when the text is
 * not such a key, -ENOMEM. Intermediate buffers holding private key material are wiped.
 */
int alipay_key_load_private(const char *text, size_t len, EVP_PKEY **ret);
int alipay_key_load_public(const char *text, size_t len, EVP_PKEY **ret);

/* 1 if the two keys have the same public half (EVP_PKEY_eq), 0 if not. Both borrowed. */
int alipay_key_same_public(EVP_PKEY *a, EVP_PKEY *b);

/*
 * doc/protocol.md §7: the SN of the first certificate in the PEM text (borrowed): lower-case hex
 * MD5 of the issuer DN (RFC 2253 order, "SHORTNAME=value" joined by ',') followed by the serial
 * number in decimal. On success writes ret_sn and, if ret_key is not NULL, a new EVP_PKEY (the
 * certificate's public key; caller frees). -EINVAL when the text holds no certificate.
 */
int alipay_cert_load(const char *pem, size_t len, char ret_sn[static ALIPAY_CERT_SN_SIZE],
		     EVP_PKEY **ret_key);

/*
 * doc/protocol.md §7: alipay_root_cert_sn for a root bundle (PEM text, borrowed): the SNs of the
 * certificates whose signature algorithm is RSA (OID 1.2.840.113549.1.1.*), joined by '_' in
 * file order; ECDSA and SM2 roots are skipped. *ret is a new string (caller frees). -EINVAL when
 * the bundle holds no RSA certificate or a block does not parse.
 */
int alipay_root_cert_sn(const char *pem, size_t len, char **ret);

/*
 * Reads a whole file of at most `max` bytes into a new NUL-terminated buffer (*ret, *ret_len;
 * caller frees; wipe it if it held a secret). -EFBIG when the file is larger than max.
 */
int alipay_file_read(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * doc/design.md §12.1: the daemon refuses a private key file readable by group or others.
 * Returns 0 when the file's mode has no group/other bits, -EPERM (logged with the path and mode)
 * when it has, -errno when it cannot be examined. The setters below do not call it (test keys
 * in a source tree are world-readable); the daemon calls it before loading.
 */
int alipay_key_file_check_mode(const char *path);

/*
 * The client's key set. Public-key mode: app private key + Alipay public key. Certificate mode
 * (doc/protocol.md §7): app private key + app certificate + Alipay certificate + root bundle; the
 * Alipay public key then comes from the Alipay certificate, and the SNs are computed.
 *
 * Setters take text in memory (borrowed) or a path; each replaces what was set before. They
 * return -EINVAL (logged: which file or field and why) for text that is not the expected kind,
 * and -EKEYREJECTED (logged: "the Alipay public key is the app's own public key …") when the
 * Alipay public key, whichever is set second, equals the public half of the app private key —
 * the most common configuration mistake (doc/protocol.md §2.2). Secrets are never logged.
 */
struct alipay_keys;

int alipay_keys_new(struct alipay_keys **ret);
/* NULL-safe; wipes nothing itself (OpenSSL clears freed RSA keys). Returns NULL. */
struct alipay_keys *alipay_keys_free(struct alipay_keys *k);

int alipay_keys_set_app_private_key(struct alipay_keys *k, const char *text, size_t len);
int alipay_keys_set_app_private_key_file(struct alipay_keys *k, const char *path);
int alipay_keys_set_alipay_public_key(struct alipay_keys *k, const char *text, size_t len);
int alipay_keys_set_alipay_public_key_file(struct alipay_keys *k, const char *path);
/* Certificate mode. */
int alipay_keys_set_app_cert(struct alipay_keys *k, const char *pem, size_t len);
int alipay_keys_set_app_cert_file(struct alipay_keys *k, const char *path);
int alipay_keys_set_alipay_cert(struct alipay_keys *k, const char *pem, size_t len);
int alipay_keys_set_alipay_cert_file(struct alipay_keys *k, const char *path);
int alipay_keys_set_alipay_root_cert(struct alipay_keys *k, const char *pem, size_t len);
int alipay_keys_set_alipay_root_cert_file(struct alipay_keys *k, const char *path);

/*
 * Checks the set is complete and consistent: an app private key and an Alipay public key (or
 * certificate); in certificate mode all three certificates; the app certificate matching the
 * private key; not the app public key as Alipay's. 0 or -EINVAL/-EKEYREJECTED (logged).
 */
int alipay_keys_check(const struct alipay_keys *k);

/* Accessors; everything returned is borrowed from k and valid until the next setter or free. */
EVP_PKEY *alipay_keys_get_app_private_key(const struct alipay_keys *k);
EVP_PKEY *alipay_keys_get_alipay_public_key(const struct alipay_keys *k);
/* Certificate mode only: NULL in public-key mode. */
const char *alipay_keys_get_app_cert_sn(const struct alipay_keys *k);
const char *alipay_keys_get_alipay_root_cert_sn(const struct alipay_keys *k);
/* The alipay_cert_sn responses must carry (the SN of the configured Alipay certificate). */
const char *alipay_keys_get_alipay_cert_sn(const struct alipay_keys *k);
