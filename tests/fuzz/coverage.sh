#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Line coverage of the core reached by the seed corpora (README.md).
#
#   tests/fuzz/coverage.sh [BUILD_DIR] [CORPUS_ROOT]
#
# Configures BUILD_DIR (default /tmp/ampvq-fuzz-cov) with
# -DAMPVQ_FUZZ_COVERAGE=ON, builds the targets (both variants: non-coherent
# and _coh), replays every input of CORPUS_ROOT/<target>/ (default: the
# seeds) once with each, merges the profiles and prints llvm-cov's per-file
# report of src/ and the uncovered lines of queue.c, queue_batch.c,
# queue_ext.c and queue_link.c.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-/tmp/ampvq-fuzz-cov}
corpora=${2:-$here/corpus}
profdata=${LLVM_PROFDATA:-llvm-profdata}
cov=${LLVM_COV:-llvm-cov}

cmake -S "$root" -B "$build" -DAMPVQ_BUILD_TESTS=ON -DAMPVQ_FUZZ_COVERAGE=ON >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target ampvq_fuzzers >/dev/null
bins=""
rm -f "$build"/tests/fuzz/cov-*.profraw
for t in fuzz_queue_master fuzz_queue_remote fuzz_sub_init fuzz_sys_info \
    fuzz_queue_master_coh fuzz_queue_remote_coh fuzz_sub_init_coh fuzz_sys_info_coh; do
    bin=$build/tests/fuzz/$t
    LLVM_PROFILE_FILE="$build/tests/fuzz/cov-$t-%p.profraw" \
        "$bin" -runs=0 "$corpora/${t%_coh}" >"$build/tests/fuzz/cov-$t.log" 2>&1
    if [ -z "$bins" ]; then bins=$bin; else bins="$bins -object=$bin"; fi
done
"$profdata" merge -sparse "$build"/tests/fuzz/cov-*.profraw -o "$build/tests/fuzz/cov.profdata"
# shellcheck disable=SC2086
"$cov" report $bins -instr-profile="$build/tests/fuzz/cov.profdata" "$root"/src/*.c
for f in queue.c queue_batch.c queue_ext.c queue_link.c; do
    echo "== lines of src/$f never run:"
    # shellcheck disable=SC2086
    "$cov" show $bins -instr-profile="$build/tests/fuzz/cov.profdata" "$root/src/$f" |
        grep -E '^ *[0-9]+\| *0\|' || echo "   (none)"
done
