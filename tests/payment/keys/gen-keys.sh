#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the test-only keys and certificates in this folder (never used outside tests).
# alipay-root-production.crt is not generated: it is Alipay's public root certificate bundle
# (alipayRootCert.crt as the open platform hands it out), kept to check doc/protocol.md §7's known SN.
set -eu
cd "$(dirname "$0")"
umask 077

# App key pair: PKCS#8 and PKCS#1, PEM and bare base64 (doc/protocol.md §2.2).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out app-private-pkcs8.pem
openssl pkey -in app-private-pkcs8.pem -traditional -out app-private-pkcs1.pem
grep -v -- '-----' app-private-pkcs8.pem | tr -d '\n' > app-private-pkcs8.b64
grep -v -- '-----' app-private-pkcs1.pem | tr -d '\n' > app-private-pkcs1.b64
openssl pkey -in app-private-pkcs8.pem -pubout -out app-public.pem
grep -v -- '-----' app-public.pem | tr -d '\n' > app-public.b64

# The "Alipay" key pair (the sandbox's side).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out alipay-private.pem
openssl pkey -in alipay-private.pem -pubout -out alipay-public.pem
grep -v -- '-----' alipay-public.pem | tr -d '\n' > alipay-public.b64

# Certificate mode (doc/protocol.md §7): an RSA root, an EC root, a second RSA root in one bundle,
# and an app and an Alipay certificate issued by the first root.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root-rsa.key
openssl req -x509 -new -key root-rsa.key -sha256 -days 7300 -set_serial 0x1a2b3c4d5e6f708192a3 \
	-subj "/C=CN/O=F2F Test Root/OU=Certification Authority/CN=F2F Test Root CA R1" \
	-out root-rsa.crt
openssl ecparam -name prime256v1 -genkey -noout -out root-ec.key
openssl req -x509 -new -key root-ec.key -sha256 -days 7300 -set_serial 77 \
	-subj "/C=CN/O=F2F Test Root/OU=Certification Authority/CN=F2F Test Root CA E2" \
	-out root-ec.crt
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root-rsa2.key
openssl req -x509 -new -key root-rsa2.key -sha1 -days 7300 -set_serial 4096 \
	-subj "/C=CN/O=F2F Test Root/CN=F2F Test Root CA R3" -out root-rsa2.crt
cat root-rsa.crt root-ec.crt root-rsa2.crt > root-bundle.crt

openssl req -new -key app-private-pkcs8.pem -subj "/C=CN/O=F2F Test Merchant/CN=2021000000000001" \
	-out app.csr
openssl x509 -req -in app.csr -CA root-rsa.crt -CAkey root-rsa.key -sha256 -days 3650 \
	-set_serial 0x00e1f2a3b4c5d6e7f8 -out app-cert.crt
openssl req -new -key alipay-private.pem -subj "/C=CN/O=F2F Test Gateway/CN=Alipay Test Cert" \
	-out alipay.csr
openssl x509 -req -in alipay.csr -CA root-rsa.crt -CAkey root-rsa.key -sha256 -days 3650 \
	-set_serial 202611260001 -out alipay-cert.crt
rm -f app.csr alipay.csr root-rsa.key root-rsa2.key root-ec.key
