"""The write side (--once) against the fake: end states of every policy case,
what users receive (the zip opened by 7zz with the password from the second
mail), rollback when SES refuses, the recovery window, idempotence, alerts."""
import unittest

from harness import RotatorTestCase, account, key, scenario, user, user_keys, TOPIC_ARN
from mails import SEVENZIP, delivered_credentials, mails_to, parse, text_of

DEV = "222222222222"
PROD = "555555555555"
EXCLUDED = "333333333333"
SUSPENDED = "444444444444"

CASES = {
    # name: (keys, expected end state as sorted (status, "old"|"new") list)
    "a79": ([key(79)], [("Active", "old")]),
    "a80": ([key(80)], [("Active", "new"), ("Active", "old")]),
    "a89": ([key(89)], [("Active", "new"), ("Active", "old")]),
    "a90": ([key(90)], [("Active", "new"), ("Active", "old")]),
    "a99": ([key(99)], [("Active", "new"), ("Active", "old")]),
    "a100": ([key(100)], [("Active", "new"), ("Active", "old")]),
    "a150": ([key(150)], [("Active", "new"), ("Active", "old")]),
    "i79": ([key(79, "Inactive")], [("Inactive", "old")]),
    "i80": ([key(80, "Inactive")], [("Inactive", "old")]),
    "i89": ([key(89, "Inactive")], [("Inactive", "old")]),
    "i90": ([key(90, "Inactive")], [("Inactive", "old")]),
    "i99": ([key(99, "Inactive")], [("Inactive", "old")]),
    "i100": ([key(100, "Inactive")], []),
    "i150": ([key(150, "Inactive")], []),
    "two-replaced": ([key(95), key(20)], [("Active", "old"), ("Inactive", "old")]),
    "two-notice": ([key(95), key(5)], [("Active", "old"), ("Active", "old")]),
    "two-remind": ([key(95), key(8)], [("Active", "old"), ("Active", "old")]),
    "two-old-active": ([key(95), key(85)], [("Active", "old"), ("Inactive", "old")]),
    "inactive-frees-slot": ([key(120, "Inactive"), key(85)], [("Active", "new"), ("Active", "old")]),
}


def end_state(keys, before_ids):
    return sorted((k["status"], "old" if k["id"] in before_ids else "new") for k in keys)


