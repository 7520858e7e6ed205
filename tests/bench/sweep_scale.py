"""Benchmark: one sweep of a large generated organization on the fake AWS
endpoint. Prints the wall time, the peak RSS of the daemon, and the fake's
request figures. Run by hand (not a timed test):

    python3 tests/bench/sweep_scale.py --accounts 1000 --users 50
    python3 tests/bench/sweep_scale.py --accounts 1000 --users 50 --due 0.1 --once
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import Fake, Rotator, SOURCE_DIR  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--due", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--once", action="store_true", help="a real sweep (default: --dry-run)")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--in-flight", type=int, default=64)
    ap.add_argument("--send-rate", type=float, default=100,
                    help="email.max_send_rate (SES messages per second)")
    args = ap.parse_args()
    args.mode = "--once" if args.once else "--dry-run"

    with tempfile.TemporaryDirectory() as d:
        scen = os.path.join(d, "scenario.json")
        t0 = time.time()
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "tests", "fakeaws", "gen_scenario.py"),
                        "--accounts", str(args.accounts), "--users", str(args.users),
                        "--seed", str(args.seed), "--due-fraction", str(args.due), "-o", scen],
                       check=True)
        fake_args = ["--latency-ms", str(args.latency_ms)] if args.latency_ms else []
        fake = Fake(scen, fake_args)
        print(f"scenario {args.accounts} accounts x {args.users} users generated and loaded "
              f"in {time.time() - t0:.1f} s")
        try:
            rot = Rotator(fake, {"limits": {"max_requests_in_flight": args.in_flight,
                                            "max_requests_per_account": 8},
                                 "email": {"max_send_rate": args.send_rate}})
            t0 = time.time()
            with open(os.path.join(d, "out"), "w") as out, open(os.path.join(d, "err"), "w") as err:
                proc = subprocess.Popen(rot.args(args.mode, True, ["--report", rot.report_file]),
                                        env=rot.env(), stdout=out,
                                        stderr=err)
                # The kernel's high-water mark of the daemon's own RSS, read
                # until it exits (rusage would count the forked Python too).
                rss_kib = 0
                while proc.poll() is None:
                    try:
                        with open(f"/proc/{proc.pid}/status") as f:
                            for line in f:
                                if line.startswith("VmHWM:"):
                                    rss_kib = max(rss_kib, int(line.split()[1]))
                    except OSError:
                        pass
                    time.sleep(0.1)
                status = proc.returncode
            wall = time.time() - t0
            res = subprocess.CompletedProcess(proc.args, status,
                                              open(os.path.join(d, "out")).read(),
                                              open(os.path.join(d, "err")).read())
            rep = rot.file_report()
            stats = fake.stats()
            print(f"mode {args.mode}: exit {res.returncode}, wall {wall:.1f} s, "
                  f"peak RSS {rss_kib / 1024:.1f} MiB")
            print("totals " + json.dumps(rep["totals"]))
            print(f"fake: {stats['requests']} requests ({stats['requests'] / wall:.0f}/s), "
                  f"max in flight {stats['max_in_flight']}, throttled {stats['throttled']}")
            if res.returncode not in (0, 1):
                print(res.stderr[-3000:])
        finally:
            fake.close()


if __name__ == "__main__":
    main()
