#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Runs an ampvq fuzz target (see README.md in this folder).
#
#   run_fuzz.sh corpus BIN SEEDS
#       run every seed input of SEEDS once (no fuzzing; nothing is written)
#   run_fuzz.sh short BIN SEEDS SECONDS WORK
#       fuzz for SECONDS from a fresh copy of SEEDS in WORK/corpus;
#       crashes are saved in WORK/artifacts
#   run_fuzz.sh long BINDIR SEEDROOT SECONDS WORK
#       every fuzz_* target in BINDIR for SECONDS each; new inputs are kept
#       in WORK/<target>/corpus across runs (the seeds are read, never
#       written), then a minimised copy is merged into WORK/<target>/merged
#
# FUZZ_TIMEOUT (default 20) is the per-input time limit in seconds. An input
# takes milliseconds; the limit only turns a hang into a report. It is not
# 5 s because on a small machine shared with the other test suites an
# input was seen to stall for 5-7 s without being at fault.
set -eu

mode=$1
here=$(cd "$(dirname "$0")" && pwd)
opts="-timeout=${FUZZ_TIMEOUT:-20} -rss_limit_mb=2048 -dict=$here/ampvq.dict -print_final_stats=1"

case $mode in
corpus)
    bin=$2 seeds=$3
    set -- "$seeds"/*
    [ -e "$1" ] || { echo "no seed inputs in $seeds" >&2; exit 1; }
    echo "replaying $# inputs of $seeds"
    # Files, not a directory: libFuzzer runs each once and exits.
    # shellcheck disable=SC2086
    exec "$bin" $opts "$@"
    ;;
short)
    bin=$2 seeds=$3 secs=$4 work=$5
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp "$seeds"/* "$work/corpus/"
    # shellcheck disable=SC2086
    exec "$bin" $opts -max_total_time="$secs" -artifact_prefix="$work/artifacts/" "$work/corpus"
    ;;
long)
    bindir=$2 seedroot=$3 secs=$4 work=$5
    failed=""
    for bin in "$bindir"/fuzz_*; do
        [ -x "$bin" ] && [ -f "$bin" ] || continue
        t=$(basename "$bin")
        seeds=${t%_coh} # the coherent variant reads the same seeds
        mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
        echo "== $t: $secs s, work corpus $work/$t/corpus"
        # shellcheck disable=SC2086
        if ! "$bin" $opts -max_total_time="$secs" -artifact_prefix="$work/$t/artifacts/" \
            "$work/$t/corpus" "$seedroot/$seeds" >"$work/$t/fuzz.log" 2>&1; then
            failed="$failed $t"
            tail -n 60 "$work/$t/fuzz.log"
        fi
        grep -E '^#[0-9]+[[:space:]]+DONE|^stat::' "$work/$t/fuzz.log" || true
        rm -rf "$work/$t/merged"
        mkdir -p "$work/$t/merged"
        "$bin" -merge=1 "$work/$t/merged" "$seedroot/$seeds" "$work/$t/corpus" >"$work/$t/merge.log" 2>&1 || true
        echo "   minimised corpus: $(ls "$work/$t/merged" | wc -l) inputs in $work/$t/merged"
    done
    if [ -n "$failed" ]; then
        echo "fuzz: failures in:$failed (inputs in $work/<target>/artifacts)" >&2
        exit 1
    fi
    echo "fuzz: no failure. To refresh a seed corpus: BIN -merge=1 tests/fuzz/corpus/<target> $work/<target>/merged"
    echo "      (<target> without _coh: both variants share the seeds)"
    ;;
*)
    echo "usage: $0 corpus|short|long ..." >&2
    exit 2
    ;;
esac
