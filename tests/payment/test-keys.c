/* SPDX-License-Identifier: MIT */
/* Tests of key loading, the app-key-as-Alipay-key check, and certificate SNs (doc/protocol.md §2.2,
 * §7). */
#include <errno.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "payment-test.h"
#include "payment/keys.h"
#include "payment/sign.h"

static void
test_private_forms_are_one_key(void)
{
	static const char *const names[] = {"app-private-pkcs8.pem", "app-private-pkcs1.pem",
					    "app-private-pkcs8.b64", "app-private-pkcs1.b64"};
	EVP_PKEY *pub = test_load_public("app-public.pem");
	char *first = NULL;

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		EVP_PKEY *k = test_load_private(names[i]);
		char *sig = NULL;

		CHECK(alipay_key_same_public(k, pub));
		CHECK(alipay_sign(k, ALIPAY_SIGN_RSA2, "abc", 3, &sig) == 0);
		if (first)
			CHECK_STR_EQ(sig, first); /* deterministic PKCS#1 v1.5 */
		else
			first = strdup(sig);
		free(sig);
		EVP_PKEY_free(k);
	}
	free(first);
	EVP_PKEY_free(pub);
}

static void
test_public_forms(void)
{
	EVP_PKEY *a = test_load_public("alipay-public.pem"),
		 *b = test_load_public("alipay-public.b64");
	EVP_PKEY *app = test_load_public("app-public.b64");

	CHECK(alipay_key_same_public(a, b));
	CHECK(!alipay_key_same_public(a, app));
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(app);
}

static void
test_garbage_rejected(void)
{
	EVP_PKEY *k = NULL;
	size_t len;
	char *pub = test_read_key("app-public.pem", &len);

	CHECK(alipay_key_load_private("", 0, &k) == -EINVAL);
	CHECK(alipay_key_load_private("MIIE!!", 6, &k) == -EINVAL);
	CHECK(alipay_key_load_private("QUJD", 4, &k) == -EINVAL);
	/* A public key is not a private key and vice versa. */
	CHECK(alipay_key_load_private(pub, len, &k) == -EINVAL);
	free(pub);
	pub = test_read_key("app-private-pkcs8.pem", &len);
	CHECK(alipay_key_load_public(pub, len, &k) == -EINVAL);
	free(pub);
	CHECK(k == NULL);
}

static void
test_app_key_as_alipay_key(void)
{
	struct alipay_keys *keys = NULL;
	size_t len;
	char *priv = test_read_key("app-private-pkcs1.b64", &len), *pub;

	CHECK(alipay_keys_new(&keys) == 0);
	CHECK(alipay_keys_set_app_private_key(keys, priv, len) == 0);
	free(priv);
	pub = test_read_key("app-public.b64", &len);
	/* doc/protocol.md §2.2: the #1 mistake is refused, whichever key comes second. */
	CHECK(alipay_keys_set_alipay_public_key(keys, pub, len) == -EKEYREJECTED);
	CHECK(alipay_keys_check(keys) == -EKEYREJECTED);
	keys = alipay_keys_free(keys);

	CHECK(alipay_keys_new(&keys) == 0);
	CHECK(alipay_keys_set_alipay_public_key(keys, pub, len) == 0);
	free(pub);
	CHECK(alipay_keys_set_app_private_key_file(keys, "/nonexistent/key") == -ENOENT);
	char path[4096];
	snprintf(path, sizeof(path), "%s/app-private-pkcs8.pem", test_key_dir);
	CHECK(alipay_keys_set_app_private_key_file(keys, path) == -EKEYREJECTED);
	keys = alipay_keys_free(keys);

	/* The right pair passes. */
	CHECK(alipay_keys_new(&keys) == 0);
	CHECK(alipay_keys_set_app_private_key_file(keys, path) == 0);
	snprintf(path, sizeof(path), "%s/alipay-public.pem", test_key_dir);
	CHECK(alipay_keys_set_alipay_public_key_file(keys, path) == 0);
	CHECK(alipay_keys_check(keys) == 0);
	CHECK(alipay_keys_get_app_cert_sn(keys) == NULL);
	CHECK(alipay_keys_get_alipay_cert_sn(keys) == NULL);
	alipay_keys_free(keys);
}

