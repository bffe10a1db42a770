#!/bin/bash
# SPDX-License-Identifier: MIT
# The units: `systemd-analyze verify` (the ExecStart binary is the built one) and
# `systemd-analyze security --offline=true` with an overall exposure of at most 2.5.
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
*)
	exit 2
	;;
esac
