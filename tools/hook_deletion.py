#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Delete each cache hook call of the core, one at a time, and check that
the non-coherent tests notice.

For every call of cache_writeback( / cache_invalidate( (the core's helpers)
or ampvq_port_cache_writeback( / ampvq_port_cache_invalidate( in src/*.c and
src/*.h, this copies the tree once, disables that single call (it becomes
`if (0) { call }`, so the arguments stay used and the build stays -Werror
clean), builds the NC variant (target nc_all) and runs `ctest -L nc`. A hook
whose deletion no test notices is reported SURVIVED and the exit status is 1.

  tools/hook_deletion.py [--source DIR] [--work DIR] [--jobs N]

or `cmake --build BUILD --target hook-check`. See docs/noncoherent.md.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

CALL = re.compile(r"\b((?:ampvq_port_)?cache_(writeback|invalidate))\(")


def find_calls(src):
    """(relative path, line number, hook, statement) of every call site."""
    calls = []
    for name in sorted(os.listdir(src)):
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(src, name)) as f:
            lines = f.readlines()
        for no, line in enumerate(lines, 1):
            m = CALL.search(line)
            if not m:
                continue
            # The helpers' own definitions and the port.h prototypes are
            # not calls.
            if re.match(r"\s*(static\s+inline\s+)?void\s", line):
                continue
            end = line.index(";", m.start())
            calls.append(("src/" + name, no, m.group(1), line[m.start():end + 1]))
    return calls


def run(cmd, cwd=None, timeout=None):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)


def failed_tests(out):
    """Names of the tests ctest listed as failed."""
    names = []
    take = False
    for line in out.splitlines():
        if line.startswith("The following tests FAILED"):
            take = True
            continue
        if take:
            m = re.match(r"\s*\d+ - (\S+) \((.*)\)", line)
            if m:
                names.append(m.group(1) + ("" if m.group(2) == "Failed" else " (" + m.group(2) + ")"))
    return names


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=os.path.dirname(here))
    ap.add_argument("--work", default="/tmp/ampvq-hook-check")
    ap.add_argument("--jobs", default="2")
    args = ap.parse_args()

    src = os.path.abspath(args.source)
    tree = os.path.join(args.work, "tree")
    build = os.path.join(args.work, "build")
    # A fresh build too: copytree keeps the sources' times, which can be
    # older than objects an earlier run built from a modified copy.
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns(".git", "build*"))
    calls = find_calls(os.path.join(src, "src"))
    if not calls:
        print("hook_deletion: no cache hook calls found in src/")
        return 2

    r = run(["cmake", "-S", tree, "-B", build, "-DAMPVQ_BUILD_TESTS=ON", "-DAMPVQ_BUILD_EXAMPLES=OFF",
             "-DAMPVQ_BUILD_BENCH=OFF"])
    if r.returncode != 0:
        print(r.stdout)
        return 2

    def build_and_test():
        b = run(["cmake", "--build", build, "-j", args.jobs, "--target", "nc_all"])
        if b.returncode != 0:
            return None, b.stdout
        # The cross and QEMU "nc" tests check the padded layout compiles and
        # runs; they call no hook and need builds nc_all does not make.
        t = run(["ctest", "--test-dir", build, "-L", "nc", "-LE", "cross|qemu", "-j", args.jobs], timeout=900)
        return t.returncode == 0, t.stdout

    ok, out = build_and_test()
    if ok is not True:
        print(out)
        print("hook_deletion: the unmodified tree does not build or pass `ctest -L nc`")
        return 2

    rows = []
    for path, no, hook, stmt in calls:
        target = os.path.join(tree, path)
        with open(os.path.join(src, path)) as f:
            original = f.read()
        lines = original.splitlines(True)
        line = lines[no - 1]
        lines[no - 1] = line.replace(stmt, "if (0) { " + stmt + " }", 1)
        with open(target, "w") as f:
            f.write("".join(lines))
        t0 = time.time()
        ok, out = build_and_test()
        with open(target, "w") as f:
            f.write(original)
        if ok is None:
            verdict = "BUILD FAILED"
        elif ok:
            verdict = "SURVIVED"
        else:
            names = failed_tests(out)
            unit = [n for n in names if not n.startswith("nc_stress_")]
            stress = len(names) - len(unit)
            verdict = ", ".join(unit + (["%d two-core stress form%s" % (stress, "s" if stress > 1 else "")]
                                        if stress else [])) or "failed"
        rows.append(("%s:%d" % (path, no), stmt, verdict))
        print("%-22s %-55s %s  (%.0f s)" % (rows[-1] + (time.time() - t0,)), flush=True)

    print()
    print("| call site | hook call deleted | `nc` tests that failed |")
    print("|---|---|---|")
    for site, stmt, verdict in rows:
        print("| %s | `%s` | %s |" % (site, stmt, verdict))
    survived = [r for r in rows if r[2] in ("SURVIVED", "BUILD FAILED")]
    print()
    print("%d hook calls, %d caught, %d survived" % (len(rows), len(rows) - len(survived), len(survived)))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