class Rotation(RotatorTestCase):
    def build(self):
        dev = [user(n, ks) for n, (ks, _) in CASES.items()]
        dev += [
            user("exempt", [key(150)], tags={"exempt": "yes"}),  # matched case-insensitively
            user("no-email", [key(85)], email=False),
            user("bad-email", [key(85)], email="bad-email-at-example.com"),
            user("crlf-email", [key(85)], email="crlf@example.com\r\nBcc: evil@example.com"),
        ]
        accts = [account(DEV, dev, name="dev"),
                 account(EXCLUDED, [user("ivan", [key(150)])], name="sandbox"),
                 account(SUSPENDED, [user("judy", [key(150)])], name="legacy", status="SUSPENDED"),
                 account(PROD, [user("ken", [key(81)])], name="prod")]
        return scenario(accts)

    def test_end_states_mails_and_idempotence(self):
        self.setup_fake(self.build())
        before = self.fake.state()
        before_ids = {k["id"] for a in before["accounts"] for u in a["users"] for k in u["keys"]}
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        after = self.fake.state()
        mails = self.fake.emails()

        for name, (_, expected) in CASES.items():
            with self.subTest(user=name):
                self.assertEqual(end_state(user_keys(after, DEV, name), before_ids), expected)
        for who, acct in (("exempt", DEV), ("no-email", DEV), ("bad-email", DEV),
                          ("crlf-email", DEV), ("ivan", EXCLUDED), ("judy", SUSPENDED)):
            with self.subTest(untouched=who):
                self.assertEqual(user_keys(after, acct, who), user_keys(before, acct, who))
        self.assertEqual(end_state(user_keys(after, PROD, "ken"), before_ids),
                         [("Active", "new"), ("Active", "old")])

        # Nothing was sent anywhere but to the users' own addresses.
        for m in mails:
            for d in m["destinations"]:
                self.assertNotIn("evil", d)
                self.assertRegex(d, r"^[a-z0-9-]+@example\.com$")
            self.assertEqual(m["source"], "rotator@example.com")

        # Every new key reached its owner: the zip, opened by 7zz with the
        # password from the second mail, holds exactly the secret IAM issued.
        self.assertIsNotNone(SEVENZIP, "7zz is needed (Debian package 7zip)")
        rotated = [(DEV, n) for n, (_, exp) in CASES.items() if ("Active", "new") in exp]
        rotated.append((PROD, "ken"))
        for acct, name in rotated:
            with self.subTest(delivered=name):
                new = [k for k in user_keys(after, acct, name) if k["id"] not in before_ids]
                self.assertEqual(len(new), 1)
                creds = delivered_credentials(mails, f"{name}@example.com")
                self.assertEqual(creds, [(new[0]["id"], new[0]["secret"])])
                # The password never travels with the zip, the secret never in clear.
                for m in mails_to(mails, f"{name}@example.com"):
                    self.assertNotIn(new[0]["secret"], m["raw"])
        # No secret in the daemon's own output.
        secrets = [k.get("secret") for a in after["accounts"] for u in a["users"]
                   for k in u["keys"]]
        self.assertNoSecretsIn(res.stdout + res.stderr, secrets)

        # A second sweep the same day changes nothing and sends nothing.
        res2 = self.rot.run("--once")
        self.assertEqual(res2.returncode, 0, res2.stderr)
        self.assertEqual(self.fake.state()["accounts"], after["accounts"])
        self.assertEqual(len(self.fake.emails()), len(mails))
        # No failure summary; the users that cannot be rotated (no or a bad
        # address, no slot) are in one attention alert per sweep, the same
        # users both times.
        alerts = self.fake.sns()
        self.assertEqual([a["subject"] for a in alerts],
                         ["iam-access-key-rotator: 4 users cannot be rotated (1 account)"] * 2)
        self.assertEqual(alerts[0]["message"].split("\n\n")[1:-1],
                         alerts[1]["message"].split("\n\n")[1:-1])

    def test_ses_rejection_rolls_the_key_back(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)]), user("bob", [key(10)])])]))
        before = self.fake.state()
        self.fake.faults({"action": "SendRawEmail", "kind": "error", "status": 400,
                          "code": "MessageRejected", "count": 1})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        # The new key is gone again: alice holds exactly what she held.
        self.assertEqual(user_keys(self.fake.state(), DEV, "alice"),
                         user_keys(before, DEV, "alice"))
        rep = self.rot.last_report()
        outcomes = [(a["user"], a["action"], a["outcome"]) for a in rep["actions"]]
        self.assertIn(("alice", "create", "rolled-back"), outcomes)
        alerts = self.fake.sns()
        self.assertEqual(len(alerts), 1)
        self.assertTrue(alerts[0]["topic"].endswith("iam-access-key-rotator-topic"))
        self.assertLess(len(alerts[0]["subject"]), 100)
        self.assertIn("alice", alerts[0]["message"])
        self.assertIn(rep["run_id"], alerts[0]["message"])
        # The next sweep rotates her cleanly.
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 2)

    def test_throttled_writes_wait_and_are_all_done(self):
        # IAM allows 4 requests/s per account and no rate is configured:
        # the daemon must find the rate itself (adaptive, per account), and
        # on top of that half of the writes are throttled, so some stay
        # throttled past the http engine's own retries. A throttled write
        # did not take effect: it must be sent again, never given up.
        accts = []
        for i in range(2):
            users = [user(f"r{i}-{j}", [key(85)]) for j in range(8)]
            users += [user(f"d{i}-{j}", [key(120, "Inactive")]) for j in range(3)]
            users += [user(f"x{i}-{j}", [key(95), key(20)]) for j in range(3)]
            accts.append(account(f"6000000000{i:02d}", users))
        self.setup_fake(scenario(accts), fake_args=["--iam-rps-per-account", "4"])
        before = self.fake.state()
        before_ids = {k["id"] for a in before["accounts"] for u in a["users"] for k in u["keys"]}
        for action in ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"):
            self.fake.faults({"action": action, "kind": "throttle", "probability": 0.6})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        after = self.fake.state()
        for i in range(2):
            acct = f"6000000000{i:02d}"
            for j in range(8):
                self.assertEqual(end_state(user_keys(after, acct, f"r{i}-{j}"), before_ids),
                                 [("Active", "new"), ("Active", "old")])
            for j in range(3):
                self.assertEqual(user_keys(after, acct, f"d{i}-{j}"), [])
                self.assertEqual(end_state(user_keys(after, acct, f"x{i}-{j}"), before_ids),
                                 [("Active", "old"), ("Inactive", "old")])
        rep = self.rot.last_report()
        self.assertEqual([a for a in rep["actions"] if a["outcome"] == "failed"], [])
        self.assertGreater(self.fake.stats()["throttled"], 0)

    def test_ses_quota_rate_and_daily_limit(self):
        # SES allows 2 messages/s and 5 more today; email.max_send_rate is
        # the default 0 (SES's rate). Four users are due: two rotations fit
        # (2 mails each), the other two are not created, since their mails
        # could not be sent today.
        users = [user(f"q{j}", [key(85)]) for j in range(4)]
        scen = scenario([account(DEV, users)])
        scen["ses_quota"] = {"max_24_hour_send": 5, "max_send_rate": 2}
        self.setup_fake(scen)
        before = self.fake.state()
        before_ids = {k["id"] for a in before["accounts"] for u in a["users"] for k in u["keys"]}
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("SES sends 2 messages per second here and 5 more today", res.stderr)
        after = self.fake.state()
        states = [end_state(user_keys(after, DEV, f"q{j}"), before_ids) for j in range(4)]
        self.assertEqual(sorted(states), [[("Active", "new"), ("Active", "old")]] * 2
                         + [[("Active", "old")]] * 2)
        rep = self.rot.last_report()
        rows = [a for a in rep["actions"] if a["action"] == "create"]
        self.assertEqual(sorted(a["outcome"] for a in rows), ["done", "done", "failed", "failed"])
        for a in rows:
            if a["outcome"] == "failed":
                self.assertIn("Max24HourSend", a["error"])
        mails = self.fake.emails()
        self.assertEqual(len(mails), 4)
        # At SES's rate: a token bucket of 2/s holding at most 2, so the
        # messages after the first two come no faster than 2 per second
        # (the fake's default rate, 50/s, would let all four go at once).
        t = sorted(m["received_monotonic"] for m in mails)
        for i in range(2, 4):
            self.assertGreaterEqual(t[i] - t[0], (i - 1) * 0.5 - 0.05)

    def test_role_missing_others_rotate_and_sns_is_told(self):
        scen = scenario([account(DEV, [user("alice", [key(85)])]),
                         account(PROD, [user("ken", [key(85)])], roles=[])])
        self.setup_fake(scen)
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 2)
        self.assertEqual(len(user_keys(self.fake.state(), PROD, "ken")), 1)
        alerts = self.fake.sns()
        self.assertEqual(len(alerts), 1)
        self.assertIn(PROD, alerts[0]["message"])

    def test_recovery_window(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(150), key(20)])])]))
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        keys = sorted(user_keys(self.fake.state(), DEV, "alice"), key=lambda k: k["create_date"])
        self.assertEqual([k["status"] for k in keys], ["Inactive", "Active"])
        # Deactivated by us today: older than X, yet not deleted today.
        res = self.rot.run("--once")
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 2)
        # Ten days later (X - D) the recovery window is over.
        self.fake.clock(advance_days=10)
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        left = user_keys(self.fake.state(), DEV, "alice")
        self.assertEqual([k["status"] for k in left], ["Active"])


