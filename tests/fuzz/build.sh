#!/bin/sh
# Builds the libFuzzer target (clang: apt-get install clang libclang-rt-14-dev) into $OUT
# (default build-fuzz/ext_open_fuzz). Run:  nice build-fuzz/ext_open_fuzz -max_total_time=600 \
#   -max_len=1048576 build-fuzz/corpus tests/fuzz/corpus
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/build-fuzz}
mkdir -p "$OUT"
CXX=${CXX:-clang++}
SRCS="$ROOT/tests/fuzz/ext_open_fuzz.cpp $(ls "$ROOT"/core/ext/*.cpp "$ROOT"/core/cow/*.cpp | grep -v _test.cpp) $ROOT/core/log.cpp"
# shellcheck disable=SC2086
$CXX -std=gnu++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$ROOT" $SRCS -o "$OUT/ext_open_fuzz" $(pkg-config --libs ext2fs com_err)
# The same with writes on the opened image (ext_write_fuzz).
# shellcheck disable=SC2086
$CXX -std=gnu++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DUM_FUZZ_WRITE -I"$ROOT" $SRCS -o "$OUT/ext_write_fuzz" $(pkg-config --libs ext2fs com_err)
echo "$OUT/ext_open_fuzz $OUT/ext_write_fuzz"
