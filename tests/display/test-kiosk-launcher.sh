#!/bin/sh
# SPDX-License-Identifier: MIT
# The kiosk launcher (doc/display.md §4): the browser command line it builds under X11 and
# under a Wayland session, and a clear error without a browser.
#   test-kiosk-launcher.sh SOURCE_ROOT
set -eu
kiosk="$1/doc/kiosk/f2fpay-display-kiosk"
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
has() { # has OUTPUT LINE
	printf '%s\n' "$1" | grep -qxF -- "$2" || fail "missing $2 in: $1"
}

out=$(env -u XDG_SESSION_TYPE HOME=/tmp/kiosk-home "$kiosk" --print)
has "$out" --kiosk
has "$out" --app=http://127.0.0.1:8090/
has "$out" --window-position=1920,0
has "$out" --window-size=1024,600
has "$out" --user-data-dir=/tmp/kiosk-home/.local/state/f2fpay-display
printf '%s\n' "$out" | grep -q ozone && fail "an ozone platform under X11: $out"

out=$(F2FPAY_DISPLAY_URL=http://192.0.2.1:9000/ F2FPAY_DISPLAY_POSITION=1280,0 \
	F2FPAY_DISPLAY_SIZE=800,480 F2FPAY_DISPLAY_PROFILE=/tmp/p "$kiosk" --print --extra-flag)
has "$out" --app=http://192.0.2.1:9000/
has "$out" --window-position=1280,0
has "$out" --window-size=800,480
has "$out" --user-data-dir=/tmp/p
has "$out" --extra-flag

# A Wayland session with XWayland: the window goes through X11, where it can be placed.
out=$(XDG_SESSION_TYPE=wayland DISPLAY=:0 "$kiosk" --print)
has "$out" --ozone-platform=x11
out=$(env -u DISPLAY XDG_SESSION_TYPE=wayland "$kiosk" --print)
printf '%s\n' "$out" | grep -q ozone && fail "XWayland asked for without DISPLAY: $out"

# No browser: a message and a failure, not a loop.
if err=$(env PATH=/nonexistent /bin/sh "$kiosk" --print 2>&1); then
	fail "no browser, yet it succeeded: $err"
fi
printf '%s\n' "$err" | grep -q "no chromium found" || fail "message: $err"
echo ok
