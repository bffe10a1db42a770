#!/bin/bash
# SPDX-License-Identifier: MIT
# The units: `systemd-analyze verify` (the ExecStart binary is the built one) and
# `systemd-analyze security --offline=true` with an overall exposure of at most 2.5, and
# `devices`: every DeviceAllow=char-NAME has the driver that registers NAME in /proc/devices
# loaded before the service (systemd resolves the name once, at start).
set -euo pipefail
mode=$1
service=$2 # the generated unit whose ExecStart is the build directory's f2fpayd
socket=$3
dir=$(mktemp -d /tmp/f2fpay-units.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$service" "$dir/f2fpayd.service"
cp "$socket" "$dir/f2fpayd.socket"
cd "$dir"

case $mode in
verify)
	# --man=false: the man pages are not installed on the build machine.
	systemd-analyze verify --man=false ./f2fpayd.service ./f2fpayd.socket
	echo "units verified"
	;;
security)
	out=$(systemd-analyze security --offline=true --no-pager ./f2fpayd.service)
	echo "$out" | grep -E '✗|Overall'
	level=$(echo "$out" | sed -n 's/.*Overall exposure level for f2fpayd.service: \([0-9.]*\).*/\1/p')
	[ -n "$level" ] || { echo "no exposure level in the output"; exit 1; }
	echo "exposure: $level (limit 2.5)"
	awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }'
	;;
devices)
	# Which module registers each char device name f2fpayd may be allowed; "-" when it is
	# always built into Debian's kernel.
	declare -A module=([input]="evdev usbhid" [ttyACM]=cdc_acm [ttyUSB]=usbserial [ttyS]=-
		[usb_device]=- [fb]=fb [rtc]=-)
	wants=$(sed -n 's/^Wants=//p' f2fpayd.service | tr ' ' '\n')
	after=$(sed -n 's/^After=//p' f2fpayd.service | tr ' ' '\n')
	fail=0
	for name in $(sed -n 's/^DeviceAllow=char-\([^ ]*\).*/\1/p' f2fpayd.service); do
		mods=${module[$name]:-}
		if [ -z "$mods" ]; then
			echo "DeviceAllow=char-$name: which driver registers it? (add it to this table)"
			fail=1
			continue
		fi
		[ "$mods" = - ] && continue
		for m in $mods; do
			for list in wants after; do
				if ! grep -qx "modprobe@$m.service" <<<"${!list}"; then
					echo "DeviceAllow=char-$name: modprobe@$m.service missing from ${list^}="
					fail=1
				fi
			done
		done
		echo "char-$name: needs $mods"
	done
	# A path is resolved at start too: only nodes that exist from boot on.
	for path in $(sed -n 's|^DeviceAllow=\(/dev/[^ ]*\).*|\1|p' f2fpayd.service); do
		case $path in
		/dev/console | /dev/null | /dev/zero | /dev/urandom) echo "$path: always present" ;;
		*) echo "DeviceAllow=$path: a node that may appear later"; fail=1 ;;
		esac
	done
	exit $fail
	;;
*)
	exit 2
	;;
esac
