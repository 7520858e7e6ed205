"""The daemon against a boto3 rotator written the Lambda way, scenario by
scenario, each run against a fresh fake AWS endpoint. Prints one table
(columns explained in docs/performance.md). Figures only: nothing here
asserts a time.

    python3 tests/bench/compare.py [--quick] [--scenario B2] [--tools daemon,baseline]
    ninja -C build bench-compare

The daemon is AKR_BINARY (default build/daemon/iam-access-key-rotator).
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import BINARY, Fake, Rotator, SOURCE_DIR  # noqa: E402

IN_FLIGHT = 64          # the daemon's max_requests_in_flight and the baseline's workers
PER_ACCOUNT = 8         # the daemon's max_requests_per_account
LIST_ACCOUNTS_PAGE = 20
SES_MAX_SEND_RATE = 50.0  # the fake's default quota (tests/fakeaws/scenario.py)
GEN_SCENARIO = os.path.join(SOURCE_DIR, "tests", "fakeaws", "gen_scenario.py")

# name: (label, [(accounts, users)], latency ms, IAM requests/s per account,
#        gen_scenario.py --due-fraction, --inactive-fraction)
# B1-B3 keep the generator's default mix (about 15 % of users with an action
# due); B4 is "2 % due" (issue 11): 1.5 % of the users with a key hold an
# active key >= 80 days, 0.8 % an Inactive key >= 100 days, together 2.0 % of
# all users with an action due (5 x 5000, seed 1: 501 of 25,000). The share
# of each generated organization is printed (gen_scenario.py --summary).
SCENARIOS = {
    "B1": ("latency-bound", [(200, 25)], 100, 0, 0.1, 0.08),
    "B2": ("rate-bound", [(50, 200)], 20, 10, 0.1, 0.08),
    "B3": ("memory", [(2000, 20), (200, 20)], 0, 0, 0.1, 0.08),
    "B4": ("large accounts", [(5, 5000)], 0, 10, 0.015, 0.008),
}
QUICK = {
    "B1": [(10, 5)],
    "B2": [(5, 20)],
    "B3": [(100, 5), (20, 5)],
    "B4": [(2, 200)],
}


def run_measured(args, env, out_path, err_path):
    """Runs a child; answers (exit status, wall s, user+sys s, peak RSS KiB).
    The peak RSS is the child's own VmHWM sampled until it exits (ru_maxrss
    of a child would include the Python that forked it)."""
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err)
        hwm = 0
        while True:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm, int(line.split()[1]))
            except OSError:
                pass
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - t0, ru.ru_utime + ru.ru_stime, hwm


def proc_cpu_s(pid):
    """User + system CPU seconds of a running process (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lower_bound(log, stats, latency_s, cap, rps):
    """The largest of three bounds, each a time no client could beat with the
    requests this one sent (throttled answers left out: they did nothing)."""
    done = [r for r in log if r["code"] != "Throttling" and r["status"] != 0]
    n = len(done)
    bounds = {}
    bounds["lat"] = n * latency_s / cap
    if rps:
        per_acct = collections.Counter(r["account"] for r in done if r["service"] == "iam")
        worst = max(per_acct.values(), default=0)
        # The bucket starts full (burst = rate): the first `rps` are free.
        bounds["rate"] = max(0.0, (worst - rps) / rps)
    else:
        bounds["rate"] = 0.0
    # Longest chain of dependent calls: the ListAccounts pages, then in one
    # account AssumeRole, its ListUsers pages (and credential-report calls),
    # one per-user read, and a rotation's CreateAccessKey then SendRawEmail.
    by = collections.defaultdict(collections.Counter)
    for r in done:
        by[r["account"]][r["action"]] += 1
    list_accounts = sum(c["ListAccounts"] for c in by.values())
    chain = 0
    for acct, c in by.items():
        if not c["ListUsers"]:
            continue
        length = (1 + c["ListUsers"] + c["GenerateCredentialReport"] + c["GetCredentialReport"]
                  + (1 if c["ListAccessKeys"] or c["ListUserTags"] else 0)
                  + (2 if c["CreateAccessKey"] else 0))
        chain = max(chain, length)
    chain += list_accounts + 1              # + the management AssumeRole
    bounds["chain"] = chain * latency_s
    # SES's MaxSendRate (the fake's GetSendQuota: 50 messages/s unless the
    # scenario says otherwise) paces mail as an account's rate paces IAM.
    mails = sum(1 for r in done if r["service"] == "ses"
                and r["action"] in ("SendRawEmail", "SendEmail"))
    bounds["mail"] = mails / SES_MAX_SEND_RATE
    which = max(bounds, key=bounds.get)
    return bounds[which], which, n


def run_tool(tool, scen_path, fake_args, latency_s, rps, tmp):
    fake = Fake(scen_path, fake_args)
    try:
        now = fake.now()
        out, err = os.path.join(tmp, tool + ".out"), os.path.join(tmp, tool + ".err")
        if tool == "daemon":
            rot = Rotator(fake, {"limits": {"max_requests_in_flight": IN_FLIGHT,
                                            "max_requests_per_account": PER_ACCOUNT},
                                 "email": {"max_send_rate": 100}})
            args, env, cap = rot.args("--once", now), rot.env(), IN_FLIGHT
        else:
            rot = Rotator(fake)     # only for its environment
            args = [sys.executable, os.path.join(HERE, "baseline_rotator.py"),
                    "--workers", str(IN_FLIGHT), "--now", now]
            env, cap = rot.env(), IN_FLIGHT
        fake_cpu0 = proc_cpu_s(fake.proc.pid)
        status, wall, cpu, hwm = run_measured(args, env, out, err)
        # The fake is one Python process (one core at most, under the GIL):
        # when its CPU time nears the wall time, it is what bounds the run.
        fake_cpu = proc_cpu_s(fake.proc.pid) - fake_cpu0
        stats, log = fake.stats(), fake.requests()
        if tool == "daemon":
            try:
                totals = rot.last_report()["totals"]
                outcome = totals.get("outcomes", totals)
                failed = json.dumps(outcome)
            except (OSError, ValueError, KeyError):
                failed = "no report"
        else:
            try:
                failed = open(out).read().strip().splitlines()[-1]
            except IndexError:
                failed = "no summary"
        rot.close()
        lb, which, useful = lower_bound(log, stats, latency_s, cap, rps)
        tail = "" if status in (0, 1) else open(err).read()[-2000:]
        return {"tool": tool, "exit": status, "requests": stats["requests"],
                "throttled": stats["throttled"], "wall": wall, "lb": lb, "lb_by": which,
                "cpu_us": cpu * 1e6 / max(1, stats["requests"]), "rss_mib": hwm / 1024,
                # The tool's connections: every one the fake accepted since it
                # started, less the harness's own (/_fake/... control calls).
                "conns": stats["connections_opened"] - stats["control_connections"],
                "api_conns": stats["api_connections"],
                "control_conns": stats["control_connections"],
                "max_in_flight": stats["max_in_flight"],
                "fake_cpu": fake_cpu, "summary": failed, "stderr_tail": tail,
                # IAM's share (issue 11: B4 at most 5 % of the baseline's).
                "iam_requests": sum(1 for r in log if r["service"] == "iam"),
                "by_action": stats["by_action"]}
    finally:
        fake.close()


def generate(path, accounts, users, due, inactive):
    """Writes the organization to path; answers gen_scenario.py's --summary
    (users of ACTIVE accounts, and those with an action due)."""
    res = subprocess.run([sys.executable, GEN_SCENARIO, "--accounts", str(accounts),
                          "--users", str(users), "--seed", "1", "--due-fraction", str(due),
                          "--inactive-fraction", str(inactive), "--summary", "-o", path],
                         check=True, stderr=subprocess.PIPE, text=True)
    return json.loads(res.stderr.strip().splitlines()[-1])


def fmt_due(d):
    return (f"{d['due']} of {d['users']} users ({100.0 * d['due_share']:.1f} %) with an action "
            f"due: rotate {d['rotate']}, delete {d['delete']}, deactivate {d['deactivate']}, "
            f"remind {d['remind']}")


def fmt_row(scen, r):
    thr = 100.0 * r["throttled"] / max(1, r["requests"])
    ratio = f"{r['wall'] / r['lb']:.2f}" if r["lb"] > 0 else "-"
    return (f"| {scen} | {r['tool']} | {r['exit']} | {r['requests']} | {thr:.1f} % | "
            f"{r['wall']:.1f} s | {r['lb']:.1f} s ({r['lb_by']}) | {ratio} | "
            f"{r['cpu_us']:.0f} µs | {r['rss_mib']:.1f} MiB | {r['conns']} | "
            f"{r['fake_cpu']:.1f} s |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the same scenarios, scaled down")
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                    help="run only this one (repeatable)")
    ap.add_argument("--tools", default="daemon,baseline")
    ap.add_argument("--json", help="also write the raw results to this file")
    args = ap.parse_args()
    tools = args.tools.split(",")
    if "daemon" in tools and not os.access(BINARY, os.X_OK):
        sys.exit(f"compare.py: no daemon binary at {BINARY} (build it, or set AKR_BINARY)")
    names = args.scenario or sorted(SCENARIOS)
    results = []
    dues = {}
    for name in names:
        label, sizes, lat_ms, rps, due, inactive = SCENARIOS[name]
        if args.quick:
            sizes = QUICK[name]
        for accounts, users in sizes:
            scen = f"{name} {accounts}x{users}"
            with tempfile.TemporaryDirectory(prefix="akr-bench-") as tmp:
                path = os.path.join(tmp, "scenario.json")
                dues[scen] = generate(path, accounts, users, due, inactive)
                print(f"# {scen}: {fmt_due(dues[scen])}", file=sys.stderr, flush=True)
                fake_args = []
                if lat_ms:
                    fake_args += ["--latency-ms", str(lat_ms)]
                if rps:
                    fake_args += ["--iam-rps-per-account", str(rps)]
                for tool in tools:
                    print(f"# {scen} ({label}, {lat_ms} ms, "
                          f"{rps or 'no'} IAM req/s per account): {tool} ...",
                          file=sys.stderr, flush=True)
                    r = run_tool(tool, path, fake_args, lat_ms / 1000.0, rps, tmp)
                    r["scenario"] = scen
                    r["due"] = dues[scen]
                    results.append(r)
                    print(f"#   exit {r['exit']}, {r['wall']:.1f} s, {r['summary']}",
                          file=sys.stderr, flush=True)
                    if r["stderr_tail"]:
                        print(r["stderr_tail"], file=sys.stderr)
    print(f"load average before/after: see `uptime`; now {os.getloadavg()[0]:.2f} (1 min)")
    print("| scenario | tool | exit | requests | throttled | wall | lower bound (by) | "
          "wall/LB | CPU/request | peak RSS | connections | fake CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(fmt_row(r["scenario"], r))
    print()
    for scen, d in dues.items():
        print(f"{scen}: {fmt_due(d)}")
    for r in results:
        idle = r["conns"] - r["api_conns"]
        extra = f" ({idle} of its connections sent no request)" if idle else ""
        print(f"{r['scenario']} {r['tool']}: {r['iam_requests']} IAM requests; "
              f"{r['summary']}{extra}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
