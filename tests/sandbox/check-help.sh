#!/bin/sh
# SPDX-License-Identifier: MIT
# --help must document every long option main.c accepts, the ten scenario digits and the
# simulator endpoints.
set -eu
bin=$1
src=$2
help=$("$bin" --help)
status=0
for opt in $(sed -n 's/^[[:space:]]*{"\([a-z-]*\)", [a-z_]*_argument.*/\1/p' "$src"); do
	if ! printf '%s\n' "$help" | grep -q -- "--$opt"; then
		echo "--help does not mention --$opt"
		status=1
	fi
done
for d in 0 1 2 3 4 5 6 7 8 9; do
	if ! printf '%s\n' "$help" | grep -q "^  $d  "; then
		echo "--help lacks scenario digit $d"
		status=1
	fi
done
for ep in /gateway.do /sim/scan-qr /sim/trades /downloadBillFile.resource; do
	printf '%s\n' "$help" | grep -q -- "$ep" || { echo "--help lacks $ep"; status=1; }
done
n=$(sed -n 's/^[[:space:]]*{"\([a-z-]*\)", [a-z_]*_argument.*/\1/p' "$src" | wc -l)
[ "$n" -ge 14 ] || { echo "found only $n options in $src"; status=1; }
[ $status -eq 0 ] && echo "--help documents $n options, 10 scenarios, 4 endpoints"
exit $status
