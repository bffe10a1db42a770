#!/bin/sh
# SPDX-License-Identifier: MIT
# f2fpay-scantest under umockdev-run: it lists the mocked scanner and echoes what it scans.
set -eu
scantest=$1
dir=$2/devices/acm-scanner

out=$(umockdev-run -d "$dir/scanner.umockdev" -- "$scantest" --list)
echo "$out"
echo "$out" | grep -q '^serial  /dev/ttyACM0 .* 0c2e:0b6a Scanner$'

out=$(umockdev-run -d "$dir/scanner.umockdev" -s "/dev/ttyACM0=$dir/scan.script" -- \
	timeout 20 "$scantest" --kind serial --vidpid 0c2e:0b6a --framing crlf --aim-strip \
	--count 2)
echo "$out"
expected='state present /dev/ttyACM0
code barcode 6901234567892 aim=]E0
code alipay 287654321098765430 aim=]E0'
[ "$out" = "$expected" ] || { echo "unexpected output"; exit 1; }
echo "scantest ok"
