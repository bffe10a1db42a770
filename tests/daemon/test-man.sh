#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages format without a single groff warning.
set -eu
out=$(groff -man -ww -z "$@" 2>&1)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "$# man pages format cleanly"
