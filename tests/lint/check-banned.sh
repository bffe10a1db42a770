#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails on functions the house bans (doc/style.md §9): unbounded or unsafe C calls.
set -eu
top=$1
cd "$top"
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok|strncpy|asctime|ctime|localtime|gmtime|tmpnam|mktemp)[[:space:]]*\('
hits=$(find common config payment drivers central daemon sandbox -name '*.[ch]' -print0 |
	xargs -0 -r grep -nE "$pattern" || true)
if [ -n "$hits" ]; then
	echo "banned functions used:"
	echo "$hits"
	exit 1
fi
echo "no banned functions"
