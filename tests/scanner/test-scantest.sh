#!/bin/sh
# SPDX-License-Identifier: MIT
# f2fpay-scantest under umockdev-run: it lists the mocked scanner and echoes what it scans.
set -eu
scantest=$1
dir=$2/devices/acm-scanner

out=$(umockdev-run -d "$dir/scanner.umockdev" -- "$scantest" --list)
printf "%s\n" "$out"
printf "%s\n" "$out" | grep -q '^serial  /dev/ttyACM0 .* 0c2e:0b6a Scanner$'

# A payment code is masked like everywhere else, unless --show-codes.
scan() {
	umockdev-run -d "$dir/scanner.umockdev" -s "/dev/ttyACM0=$dir/scan.script" -- \
		timeout 20 "$scantest" --kind serial --vidpid 0c2e:0b6a --framing crlf --prefix aim \
		--count 2 "$@"
}
out=$(scan)
printf "%s\n" "$out"
expected='state present /dev/ttyACM0
code barcode 6901234567892 aim=]E0
code alipay 28************5430 aim=]E0'
[ "$out" = "$expected" ] || { echo "unexpected output"; exit 1; }
out=$(scan --show-codes)
printf "%s\n" "$out" | grep -qx 'code alipay 287654321098765430 aim=]E0' ||
	{ echo "--show-codes: the code is not shown whole"; exit 1; }
# --diagnose: one scan, raw bytes, decoded code and the settings (the tool starts with the
# factory framing cr and no prefix, which would refuse both scans).
diagnose() {
	umockdev-run -d "$dir/scanner.umockdev" -s "/dev/ttyACM0=$dir/$1" -- \
		timeout 30 "$scantest" --kind serial --vidpid 0c2e:0b6a --diagnose \
		--expect 287654321098765430 --settle-ms 500 --wait-s 20
}
check() {
	printf "%s\n" "$out" | grep -qxF -- "$1" || { echo "missing: $1"; exit 1; }
}
out=$(diagnose diagnose-no-suffix.script)
printf "%s\n" "$out"
check '  framing = none'
check '  prefix = code-id'
check 'decoded: "287654321098765430" (alipay) symbology s'
check '  SUBSYSTEM=="tty", ATTRS{idVendor}=="0c2e", ATTRS{idProduct}=="0b6a", ENV{F2FPAY_SCANNER}="1"'
out=$(diagnose diagnose-crlf-aim.script)
printf "%s\n" "$out"
check '  framing = crlf'
check '  prefix = aim'
check 'decoded: "287654321098765430" (alipay) symbology ]Q1'
printf "%s\n" "$out" | grep -qF '"]Q1287654321098765430\r\n"' || { echo "raw bytes not shown"; exit 1; }
echo "scantest ok"
