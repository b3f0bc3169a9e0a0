#!/bin/sh
# Checks the protocol model src/protocol.pml exhaustively with spin:
#   1. a safety search: every assertion, and no invalid end state (a thread stuck for good);
#   2. a cycle search (pan -l with no progress label): no run can go on forever.
# Both must be complete: the runner fails if the depth limit or the memory limit cut one short.
#
#   src/model.sh [--no-cycles] [-O0|-O1|-O2] [-DNAME[=VALUE]...]
#
# The -D switches select the configuration and the mutations (see the model's header comment);
# a mutation is expected to fail. -O sets how the verifier is compiled: -O2 (the default), or
# -O0, which compiles five times faster and searches three times slower, for small searches.
# Exit status: 0 when the model holds, 1 when spin finds a counterexample (printed, with how to
# replay it), 77 when spin or a C compiler is missing, 99 when the check could not be
# completed.
# Environment: SPIN, CC (default: spin, cc), LC_MODEL_MEMLIM (megabytes per search, default
# 4096), LC_MODEL_KEEP=1 to keep the scratch directory, TMPDIR.
set -u

here=$(cd "$(dirname "$0")" && pwd)
model="$here/protocol.pml"
spin=${SPIN:-spin}
cc=${CC:-cc}
memlim=${LC_MODEL_MEMLIM:-4096}
depth=100000
cycles=1
defines=""
opt=-O2

for arg in "$@"; do
    case $arg in
    --no-cycles) cycles=0 ;;
    -O[0-3s]) opt=$arg ;;
    -D*) defines="$defines $arg" ;;
    *) echo "usage: $0 [--no-cycles] [-O0|-O1|-O2] [-DNAME[=VALUE]...]" >&2; exit 99 ;;
    esac
done

command -v "$spin" >/dev/null 2>&1 || { echo "model: $spin not found"; exit 77; }
command -v "${cc%% *}" >/dev/null 2>&1 || { echo "model: $cc not found"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lazychan-model.XXXXXX") || exit 99
if [ "${LC_MODEL_KEEP:-0}" = 1 ]; then
    echo "model: scratch directory $work"
else
    trap 'rm -rf "$work"' EXIT
fi
trap 'exit 99' HUP INT TERM
cd "$work" || exit 99
cp "$model" protocol.pml || exit 99

echo "model: protocol.pml${defines:- (defaults)}"
# shellcheck disable=SC2086 # $defines is a list of words
if ! "$spin" -a $defines protocol.pml >spin.out 2>&1; then
    cat spin.out
    echo "model: spin -a failed"
    exit 99
fi

# The figures of one search, then whether it is complete and clean: 0 clean, 1 errors, 99 cut
# short.
report() { # name output-file
    figures='^State-vector|states, (stored|matched)|transitions \(|total actual memory|elapsed'
    grep -E "$figures" "$2" | sed -e 's/^[[:space:]]*//' -e "s/^/model: $1: /"
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$2" | head -n 1)
    [ -n "$errors" ] || { cat "$2"; echo "model: $1: no result from pan"; return 99; }
    [ "$errors" = 0 ] || return 1 # pan stops at the first error: that search is not complete
    cut='max search depth too small|out of memory|reached -DMEMLIM|Search not completed'
    if grep -qE "$cut" "$2"; then
        grep -E "$cut" "$2" | sed "s/^/model: $1: /"
        echo "model: $1: the search was cut short"
        return 99
    fi
    return 0
}

# What spin found: the error, the replay's final state, and how to replay it in full.
counterexample() { # name output-file
    echo "model: $1: COUNTEREXAMPLE"
    grep -E '^pan:[0-9]' "$2" | sed "s/^/model: $1: /"
    # shellcheck disable=SC2086
    "$spin" -t $defines protocol.pml 2>&1 | sed -n '/^spin: trail ends/,$p' | sed "s/^/  /"
    echo "model: to replay it step by step, run this again with LC_MODEL_KEEP=1, then in the"
    echo "model: directory it names: spin -t -p$defines protocol.pml"
}

# One search: compiles pan with its -D flags, runs it, reports; exits on a counterexample or
# an incomplete search. search NAME BINARY "CFLAGS" "PAN FLAGS"
pan_flags="-w -DCOLLAPSE -DMEMLIM=$memlim"
search() {
    # shellcheck disable=SC2086 # $cc, $pan_flags and $3, $4 are lists of words
    $cc "$opt" $pan_flags $3 -o "$2" pan.c || { echo "model: cc failed"; exit 99; }
    rm -f protocol.pml.trail
    # shellcheck disable=SC2086
    ./"$2" $4 -m"$depth" -n >"$1.out" 2>&1
    report "$1" "$1.out"
    rc=$?
    if [ $rc = 1 ]; then
        counterexample "$1" "$1.out"
        exit 1
    fi
    [ $rc = 0 ] || exit $rc
}

# 1. Safety: assertions and end states.
search safety pan -DSAFETY ""
echo "model: safety: no assertion violated, no invalid end state"

[ $cycles = 1 ] || exit 0

# 2. Cycles: with no progress label, every cycle is a non-progress cycle.
search cycles pan-np -DNP -l
echo "model: cycles: none, every run ends"
exit 0
