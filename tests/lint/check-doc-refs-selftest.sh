#!/bin/sh
# SPDX-License-Identifier: MIT
# Shows that check-doc-refs.py fails on each kind of broken reference and passes a sound tree.
set -eu
checker=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tree() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t/doc" "$tmp/t/src"
	printf '# Notes\n## 1. One\n### 1.2 Sub\n## 2. Two\nSee §1.2 and [one](notes.md).\n' \
		>"$tmp/t/doc/notes.md"
}

expect_fail() { # name, expected words
	if out=$(python3 "$checker" "$tmp/t"); then
		echo "FAIL: $1: the checker passed"
		exit 1
	fi
	case $out in
	*"$2"*) echo "ok: $1" ;;
	*)
		echo "FAIL: $1: expected '$2' in:"
		echo "$out"
		exit 1
		;;
	esac
}

tree
printf '/* doc/notes.md §1.2, §2 */\n' >"$tmp/t/src/a.c"
python3 "$checker" "$tmp/t" >/dev/null || { echo "FAIL: a sound tree was refused"; exit 1; }
echo "ok: sound tree"

tree
printf '/* doc/missing.md §1 */\n' >"$tmp/t/src/a.c"
expect_fail "missing file" "doc/missing.md is not a file"

tree
printf '/* doc/notes.md §3 */\n' >"$tmp/t/src/a.c"
expect_fail "missing section" "has no section 3"

tree
printf '/* doc/notes.md: one.\n * later: §1.3 */\n' >"$tmp/t/src/a.c"
expect_fail "missing section on a later line" "has no section 1.3"

tree
printf '/* §1 with no document */\n' >"$tmp/t/src/a.c"
expect_fail "section without document" "follows no document"

tree
printf '/* doc/notes.md first, then NOTES §1 */\n' >"$tmp/t/src/a.c"
expect_fail "upper-case name" "NOTES is not a document"

tree
printf 'See [x](nothere.md) and [y](../src/none.c).\n' >>"$tmp/t/doc/notes.md"
expect_fail "markdown link" "link to ../src/none.c"

tree
printf 'See §7.\n' >>"$tmp/t/doc/notes.md"
expect_fail "own section in doc/" "doc/notes.md has no section 7"
