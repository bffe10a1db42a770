#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's first command from a fresh clone: git clone, then tests/demo, which must end with
# both orders PAID and exit 0. Packages installed already are reused (the interop node_modules
# of this tree too, so no registry is needed).
set -eu
src=$1
tmp=$(mktemp -d /tmp/f2fpay-clone.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

git clone -q "$src" "$tmp/f2fpayd"
if [ -d "$src/tests/interop/node_modules" ]; then
	ln -s "$src/tests/interop/node_modules" "$tmp/f2fpayd/tests/interop/node_modules"
fi
out=$("$tmp/f2fpayd/tests/demo" 2>&1) || {
	echo "$out" | tail -40
	echo "FAIL: tests/demo exited with $?"
	exit 1
}
echo "$out" | tail -15
echo "$out" | grep -q "^demo: both orders PAID" || { echo "FAIL: no PAID line"; exit 1; }
[ "$(echo "$out" | grep -c '^state  *PAID')" = 2 ] || { echo "FAIL: f2fpayctl did not show two PAID orders"; exit 1; }
echo "demo from a fresh clone: passed"
