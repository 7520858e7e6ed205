"""Runs the daemon once, under a profiler or not, against a fresh fake AWS
endpoint holding a generated organization, and prints what the fake saw.

    python3 tests/bench/profile_run.py ACCOUNTS USERS DUE_FRACTION [--latency-ms N]
            [--mode --once|--dry-run] [-- PREFIX...]

PREFIX is the profiler's command line, for example
    -- valgrind --tool=callgrind --callgrind-out-file=cg.out
    -- perf record -g -o perf.data
The daemon is AKR_BINARY (default build/daemon/iam-access-key-rotator), with
the benchmark's configuration (tests/bench/compare.py). Figures only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import BINARY, Fake, Rotator, SOURCE_DIR  # noqa: E402


def main():
    argv = sys.argv[1:]
    prefix = []
    if "--" in argv:
        i = argv.index("--")
        argv, prefix = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("accounts", type=int)
    ap.add_argument("users", type=int)
    ap.add_argument("due", type=float)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--mode", default="--once", choices=("--once", "--dry-run"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="akr-prof-") as tmp:
        scen = os.path.join(tmp, "scenario.json")
        subprocess.run([sys.executable,
                        os.path.join(SOURCE_DIR, "tests", "fakeaws", "gen_scenario.py"),
                        "--accounts", str(args.accounts), "--users", str(args.users),
                        "--seed", "1", "--due-fraction", str(args.due), "-o", scen],
                       check=True)
        fake = Fake(scen, ["--latency-ms", str(args.latency_ms)] if args.latency_ms else [])
        try:
            rot = Rotator(fake, {"limits": {"max_requests_in_flight": 64,
                                            "max_requests_per_account": 8},
                                 "email": {"max_send_rate": 100}})
            try:
                res = subprocess.run(prefix + [BINARY] + rot.args(args.mode)[1:],
                                     env=rot.env(), capture_output=True, text=True)
                print(f"exit {res.returncode}")
                print(res.stderr[-1000:])
                st = fake.stats()
                print(f"requests {st['requests']}, throttled {st['throttled']}, "
                      f"connections {st.get('connections_opened')}")
                print(json.dumps(st["by_action"]))
            finally:
                rot.close()
        finally:
            fake.close()


if __name__ == "__main__":
    main()
