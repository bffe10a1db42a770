#!/bin/bash
# SPDX-License-Identifier: MIT
# Least privilege for the scanners: group f2fpay-scanner (created by sysusers, f2fpay its only
# member) holds the scanners the udev rules tag; the unit asks for neither input nor dialout
# nor that group, so it starts where the group does not exist; RS-232 and USB serial ports are
# allowed by the unit's device policy.
set -euo pipefail
src=$(realpath "$1")
sysusers=$src/systemd/f2fpay.sysusers
rules=$src/systemd/70-f2fpay.rules
unit=$src/systemd/f2fpayd.service.in
fail() {
	echo "FAIL: $*"
	exit 1
}

root=$(mktemp -d /tmp/f2fpay-sysusers.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$sysusers" >/dev/null
grep -q '^f2fpay-scanner:x:[0-9]*:f2fpay$' "$root/etc/group" ||
	fail "sysusers does not make f2fpay the only member of f2fpay-scanner: $(cat "$root/etc/group")"
grep -q '^f2fpay:' "$root/etc/passwd" || fail "sysusers does not create user f2fpay"
echo "sysusers: $(grep f2fpay-scanner "$root/etc/group")"

# The unit: no group a fresh system may lack (systemd refuses to start a unit whose
# SupplementaryGroups= names a missing group), none that reads every keyboard or port.
groups=$(sed -n 's/^SupplementaryGroups=//p' "$unit")
for g in $groups; do
	case $g in
	input | dialout | f2fpay-scanner) fail "unit asks for group $g" ;;
	video) ;;
	*) fail "unit asks for group $g, which a fresh Debian system may not have" ;;
	esac
done
for d in char-input char-ttyACM char-ttyUSB char-ttyS char-usb_device; do
	grep -qx "DeviceAllow=$d r\{0,1\}w\{0,1\}" "$unit" || fail "unit does not allow $d"
done
echo "unit: SupplementaryGroups=$groups, serial ports allowed"

# The rules: scanners go to f2fpay-scanner, only when tagged; the display (a framebuffer, or a
# serial port tagged as a pole display) stays with f2fpay.
while IFS= read -r line; do
	case $line in
	'#'* | '') continue ;;
	esac
	if [[ $line == *GROUP=* ]]; then
		if [[ $line == *'SUBSYSTEM=="graphics"'* ]]; then
			[[ $line == *'GROUP="f2fpay"'* ]] || fail "display rule: $line"
			continue
		fi
		# A pole display's serial port: only when tagged as one, to the display's group.
		if [[ $line == *'ENV{F2FPAY_DISPLAY}=="1"'* ]]; then
			[[ $line == *'GROUP="f2fpay"'* ]] || fail "display rule: $line"
			continue
		fi
		[[ $line == *'GROUP="f2fpay-scanner"'* ]] || fail "scanner rule with another group: $line"
		[[ $line == *'ENV{F2FPAY_SCANNER}=="1"'* ]] || fail "untagged device given away: $line"
	fi
	[[ $line != *'GROUP="input"'* && $line != *'GROUP="dialout"'* ]] || fail "rule: $line"
done <"$rules"
grep -q 'KERNEL=="ttyACM\[0-9\]\*|ttyUSB\[0-9\]\*|ttyS\[0-9\]\*", ENV{F2FPAY_SCANNER}=="1", GROUP="f2fpay-scanner"' "$rules" ||
	fail "tagged ttyS/ttyUSB/ttyACM ports are not given to the scanners' group"
# /dev/ttyS* is never tagged wholesale: only a local rule names the port.
if grep -v '^#' "$rules" | grep 'ttyS' | grep -q 'ENV{F2FPAY_SCANNER}="1"'; then
	fail "every RS-232 port is tagged as a scanner"
fi
# ModemManager's probing (AT commands on every new serial port) is kept off their ports.
for tag in F2FPAY_SCANNER F2FPAY_DISPLAY; do
	grep -q "^SUBSYSTEM==\"tty\", ENV{$tag}==\"1\", ENV{ID_MM_DEVICE_IGNORE}=\"1\"" "$rules" ||
		fail "ModemManager may probe a serial port tagged $tag"
done
echo "rules: scanners to f2fpay-scanner, tagged only; no ModemManager probing"
