"""The attention alert: users due for rotation that cannot be rotated (no or
an invalid address, both key slots in use) go into one SNS message per
sweep, grouped by account with the reason for each, and into the report;
they do not change the exit status. alerts.notify_cannot_rotate turns the
message off."""
import re
import unittest

from harness import RotatorTestCase, account, key, scenario, user

DEV, PROD = "222222222222", "555555555555"


def org():
    return scenario([
        account(DEV, [user("alice", [key(85, last_used_days=1)]),
                      user("erin", [key(85, last_used_days=1)], email=False),
                      user("frank", [key(86, last_used_days=1)], email="frank-at-example.com"),
                      user("gina", [key(95, last_used_days=1), key(85, last_used_days=1)])],
                name="dev"),
        account(PROD, [user("kim", [key(90, last_used_days=1)], email=False),
                       user("leo", [key(10, last_used_days=1)])],
                name="prod")])


def attention(fake):
    return [m for m in fake.sns() if "cannot be rotated" in (m.get("subject") or "")]


class Attention(RotatorTestCase):
    def blocked(self, rep):
        return {(a["account_id"], a["user"]): a["reason"] for a in rep["cannot_rotate"]}

    def test_one_message_grouped_by_account(self):
        self.setup_fake(org())
        res = self.rot.run("--once")
        # Policy outcomes, not failures: the exit status stays 0.
        self.assertEqual(res.returncode, 0, res.stderr)
        rep = self.rot.last_report()
        blocked = self.blocked(rep)
        self.assertEqual(set(blocked), {(DEV, "erin"), (DEV, "frank"), (DEV, "gina"),
                                        (PROD, "kim")})
        self.assertEqual(rep["totals"]["users_cannot_rotate"], 4)
        self.assertIn("no email", blocked[(DEV, "erin")])
        self.assertIn("not a valid address", blocked[(DEV, "frank")])

        msgs = attention(self.fake)
        self.assertEqual(len(msgs), 1, self.fake.sns())
        m = msgs[0]
        self.assertTrue(m["topic"].endswith(":iam-access-key-rotator-topic"))
        self.assertEqual(m["subject"],
                         "iam-access-key-rotator: 4 users cannot be rotated (2 accounts)")
        text = m["message"]
        self.assertIn(rep["run_id"], text)
        # Grouped: each account's heading, then its users with their reasons.
        dev_at = text.index(f"Account {DEV} (dev):")
        prod_at = text.index(f"Account {PROD} (prod):")
        self.assertLess(dev_at, prod_at)
        for (acct, name), reason in blocked.items():
            line = re.search(rf"(?m)^  {name} \(key AKIA\w+, \d+ days old\): (.*)$", text)
            self.assertIsNotNone(line, f"{name} is not listed:\n{text}")
            self.assertEqual(line.group(1), reason)
            at = line.start()
            self.assertTrue(dev_at < at < prod_at if acct == DEV else at > prod_at,
                            f"{name} is not under its account:\n{text}")
        self.assertNotIn("alice", text)
        self.assertNotIn("leo", text)
        # Nothing failed: no failure summary besides it.
        self.assertEqual(len(self.fake.sns()), 1)

    def test_sent_on_every_sweep_and_beside_a_failure_summary(self):
        self.setup_fake(org())
        self.assertEqual(self.rot.run("--once").returncode, 0)
        self.fake.faults([{"account": PROD, "action": "ListUsers", "kind": "error",
                           "status": 403, "code": "AccessDenied"}])
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)  # the failed account counts
        subjects = [m["subject"] for m in self.fake.sns()]
        self.assertEqual(len(subjects), 3, subjects)
        self.assertIn("sweep had failures", subjects[1])
        self.assertEqual(subjects[2],
                         "iam-access-key-rotator: 3 users cannot be rotated (1 account)")

    def test_turned_off(self):
        self.setup_fake(org(), config={"alerts": {"notify_cannot_rotate": "false"}})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.fake.sns(), [])
        self.assertEqual(len(self.rot.last_report()["cannot_rotate"]), 4)

    def test_dry_run_sends_nothing(self):
        self.setup_fake(org())
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.fake.sns(), [])


if __name__ == "__main__":
    unittest.main()
