#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Re-point docs/model.md's step -> src/queue.c line ranges after queue.c moved.

For each mapping row (| `step` | function | LO-HI | `anchor` | ...), the
anchor's offset inside LO-HI is taken from queue.c as committed (the version
the table was written against, `git show REV:src/queue.c`, REV = HEAD unless
given), and the range is moved so the anchor keeps that offset in the
working copy. Rows whose anchor is gone are reported and left alone: the
code the step stands for changed and the row needs a human.

Usage: update_map.py [REV]
"""
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
doc = root / "docs" / "model.md"
src = (root / "src" / "queue.c").read_text().splitlines()
rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
old_src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:src/queue.c"], check=True,
                         capture_output=True, text=True).stdout.splitlines()
row = re.compile(r"^\| `(?P<step>[A-Za-z_]+)` \| (?P<func>[^|]*?) \| (?P<lo>\d+)-(?P<hi>\d+) \| `(?P<anchor>[^`]*)` \|")


def function_span(name):
    """First and last line (1-based) of the definition of `name`, or the file."""
    name = name.strip().strip("`")
    start = None
    for i, line in enumerate(src):
        if start is None and re.match(rf"^(static )?[\w ]+\b{re.escape(name)}\(", line):
            start = i
        elif start is not None and line == "}":
            return start + 1, i + 1
    return 1, len(src)


out, bad = [], 0
for line in doc.read_text().splitlines():
    m = row.match(line)
    if not m:
        out.append(line)
        continue
    lo, hi = int(m["lo"]), int(m["hi"])
    f_lo, f_hi = function_span(m["func"])
    hits = [i + 1 for i in range(f_lo - 1, f_hi) if m["anchor"] in src[i]]
    if not hits:
        print(f"update_map: anchor for {m['step']} not found in {m['func'].strip()}: {m['anchor']!r}")
        bad = 1
        out.append(line)
        continue
    old_hits = [i + 1 for i in range(lo - 1, min(hi, len(old_src))) if m["anchor"] in old_src[i]]
    offset = old_hits[0] - lo if old_hits else 0
    new_lo = hits[0] - offset
    new_hi = new_lo + (hi - lo)
    out.append(line.replace(f"| {lo}-{hi} |", f"| {new_lo}-{new_hi} |", 1))
doc.write_text("\n".join(out) + "\n")
sys.exit(bad)
