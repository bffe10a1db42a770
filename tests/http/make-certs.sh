#!/bin/sh
# SPDX-License-Identifier: MIT
# Makes throw-away test certificates in directory $1: a CA (ca.pem), a server certificate it
# signs for 127.0.0.1 and localhost (server.pem/.key), and a self-signed one (self.pem/.key).
# Test-only: EC P-256 (fast to generate), valid two days.
set -eu
cd "$1"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj "/CN=f2fpayd test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
# shellcheck disable=SC2086
openssl req $ec -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
	"extendedKeyUsage=serverAuth" >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
	-extfile server.ext -out server.pem 2>/dev/null
# shellcheck disable=SC2086
openssl req -x509 $ec -keyout self.key -out self.pem -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
