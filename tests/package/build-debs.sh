#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages from a copy of the source tree (tracked and new files, what git
# does not ignore) and runs lintian on them: no error and no warning may remain.
# Usage: build-debs.sh SOURCE_DIR WORK_DIR — the .debs end up in WORK_DIR/debs/.
set -euo pipefail
src=$1
work=$2
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree=$work/src/f2fpayd-$version

rm -rf "$work/src" "$work/debs"
mkdir -p "$tree" "$work/debs"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 -r tar -c --ignore-failed-read -f - 2>/dev/null) | tar -x -C "$tree"

# nocheck: the suites run elsewhere in tests/run-all; here only the packaging is under test.
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b >"$work/dpkg-buildpackage.log" 2>&1) || {
	tail -40 "$work/dpkg-buildpackage.log"
	echo "dpkg-buildpackage failed (log: $work/dpkg-buildpackage.log)"
	exit 1
}
# The debug symbol packages stay out of the container.
for deb in "$work"/src/*.deb; do
	case $deb in *-dbgsym_*) ;; *) cp "$deb" "$work/debs/" ;; esac
done
changes=$(ls "$work"/src/*.changes)
ls -l "$work/debs"

# --fail-on: any error or warning fails; overrides (each with its reason) are honoured.
lintian --allow-root --fail-on error,warning --display-level '>=warning' --info \
	"$changes" 2>&1 | tee "$work/lintian.log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
	echo "lintian: errors or warnings (exit $status)"
	exit 1
fi
echo "lintian: no errors, no warnings"
