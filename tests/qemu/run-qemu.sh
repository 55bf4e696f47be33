#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Boot one riscv-virt firmware in QEMU (two harts, multi-threaded TCG) under
# a wall-clock bound, so that a hung firmware fails instead of stalling CI.
# Passes if QEMU exits with status 0 (the sifive_test device: app_main()
# returned 0 and the sub core finished) and, if given, a line of the output
# matches EXPECT (an extended regular expression).
#
# usage: run-qemu.sh QEMU SECONDS FIRMWARE.elf [EXPECT]
set -u
qemu=$1
seconds=$2
elf=$3
expect=${4:-}

if [ ! -f "$elf" ]; then
    echo "run-qemu: FAIL: no firmware $elf (build the host tree first)"
    exit 2
fi
log=$(mktemp) || exit 2
trap 'rm -f "$log"' EXIT INT TERM

start=$(date +%s%N)
# stdin from /dev/null: QEMU then leaves the terminal settings alone, and
# there is nobody to type at the console anyway.
timeout -k 5 "$seconds" "$qemu" -machine virt -smp 2 -bios none -nographic -kernel "$elf" \
    </dev/null >"$log" 2>&1
rc=$?
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))

# The UART sends CR LF; CTest logs want plain lines.
tr -d '\r' <"$log"

if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "run-qemu: FAIL: no exit within ${seconds} s (killed)"
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "run-qemu: FAIL: firmware exit status $rc after $ms ms"
    exit 1
fi
if [ -n "$expect" ] && ! tr -d '\r' <"$log" | grep -Eq -- "$expect"; then
    echo "run-qemu: FAIL: no line matches '$expect'"
    exit 1
fi
echo "run-qemu: exit status 0 after $ms ms (wall clock)"
exit 0
