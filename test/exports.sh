#!/bin/sh
# The shared library exports exactly the functions the public header declares (LC_API), each
# under the version node of src/lazychan.map, and nothing else.
# Usage: exports.sh LIBRARY.so HEADER
set -eu
lib=$1 header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Declarations span lines: drop the preprocessor's, join the rest, then take the name before the first '(' of each LC_API.
grep -v '^#' "$header" | tr '\n' ' ' | grep -o 'LC_API[^;(]*(' | sed 's/($//; s/.*[ *]//' | sort >"$tmp/header"
# Defined dynamic symbols, without the version node's own absolute symbol.
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort >"$tmp/exported"
sed 's/@@LAZYCHAN_0$//' "$tmp/exported" >"$tmp/names"
status=0
if ! diff -u "$tmp/header" "$tmp/names"; then
    echo "exports.sh: '-' declared but not exported, '+' exported but not declared" >&2
    status=1
fi
if grep -v '@@LAZYCHAN_0$' "$tmp/exported"; then
    echo "exports.sh: the symbols above are not in the version node LAZYCHAN_0" >&2
    status=1
fi
[ "$status" = 0 ] && echo "$(wc -l <"$tmp/names") functions exported, as declared"
exit $status
