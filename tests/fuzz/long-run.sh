#!/bin/bash
# SPDX-License-Identifier: MIT
# One long libFuzzer run of a target built with -Dfuzzing=true: RUNS executions starting from
# the target's corpus (read only: new inputs go to a scratch folder, crashes beside it), then
# the figures. `meson test -C build-fuzz --benchmark --suite fuzz-long` runs them all; not in CI.
# Usage: long-run.sh TARGET CORPUS [RUNS [MAX_LEN [WORKERS]]]. WORKERS > 1 runs one campaign in
# that many processes (libFuzzer's -fork): RUNS counts the executions of all of them together.
set -euo pipefail
# UBSan only reports and goes on unless told to stop: make its findings crashes libFuzzer keeps.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exe=$1 corpus=$2 runs=${3:-10000000} max_len=${4:-65536} workers=${5:-1}
fork=()
# The fork mode ignores timeouts and running out of memory unless told: they stop it, as they
# stop a single process.
if [ "$workers" -gt 1 ]; then
	fork=(-fork="$workers" -ignore_timeouts=0 -ignore_ooms=0)
fi
work=$(mktemp -d /tmp/f2fpay-fuzz.XXXXXX)
trap 'rm -rf "$work/new"' EXIT
mkdir "$work/new"
name=$(basename "$exe")
start=$(date +%s)
set +e
"$exe" "${fork[@]}" -runs="$runs" -max_len="$max_len" -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/new" "$corpus" >"$work/log" 2>&1
rc=$?
set -e
secs=$(($(date +%s) - start))
if [ "$workers" -gt 1 ]; then
	# The fork mode's own lines: "#EXECUTIONS: cov: N ft: N corp: N exec/s N ...".
	execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$work/log" | tail -1)
	rate=
	if [ -n "$execs" ]; then
		rate=$((execs / (secs > 0 ? secs : 1)))
	fi
else
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
fi
cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 || true)
echo "$name: ${execs:-?} executions (max_len $max_len, $workers worker(s)) in ${secs} s" \
	"(${rate:-?}/s), ${cov:-cov: ?}, exit $rc"
if [ "$rc" -ne 0 ]; then
	tail -40 "$work/log"
	echo "$name: crash input and log kept in $work"
	exit 1
fi
rm -rf "$work"
