#!/usr/bin/env python3
"""The credential-report pre-filter changes what is read, never what is done.

Two fakes load the same generated organization (tests/fakeaws/gen_scenario.py:
users of every age, inactive keys, exempt users, users without an address);
one daemon runs with limits.credential_report = true, the other with false,
once per simulated day for several days (POST /_fake/clock advance_days, the
daemon's --now). Every day the two run reports must hold the same rotations,
deactivations, deletions, reminders and reports, and at the end the two
organizations must hold the same keys (status and age) and the same mails.
The IAM request counts of both (GET /_fake/stats by_action) are printed.

By hand, for figures on a larger organization:
    python3 tests/integration/test_prefilter.py --accounts 5 --users 1000 --due 0.02 --days 1
"""
import argparse
import collections
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakeaws"))

from harness import Fake, Rotator  # noqa: E402
import gen_scenario  # noqa: E402

START = "2026-11-26T13:00:00Z"
ACTIONS = ("create", "deactivate", "delete", "remind", "report")


def outcomes(report):
    """What the policy did: (account, user, action, key age, reason, outcome), sorted.
    Key ids are left out: a key the daemon made has another id on each fake."""
    return sorted((a["account_id"], a["user"], a["action"], a["key_age_days"] or -1,
                   a["reason"] or "", a["outcome"])
                  for a in report["actions"] if a["action"] in ACTIONS)


def keys_of(state, now_sec):
    out = {}
    for acc in state["accounts"]:
        for u in acc["users"]:
            out[(acc["id"], u["name"])] = sorted(
                (k["status"], int((now_sec - parse(k["create_date"])) // 86400))
                for k in u["keys"])
    return out


def parse(iso):
    from datetime import datetime
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def iam_requests(stats):
    by = {k.split(":", 1)[-1] if ":" in k else k: v
          for k, v in stats.get("by_action", {}).items()
          if k.startswith("iam:") or ":" not in k}
    return {k: v for k, v in by.items() if k in IAM_ACTIONS}


IAM_ACTIONS = ("ListUsers", "ListUserTags", "ListAccessKeys", "GetAccessKeyLastUsed",
               "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
               "GenerateCredentialReport", "GetCredentialReport")


def run_both(accounts, users, due, days, seed=11, verbose=True):
    """Returns (per-day differences, IAM requests with, without, totals with, without)."""
    scen = gen_scenario.generate(accounts, users, seed, due)
    scen["now"] = START
    fakes = {mode: Fake(scen) for mode in ("with", "without")}
    rots = {mode: Rotator(fakes[mode], {
        "email": {"sender": '"rotator@example.com"', "region": '"us-east-1"',
                  "configuration_set": '"iam-access-key-rotator-configset"',
                  "max_send_rate": "1000.0"},
        "limits": {"max_requests_in_flight": 64, "max_requests_per_account": 8,
                   "credential_report": "true" if mode == "with" else "false"}})
        for mode in fakes}
    diffs, totals = [], {m: collections.Counter() for m in fakes}
    seen = {m: collections.Counter() for m in fakes}
    try:
        for day in range(days):
            reports = {}
            for mode in fakes:
                before = collections.Counter(iam_requests(fakes[mode].stats()))
                res = rots[mode].run("--once")
                if res.returncode not in (0, 1):
                    raise AssertionError("%s day %d: exit %d\n%s"
                                         % (mode, day, res.returncode, res.stderr[-3000:]))
                reports[mode] = rots[mode].last_report()
                after = collections.Counter(iam_requests(fakes[mode].stats()))
                seen[mode] = after - before
                totals[mode] += seen[mode]
            a, b = outcomes(reports["with"]), outcomes(reports["without"])
            if a != b:
                diffs.append((day, sorted(set(a) - set(b)), sorted(set(b) - set(a))))
            t = reports["with"]["totals"]
            if verbose:
                print("day %2d: %3d actions; IAM requests with the pre-filter %6d, without %6d; "
                      "%d users ruled out by the report"
                      % (day, len(a), sum(seen["with"].values()), sum(seen["without"].values()),
                         t["users_nothing_due_by_report"]))
            for mode in fakes:
                fakes[mode].clock(advance_days=1)
        states = {m: fakes[m].state() for m in fakes}
        now = parse(states["with"]["now"])
        end_keys = (keys_of(states["with"], now), keys_of(states["without"], now))
        mails = tuple(sorted(collections.Counter(
            tuple(sorted(e["destinations"])) for e in fakes[m].emails()).items())
            for m in ("with", "without"))
        return diffs, end_keys, mails, totals["with"], totals["without"]
    finally:
        for r in rots.values():
            r.close()
        for f in fakes.values():
            f.close()


def print_counts(label, counts):
    print("%-28s %7d  %s" % (label, sum(counts.values()),
                             ", ".join("%s %d" % (k, counts[k]) for k in IAM_ACTIONS
                                       if counts.get(k))))


class PrefilterComparison(unittest.TestCase):
    def test_same_outcome_with_and_without(self):
        diffs, (keys_with, keys_without), (mails_with, mails_without), with_, without = \
            run_both(accounts=3, users=200, due=0.15, days=24)
        self.assertEqual(diffs, [], "the pre-filter changed what the policy did")
        self.assertEqual(keys_with, keys_without)
        self.assertEqual(mails_with, mails_without)
        print_counts("IAM requests with", with_)
        print_counts("IAM requests without", without)
        # The comparison means something only if both modes acted and the
        # pre-filter spared reads.
        self.assertGreater(with_["CreateAccessKey"], 0)
        self.assertGreater(with_["UpdateAccessKey"], 0)
        self.assertGreater(with_["DeleteAccessKey"], 0)
        self.assertGreater(with_["GetCredentialReport"], 0)
        self.assertEqual(without["GetCredentialReport"], 0)
        self.assertLess(with_["ListAccessKeys"], without["ListAccessKeys"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int)
    p.add_argument("--users", type=int)
    p.add_argument("--due", type=float, default=0.02)
    p.add_argument("--days", type=int, default=1)
    args, rest = p.parse_known_args()
    if args.accounts is None:
        unittest.main(argv=[sys.argv[0]] + rest)
        return 0
    diffs, keys, mails, with_, without = run_both(args.accounts, args.users, args.due, args.days)
    print_counts("IAM requests with", with_)
    print_counts("IAM requests without", without)
    same = not diffs and keys[0] == keys[1] and mails[0] == mails[1]
    print("outcomes identical:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
