#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails on an include against the dependency direction (doc/design.md §3):
#   common <- config, payment, drivers <- daemon; sandbox stands on common alone; central (the
#   store's database tool) stands on common, config and payment, and the daemon may use it.
# Usage: check-includes.sh SOURCE_ROOT      checks the tree
#        check-includes.sh --self-test      shows that each kind of wrong include fails
set -eu

# allowed FOLDER: the top folders FOLDER's sources may include from.
allowed() {
	case $1 in
	common) echo "common" ;;
	config) echo "common config" ;;
	payment) echo "common payment" ;;
	drivers) echo "common drivers" ;;
	sandbox) echo "common sandbox" ;;
	central) echo "common config payment central" ;;
	daemon) echo "common config payment drivers central daemon" ;;
	*) echo "" ;;
	esac
}

check_tree() {
	top=$1
	bad=0
	for folder in common config payment drivers sandbox central daemon; do
		[ -d "$top/$folder" ] || continue
		ok=$(allowed "$folder")
		# "#include "X/..." where X is one of the tree's top folders.
		matches=$(cd "$top" && grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"(common|config|payment|drivers|central|daemon|sandbox)/' \
			--include='*.c' --include='*.h' "$folder" || true)
		[ -n "$matches" ] || continue
		while IFS= read -r m; do
			target=$(printf '%s\n' "$m" | sed -E 's/^[^"]*"([a-z]+)\/.*/\1/')
			case " $ok " in
			*" $target "*) ;;
			*)
				echo "$m: $folder must not include $target/ (doc/design.md §3)"
				bad=1
				;;
			esac
		done <<-EOF2
			$matches
		EOF2
	done
	return $bad
}

if [ "${1:-}" = "--self-test" ]; then
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t/common" "$t/config" "$t/payment/order" "$t/drivers/scanner" "$t/daemon" \
		"$t/sandbox" "$t/central"
	printf '#include "common/log.h"\n' >"$t/common/a.c"
	printf '#include "common/log.h"\n#include "config/config.h"\n' >"$t/config/a.c"
	printf '#include "payment/keys.h"\n' >"$t/payment/order/a.h"
	printf '#include "drivers/display/display.h"\n' >"$t/drivers/scanner/a.c"
	printf '#include "payment/keys.h"\n#include "drivers/scanner/scanner.h"\n' >"$t/daemon/a.c"
	printf '#include "sandbox/sandbox.h"\n' >"$t/sandbox/a.c"
	printf '#include "payment/bill/bill.h"\n#include "central/pg.h"\n' >"$t/central/a.c"
	printf '#include "central/pg.h"\n' >"$t/daemon/b.c"
	check_tree "$t" >/dev/null || { echo "self-test: a clean tree fails"; exit 1; }
	for wrong in "drivers/scanner/b.c:daemon/manager.h" "common/b.h:payment/keys.h" \
		"payment/b.c:drivers/scanner/scanner.h" "config/b.c:daemon/api.h" \
		"sandbox/b.c:payment/sign.h" "drivers/scanner/b.h:payment/request.h" \
		"central/b.c:daemon/engine/journal.h" "central/b.h:drivers/scanner/scanner.h" \
		"payment/b.c:central/pg.h"; do
		file=${wrong%%:*}
		printf '  #  include "%s"\n' "${wrong#*:}" >"$t/$file"
		if check_tree "$t" >/dev/null; then
			echo "self-test: $file including ${wrong#*:} was not caught"
			exit 1
		fi
		rm "$t/$file"
	done
	echo "self-test: every wrong direction is caught"
	exit 0
fi

check_tree "$1"
echo "every include follows the dependency direction"
