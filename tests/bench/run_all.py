"""Runs the sweep benchmarks one after the other and prints their figures."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for args in (["--accounts", "1000", "--users", "50", "--due", "0.1"],
             ["--accounts", "1000", "--users", "50", "--due", "0.1", "--once"]):
    print("== sweep_scale.py " + " ".join(args), flush=True)
    subprocess.run([sys.executable, os.path.join(HERE, "sweep_scale.py")] + args, check=False)