class DocumentedPolicies(RotatorTestCase):
    """docs/aws holds the least-privilege policies operators apply: they must
    allow every action the daemon really calls (read from the fake's log)."""

    def allowed_actions(self):
        import fnmatch
        import glob
        import json
        import os
        from harness import SOURCE_DIR
        patterns = []
        for path in glob.glob(os.path.join(SOURCE_DIR, "docs", "aws", "*.json")):
            with open(path) as f:
                doc = json.load(f)
            for st in doc.get("Statement", []) if isinstance(doc, dict) else []:
                if st.get("Effect") != "Allow" or "Principal" in st:
                    continue
                acts = st.get("Action", [])
                patterns += [acts] if isinstance(acts, str) else acts
        return lambda a: any(fnmatch.fnmatchcase(a.lower(), p.lower()) for p in patterns)

    def test_every_called_action_is_documented(self):
        users = [user("due", [key(85)]), user("old", [key(95), key(20)]),
                 user("gone", [key(120, "Inactive")]), user("soon", [key(95), key(8)])]
        self.setup_fake(scenario([account(DEV, users), account(PROD, [], roles=[])]))
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        called = {f'{r["service"]}:{r["action"]}' for r in self.fake.requests()}
        for expected in ("iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey",
                         "iam:GetAccessKeyLastUsed", "ses:SendRawEmail", "sns:Publish",
                         "organizations:ListAccounts", "sts:AssumeRole"):
            self.assertIn(expected, called)
        allowed = self.allowed_actions()
        missing = sorted(a for a in called if not allowed(a))
        self.assertEqual(missing, [], "actions the daemon calls that docs/aws does not allow")


if __name__ == "__main__":
    unittest.main()
