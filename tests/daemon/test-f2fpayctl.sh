#!/bin/bash
# SPDX-License-Identifier: MIT
# f2fpayctl against the API layer and the fake backend: every command, human and --json output,
# errors and exit codes, TCP with a token, and `events` following the stream.
set -euo pipefail
ctl=$1
server=$2
dir=$(mktemp -d /tmp/f2fpayctl-test.XXXXXX)
sock=$dir/api.sock
pid=
cleanup() {
	set +e
	# The events client first: it exits by itself once the server is gone.
	[ -n "${epid:-}" ] && kill "$epid" 2>/dev/null
	[ -n "${epid2:-}" ] && kill "$epid2" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$dir"
	return 0
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # description, pattern, text
	grep -qE -- "$2" <<<"$3" || fail "$1: /$2/ not in: $3"
}

coproc SRV { exec "$server" --socket "$sock" --tcp 127.0.0.1:0 --token 0123456789abcdef; }
pid=$SRV_PID
read -r ready port _ <&"${SRV[0]}"
[ "$ready" = READY ] || fail "server did not start"
export F2FPAY_SOCKET=$sock
unset F2FPAY_TOKEN

# events, human and --json: started first, read at the end.
"$ctl" events >"$dir/events" 2>&1 &
epid=$!
"$ctl" events --json >"$dir/events.json" 2>&1 &
epid2=$!
for _ in $(seq 200); do
	[ "$("$ctl" status --json | grep -c '"sse_clients":2')" = 1 ] && break
	sleep 0.05
done

out=$("$ctl" pay 88.88 --subject tea --auth-code 283456789012345670 --pos-ref P1)
expect "pay" '^id +T01_20261126_1$' "$out"
expect "pay" '^state +PAID$' "$out"
expect "pay" '^amount +88.88$' "$out"

out=$("$ctl" pay 88.88 --subject tea --auth-code 283456789012345670 --pos-ref P1 --json)
expect "pay replay" '"id":"T01_20261126_1"' "$out"

out=$("$ctl" qr 1.50 --json)
expect "qr" '"qr_code":"https://qr.alipay.com/fakeT01_20261126_2"' "$out"
expect "qr" '"state":"SHOWING_QR"' "$out"

out=$("$ctl" status T01_20261126_1)
expect "status ORDER" '^subject +tea$' "$out"
out=$("$ctl" status)
expect "status" '^version +[0-9]' "$out"
expect "status" '^creates +2$' "$out"

out=$("$ctl" orders)
expect "orders" '^T01_20261126_1 +PAID +88.88 +tea$' "$out"
expect "orders" '^2 orders$' "$out"
out=$("$ctl" orders --state SHOWING_QR)
expect "orders --state" '^1 order$' "$out"
out=$("$ctl" orders --state PAID --date 2026-11-26 --json)
expect "orders --json" '"id":"T01_20261126_1"' "$out"

out=$("$ctl" cancel T01_20261126_2)
expect "cancel" '^state +CANCELED$' "$out"

out=$("$ctl" refund T01_20261126_1 8.88 --reason "broken cup" --request-id R1)
expect "refund" '^amount +8.88$' "$out"
expect "refund" '^reason +broken cup$' "$out"
"$ctl" refund T01_20261126_1 8.88 --request-id R1 >/dev/null
out=$("$ctl" status T01_20261126_1)
expect "refund once per request id" '^refunded +8.88$' "$out"

out=$("$ctl" bill 2026-11-26 --csv)
expect "bill csv header" '^out_trade_no,amount,local_state,alipay_state,match$' "$out"
expect "bill csv row" '^T01_20261126_1,88.88,PAID,TRADE_SUCCESS,true$' "$out"
out=$("$ctl" bill 2026-11-26 --json)
expect "bill json" '"date":"2026-11-26"' "$out"
out=$("$ctl" bill 2026-11-26)
expect "bill" '^state +matched$' "$out"
expect "bill table header" '^  out_trade_no +amount +local_state +alipay_state +match$' "$out"
expect "bill table row" '^  T01_20261126_1 +88.88 +PAID +TRADE_SUCCESS +true$' "$out"

# Errors: exit 1 with the API's message, 2 for usage, 3 when unreachable.
for amount in -1 1e3 0.001 abc; do
	set +e
	err=$("$ctl" pay -- "$amount" 2>&1 >/dev/null)
	rc=$?
	set -e
	[ $rc = 1 ] || fail "pay $amount: exit $rc"
	expect "pay $amount" 'invalid_amount' "$err"
done
set +e
err=$("$ctl" status T01_20261126_99 2>&1); rc=$?
[ $rc = 1 ] || fail "unknown order: exit $rc"
expect "unknown order" '404 order_not_found' "$err"
"$ctl" frobnicate >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "unknown command: exit $rc"
"$ctl" status 'a/b' >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "bad order id: exit $rc"
"$ctl" --socket "$dir/none.sock" status >/dev/null 2>&1; rc=$?
[ $rc = 3 ] || fail "no daemon: exit $rc"
# TCP: the token is required.
"$ctl" --url "http://127.0.0.1:$port" status >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "tcp without token: exit $rc"
set -e
out=$("$ctl" --url "http://127.0.0.1:$port" --token 0123456789abcdef status)
expect "tcp with token" '^version' "$out"
out=$(F2FPAY_TOKEN=0123456789abcdef "$ctl" --url "http://127.0.0.1:$port/" orders)
expect "tcp token from the environment" '^2 orders$' "$out"

# --wait: settled orders end the wait with their outcome.
out=$("$ctl" pay 2.00 --auth-code 283456789012345670 --wait)
expect "pay --wait" '^state +PAID$' "$out"
set +e
"$ctl" pay 3.00 --auth-code 283456789012345671 --wait --wait-timeout 1 >/dev/null 2>"$dir/err"
rc=$?
set -e
[ $rc = 6 ] || fail "pay --wait on an order that stays PAYING: exit $rc"
expect "wait timeout" 'is still PAYING' "$(cat "$dir/err")"
"$ctl" qr 4.00 --wait --json >"$dir/qr" 2>&1 &
qpid=$!
for _ in $(seq 200); do
	grep -q '"id"' "$dir/qr" && break
	sleep 0.05
done
qid=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$dir/qr" | head -1)
[ -n "$qid" ] || fail "qr --wait printed no order"
"$ctl" cancel "$qid" >/dev/null
set +e
wait $qpid
rc=$?
set -e
[ $rc = 4 ] || fail "qr --wait on a cancelled order: exit $rc"
expect "qr --wait" '"state":"CANCELED"' "$(cat "$dir/qr")"

# The event stream saw the orders as they changed.
for _ in $(seq 200); do
	grep -q 'order  T01_20261126_2  CANCELED' "$dir/events" && break
	sleep 0.05
done
ev=$(cat "$dir/events")
expect "events" '^order  T01_20261126_1  PAID  88.88$' "$ev"
expect "events" '^order  T01_20261126_2  SHOWING_QR  1.50$' "$ev"
expect "events" '^order  T01_20261126_2  CANCELED  1.50$' "$ev"
for _ in $(seq 200); do
	grep -q '"state":"CANCELED"' "$dir/events.json" && break
	sleep 0.05
done
ev=$(cat "$dir/events.json")
expect "events --json" '^\{"event":"order","data":\{"id":"T01_20261126_1",.*"state":"PAID"' "$ev"
echo "f2fpayctl: all passed"
