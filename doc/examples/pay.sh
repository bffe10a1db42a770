#!/bin/sh
# SPDX-License-Identifier: MIT
# A scan payment from the POS with curl: create the order with the payment code the POS read,
# follow it until it settles, find it again by pos_ref, refund part of it.
# Usage: pay.sh AUTH_CODE POS_REF   (F2FPAY_SOCKET: the API socket, default /run/f2fpay/api.sock)
set -eu
sock=${F2FPAY_SOCKET:-/run/f2fpay/api.sock}
code=$1 ref=$2
api() { curl -sS --fail-with-body --unix-socket "$sock" "$@"; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

# The pos_ref is also the idempotency key: retrying this request never charges twice.
order=$(api -X POST http://localhost/v1/orders -H 'Content-Type: application/json' \
	-d "{\"amount\":\"9.99\",\"subject\":\"Tea\",\"auth_code\":\"$code\",\"pos_ref\":\"$ref\"}")
id=$(printf '%s' "$order" | field id)
echo "created $id"

# Poll until the order is final (the event stream, GET /v1/events, saves the polling).
i=0
while :; do
	order=$(api "http://localhost/v1/orders/$id")
	case $order in *'"final":true'*) break ;; esac
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "order $id did not settle" >&2; exit 1; }
	sleep 0.1
done
state=$(printf '%s' "$order" | field state)
echo "state $state"
[ "$state" = PAID ] || exit 1

found=$(api "http://localhost/v1/orders?pos_ref=$ref")
case $found in *"\"id\":\"$id\""*) echo "found by pos_ref" ;; *) exit 1 ;; esac

refund=$(api -X POST "http://localhost/v1/orders/$id/refunds" -H 'Content-Type: application/json' \
	-H "Idempotency-Key: $ref-refund-1" -d '{"amount":"1.00","reason":"cup broken"}')
echo "refund $(printf '%s' "$refund" | field id) $(printf '%s' "$refund" | field state)"
