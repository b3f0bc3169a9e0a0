#!/usr/bin/env bash
# Where the throughput time goes: perf on lcbench's throughput loop, for one implementation and
# one configuration. Uses software events only (cpu-clock sampling, tracepoints), so it works in
# a VM without a hardware PMU. Needs linux-perf; run as root or with perf_event_paranoid <= 1.
#
#   bash bench/profile.sh [BUILD_DIR] [IMPL] [CONFIG] [RUNS]
#   defaults: /tmp/bench-prof lc-copy-1024 1x8 3  (IMPL and CONFIG as lcbench --impl, --tp)
#
# BUILD_DIR is configured debugoptimized (-O2 -g, so perf can annotate) with -Dbench=true.
# Prints: perf stat (CPU time, context switches, futex calls); futex calls by the function that
# made them (glibc's malloc arena lock shows as __lll_lock_wait/wake_private, lazychan's parker
# as syscall); CPU samples by category; and, for lazychan's functions, the share of all samples
# that land just after a locked read-modify-write or a load (a cpu-clock sample's address is
# the instruction after the one that stalled).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-/tmp/bench-prof}
impl=${2:-lc-copy-1024}
config=${3:-1x8}
runs=${4:-3}
command -v perf >/dev/null ||
    { echo "profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 1; }
options=(-Dbench=true -Dbuildtype=debugoptimized -Db_ndebug=true -Dtests=disabled -Dexamples=disabled)
if [ -f "$build/build.ninja" ]; then
    meson configure "$build" "${options[@]}" >/dev/null
else
    meson setup "$build" . "${options[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench=("$build/bench/lcbench" --no-guard --only throughput --impl "$impl" --tp "$config"
    --runs "$runs")

echo "== $impl, $config, $runs runs of 2,000,000 messages"
perf stat -e task-clock,context-switches,cpu-migrations,syscalls:sys_enter_futex -x, \
    -o "$tmp/stat" "${bench[@]}" | grep -E '^\| [12]P'
awk -F, -v runs="$runs" '$3 != "" && $1 ~ /^[0-9.]+$/ {
    if ($3 == "task-clock")
        printf "  %-28s %9.0f ms  (%.0f ns of CPU per message, all threads)\n", $3, $1,
               $1 * 1e6 / (runs * 2e6)
    else
        printf "  %-28s %12.0f  (%.1f per 1000 messages)\n", $3, $1, $1 / (runs * 2000) }' \
    "$tmp/stat"

echo "== futex calls by caller"
perf record -q -e syscalls:sys_enter_futex -g -o "$tmp/futex.data" "${bench[@]}" >/dev/null 2>&1
perf script -i "$tmp/futex.data" -F ip,sym --hide-call-graph 2>/dev/null |
    awk 'NF >= 2 { c[$2]++ } END { for (k in c) printf "  %10d  %s\n", c[k], k }' |
    sort -rn | head -5

echo "== CPU samples by category (perf record -e cpu-clock)"
perf record -q -e cpu-clock -F 4999 -g -o "$tmp/cpu.data" "${bench[@]}" >/dev/null 2>&1
perf report -i "$tmp/cpu.data" --stdio --no-children -F overhead,dso,sym -g none \
    --percent-limit 0 2>/dev/null |
    awk '/^ +[0-9.]+%/ {
        p = $1; sub("%", "", p); dso = $2; sym = $NF
        if ($0 ~ /\[k\]/) c = "kernel (futex, scheduler, page faults)"
        else if (sym ~ /malloc|free|_int_|unlink_chunk|tcache|lll_lock|consolidate/)
            c = "allocator (glibc malloc/free, arena lock)"
        else if (sym ~ /clock_gettime/) c = "clock_gettime (vdso)"
        else if (dso ~ /lazychan/) c = "lazychan (queue, state word, waker, parker)"
        else if (dso ~ /glib/) c = "GLib"
        else if (sym ~ /memmove|memcpy/) c = "memcpy"
        else if (dso ~ /lcbench/) c = "benchmark loop and adapter"
        else c = "other: " dso
        t[c] += p
    } END { for (c in t) printf "  %5.1f%%  %s\n", t[c], c }' | sort -rn

echo "== lazychan functions: share of all samples after a locked RMW / after a load / other"
perf report -i "$tmp/cpu.data" --stdio --no-children -F overhead,dso,sym -g none \
    --percent-limit 0.3 2>/dev/null |
    awk '/^ +[0-9.]+%/ && /lazychan/ { p = $1; sub("%", "", p); print p, $NF }' |
    while read -r pct sym; do
        perf annotate -i "$tmp/cpu.data" --stdio -s "$sym" 2>/dev/null |
            awk -v tot="$pct" -v sym="$sym" '
            /^ +[0-9]+\.[0-9]+ :/ {
                l = $0; p = $1; sub(/^ +[0-9.]+ : +[0-9a-f]+: +/, "", l)
                if (prevlock) rmw += p; else if (prevload) ld += p; else oth += p
                prevlock = (l ~ /^lock /); prevload = (l ~ /^mov +(0x[0-9a-f]+)?\(%r/)
            }
            END { printf "  %-20s %5.1f%%: %5.1f%% / %5.1f%% / %5.1f%%\n",
                  sym, tot, tot * rmw / 100, tot * ld / 100, tot * oth / 100 }'
    done
