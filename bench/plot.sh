#!/usr/bin/env bash
# Plots what `lcbench --tsv FILE` wrote: throughput (million messages/s, median with min-max
# bars) and idle bytes per channel (requested, heap and RSS at the largest channel count,
# log scale), lazychan beside the peers, as one SVG. Needs gnuplot (Debian: gnuplot-nox).
#
#   bash bench/plot.sh bench/results/lcbench.tsv bench/results/lcbench.svg
set -euo pipefail

in=${1:?usage: plot.sh RESULTS.tsv [OUT.svg]}
out=${2:-${in%.tsv}.svg}
command -v gnuplot >/dev/null ||
    { echo "plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One data file per panel: a line per cluster (a config, or a memory figure), then median, min
# and max for each implementation in order of first appearance; and the plot commands for it.
awk -F'\t' -v dir="$tmp" '
function colour(id) {
    if (id ~ /^ring/) return id == "ring-1024" ? "#bbbbbb" : "#777777"
    if (id == "glib") return "#e6862e"
    if (id == "urcu") return "#3a9a4a"
    if (id ~ /^lc-node/) return "#08306b"
    if (id ~ /^lc-copy-(1024|16|1)$/) return "#2171b5"
    return "#6baed6"
}
function emit(panel, nclusters, clusters, nids, ids, label, val,    f, c, i, k, cmd) {
    f = dir "/" panel ".dat"
    for (c = 1; c <= nclusters; c++) {
        printf "\"%s\"", clusters[c] > f
        for (i = 1; i <= nids; i++) {
            k = clusters[c] SUBSEP ids[i]
            printf " %s", (k in val) ? val[k] : "NaN NaN NaN" > f
        }
        printf "\n" > f
    }
    close(f)
    cmd = "plot "
    for (i = 1; i <= nids; i++)
        cmd = cmd sprintf("%s\"%s\" using %d:%d:%d%s title \"%s\" lc rgb \"%s\"",
                          i > 1 ? ", " : "", f, 3 * i - 1, 3 * i, 3 * i + 1,
                          i == 1 ? ":xtic(1)" : "", label[ids[i]], colour(ids[i]))
    print cmd > (dir "/" panel ".plot")
    close(dir "/" panel ".plot")
}
NR == 1 { next }
$1 == "throughput" {
    if (!($2 in tc)) { tc[$2] = 1; tcl[++ntc] = $2 }
    if (!($3 in ti)) { ti[$3] = 1; tid[++nti] = $3; tlabel[$3] = $4 }
    tval[$2 SUBSEP $3] = $6 " " $7 " " $8
}
$1 == "memory" { if ($2 + 0 > maxn) maxn = $2 + 0; mem[NR] = $0 }
END {
    if (ntc) emit("throughput", ntc, tcl, nti, tid, tlabel, tval)
    nmc = split("requested heap rss", mname, " ")
    split("requested|heap (mallinfo2)|RSS", mshow, "|")
    for (c = 1; c <= nmc; c++) mcl[c] = mshow[c]
    for (r in mem) {
        split(mem[r], f, "\t")
        if (f[2] + 0 != maxn) continue
        if (!(f[3] in mi)) { mi[f[3]] = 1; order[f[3]] = r; mlabel[f[3]] = f[4] }
        for (c = 1; c <= nmc; c++)
            if (f[5] == mname[c]) mval[mshow[c] SUBSEP f[3]] = f[6] " " f[7] " " f[8]
    }
    # ids in the order lcbench printed them
    n = 0
    for (id in order) { n++; mid[n] = id }
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && order[mid[j]] + 0 < order[mid[j - 1]] + 0; j--) {
            t = mid[j]; mid[j] = mid[j - 1]; mid[j - 1] = t
        }
    if (n) emit("memory", nmc, mcl, n, mid, mlabel, mval)
    printf "%d\n", maxn > (dir "/maxn")
}' "$in"

panels=0
[ -f "$tmp/throughput.plot" ] && panels=$((panels + 1))
[ -f "$tmp/memory.plot" ] && panels=$((panels + 1))
[ "$panels" -gt 0 ] || { echo "plot.sh: no throughput or memory rows in $in" >&2; exit 1; }
maxn=$(cat "$tmp/maxn")

{
    echo "set terminal svg size 1000,$((430 * panels)) dynamic font 'sans,12' background '#ffffff'"
    echo "set output '$out'"
    echo "set multiplot layout $panels,1"
    echo "set style data histogram"
    echo "set style histogram errorbars gap 2 lw 1"
    echo "set style fill solid 0.9 border -1"
    echo "set boxwidth 0.9"
    echo "set grid ytics"
    echo "set key outside right top vertical"
    echo "set yrange [0:*]"
    if [ -f "$tmp/throughput.plot" ]; then
        echo "set title 'Throughput, blocking receive (median of the runs; bars: min-max)'"
        echo "set ylabel 'million messages/s'"
        cat "$tmp/throughput.plot"
    fi
    if [ -f "$tmp/memory.plot" ]; then
        echo "set title sprintf('Idle memory: %d idle channels of 24-byte messages', $maxn)"
        echo "set ylabel 'bytes per channel (log scale)'"
        echo "set logscale y"
        echo "set yrange [10:*]"
        cat "$tmp/memory.plot"
    fi
    echo "unset multiplot"
} >"$tmp/all.gp"
gnuplot "$tmp/all.gp"
echo "wrote $out"
