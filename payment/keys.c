/* SPDX-License-Identifier: MIT */
/* Key and certificate loading, certificate SNs, and the client key set (doc/protocol.md §2.2, §7).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "payment/keys.h"

struct alipay_keys {
	EVP_PKEY *app_private_key;
	EVP_PKEY *alipay_public_key;
	EVP_PKEY *app_cert_key; /* the app certificate's public key, to match the private key */
	bool have_app_cert, have_alipay_cert, have_root_cert;
	char app_cert_sn[ALIPAY_CERT_SN_SIZE];
	char alipay_cert_sn[ALIPAY_CERT_SN_SIZE];
	char *alipay_root_cert_sn;
};

static void
pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void
bio_freep(BIO **p)
{
	BIO_free(*p);
}

static void
x509_freep(X509 **p)
{
	X509_free(*p);
}

static bool
has_pem_armour(const char *text, size_t len)
{
	return memmem(text, len, "-----BEGIN ", STRLEN("-----BEGIN ")) != NULL;
}

/* Bare base64 DER (doc/protocol.md §2.2: keys often come without armour): whitespace ignored. */
static int
bare_base64_decode(const char *text, size_t len, unsigned char **ret, size_t *ret_len)
{
	_cleanup_free_ char *clean = NULL;
	unsigned char *der;
	size_t n = 0, pad = 0;
	int r;

	if (len == 0 || len > ALIPAY_KEY_FILE_MAX)
		return -EINVAL;
	clean = malloc(len + 1);
	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return -EINVAL;
		clean[n++] = c;
	}
	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	while (pad < 2 && clean[n - 1 - pad] == '=')
		pad++;
	der = malloc(n / 4 * 3 + 1);
	if (!der)
		return -ENOMEM;
	r = EVP_DecodeBlock(der, (unsigned char *)clean, (int)n);
	explicit_bzero(clean, n);
	if (r < 0 || (size_t)r < pad) {
		free(der);
		return -EINVAL;
	}
	*ret = der;
	*ret_len = (size_t)r - pad;
	return 0;
}

static int
key_check_rsa(EVP_PKEY *k)
{
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ? 0 : -EINVAL;
}

int
alipay_key_load_private(const char *text, size_t len, EVP_PKEY **ret)
{
	_cleanup_(pkey_freep) EVP_PKEY *k = NULL;

	if (!text || !ret || len > ALIPAY_KEY_FILE_MAX)
		return -EINVAL;
	if (has_pem_armour(text, len)) {
		_cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(text, (int)len);
		if (!bio)
			return -ENOMEM;
		/* Reads "PRIVATE KEY" (PKCS#8) and "RSA PRIVATE KEY" (PKCS#1) alike. */
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	} else {
		unsigned char *der = NULL;
		const unsigned char *p;
		size_t der_len;
		int r = bare_base64_decode(text, len, &der, &der_len);
		if (r < 0)
			return r;
		p = der;
		/* doc/protocol.md §2.2: PKCS#8 (MIIEv…) or PKCS#1 (MIIEp…), whichever parses. */
		k = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
		explicit_bzero(der, der_len);
		free(der);
	}
	ERR_clear_error();
	if (!k || key_check_rsa(k) < 0)
		return -EINVAL;
	*ret = TAKE_PTR(k);
	return 0;
}

int
alipay_key_load_public(const char *text, size_t len, EVP_PKEY **ret)
{
	_cleanup_(pkey_freep) EVP_PKEY *k = NULL;

	if (!text || !ret || len > ALIPAY_KEY_FILE_MAX)
		return -EINVAL;
	if (has_pem_armour(text, len)) {
		_cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(text, (int)len);
		if (!bio)
			return -ENOMEM;
		k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	} else {
		_cleanup_free_ unsigned char *der = NULL;
		const unsigned char *p;
		size_t der_len;
		int r = bare_base64_decode(text, len, &der, &der_len);
		if (r < 0)
			return r;
		p = der;
		k = d2i_PUBKEY(NULL, &p, (long)der_len);
	}
	ERR_clear_error();
	if (!k || key_check_rsa(k) < 0)
		return -EINVAL;
	*ret = TAKE_PTR(k);
	return 0;
}

int
alipay_key_same_public(EVP_PKEY *a, EVP_PKEY *b)
{
	int r;

	if (!a || !b)
		return 0;
	r = EVP_PKEY_eq(a, b);
	ERR_clear_error();
	return r == 1;
}

