/* SPDX-License-Identifier: MIT */
/* The gateway's side of doc/protocol.md §2.2 and §7: keys, RSA/RSA2 signatures, certificate SNs. */
#include "sandbox/crypto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"

#define KEY_FILE_MAX (64 * 1024)

int
sb_sign_type_from_string(const char *s, enum sb_sign_type *ret)
{
	if (STR_EQ_PTR(s, "RSA2")) {
		*ret = SB_SIGN_RSA2;
		return 0;
	}
	if (STR_EQ_PTR(s, "RSA")) {
		*ret = SB_SIGN_RSA;
		return 0;
	}
	return -EINVAL;
}

const char *
sb_sign_type_name(enum sb_sign_type t)
{
	return t == SB_SIGN_RSA ? "RSA" : "RSA2";
}

static int
read_file(const char *path, struct buf *b)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char chunk[4096];
	size_t n;
	int r;

	if (!f)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		r = buf_append(b, chunk, n);
		if (r < 0)
			return log_error_errno(r, "Failed to read %s: %m", path);
	}
	if (ferror(f))
		return log_error_errno(EIO, "Failed to read %s: %m", path);
	return 0;
}

/* Bare base64 (no PEM armour) → DER bytes in out. */
static int
unbase64(const char *s, struct buf *out)
{
	_cleanup_free_ char *clean = malloc(strlen(s) + 1);
	size_t n = 0;
	int len;

	if (!clean)
		return -ENOMEM;
	for (const char *p = s; *p; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			clean[n++] = *p;
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	if (buf_reserve(out, n) < 0)
		return -ENOMEM;
	len = EVP_DecodeBlock((unsigned char *)out->data, (unsigned char *)clean, (int)n);
	if (len < 0)
		return -EINVAL;
	if (n >= 1 && clean[n - 1] == '=')
		len--;
	if (n >= 2 && clean[n - 2] == '=')
		len--;
	out->len = (size_t)len;
	return 0;
}

static int
key_load(const char *path, int private, EVP_PKEY **ret)
{
	struct buf b = BUF_INIT(KEY_FILE_MAX);
	EVP_PKEY *k = NULL;
	BIO *bio;
	int r;

	r = read_file(path, &b);
	if (r < 0) {
		buf_free_erase(&b);
		return r;
	}
	if (b.data && strstr(b.data, "-----BEGIN")) {
		bio = BIO_new_mem_buf(b.data, (int)b.len);
		if (bio) {
			k = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
				    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
			BIO_free(bio);
		}
	} else if (b.data) {
		struct buf der = BUF_INIT(KEY_FILE_MAX);

		if (unbase64(b.data, &der) >= 0) {
			const unsigned char *p = (const unsigned char *)der.data;

			if (private) {
				k = d2i_AutoPrivateKey(NULL, &p, (long)der.len);
			} else
				k = d2i_PUBKEY(NULL, &p, (long)der.len);
		}
		buf_free_erase(&der);
	}
	buf_free_erase(&b);
	ERR_clear_error();
	if (!k)
		return log_error_errno(EINVAL, "%s holds no RSA %s key", path,
				       private ? "private" : "public");
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		return log_error_errno(EINVAL, "%s: not an RSA key", path);
	}
	*ret = k;
	return 0;
}

int
sb_key_load_private(const char *path, EVP_PKEY **ret)
{
	return key_load(path, 1, ret);
}

int
sb_key_load_public(const char *path, EVP_PKEY **ret)
{
	return key_load(path, 0, ret);
}

int
sb_cert_load(const char *path, X509 **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	X509 *x;

	if (!f)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	ERR_clear_error();
	if (!x)
		return log_error_errno(EINVAL, "%s holds no PEM certificate", path);
	*ret = x;
	return 0;
}

static const EVP_MD *
sign_md(enum sb_sign_type t)
{
	return t == SB_SIGN_RSA ? EVP_sha1() : EVP_sha256();
}

int
sb_sign(EVP_PKEY *key, enum sb_sign_type t, const void *data, size_t len, char **ret)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ unsigned char *sig = NULL;
	_cleanup_free_ char *b64 = NULL;
	size_t siglen = 0;
	int r = -EIO;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, sign_md(t), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, data, len) != 1)
		goto out;
	sig = malloc(siglen);
	b64 = malloc(4 * ((siglen + 2) / 3) + 1);
	if (!sig || !b64) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, data, len) != 1)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	*ret = TAKE_PTR(b64);
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int
sb_verify(EVP_PKEY *key, enum sb_sign_type t, const void *data, size_t len, const char *sig_b64)
{
	struct buf sig = BUF_INIT(4096);
	EVP_MD_CTX *ctx;
	int r;

	if (unbase64(sig_b64, &sig) < 0) {
		buf_free(&sig);
		return 0;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		buf_free(&sig);
		return -ENOMEM;
	}
	r = EVP_DigestVerifyInit(ctx, NULL, sign_md(t), NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, (unsigned char *)sig.data, sig.len, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	buf_free(&sig);
	ERR_clear_error();
	return r;
}

int
sb_cert_sn(X509 *cert, char ret[static SB_CERT_SN_LEN + 1])
{
	const X509_NAME *issuer = X509_get_issuer_name(cert);
	struct buf s = BUF_INIT(8192);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	BIGNUM *bn;
	char *dec;
	int r = 0;

	/* doc/protocol.md §7: most specific RDN first, `SHORT=value` joined by `,`. */
	for (int i = X509_NAME_entry_count(issuer) - 1; i >= 0 && r >= 0; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(issuer, i);
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));

		if (n < 0) {
			r = -EINVAL;
			break;
		}
		r = buf_printf(&s, "%s%s=%.*s", s.len ? "," : "",
			       OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))), n,
			       (char *)utf8);
		OPENSSL_free(utf8);
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	dec = bn ? BN_bn2dec(bn) : NULL;
	if (r >= 0 && dec)
		r = buf_puts(&s, dec);
	else if (r >= 0)
		r = -ENOMEM;
	OPENSSL_free(dec);
	BN_free(bn);
	if (r >= 0 && EVP_Digest(s.data, s.len, md, &mdlen, EVP_md5(), NULL) != 1)
		r = -EIO;
	buf_free(&s);
	ERR_clear_error();
	if (r < 0)
		return r;
	for (unsigned i = 0; i < mdlen && i < SB_CERT_SN_LEN / 2; i++)
		snprintf(ret + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
sb_root_cert_sn(const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct buf s = BUF_INIT(64 * 1024);
	X509 *x;
	int r = 0;

	if (!f)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	while (r >= 0 && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
		char oid[80], sn[SB_CERT_SN_LEN + 1];

		OBJ_obj2txt(oid, sizeof(oid), X509_get0_tbs_sigalg(x)->algorithm, 1);
		/* doc/protocol.md §7: only RSA-signed roots count; ECDSA and SM2 ones are skipped.
		 */
		if (strncmp(oid, "1.2.840.113549.1.1", 18) == 0) {
			r = sb_cert_sn(x, sn);
			if (r >= 0)
				r = buf_printf(&s, "%s%s", s.len ? "_" : "", sn);
		}
		X509_free(x);
	}
	ERR_clear_error();
	if (r >= 0 && s.len == 0)
		r = log_error_errno(EINVAL, "%s holds no RSA-signed certificate", path);
	if (r < 0) {
		buf_free(&s);
		return r;
	}
	*ret = buf_steal(&s);
	return 0;
}
