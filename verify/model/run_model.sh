#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Model-check one configuration of vq_flags.pml with Spin (see docs/model.md).
#
#   run_model.sh [options] [-DNAME[=VALUE]...]
#     -DN=4 -DBROKEN_RELEASE_ORDER ...   passed to spin (the model's knobs)
#     --expect-fail[=assertion|deadlock] succeed only if Spin finds an error
#                                        (of that kind, when given)
#     --workdir DIR    where pan.c, pan and the trail go (default: mktemp -d,
#                      removed afterwards); never the source tree
#     --cc CC          host C compiler for pan.c (default: $CC, gcc or cc)
#     --spin SPIN      spin executable (default: spin)
#   run_model.sh --check-map
#     check that every step in docs/model.md's mapping table is a label in the
#     model and that its anchor text is still on the queue.c lines it names
#
# Exit 0: clean, complete search (or, with --expect-fail, an error found).
# Exit 1: the opposite. Exit 2: usage or tool trouble.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
model="$here/vq_flags.pml"

die() { echo "run_model: $*" >&2; exit 2; }

check_map() {
    doc="$root/docs/model.md"
    src="$root/src/queue.c"
    [ -r "$doc" ] || die "no $doc"
    [ -r "$src" ] || die "no $src"
    # Table rows look like:  | `label` | function | 241-274 | `anchor` | ... |
    # (other tables' rows have no line range in the third column). The
    # anchor is the C text the step stands for; it must sit inside the line
    # range so a stale range (queue.c edited) fails loudly.
    # shellcheck disable=SC2016 # the backticks are Markdown, not expansions
    rows=$(grep -E '^\| `[A-Za-z_]+` \|' "$doc")
    bad=0
    count=0
    tab=$(printf '\t')
    while IFS="$tab" read -r label range anchor; do
        count=$((count + 1))
        # A step tag, or a macro, inline or the init process of the model.
        if ! grep -Fq "/* step $label */" "$model" &&
           ! grep -Eq "^(#define|inline) $label\(|^$label\$" "$model"; then
            echo "check-map: '$label' is neither a step tag nor a definition in vq_flags.pml"
            bad=1
        fi
        file=$src
        case $range in
            *:*) file="$root/src/${range%%:*}"; range=${range#*:} ;;
        esac
        [ -r "$file" ] || { echo "check-map: no $file (for $label)"; bad=1; continue; }
        lo=${range%-*}
        hi=${range#*-}
        # Only digits reach sed: anything else would be read as a command.
        case $lo$hi in
            ''|*[!0-9]*) echo "check-map: bad line range '$range' (for $label)"; bad=1; continue ;;
        esac
        if ! sed -n "${lo},${hi}p" "$file" | grep -Fq -- "$anchor"; then
            echo "check-map: '$anchor' not in ${file#"$root"/} lines $range (for $label)"
            bad=1
        fi
    done <<EOF
$(printf '%s\n' "$rows" | awk -F'|' '{
    l = $2; r = $4; a = $5
    gsub(/[ `]/, "", l); gsub(/ /, "", r)
    sub(/^ *`/, "", a); sub(/` *$/, "", a)
    if (r ~ /^([a-z_]+\.[ch]:)?[0-9]+-[0-9]+$/) printf "%s\t%s\t%s\n", l, r, a }')
EOF
    [ "$count" -gt 0 ] || die "no mapping rows in $doc"
    if [ "$bad" -ne 0 ]; then
        echo "check-map: FAIL (update docs/model.md to match src/queue.c)"
        exit 1
    fi
    echo "check-map: PASS ($count steps map to src/queue.c)"
    exit 0
}

expect=pass
kind=
workdir=
cc=${CC:-}
spin=spin
defs=

while [ $# -gt 0 ]; do
    case $1 in
        --check-map) check_map ;;
        --expect-fail) expect=fail ;;
        --expect-fail=assertion|--expect-fail=deadlock) expect=fail; kind=${1#*=} ;;
        --workdir) [ $# -ge 2 ] || die "--workdir needs a directory"; workdir=$2; shift ;;
        --cc) [ $# -ge 2 ] || die "--cc needs a compiler"; cc=$2; shift ;;
        --spin) [ $# -ge 2 ] || die "--spin needs a path"; spin=$2; shift ;;
        -D*) defs="$defs $1" ;;
        *) die "unknown argument '$1' (see the header of $0)" ;;
    esac
    shift
done

command -v "$spin" >/dev/null 2>&1 || die "spin not found (Debian: apt-get install spin)"
if [ -z "$cc" ]; then
    for c in gcc cc clang; do
        if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
    done
fi
[ -n "$cc" ] || die "no host C compiler for pan.c"

cleanup=
if [ -z "$workdir" ]; then
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/ampvq-model.XXXXXX") || die "mktemp failed"
    cleanup=$workdir
fi
case $workdir in
    "$root"/verify/*|"$root"/src/*|"$root"/docs/*) die "workdir inside the source tree: $workdir" ;;
esac
mkdir -p "$workdir" || die "cannot create $workdir"
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
# Spin writes pan.* and the trail into the current directory, named after
# the model file: work on a copy so nothing lands in the source tree.
cp "$model" "$workdir/vq_flags.pml" || die "cannot copy the model"
cd "$workdir" || die "cannot enter $workdir"
rm -f pan pan.* vq_flags.pml.trail

# shellcheck disable=SC2086 # $defs is a list of -D words
if ! "$spin" $defs -a vq_flags.pml >spin.log 2>&1; then
    cat spin.log
    die "spin -a failed"
fi
if grep -q '^error' spin.log; then
    cat spin.log
    die "spin reported errors in the model"
fi
# SAFETY: no never claim, only assertions and end states. MEMLIM caps a
# runaway configuration instead of swapping. The generated code trips
# warnings (-Wstringop-overflow on bounds-checked indexing), hence -w.
# -O1: pan.c takes twice as long to build at -O2 and the search barely
# gains; most configurations are compile-bound.
if ! "$cc" -O1 -w -DSAFETY -DMEMLIM=2048 -o pan pan.c >cc.log 2>&1; then
    cat cc.log
    die "compiling pan.c failed"
fi
# -m: depth bound far above the longest run (a few hundred steps);
# -w: hash slots, 2^22 (32 MB) where millions of states are expected (four
# or more slots), 2^18 otherwise: a big table costs time to clear;
# -n: no unreached-code listing (the broken-variant code is unreached).
case " $defs " in
    *" -DN=1 "*|*" -DN=2 "*) hash=18 ;;
    *) hash=22 ;;
esac
./pan -m1000000 -w$hash -n >pan.log 2>&1
status=$?

errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | tail -n 1)
states=$(sed -n 's/^ *\([0-9e.+]*\) states, stored.*/\1/p' pan.log | tail -n 1)
trans=$(sed -n 's/^ *\([0-9e.+]*\) transitions.*/\1/p' pan.log | tail -n 1)
depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' pan.log | tail -n 1)
vector=$(sed -n 's/.*State-vector \([0-9][0-9]*\) byte.*/\1/p' pan.log | tail -n 1)
secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' pan.log | tail -n 1)
reason=$(grep -E '^pan:[0-9]+: ' pan.log | head -n 1)

echo "model:${defs:- (defaults)}"
echo "  states stored: ${states:-?}  transitions: ${trans:-?}  depth: ${depth:-?}  state vector: ${vector:-?} bytes  time: ${secs:-?} s"

if [ -z "$errors" ]; then
    cat pan.log
    die "pan did not finish (exit $status)"
fi

# A search cut short by depth or memory proves nothing.
incomplete=
if grep -Eq 'max search depth too small|out of memory|Search not completed' pan.log; then
    incomplete=yes
fi

if [ "$errors" -eq 0 ]; then
    if [ -n "$incomplete" ]; then
        cat pan.log
        echo "RESULT: FAIL (search incomplete)"
        exit 1
    fi
    if [ "$expect" = pass ]; then
        echo "RESULT: PASS (exhaustive, no assertion violation, no invalid end state)"
        exit 0
    fi
    echo "RESULT: FAIL (expected Spin to find an error; it found none)"
    exit 1
fi

echo "  error: $reason"
# Replay the trail: the model's printf lines narrate each step with values
# (flags: 1 = AVAIL, 2 = USED, 3 = both), then Spin names the violated
# assertion or the state where both sides were stuck.
echo "  counter-example (spin -t):"
# shellcheck disable=SC2086
"$spin" $defs -t vq_flags.pml >trail.log 2>&1
lines=$(wc -l <trail.log)
if [ "$lines" -gt 150 ]; then
    echo "    ... (first $((lines - 150)) lines left out)"
fi
tail -n 150 trail.log | sed 's/^ *//; s/^/    /'
if [ "$expect" = pass ]; then
    echo "RESULT: FAIL (Spin found an error; trail above, files in $workdir)"
    cleanup=
    exit 1
fi
case $kind in
    assertion) want='assertion violated' ;;
    deadlock) want='invalid end state' ;;
    *) want='' ;;
esac
if [ -n "$want" ] && ! printf '%s\n' "$reason" | grep -q "$want"; then
    echo "RESULT: FAIL (expected '$want', got: $reason)"
    exit 1
fi
echo "RESULT: PASS (error found as expected)"
exit 0
