"""--dry-run on the bundled demo organization: the plan a person reads, and
proof that nothing changed in the organization and nothing was sent."""
import json
import os
import unittest

from harness import Fake, Rotator, RotatorTestCase, SOURCE_DIR

DEMO = os.path.join(SOURCE_DIR, "tests", "fakeaws", "scenarios", "demo.json")


def without_clock(state):
    s = json.loads(json.dumps(state))
    s.pop("now", None)
    return s


class DryRunDemo(RotatorTestCase):
    def setUp(self):
        self.setup_fake(DEMO)

    def test_plan_is_printed_and_nothing_changes(self):
        before = without_clock(self.fake.state())
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout
        # A table with a header and one line per planned action.
        self.assertIn("ACCOUNT", out.splitlines()[0])
        self.assertIn("ACTION", out.splitlines()[0])
        # alice (85 days) is due for rotation; dave is exempt; erin has no email.
        lines = {l.split()[1]: l for l in out.splitlines()[1:] if l.strip() and l[0].isdigit()}
        self.assertIn("alice", lines)
        self.assertIn("create", lines["alice"])
        self.assertIn("planned", lines["alice"])
        self.assertIn("dave", lines)
        self.assertIn("skip", lines["dave"])
        self.assertIn("erin", lines)
        self.assertNotIn("planned", lines["erin"])
        # The excluded and the suspended accounts are never entered.
        self.assertNotIn("ivan", out)
        self.assertNotIn("judy", out)
        # Totals at the end.
        self.assertIn("planned", out.strip().splitlines()[-1])

        self.assertEqual(without_clock(self.fake.state()), before)
        self.assertEqual(self.fake.emails(), [])
        self.assertEqual(self.fake.sns(), [])
        mutating = {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "SendRawEmail",
                    "Publish", "SendEmail"}
        done = {r["action"] for r in self.fake.requests()}
        self.assertFalse(done & mutating, f"mutating calls in a dry run: {done & mutating}")
        # The excluded account was never entered: no call acted in it.
        self.assertNotIn("333333333333", {r.get("account") for r in self.fake.requests()})

    def test_report_written(self):
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        rep = self.rot.last_report()
        self.assertEqual(rep["mode"], "dry-run")
        self.assertTrue(rep["complete"])
        states = {a["id"]: a["state"] for a in rep["accounts"]}
        self.assertEqual(states["333333333333"], "excluded")
        self.assertEqual(states["444444444444"], "not-active")
        self.assertEqual(states["222222222222"], "ok")
        creates = [a for a in rep["actions"] if a["action"] == "create"]
        self.assertTrue(all(a["outcome"] == "planned" for a in creates))
        self.assertIn("alice", {a["user"] for a in creates})


if __name__ == "__main__":
    unittest.main()