static void
md5_hex(const char *s, char out[33])
{
	unsigned char md[16];
	unsigned int n = 0;

	CHECK(EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL) == 1);
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
test_cert_sn(void)
{
	char sn[ALIPAY_CERT_SN_SIZE], want[33], want2[33], joined[80], *root = NULL;
	size_t len;
	char *text = test_read_key("app-cert.crt", &len);
	EVP_PKEY *k = NULL, *pub = test_load_public("app-public.pem");

	/* doc/protocol.md §7: MD5 of the issuer in RFC 2253 order + the serial in decimal
	 * (0xE1F2A3B4C5D6E7F8 = 16281255599706400760). */
	md5_hex("CN=F2F Test Root CA R1,OU=Certification Authority,O=F2F Test Root,C=CN"
		"16281255599706400760",
		want);
	CHECK(alipay_cert_load(text, len, sn, &k) == 0);
	CHECK_STR_EQ(sn, want);
	CHECK(alipay_key_same_public(k, pub));
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub);
	free(text);

	text = test_read_key("alipay-cert.crt", &len);
	md5_hex("CN=F2F Test Root CA R1,OU=Certification Authority,O=F2F Test Root,C=CN"
		"202611260001",
		want);
	CHECK(alipay_cert_load(text, len, sn, NULL) == 0);
	CHECK_STR_EQ(sn, want);
	free(text);

	/* The bundle: RSA root, EC root (skipped), RSA root signed with SHA-1. */
	text = test_read_key("root-bundle.crt", &len);
	CHECK(alipay_root_cert_sn(text, len, &root) == 0);
	md5_hex("CN=F2F Test Root CA R1,OU=Certification Authority,O=F2F Test Root,C=CN"
		"123579083782828490592931",
		want);
	md5_hex("CN=F2F Test Root CA R3,O=F2F Test Root,C=CN4096", want2);
	snprintf(joined, sizeof(joined), "%s_%s", want, want2);
	CHECK_STR_EQ(root, joined);
	free(root);
	free(text);

	/* A bundle of only an EC root has no usable SN. */
	text = test_read_key("root-ec.crt", &len);
	CHECK(alipay_root_cert_sn(text, len, &root) == -EINVAL);
	free(text);
	CHECK(alipay_cert_load("nope", 4, sn, NULL) == -EINVAL);
}

static void
test_production_root_bundle(void)
{
	size_t len;
	char *text = test_read_key("alipay-root-production.crt", &len), *root = NULL;

	/* doc/protocol.md §7: Alipay's published root bundle (SM2, RSA R1, ECDSA E1, RSA iTrusChina
	 * G3) gives this value; the SM2 and ECDSA roots are skipped. */
	CHECK(alipay_root_cert_sn(text, len, &root) == 0);
	CHECK_STR_EQ(root, "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6");
	free(root);
	free(text);
}

static void
test_cert_mode_keys(void)
{
	struct alipay_keys *keys = NULL;
	char path[4096], *root = NULL, sn[ALIPAY_CERT_SN_SIZE];
	size_t len;
	char *text;

	CHECK(alipay_keys_new(&keys) == 0);
	snprintf(path, sizeof(path), "%s/app-private-pkcs8.b64", test_key_dir);
	CHECK(alipay_keys_set_app_private_key_file(keys, path) == 0);
	snprintf(path, sizeof(path), "%s/app-cert.crt", test_key_dir);
	CHECK(alipay_keys_set_app_cert_file(keys, path) == 0);
	CHECK(alipay_keys_check(keys) == -EINVAL); /* incomplete */
	snprintf(path, sizeof(path), "%s/alipay-cert.crt", test_key_dir);
	CHECK(alipay_keys_set_alipay_cert_file(keys, path) == 0);
	snprintf(path, sizeof(path), "%s/root-bundle.crt", test_key_dir);
	CHECK(alipay_keys_set_alipay_root_cert_file(keys, path) == 0);
	CHECK(alipay_keys_check(keys) == 0);

	text = test_read_key("root-bundle.crt", &len);
	CHECK(alipay_root_cert_sn(text, len, &root) == 0);
	CHECK_STR_EQ(alipay_keys_get_alipay_root_cert_sn(keys), root);
	free(root);
	free(text);
	text = test_read_key("alipay-cert.crt", &len);
	CHECK(alipay_cert_load(text, len, sn, NULL) == 0);
	CHECK_STR_EQ(alipay_keys_get_alipay_cert_sn(keys), sn);
	free(text);
	text = test_read_key("app-cert.crt", &len);
	CHECK(alipay_cert_load(text, len, sn, NULL) == 0);
	CHECK_STR_EQ(alipay_keys_get_app_cert_sn(keys), sn);
	free(text);

	/* The Alipay public key now comes from the Alipay certificate. */
	EVP_PKEY *pub = test_load_public("alipay-public.pem");
	CHECK(alipay_key_same_public(alipay_keys_get_alipay_public_key(keys), pub));
	EVP_PKEY_free(pub);

	/* An app certificate of another key is refused. */
	snprintf(path, sizeof(path), "%s/alipay-cert.crt", test_key_dir);
	CHECK(alipay_keys_set_app_cert_file(keys, path) == 0);
	CHECK(alipay_keys_check(keys) == -EINVAL);
	alipay_keys_free(keys);
}

static void
test_file_mode(void)
{
	char tmp[] = "/tmp/f2fpay-key-XXXXXX";
	int fd = mkstemp(tmp);

	CHECK(fd >= 0);
	close(fd);
	CHECK(chmod(tmp, 0600) == 0);
	CHECK(alipay_key_file_check_mode(tmp) == 0);
	CHECK(chmod(tmp, 0640) == 0);
	CHECK(alipay_key_file_check_mode(tmp) == -EPERM);
	CHECK(chmod(tmp, 0604) == 0);
	CHECK(alipay_key_file_check_mode(tmp) == -EPERM);
	unlink(tmp);
	CHECK(alipay_key_file_check_mode(tmp) == -ENOENT);
}

int
main(int argc, char **argv)
{
	test_set_key_dir(argc, argv);
	test_private_forms_are_one_key();
	test_public_forms();
	test_garbage_rejected();
	test_app_key_as_alipay_key();
	test_cert_sn();
	test_production_root_bundle();
	test_cert_mode_keys();
	test_file_mode();
	return 0;
}