/*
 * The short names the official SDKs print for issuer attributes (doc/protocol.md §7). emailAddress
 * is "E" there; anything else falls back to OpenSSL's short name (Alipay's CAs use only these).
 */
static const char *
cert_attr_short_name(const ASN1_OBJECT *obj)
{
	int nid = OBJ_obj2nid(obj);

	switch (nid) {
	case NID_commonName:
		return "CN";
	case NID_countryName:
		return "C";
	case NID_localityName:
		return "L";
	case NID_stateOrProvinceName:
		return "ST";
	case NID_organizationName:
		return "O";
	case NID_organizationalUnitName:
		return "OU";
	case NID_pkcs9_emailAddress:
		return "E";
	default:
		return nid != NID_undef ? OBJ_nid2sn(nid) : "";
	}
}

static int
cert_sn(X509 *cert, char ret_sn[static ALIPAY_CERT_SN_SIZE])
{
	_cleanup_buf_ struct buf b = BUF_INIT(16384);
	const X509_NAME *issuer = X509_get_issuer_name(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	BIGNUM *bn;
	char *dec;
	int r;

	if (!issuer || !serial)
		return -EINVAL;
	/* RFC 2253 order: the last RDN of the encoding first. */
	for (int i = X509_NAME_entry_count(issuer) - 1; i >= 0; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(issuer, i);
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		if (n < 0)
			return -EINVAL;
		r = buf_printf(&b, "%s%s=%.*s", b.len > 0 ? "," : "",
			       cert_attr_short_name(X509_NAME_ENTRY_get_object(e)), n,
			       (const char *)utf8);
		OPENSSL_free(utf8);
		if (r < 0)
			return r;
	}
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (!bn)
		return -ENOMEM;
	dec = BN_bn2dec(bn);
	BN_free(bn);
	if (!dec)
		return -ENOMEM;
	r = buf_puts(&b, dec);
	OPENSSL_free(dec);
	if (r < 0)
		return r;
	if (EVP_Digest(b.data ? b.data : "", b.len, md, &mdlen, EVP_md5(), NULL) != 1)
		return -EIO;
	for (unsigned i = 0; i < mdlen && 2 * i + 2 < ALIPAY_CERT_SN_SIZE; i++)
		snprintf(ret_sn + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
alipay_cert_load(const char *pem, size_t len, char ret_sn[static ALIPAY_CERT_SN_SIZE],
		 EVP_PKEY **ret_key)
{
	_cleanup_(bio_freep) BIO *bio = NULL;
	_cleanup_(x509_freep) X509 *cert = NULL;
	char sn[ALIPAY_CERT_SN_SIZE];
	int r;

	if (!pem || len > ALIPAY_KEY_FILE_MAX)
		return -EINVAL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ERR_clear_error();
	if (!cert)
		return -EINVAL;
	r = cert_sn(cert, sn);
	if (r < 0)
		return r;
	if (ret_key) {
		EVP_PKEY *k = X509_get_pubkey(cert);
		if (!k)
			return -EINVAL;
		if (key_check_rsa(k) < 0) {
			EVP_PKEY_free(k);
			return -EINVAL;
		}
		*ret_key = k;
	}
	memcpy(ret_sn, sn, ALIPAY_CERT_SN_SIZE);
	return 0;
}

int
alipay_root_cert_sn(const char *pem, size_t len, char **ret)
{
	_cleanup_(bio_freep) BIO *bio = NULL;
	_cleanup_buf_ struct buf b = BUF_INIT(4096);
	unsigned count = 0;
	int r;

	if (!pem || !ret || len > ALIPAY_KEY_FILE_MAX)
		return -EINVAL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	for (;;) {
		_cleanup_(x509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		char sn[ALIPAY_CERT_SN_SIZE], oid[80];
		const X509_ALGOR *alg = NULL;
		const ASN1_OBJECT *obj = NULL;

		if (!cert) {
			unsigned long e = ERR_peek_last_error();
			ERR_clear_error();
			/* The end of the text, or a block that does not parse. */
			if (ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
				return -EINVAL;
			break;
		}
		count++;
		/* doc/protocol.md §7: only RSA-signed roots (1.2.840.113549.1.1.*) count. */
		X509_get0_signature(NULL, &alg, cert);
		if (alg)
			X509_ALGOR_get0(&obj, NULL, NULL, alg);
		if (!obj || OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
			return -EINVAL;
		if (strncmp(oid, "1.2.840.113549.1.1.", STRLEN("1.2.840.113549.1.1.")) != 0)
			continue;
		r = cert_sn(cert, sn);
		if (r < 0)
			return r;
		r = buf_printf(&b, "%s%s", b.len > 0 ? "_" : "", sn);
		if (r < 0)
			return r;
	}
	if (count == 0 || b.len == 0)
		return -EINVAL;
	*ret = buf_steal(&b);
	return 0;
}

int
alipay_file_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *data = NULL;
	struct stat st;
	size_t len = 0;

	if (!path || !ret)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	data = malloc(max + 1);
	if (!data)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, data + len, max + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			explicit_bzero(data, len);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			explicit_bzero(data, len);
			return -EFBIG;
		}
	}
	data[len] = 0;
	*ret = TAKE_PTR(data);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int
alipay_key_file_check_mode(const char *path)
{
	struct stat st;

	if (!path)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return log_error_errno(errno, "Failed to examine %s: %m", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return log_error_errno(
			EPERM,
			"The private key %s is accessible by group or others (mode "
			"%04o); allow its owner only (chmod 0600, or LoadCredential=)",
			path, (unsigned)(st.st_mode & 07777));
	return 0;
}

int
alipay_keys_new(struct alipay_keys **ret)
{
	struct alipay_keys *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	*ret = k;
	return 0;
}

struct alipay_keys *
alipay_keys_free(struct alipay_keys *k)
{
	if (!k)
		return NULL;
	EVP_PKEY_free(k->app_private_key);
	EVP_PKEY_free(k->alipay_public_key);
	EVP_PKEY_free(k->app_cert_key);
	free(k->alipay_root_cert_sn);
	free(k);
	return NULL;
}

/* doc/protocol.md §2.2, §9: the most common mistake of all, named exactly. */
static int
keys_check_not_app_key(const struct alipay_keys *k)
{
	if (k->app_private_key && k->alipay_public_key &&
	    alipay_key_same_public(k->app_private_key, k->alipay_public_key))
		return log_error_errno(
			EKEYREJECTED,
			"The configured Alipay public key is the app's own public key "
			"(the public half of the app private key). Configure the "
			"Alipay public key shown in the Alipay console instead.");
	return 0;
}

typedef int (*keys_setter)(struct alipay_keys *k, const char *text, size_t len);

static int
keys_set_from_file(struct alipay_keys *k, const char *path, keys_setter set, const char *what)
{
	char *text = NULL;
	size_t len;
	int r;

	if (!path)
		return -EINVAL;
	r = alipay_file_read(path, ALIPAY_KEY_FILE_MAX, &text, &len);
	if (r < 0)
		return log_error_errno(r, "Failed to read %s from %s: %m", what, path);
	r = set(k, text, len);
	explicit_bzero(text, len);
	free(text);
	if (r < 0 && r != -EKEYREJECTED)
		log_error("%s is in %s", what, path);
	return r;
}

int
alipay_keys_set_app_private_key(struct alipay_keys *k, const char *text, size_t len)
{
	EVP_PKEY *key = NULL;
	int r;

	if (!k)
		return -EINVAL;
	r = alipay_key_load_private(text, len, &key);
	if (r < 0)
		return log_error_errno(r, "The app private key is not an RSA private key in PEM or "
					  "base64 (PKCS#8 or PKCS#1): %m");
	EVP_PKEY_free(k->app_private_key);
	k->app_private_key = key;
	return keys_check_not_app_key(k);
}

int
alipay_keys_set_app_private_key_file(struct alipay_keys *k, const char *path)
{
	return keys_set_from_file(k, path, alipay_keys_set_app_private_key, "the app private key");
}

int
alipay_keys_set_alipay_public_key(struct alipay_keys *k, const char *text, size_t len)
{
	EVP_PKEY *key = NULL;
	int r;

	if (!k)
		return -EINVAL;
	r = alipay_key_load_public(text, len, &key);
	if (r < 0) {
		EVP_PKEY *priv = NULL;
		/* A private key pasted where the public key belongs: say so. */
		if (alipay_key_load_private(text, len, &priv) == 0) {
			EVP_PKEY_free(priv);
			return log_error_errno(EINVAL, "The Alipay public key is a private key");
		}
		return log_error_errno(r, "The Alipay public key is not an RSA public key "
					  "(SubjectPublicKeyInfo, PEM or base64): %m");
	}
	EVP_PKEY_free(k->alipay_public_key);
	k->alipay_public_key = key;
	k->have_alipay_cert = false;
	k->alipay_cert_sn[0] = 0;
	return keys_check_not_app_key(k);
}

int
alipay_keys_set_alipay_public_key_file(struct alipay_keys *k, const char *path)
{
	return keys_set_from_file(k, path, alipay_keys_set_alipay_public_key,
				  "the Alipay public key");
}

int
alipay_keys_set_app_cert(struct alipay_keys *k, const char *pem, size_t len)
{
	EVP_PKEY *key = NULL;
	int r;

	if (!k)
		return -EINVAL;
	r = alipay_cert_load(pem, len, k->app_cert_sn, &key);
	if (r < 0)
		return log_error_errno(r, "The app certificate is not a PEM RSA certificate: %m");
	EVP_PKEY_free(k->app_cert_key);
	k->app_cert_key = key;
	k->have_app_cert = true;
	return 0;
}

int
alipay_keys_set_app_cert_file(struct alipay_keys *k, const char *path)
{
	return keys_set_from_file(k, path, alipay_keys_set_app_cert, "the app certificate");
}

int
alipay_keys_set_alipay_cert(struct alipay_keys *k, const char *pem, size_t len)
{
	EVP_PKEY *key = NULL;
	char sn[ALIPAY_CERT_SN_SIZE];
	int r;

	if (!k)
		return -EINVAL;
	r = alipay_cert_load(pem, len, sn, &key);
	if (r < 0)
		return log_error_errno(r,
				       "The Alipay certificate is not a PEM RSA certificate: %m");
	EVP_PKEY_free(k->alipay_public_key);
	k->alipay_public_key = key;
	memcpy(k->alipay_cert_sn, sn, sizeof(sn));
	k->have_alipay_cert = true;
	return keys_check_not_app_key(k);
}

int
alipay_keys_set_alipay_cert_file(struct alipay_keys *k, const char *path)
{
	return keys_set_from_file(k, path, alipay_keys_set_alipay_cert, "the Alipay certificate");
}

int
alipay_keys_set_alipay_root_cert(struct alipay_keys *k, const char *pem, size_t len)
{
	char *sn = NULL;
	int r;

	if (!k)
		return -EINVAL;
	r = alipay_root_cert_sn(pem, len, &sn);
	if (r < 0)
		return log_error_errno(r, "The Alipay root certificate bundle holds no RSA "
					  "certificate or does not parse: %m");
	free(k->alipay_root_cert_sn);
	k->alipay_root_cert_sn = sn;
	k->have_root_cert = true;
	return 0;
}

int
alipay_keys_set_alipay_root_cert_file(struct alipay_keys *k, const char *path)
{
	return keys_set_from_file(k, path, alipay_keys_set_alipay_root_cert,
				  "the Alipay root certificate");
}

int
alipay_keys_check(const struct alipay_keys *k)
{
	int r;

	if (!k)
		return -EINVAL;
	if (!k->app_private_key)
		return log_error_errno(EINVAL, "No app private key configured");
	if (!k->alipay_public_key)
		return log_error_errno(EINVAL, "No Alipay public key or certificate configured");
	r = keys_check_not_app_key(k);
	if (r < 0)
		return r;
	if (k->have_app_cert || k->have_alipay_cert || k->have_root_cert) {
		if (!k->have_app_cert || !k->have_alipay_cert || !k->have_root_cert)
			return log_error_errno(EINVAL,
					       "Certificate mode needs the app certificate, "
					       "the Alipay certificate and the Alipay root "
					       "certificate");
		if (!alipay_key_same_public(k->app_private_key, k->app_cert_key))
			return log_error_errno(EINVAL, "The app certificate does not belong to the "
						       "app private key");
	}
	return 0;
}

EVP_PKEY *
alipay_keys_get_app_private_key(const struct alipay_keys *k)
{
	return k ? k->app_private_key : NULL;
}

EVP_PKEY *
alipay_keys_get_alipay_public_key(const struct alipay_keys *k)
{
	return k ? k->alipay_public_key : NULL;
}

const char *
alipay_keys_get_app_cert_sn(const struct alipay_keys *k)
{
	return k && k->have_app_cert ? k->app_cert_sn : NULL;
}

const char *
alipay_keys_get_alipay_root_cert_sn(const struct alipay_keys *k)
{
	return k && k->have_root_cert ? k->alipay_root_cert_sn : NULL;
}

const char *
alipay_keys_get_alipay_cert_sn(const struct alipay_keys *k)
{
	return k && k->have_alipay_cert ? k->alipay_cert_sn : NULL;
}
