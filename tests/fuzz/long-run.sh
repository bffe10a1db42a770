#!/bin/bash
# SPDX-License-Identifier: MIT
# One long libFuzzer run of a target built with -Dfuzzing=true: RUNS executions starting from
# the target's corpus (read only: new inputs go to a scratch folder, crashes beside it), then
# the figures. `meson test -C build-fuzz --benchmark --suite fuzz-long` runs them all; not in CI.
# Usage: long-run.sh TARGET CORPUS [RUNS [MAX_LEN [WORKERS]]]. WORKERS > 1 runs one campaign in
# that many processes (libFuzzer's -fork): RUNS counts the executions of all of them together.
#
# With FUZZ_STATE=DIR the campaign can be stopped and resumed: the inputs it found stay in
# DIR/TARGET/corpus and the executions done so far in DIR/TARGET/executions, and the next run
# with the same DIR does only what is left of RUNS, starting from everything found before. The
# fork mode does the same between its own jobs: each one is a new process that starts from the
# campaign's corpus. SIGINT or SIGTERM stops the run cleanly and counts what it did.
set -euo pipefail
# UBSan only reports and goes on unless told to stop: make its findings crashes libFuzzer keeps.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exe=$1 corpus=$2 runs=${3:-10000000} max_len=${4:-65536} workers=${5:-1}
name=$(basename "$exe")
fork=()
# The fork mode ignores timeouts and running out of memory unless told: they stop it, as they
# stop a single process.
if [ "$workers" -gt 1 ]; then
	fork=(-fork="$workers" -ignore_timeouts=0 -ignore_ooms=0)
fi
work=$(mktemp -d /tmp/f2fpay-fuzz.XXXXXX)
done_before=0
if [ -n "${FUZZ_STATE:-}" ]; then
	state="$FUZZ_STATE/$name"
	mkdir -p "$state/corpus"
	new="$state/corpus"
	done_before=$(cat "$state/executions" 2>/dev/null || echo 0)
	if [ "$done_before" -ge "$runs" ]; then
		echo "$name: campaign already complete: $done_before of $runs executions in $state"
		rm -rf "$work"
		exit 0
	fi
else
	new="$work/new"
	mkdir "$new"
	trap 'rm -rf "$work/new"' EXIT
fi
start=$(date +%s)
# The fuzzer runs in a process group of its own, so that a stop reaches its workers too, and
# keeps the fork mode's scratch folders in the run's own.
set +e -m
TMPDIR="$work" "$exe" "${fork[@]}" -runs=$((runs - done_before)) -max_len="$max_len" -print_final_stats=1 \
	-artifact_prefix="$work/" "$new" "$corpus" >"$work/log" 2>&1 &
pid=$!
stopped=0
trap 'stopped=1; kill -INT -- -$pid 2>/dev/null' INT TERM
wait $pid
rc=$?
# A signal ends the first wait early: wait for the fuzzer's own exit.
while kill -0 $pid 2>/dev/null; do
	wait $pid
	rc=$?
done
set -e +m
secs=$(($(date +%s) - start))
if [ "$workers" -gt 1 ]; then
	# The fork mode's own lines: "#EXECUTIONS: cov: N ft: N corp: N exec/s N ...".
	execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$work/log" | tail -1)
else
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
fi
rate=
if [ -n "$execs" ]; then
	rate=$((execs / (secs > 0 ? secs : 1)))
fi
cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 || true)
echo "$name: ${execs:-?} executions (max_len $max_len, $workers worker(s)) in ${secs} s" \
	"(${rate:-?}/s), ${cov:-cov: ?}, exit $rc"
if [ -n "${state:-}" ]; then
	total=$((done_before + ${execs:-0}))
	echo "$total" >"$state/executions.new"
	mv "$state/executions.new" "$state/executions"
	echo "$name: campaign $total of $runs executions ($done_before before this run) in $state"
fi
if [ "$stopped" -eq 1 ]; then
	echo "$name: stopped by a signal${state:+; the same FUZZ_STATE resumes it}"
	rm -rf "$work"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	tail -40 "$work/log"
	echo "$name: crash input and log kept in $work"
	exit 1
fi
rm -rf "$work"
