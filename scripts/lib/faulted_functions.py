"""Names the functions of a binary whose code faulted, from `perf script -F pid,addr,ip,sym,symoff,dso`
of a `perf record -e page-faults -d` run (scripts/symbol-order).

usage: faulted_functions.py BINARY KNOWN_ORDER_FILE < perf-script-output
Prints, in order of first fault, each function not already in KNOWN_ORDER_FILE.
"""
import bisect
import re
import subprocess
import sys

binary, known_path = sys.argv[1], sys.argv[2]
known = set(open(known_path).read().split())
functions = []
for line in subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        functions.append((int(parts[0], 16), parts[2]))
starts = [a for a, _ in functions]
address_of = {name: a for a, name in functions}

# "  pid  addr  addr-sym+off (dso)  ip  ip-sym+off (dso)"
line_shape = re.compile(r"\s*(\d+)\s+([0-9a-f]+)\s+.*?\s+\((\S+)\)\s+([0-9a-f]+)\s+(\S+?)(?:\+0x([0-9a-f]+))?\s+\((\S+)\)")
faults, bases = [], {}
for line in sys.stdin:
    m = line_shape.match(line)
    if not m or m.group(7) != binary or m.group(2) != m.group(4):
        continue
    pid, ip, name, offset = m.group(1), int(m.group(4), 16), m.group(5), m.group(6)
    if pid not in bases and name in address_of and offset is not None:
        bases[pid] = ip - int(offset, 16) - address_of[name]
    faults.append((pid, ip))
for pid, ip in faults:
    if pid not in bases:
        continue
    index = bisect.bisect_right(starts, ip - bases[pid]) - 1
    if index < 0:
        continue
    name = functions[index][1]
    if name not in known:
        known.add(name)
        print(name)
