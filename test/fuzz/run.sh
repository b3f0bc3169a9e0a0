#!/bin/sh
# Fuzzes for a while and reports what it did.
#   run.sh FUZZ_API SEED_DIR [SECONDS]
# SECONDS defaults to $LC_FUZZ_SECONDS, else 60. New inputs go to a temporary directory (the
# first corpus directory, the one libFuzzer writes to); the committed seeds are only read.
# Prints libFuzzer's final statistics and a summary line. On a failure it prints the end of the
# log and each crashing input in base64, with the command that replays it.
set -eu
exe=$1
seeds=$2
seconds=${3:-${LC_FUZZ_SECONDS:-60}}

work=$(mktemp -d "${TMPDIR:-/tmp}/lazychan-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/new"

rc=0
# libFuzzer stops itself after $seconds; timeout(1) only guards against a hang.
timeout -k 10 $((seconds + 120)) "$exe" -max_total_time="$seconds" -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "$seeds" \
    >"$work/log" 2>&1 || rc=$?

if [ "$rc" -ne 0 ]; then
    echo "fuzz_api failed (exit $rc):"
    # From the first report (a model check, a sanitizer, libFuzzer itself), else the end.
    first=$(grep -n -m1 -E 'check failed|==[0-9]+==ERROR|runtime error|ERROR: libFuzzer' \
        "$work/log" | cut -d: -f1)
    if [ -n "$first" ]; then
        sed -n "${first},$((first + 100))p" "$work/log"
    else
        tail -n 80 "$work/log"
    fi
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [ -f "$f" ] || continue
        echo
        echo "input $(basename "$f"), base64; replay it with:"
        echo "  echo '$(base64 -w0 "$f")' | base64 -d >input && $exe input"
    done
    exit 1
fi

grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+(INITED|DONE))|^stat::' "$work/log" || true
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
corpus=$(sed -n 's/.*DONE .* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' "$work/log")
new=$(find "$work/new" -type f | wc -l)
seeded=$(find "$seeds" -type f | wc -l)
echo "fuzz: ${runs:-?} executions in ${seconds} s (${speed:-?}/s); corpus ${corpus:-?}" \
    "(inputs/bytes) from $seeded seeds, $new new inputs written"
