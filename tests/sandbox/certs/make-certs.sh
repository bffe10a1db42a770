#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the test-only certificates: a TLS CA and server certificate for 127.0.0.1, and a
# certificate-mode set (root, "Alipay" certificate, app certificate) over the keys in ../keys.
set -eu
cd "$(dirname "$0")"
keys=../keys
days=7300

# TLS: test CA and a server certificate for 127.0.0.1 / localhost.
openssl req -x509 -newkey rsa:2048 -nodes -keyout tls-ca.key -out tls-ca.pem -days $days \
	-subj "/C=CN/O=f2fpay test/CN=f2fpay test TLS CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout tls-server.key -out tls-server.csr \
	-subj "/C=CN/O=f2fpay test/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > ext.cnf
openssl x509 -req -in tls-server.csr -CA tls-ca.pem -CAkey tls-ca.key -CAcreateserial \
	-out tls-server.pem -days $days -extfile ext.cnf 2>/dev/null

# Certificate mode (doc/protocol.md §7): a root, the gateway's certificate and the app's certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days $days \
	-subj "/C=CN/O=f2fpay test/OU=Certification Authority/CN=f2fpay test Root R1" 2>/dev/null
printf 'basicConstraints=CA:FALSE\n' > ext.cnf
openssl req -new -key $keys/alipay-private.pem -out alipay.csr \
	-subj "/C=CN/O=f2fpay test/OU=Alipay/CN=2088000000000001" 2>/dev/null
openssl x509 -req -in alipay.csr -CA root.pem -CAkey root.key -set_serial 4097 \
	-out alipay-cert.pem -days $days -extfile ext.cnf 2>/dev/null
openssl req -new -key $keys/app-private.pem -out app.csr \
	-subj "/C=CN/O=f2fpay test/OU=App/CN=2021000000000001" 2>/dev/null
openssl x509 -req -in app.csr -CA root.pem -CAkey root.key -set_serial 8193 \
	-out app-cert.pem -days $days -extfile ext.cnf 2>/dev/null
rm -f ./*.csr ext.cnf ./*.srl root.key tls-ca.key
