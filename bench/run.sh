#!/usr/bin/env bash
# Builds lcbench (release, -O2, NDEBUG) and runs the full benchmark, writing the tables to
# bench/results/lcbench.md, the figures to bench/results/lcbench.tsv and the plot to
# bench/results/lcbench.svg. Extra arguments go to lcbench (e.g. --runs 9, --only memory).
#
#   bash bench/run.sh [BUILD_DIR] [lcbench arguments...]      (BUILD_DIR: /tmp/bench-build)
#
# Needs: meson, ninja, gcc, pkg-config, libatomic-ops-dev; for the peers libglib2.0-dev and
# liburcu-dev; for the plot gnuplot-nox.
set -euo pipefail
cd "$(dirname "$0")/.."

build=/tmp/bench-build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
options=(-Dbench=true -Dbuildtype=release -Doptimization=2 -Db_ndebug=true
    -Dtests=disabled -Dexamples=disabled)
if [ -f "$build/build.ninja" ]; then
    meson configure "$build" "${options[@]}" >/dev/null
else
    meson setup "$build" . "${options[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null

mkdir -p bench/results
"$build/bench/lcbench" --tsv bench/results/lcbench.tsv "$@" | tee bench/results/lcbench.md
bash bench/plot.sh bench/results/lcbench.tsv bench/results/lcbench.svg
