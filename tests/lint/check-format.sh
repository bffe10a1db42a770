#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when any C source differs from .clang-format (doc/style.md §1).
set -eu
top=$1
formatter=$2
cd "$top"
files=$(find common config payment drivers central daemon sandbox tests -name node_modules -prune -o \
	\( -name '*.c' -o -name '*.h' \) -print | sort)
[ -n "$files" ] || { echo "no sources found"; exit 1; }
# shellcheck disable=SC2086
if ! "$formatter" --dry-run --Werror $files; then
	echo "clang-format: the files above differ; run: clang-format -i <file>"
	exit 1
fi
echo "$(echo "$files" | wc -l) files formatted"
