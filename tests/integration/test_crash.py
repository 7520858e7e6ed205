"""Crash safety: SIGKILL the daemon at chosen points of a rotation (before
and after CreateAccessKey, during each of the two mails), restart it, and
check that every key that exists was delivered to its owner."""
import signal
import time
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
    def wait_for(self, action, n, proc, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if self.fake.stats()["by_action"].get(action, 0) >= n:
                return
            if proc.poll() is not None:
                self.fail(f"the daemon exited before {action}: {proc.stderr.read()}")
            time.sleep(0.05)
        self.fail(f"{action} was never called")

    def crash_at(self, point):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])])]))
        before_ids = {k["id"] for k in user_keys(self.fake.state(), DEV, "alice")}
        self.fake.faults(POINTS[point])
        proc = self.rot.start("--once")
        action = POINTS[point][-1]["action"]
        self.wait_for(action, 2 if point == "during-password-mail" else 1, proc)
        time.sleep(0.5)
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


if __name__ == "__main__":
    unittest.main()
