"""Crash safety: SIGKILL the daemon at chosen points of a rotation (before
and after CreateAccessKey, during each of the two mails), restart it, and
check that every key that exists was delivered to its owner."""
import signal
import unittest

from harness import RotatorTestCase, account, key, scenario, user, user_keys
from mails import delivered_credentials

DEV = "222222222222"

POINTS = {
    "before-create": [{"action": "CreateAccessKey", "kind": "hang", "count": 1}],
    "after-create": [{"action": "CreateAccessKey", "kind": "hang", "when": "after", "count": 1}],
    "during-key-mail": [{"action": "SendRawEmail", "kind": "hang", "when": "after", "count": 1}],
    "during-password-mail": [
        {"action": "SendRawEmail", "kind": "latency", "latency_ms": 1, "count": 1},
        {"action": "SendRawEmail", "kind": "hang", "when": "after", "count": 1}],
}


class Crash(RotatorTestCase):
    def crash_at(self, point):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])])]))
        before_ids = {k["id"] for k in user_keys(self.fake.state(), DEV, "alice")}
        self.fake.faults(POINTS[point])
        proc = self.rot.start("--once")
        action = POINTS[point][-1]["action"]
        # The fake counts the call once it took effect and is holding the
        # answer back (the hang): the daemon is now inside that call.
        self.wait_for_calls(action, 2 if point == "during-password-mail" else 1, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)

        self.fake.call("DELETE", "faults")
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stderr)

        keys = user_keys(self.fake.state(), DEV, "alice")
        delivered = set(delivered_credentials(self.fake.emails(), "alice@example.com"))
        for k in keys:
            if k["id"] in before_ids:
                continue
            self.assertIn((k["id"], k["secret"]), delivered,
                          f"{point}: key {k['id']} exists but its secret never reached alice")
        # The restart finished the job: alice holds her old key and one new,
        # delivered key.
        self.assertEqual(len(keys), 2, keys)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_kill_before_create(self):
        self.crash_at("before-create")

    def test_kill_after_create(self):
        self.crash_at("after-create")

    def test_kill_during_key_mail(self):
        self.crash_at("during-key-mail")

    def test_kill_during_password_mail(self):
        self.crash_at("during-password-mail")


class Ambiguous(RotatorTestCase):
    def test_server_error_after_create_is_rolled_back(self):
        # IAM made the key but answered 500: "may have been processed". The
        # key's secret never arrived, so the key must not survive.
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])])]))
        before = user_keys(self.fake.state(), DEV, "alice")
        self.fake.faults({"action": "CreateAccessKey", "kind": "error", "status": 500,
                          "code": "ServiceFailure", "when": "after", "count": 1})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertEqual(user_keys(self.fake.state(), DEV, "alice"), before)
        outcomes = [(a["action"], a["outcome"]) for a in self.rot.last_report()["actions"]]
        self.assertIn(("create", "rolled-back"), outcomes)

    def test_stop_while_the_account_list_waits_for_a_retry(self):
        # 25 accounts = two ListAccounts pages; the second is throttled and
        # waits for a retry when SIGINT comes. The sweep ends cleanly,
        # reports itself incomplete, and enters no account.
        accts = [account(f"2000000000{i:02d}", [user(f"u{i}", [key(85)])]) for i in range(25)]
        self.setup_fake(scenario(accts))
        self.fake.faults([{"action": "ListAccounts", "kind": "latency", "latency_ms": 1,
                           "count": 1},
                          {"action": "ListAccounts", "kind": "throttle", "count": 50}])
        proc = self.rot.start("--once")
        # The first page and at least one throttled try of the second.
        self.wait_for_calls("ListAccounts", 2, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertNotIn("Sanitizer", err)
        rep = self.rot.last_report()
        self.assertFalse(rep["complete"])
        self.assertEqual(rep["totals"]["keys_created"], 0)
        self.assertEqual(self.fake.emails(), [])


if __name__ == "__main__":
    unittest.main()
