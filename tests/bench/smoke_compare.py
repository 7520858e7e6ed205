"""Smoke test of the benchmark tool (suite bench-smoke), so that it cannot rot:
runs `compare.py --quick --scenario B1` and checks that the table is printed
with a row of numbers for both the daemon and the baseline, and that both
finished the sweep (exit 0). It asserts no time.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

res = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), "--quick",
                      "--scenario", "B1"], capture_output=True, text=True, timeout=600)
sys.stdout.write(res.stdout)
sys.stderr.write(res.stderr)
if res.returncode != 0:
    sys.exit(f"FAIL: compare.py exited {res.returncode}")
NUM = r"\d+(?:\.\d+)?"
row = re.compile(
    rf"^\| B1 \S+ \| (daemon|baseline) \| (\d+) \| ({NUM}) \| {NUM} % \| {NUM} s \| "
    rf"{NUM} s \((lat|rate|chain|mail)\) \| {NUM} \| {NUM} µs \| {NUM} MiB \| (\d+) \| {NUM} s \|$")
seen = {}
for line in res.stdout.splitlines():
    m = row.match(line)
    if m:
        seen[m.group(1)] = m
for tool in ("daemon", "baseline"):
    if tool not in seen:
        sys.exit(f"FAIL: no table row of numbers for {tool}")
    m = seen[tool]
    if m.group(2) != "0":
        sys.exit(f"FAIL: {tool} exited {m.group(2)}")
    if int(m.group(3)) == 0 or int(m.group(5)) == 0:
        sys.exit(f"FAIL: {tool}: no requests or no connections counted")
print("ok: the table has numbers for both tools")
