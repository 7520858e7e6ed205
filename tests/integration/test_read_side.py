"""The read side (--dry-run) against the fake: the plan under pagination,
throttling storms, a missing role, and credentials expiring mid-sweep."""
import json
import unittest

from harness import RotatorTestCase, account, key, scenario, user


def plan_of(report):
    """{(account, user): [(action, outcome), ...]} from a report."""
    plan = {}
    for a in report["actions"]:
        plan.setdefault((a["account_id"], a["user"]), []).append((a["action"], a["outcome"]))
    return plan


def org(n_accounts=3, n_users=4):
    accts = []
    for i in range(n_accounts):
        users = [user(f"u{i}-{j}", [key(70 + 7 * j)]) for j in range(n_users)]
        accts.append(account(f"2000000000{i:02d}", users))
    return scenario(accts)


# The plan --dry-run must show for every case of test_rotation.CASES.
EXPECTED_PLAN = {
    "a79": [], "a80": ["create"], "a89": ["create"], "a90": ["create"], "a99": ["create"],
    "a100": ["create"], "a150": ["create"],
    "i79": [], "i80": [], "i89": [], "i90": [], "i99": [], "i100": ["delete"],
    "i150": ["delete"],
    "two-replaced": ["deactivate"],
    "two-notice": [],
    "two-remind": ["remind"],
    "two-old-active": ["deactivate", "report"],
    "inactive-frees-slot": ["delete", "create"],
}


class ReadSide(RotatorTestCase):
    def test_every_policy_case_has_its_plan(self):
        from test_rotation import CASES
        self.assertEqual(set(CASES), set(EXPECTED_PLAN))
        self.setup_fake(scenario([account("222222222222",
                                          [user(n, ks) for n, (ks, _) in CASES.items()])]))
        res, rep = self.dry_run()
        self.assertEqual(res.returncode, 0, res.stderr)
        got = {}
        for a in rep["actions"]:
            got.setdefault(a["user"], []).append(a["action"])
            if a["action"] in ("create", "deactivate", "delete", "remind"):
                self.assertEqual(a["outcome"], "planned")
                self.assertTrue(a["reason"])
        for name, expected in EXPECTED_PLAN.items():
            with self.subTest(case=name):
                self.assertEqual(got.get(name, []), expected)

    def dry_run(self, extra_env=None):
        res = self.rot.run("--dry-run", env=extra_env, extra=["--report", self.rot.report_file])
        return res, self.rot.file_report()

    def test_plan_is_complete_and_counted(self):
        self.setup_fake(org(3, 4))
        res, rep = self.dry_run()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(rep["totals"]["users_seen"], 12)
        plan = plan_of(rep)
        # Ages 70, 77, 84, 91 per account: the last two are due.
        for i in range(3):
            acct = f"2000000000{i:02d}"
            self.assertEqual(plan.get((acct, f"u{i}-2")), [("create", "planned")])
            self.assertEqual(plan.get((acct, f"u{i}-3")), [("create", "planned")])
            self.assertNotIn((acct, f"u{i}-0"), plan)

    def test_pagination_page_size_one_and_empty_pages(self):
        scen = org(4, 5)
        scen["max_page_size"] = 1
        scen["empty_pages"] = True
        self.setup_fake(scen)
        res, rep = self.dry_run()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(rep["totals"]["users_seen"], 20)
        self.assertEqual(rep["totals"]["accounts_done"], 5)  # with the management account
        by_action = self.fake.stats()["by_action"]
        self.assertGreaterEqual(by_action.get("ListUsers", 0), 20)
        self.assertGreaterEqual(by_action.get("ListAccounts", 0), 5)

    def test_throttling_storm_still_gives_the_whole_plan(self):
        self.setup_fake(org(3, 4))
        _, calm = self.dry_run()
        self.fake.faults([{"service": "iam", "kind": "throttle", "probability": 0.3},
                          {"service": "sts", "kind": "throttle", "probability": 0.2}])
        res, storm = self.dry_run()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertGreater(self.fake.stats()["throttled"], 0)
        self.assertEqual(plan_of(storm), plan_of(calm))

    def test_account_rate_limit_is_respected(self):
        # IAM allows 5 requests/s per account here; configured for 4, the
        # daemon is never throttled.
        self.setup_fake(org(2, 6), fake_args=["--iam-rps-per-account", "5"],
                        config={"limits": {"iam_requests_per_second_per_account": 4.0}})
        res, rep = self.dry_run()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(rep["totals"]["users_seen"], 12)
        self.assertEqual(self.fake.stats()["throttled"], 0)

    def test_throttling_account_is_slowed_down_not_lost(self):
        # No configured limit: the account throttles, the daemon adapts.
        self.setup_fake(org(2, 8), fake_args=["--iam-rps-per-account", "3"])
        res, rep = self.dry_run()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(rep["totals"]["users_seen"], 16)
        self.assertEqual(rep["totals"]["users_failed"], 0)
        self.assertGreater(self.fake.stats()["throttled"], 0)

    def test_role_missing_in_one_account(self):
        scen = org(3, 4)
        scen["accounts"][2]["roles"] = []
        self.setup_fake(scen)
        res, rep = self.dry_run()
        self.assertEqual(res.returncode, 1, res.stderr)
        states = {a["id"]: a for a in rep["accounts"]}
        failed = states["200000000001"]
        self.assertEqual(failed["state"], "failed")
        self.assertIn("AccessDenied", failed["error"])
        plan = plan_of(rep)
        self.assertIn(("200000000000", "u0-3"), plan)
        self.assertIn(("200000000002", "u2-3"), plan)
        self.assertFalse([k for k in plan if k[0] == "200000000001"])
        self.assertIn("200000000001", res.stderr)

    def test_session_expiring_mid_sweep_is_refreshed(self):
        self.setup_fake(org(4, 6), fake_args=["--latency-ms", "200"],
                        config={"limits": {"max_requests_in_flight": 4,
                                           "max_requests_per_account": 1}})
        proc = self.rot.start("--dry-run", extra=["--report", self.rot.report_file])
        # Once the first sessions are in use (a member account's ListUsers),
        # move the fake's clock past their expiry (1 h): every call with them
        # now answers ExpiredToken.
        self.wait_for_calls("ListUsers", 1, proc)
        self.fake.clock(advance_seconds=2 * 3600)
        out, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 0, err)
        rep = self.rot.file_report()
        self.assertEqual(rep["totals"]["accounts_failed"], 0)
        self.assertEqual(rep["totals"]["users_seen"], 24)
        codes = [r.get("code") for r in self.fake.requests()]
        self.assertIn("ExpiredToken", codes, "the test did not expire any session")

    def test_no_secret_in_output(self):
        self.setup_fake(org(2, 2))
        res, _ = self.dry_run()
        state = self.fake.state()
        secrets = ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
        self.assertNoSecretsIn(res.stdout + res.stderr, secrets)


if __name__ == "__main__":
    unittest.main()
