#!/bin/sh
# Compiles test/header_use.c with one compiler and language standard, strictly, links it with
# liblazychan and runs it: the public header must build warning-free for C and C++ users alike.
# Usage: header_compile.sh COMPILER c|c++ STD SOURCE INCLUDE_DIR LIBRARY
set -eu
compiler=$1 lang=$2 std=$3 source=$4 incdir=$5 library=$6
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set -x
"$compiler" -x "$lang" "-std=$std" -pedantic -Wall -Wextra -Werror -I "$incdir" "$source" \
    -x none "$library" -Wl,-rpath,"$(cd "$(dirname "$library")" && pwd)" -pthread -o "$out"
"$out"
