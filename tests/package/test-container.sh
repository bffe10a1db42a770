#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian packages as an operator meets them: built and checked by lintian (build-debs.sh),
# installed into a Debian 12 root booted with a real systemd (systemd-nspawn -b), configured
# against f2fpay-sandbox (from the f2fpay-sandbox package, inside the container, on the
# loopback the container shares with the host), used by a POS user of group f2fpay-pos, its
# keys rotated with `systemctl reload`, a 0644 private key and a bad configuration refused
# (ending in "failed", not a restart loop), its metrics read, and purged. Needs root; exits 77
# (skip) only when not root.
#
# Usage: test-container.sh SOURCE_DIR WORK_DIR
# WORK_DIR (ignored by git) caches the Debian 12 root as a tarball, rebuilt with debootstrap
# from Debian's mirror when the packages' dependencies change; reruns reuse it.
set -uo pipefail
src=$(realpath "$1")
work=$(realpath -m "$2")
mirror=${F2FPAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
	echo "needs root (debootstrap, systemd-nspawn)"
	exit 77
fi

passed=0
failed=0
ok() {
	echo "ok: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
	# What the service said last, to tell why.
	[ -n "${leader:-}" ] && inside journalctl -u f2fpayd.service -n 20 --no-pager -o short-monotonic
}
# check NAME COMMAND...: one named check, counted.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

mkdir -p "$work"
t0=$(date +%s)

# --- packages and lintian --------------------------------------------------------------------
if ! "$(dirname "$0")/build-debs.sh" "$src" "$work"; then
	echo "0 passed, 1 failed"
	exit 1
fi
ok "packages build, lintian has no error or warning"
t_build=$(date +%s)

# --- the Debian 12 root, cached --------------------------------------------------------------
# Base system with systemd, the packages' run-time dependencies and the tools the checks use.
deps=$(for deb in "$work"/debs/*.deb; do dpkg-deb -f "$deb" Depends; done |
	tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
include=$(printf '%s\n' systemd systemd-sysv dbus openssl curl $deps | sort -u | paste -sd,)
key=$(printf 'bookworm %s %s\n' "$mirror" "$include" | sha256sum | cut -c1-16)
tarball=$work/rootfs-bookworm-$key.tar
if [ ! -f "$tarball" ]; then
	echo "debootstrap: bookworm with $include"
	rm -rf "$work/rootfs-new"
	if ! debootstrap --variant=minbase --include="$include" bookworm "$work/rootfs-new" \
		"$mirror" >"$work/debootstrap.log" 2>&1; then
		tail -20 "$work/debootstrap.log"
		fail "debootstrap (log: $work/debootstrap.log)"
		echo "$passed passed, $failed failed"
		exit 1
	fi
	# Keep the cache small and the image quiet: no apt lists, no timers that start apt.
	rm -rf "$work"/rootfs-new/var/lib/apt/lists/* "$work"/rootfs-new/var/cache/apt/*.bin
	tar -C "$work/rootfs-new" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$work/rootfs-new"
	rm -f $(ls "$work"/rootfs-bookworm-*.tar | grep -v "$key")
fi
t_rootfs=$(date +%s)

root=$work/machine
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" --numeric-owner -xf "$tarball"
# machine-id: systemd wants one; the container gets a fresh one.
: >"$root/etc/machine-id"

# --- boot ------------------------------------------------------------------------------------
machine=f2fpay-pkg-$$
systemd-nspawn -D "$root" -M "$machine" --register=no --keep-unit --console=passive \
	--bind-ro="$work/debs:/srv/debs" -b >"$work/nspawn.log" 2>&1 &
nspawn=$!
leader=
cleanup() {
	if kill -0 "$nspawn" 2>/dev/null; then
		# SIGRTMIN+4 asks the container's systemd to power off; then nspawn returns.
		[ -n "$leader" ] && kill -s RTMIN+4 "$leader" 2>/dev/null
		for _ in $(seq 30); do kill -0 "$nspawn" 2>/dev/null || break; sleep 1; done
		kill "$nspawn" 2>/dev/null
		wait "$nspawn" 2>/dev/null
	fi
	rm -rf "$root"
}
trap cleanup EXIT

for _ in $(seq 100); do
	leader=$(pgrep -P "$nspawn" -x systemd | head -1)
	[ -n "$leader" ] && break
	sleep 0.2
done
# inside COMMAND...: runs a command inside the container (all its namespaces, a clean environment).
inside() {
	nsenter -t "$leader" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		"$@"
}
# A restart as an operator does it; reset-failed first, so that the checks' quick succession of
# starts does not run into systemd's start limit (5 in 10 s).
restart_f2fpayd() {
	inside systemctl reset-failed f2fpayd.service
	inside systemctl restart f2fpayd.service
}

if [ -z "$leader" ]; then
	tail -20 "$work/nspawn.log"
	fail "the container boots"
	echo "$passed passed, $failed failed"
	exit 1
fi
# systemctl needs the manager's socket, which appears a moment after PID 1 starts.
for _ in $(seq 150); do
	inside test -S /run/systemd/private && break
	sleep 0.2
done
state=$(inside timeout 120 systemctl is-system-running --wait 2>&1)
case $state in
running | degraded) ok "the container boots with systemd ($state)" ;;
*)
	fail "the container boots ($state)"
	inside systemctl --failed --no-pager
	echo "$passed passed, $failed failed"
	exit 1
	;;
esac
t_boot=$(date +%s)

# Every file of the root before the packages, to compare after the purge. Left out: what
# changes by itself (logs, dpkg's and apt's own books, systemd's state).
snapshot() {
	inside find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/dpkg \
		-o -path /var/lib/apt -o -path /var/lib/systemd -o -path /var/lib/dbus \
		-o -path /srv/debs \) -prune -o -print | sort
}
snapshot >"$work/before.list"

# --- install ---------------------------------------------------------------------------------
if inside sh -c 'dpkg -i /srv/debs/*.deb' >"$work/install.log" 2>&1; then
	ok "the packages install"
else
	cat "$work/install.log"
	fail "the packages install"
fi
says_what_to_do() {
	grep -q 'f2fpayd is not running yet: edit /etc/f2fpay/f2fpayd.conf' "$work/install.log" &&
		[ "$(inside systemctl show -P ActiveState f2fpayd.service)" = failed ] &&
		[ "$(inside systemctl show -P NRestarts f2fpayd.service)" = 0 ]
}
check "a first install says what to edit; the refused service is failed, not restarting" \
	says_what_to_do

installed_layout() {
	local files
	files=$(inside dpkg -L f2fpayd) || return 1
	grep -qx /usr/sbin/f2fpayd <<<"$files" &&
		grep -qx /usr/bin/f2fpayctl <<<"$files" &&
		grep -qx /usr/bin/f2fpay-scantest <<<"$files" &&
		! grep -q f2fpay-sandbox <<<"$files" &&
		! grep -q f2fpay-central <<<"$files" &&
		inside dpkg -L f2fpay-sandbox | grep -qx /usr/bin/f2fpay-sandbox &&
		inside f2fpay-central --help >/dev/null &&
		inside test -f /lib/systemd/system/f2fpayd.service &&
		inside test -f /lib/udev/rules.d/70-f2fpay.rules &&
		inside test -f /usr/share/man/man8/f2fpayd.8.gz &&
		inside grep -qx /etc/f2fpay/f2fpayd.conf /var/lib/dpkg/info/f2fpayd.conffiles
}
check "layout: daemon package without the sandbox or the back-office tool, conffile in /etc/f2fpay" installed_layout

users_and_modes() {
	[ "$(inside stat -c '%a %U %G' /etc/f2fpay)" = "750 root f2fpay" ] &&
		[ "$(inside stat -c '%a %U %G' /etc/f2fpay/f2fpayd.conf)" = "640 root f2fpay" ] &&
		[ "$(inside stat -c '%U %G' /var/lib/f2fpay)" = "f2fpay f2fpay" ] &&
		[ "$(inside id -gn f2fpay)" = f2fpay ] &&
		! inside id -Gn f2fpay | grep -qw f2fpay-pos &&
		inside getent group f2fpay-pos >/dev/null &&
		[ "$(inside stat -c '%a %G' /run/f2fpay/api.sock)" = "660 f2fpay-pos" ]
}
check "users, groups and modes: the daemon's group apart from f2fpay-pos" users_and_modes

# --- configure against f2fpay-sandbox --------------------------------------------------------
# The keys first: without them systemd stops at LoadCredential= before f2fpayd reads a line.
inside sh -ec '
	umask 077
	mkdir -p /root/keys
	cd /root/keys
	openssl genrsa -out app.pem 2048 2>/dev/null
	openssl rsa -in app.pem -pubout -out app.pub 2>/dev/null
	openssl genrsa -out alipay.pem 2048 2>/dev/null
	openssl rsa -in alipay.pem -pubout -out alipay.pub 2>/dev/null
	install -m 0600 -o root -g root app.pem /etc/f2fpay/app_private_key
	install -m 0600 -o root -g root alipay.pub /etc/f2fpay/alipay_public_key
	useradd -m -G f2fpay-pos cashier
	useradd -m outsider
'
# The socket is listening, the service refuses the shipped file and says which one to edit.
refuses_placeholders() {
	inside systemctl is-active -q f2fpayd.socket || return 1
	inside systemctl is-enabled -q f2fpayd.service || return 1
	inside systemctl reset-failed f2fpayd.service
	inside systemctl start f2fpayd.service 2>/dev/null && return 1
	inside journalctl -u f2fpayd.service -o cat --no-pager |
		grep -F 'edit /etc/f2fpay/f2fpayd.conf: line' | grep -q 'app_id is not set yet'
}
check "the shipped configuration is refused with 'edit /etc/f2fpay/f2fpayd.conf: ...'" \
	refuses_placeholders

# start_sandbox APP_PUBLIC_KEY: the gateway as a transient service; sets $gateway. A free port
# the first time, the same one when it is started again with another app key.
gateway=
start_sandbox() {
	local listen=127.0.0.1:0 before lines
	[ -n "$gateway" ] && listen=${gateway#http://}
	inside systemctl stop f2fpay-sandbox-test 2>/dev/null
	inside systemctl reset-failed f2fpay-sandbox-test 2>/dev/null
	before=$(inside journalctl -u f2fpay-sandbox-test -o cat --no-pager | grep -c '^listening on ')
	inside systemd-run -q --unit=f2fpay-sandbox-test /usr/bin/f2fpay-sandbox \
		--listen "$listen" --app-public-key "$1" \
		--alipay-private-key /root/keys/alipay.pem || return 1
	for _ in $(seq 50); do
		lines=$(inside journalctl -u f2fpay-sandbox-test -o cat --no-pager |
			sed -n 's/^listening on //p')
		if [ "$(grep -c . <<<"$lines")" -gt "$before" ]; then
			gateway=$(tail -1 <<<"$lines")
			return 0
		fi
		sleep 0.2
	done
	return 1
}
start_sandbox /root/keys/app.pub || fail "f2fpay-sandbox starts"
inside sed -i \
	-e "s|^gateway_url = .*|gateway_url = $gateway/gateway.do|" \
	-e 's|^app_id = EDIT-ME.*|app_id = 2021000000000001|' \
	-e 's|^store_id = EDIT-ME.*|store_id = store-001|' \
	-e 's|^terminal_id = EDIT-ME.*|terminal_id = T01|' /etc/f2fpay/f2fpayd.conf

starts_configured() {
	restart_f2fpayd &&
		inside systemctl is-active -q f2fpayd.service
}
check "f2fpayd starts once configured (READY)" starts_configured

code_serial=0
pay() { # USER: a 0.01 payment with a code the sandbox pays at once
	code_serial=$((code_serial + 1))
	inside runuser -u "$1" -- f2fpayctl pay 0.01 --subject "package test" \
		--auth-code "$(printf '28%015d0' "$code_serial")" --wait --wait-timeout 60
}
check "a member of f2fpay-pos pays an order with f2fpayctl" pay cashier

# Stopped, the service comes back when a POS user connects (socket activation).
socket_activation() {
	inside systemctl stop f2fpayd.service || return 1
	inside systemctl is-active -q f2fpayd.service && return 1
	inside runuser -u cashier -- f2fpayctl status >/dev/null &&
		inside systemctl is-active -q f2fpayd.service
}
check "a connection to the socket starts the stopped service" socket_activation

outsider_refused() {
	inside runuser -u outsider -- f2fpayctl status >/dev/null 2>&1
	[ $? -eq 3 ]
}
check "a user outside f2fpay-pos cannot reach the API" outsider_refused

config_private() {
	! inside runuser -u cashier -- cat /etc/f2fpay/f2fpayd.conf >/dev/null 2>&1 &&
		! inside runuser -u cashier -- ls /etc/f2fpay >/dev/null 2>&1 &&
		! inside runuser -u cashier -- cat /etc/f2fpay/app_private_key >/dev/null 2>&1 &&
		! inside runuser -u f2fpay -- cat /etc/f2fpay/app_private_key >/dev/null 2>&1 &&
		inside runuser -u f2fpay -- cat /etc/f2fpay/f2fpayd.conf >/dev/null 2>&1
}
check "POS users read nothing in /etc/f2fpay; keys are root's alone" config_private

# Keys rotated as doc/operations.md says: new app key at the gateway and in /etc/f2fpay, then
# a reload; payments go on without a restart.
reload_rotates_keys() {
	local main_pid
	main_pid=$(inside systemctl show -P MainPID f2fpayd.service)
	inside sh -ec 'cd /root/keys && umask 077 &&
		openssl genrsa -out app2.pem 2048 2>/dev/null &&
		openssl rsa -in app2.pem -pubout -out app2.pub 2>/dev/null' || return 1
	start_sandbox /root/keys/app2.pub || return 1
	inside install -m 0600 /root/keys/app2.pem /etc/f2fpay/app_private_key || return 1
	inside systemctl reload f2fpayd.service || return 1
	pay cashier >/dev/null &&
		[ "$(inside systemctl show -P MainPID f2fpayd.service)" = "$main_pid" ]
}
check "systemctl reload rotates the app key, no restart" reload_rotates_keys

# A private key others can read: the service refuses it (not only --check-config).
key_mode_refused() {
	inside chmod 0644 /etc/f2fpay/app_private_key
	local r=0
	restart_f2fpayd 2>/dev/null && r=1
	inside chmod 0600 /etc/f2fpay/app_private_key
	[ $r -eq 0 ] &&
		inside journalctl -u f2fpayd.service -o cat --no-pager | grep -q 'app_private_key.*0644'
}
check "the service refuses a private key others can read, naming the file" key_mode_refused

# A missing key file: the service names the file in /etc (not systemd's "243/CREDENTIALS").
missing_key_named() {
	inside mv /etc/f2fpay/app_private_key /root/app_private_key.away
	local r=0
	restart_f2fpayd 2>/dev/null && r=1
	inside mv /root/app_private_key.away /etc/f2fpay/app_private_key
	inside systemctl reset-failed f2fpayd.service
	[ $r -eq 0 ] &&
		inside journalctl -u f2fpayd.service -o cat --no-pager |
		grep -q 'app private key is missing: put it in /etc/f2fpay/app_private_key'
}
check "a missing key file is named in /etc terms" missing_key_named

# A configuration error ends in "failed", not in a restart loop.
bad_config_fails() {
	inside cp /etc/f2fpay/f2fpayd.conf /root/f2fpayd.conf.good
	inside sh -c 'printf "[terminal]\nno_such_key = 1\n" >>/etc/f2fpay/f2fpayd.conf'
	restart_f2fpayd 2>/dev/null
	sleep 8
	local st restarts
	st=$(inside systemctl show -P ActiveState f2fpayd.service)
	restarts=$(inside systemctl show -P NRestarts f2fpayd.service)
	inside cp /root/f2fpayd.conf.good /etc/f2fpay/f2fpayd.conf
	inside systemctl reset-failed f2fpayd.service
	echo "after a bad config: $st, $restarts restarts"
	[ "$st" = failed ] && [ "$restarts" = 0 ]
}
check "a configuration error ends in failed, not a restart loop" bad_config_fails

metrics() {
	local port=19464 body
	inside sh -c "printf '[metrics]\nlisten = 127.0.0.1:$port\n' >>/etc/f2fpay/f2fpayd.conf"
	restart_f2fpayd || return 1
	pay cashier >/dev/null || return 1
	body=$(inside curl -fsS "http://127.0.0.1:$port/metrics") || return 1
	grep -q '^# TYPE ' <<<"$body" &&
		grep -Eq '^f2fpayd_orders_total\{state="paid"\} [1-9]' <<<"$body"
}
check "the metrics endpoint counts the paid orders" metrics

# --- purge -----------------------------------------------------------------------------------
inside systemctl stop f2fpay-sandbox-test 2>/dev/null
if inside dpkg --purge f2fpayd f2fpay-sandbox f2fpay-central >"$work/purge.log" 2>&1; then
	ok "the packages purge"
else
	cat "$work/purge.log"
	fail "the packages purge"
fi
nothing_left() {
	local extra
	# The test's own traces (keys, the users it made) and the user database are not the
	# packages' leftovers: the f2fpay user and groups stay, as Debian keeps system users.
	extra=$(snapshot | comm -13 "$work/before.list" - |
		grep -v -e '^/root' -e '^/home' -e '^/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-\?$')
	if [ -n "$extra" ]; then
		echo "left behind:"
		echo "$extra"
		return 1
	fi
	! inside test -e /run/f2fpay && ! inside systemctl cat f2fpayd.service >/dev/null 2>&1
}
check "purge leaves nothing behind" nothing_left

t_end=$(date +%s)
echo "time: packages+lintian $((t_build - t0))s, root $((t_rootfs - t_build))s," \
	"boot $((t_boot - t_rootfs))s, checks $((t_end - t_boot))s, total $((t_end - t0))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
