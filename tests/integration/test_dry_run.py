"""--dry-run on the bundled demo organization: the plan a person reads, and
proof that nothing changed in the organization and nothing was sent."""
import datetime
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

    def listing(self):
        """Every file under the state directory with its size, mtime and
        (for symlinks) target."""
        out = {}
        for dirpath, dirs, files in os.walk(self.rot.state_dir):
            for name in dirs + files:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                out[os.path.relpath(p, self.rot.state_dir)] = (
                    st.st_size, st.st_mtime_ns,
                    os.readlink(p) if os.path.islink(p) else None)
        return out

    def test_dry_run_leaves_no_trace_in_the_state_directory(self):
        # After a real sweep, a dry run must not repoint last-report.json at
        # itself nor write (or touch) anything in the state directory.
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        real = self.rot.last_report()
        self.assertEqual(real["mode"], "once")
        before = self.listing()
        self.assertIn("last-report.json", before)
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("ACTION", res.stdout.splitlines()[0])
        self.assertEqual(self.listing(), before)
        self.assertEqual(self.rot.last_report()["run_id"], real["run_id"])

    def test_dry_run_creates_no_state_directory(self):
        missing = os.path.join(self.rot.dir, "not-yet")
        self.rot.state_dir = missing
        self.rot.write_config()
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("planned", res.stdout)
        self.assertFalse(os.path.exists(missing), "a dry run created the state directory")

    def test_report_file(self):
        path = os.path.join(self.rot.dir, "plan.json")
        res = self.rot.run("--dry-run", extra=["--report", path])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("ACTION", res.stdout.splitlines()[0])  # the plan is still printed
        with open(path) as f:
            rep = json.load(f)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(rep["mode"], "dry-run")
        self.assertTrue(rep["complete"])
        states = {a["id"]: a["state"] for a in rep["accounts"]}
        self.assertEqual(states["333333333333"], "excluded")
        self.assertEqual(states["444444444444"], "not-active")
        self.assertEqual(states["222222222222"], "ok")
        creates = [a for a in rep["actions"] if a["action"] == "create"]
        self.assertTrue(all(a["outcome"] == "planned" for a in creates))
        self.assertIn("alice", {a["user"] for a in creates})
        self.assertEqual(os.listdir(self.rot.state_dir), [])

    def test_report_to_stdout(self):
        res = self.rot.run("--dry-run", extra=["--report", "-"])
        self.assertEqual(res.returncode, 0, res.stderr)
        rep = json.loads(res.stdout)  # the JSON only, no table
        self.assertEqual(rep["mode"], "dry-run")
        self.assertIn("alice", {a["user"] for a in rep["actions"] if a["action"] == "create"})

    def test_report_needs_a_one_shot_mode(self):
        res = self.rot.run(None, extra=["--report", "x.json"], timeout=30)
        self.assertEqual(res.returncode, 2)
        self.assertIn("--report", res.stderr)


class ReportRetention(RotatorTestCase):
    """report_retention_days: reports of runs that started that many days
    ago or more are removed after a sweep; the newest report, files that
    are not run reports, and everything when a dry run or retention 0 are
    left alone."""

    def setUp(self):
        self.setup_fake(DEMO)
        now = datetime.datetime.strptime(self.fake.now(), "%Y-%m-%dT%H:%M:%SZ")

        def name(days):
            t = now - datetime.timedelta(days=days)
            return f"report-{t:%Y%m%dT%H%M%SZ}-abc123.json"
        self.old, self.young = name(91), name(89)
        self.edge = name(90)
        self.other = ["report-notes.json", "report-x.json.bak", "statelog.keep"]
        for n in [self.old, self.young, self.edge] + self.other:
            with open(os.path.join(self.rot.state_dir, n), "w") as f:
                f.write("{}")

    def reports(self):
        return sorted(os.listdir(self.rot.state_dir))

    def test_old_reports_pruned_after_a_sweep(self):
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        left = self.reports()
        self.assertNotIn(self.old, left)
        self.assertNotIn(self.edge, left)
        self.assertIn(self.young, left)
        for n in self.other:
            self.assertIn(n, left)
        new = os.readlink(os.path.join(self.rot.state_dir, "last-report.json"))
        self.assertIn(new, left)
        self.assertIn("Removed 2 reports older than 90 days", res.stderr)

    def test_retention_setting(self):
        self.rot.write_config({"report_retention_days": 95})
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        left = self.reports()
        for n in (self.old, self.young, self.edge):
            self.assertIn(n, left)
        self.rot.write_config({"report_retention_days": 0})
        self.fake.clock(advance_days=30)
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        self.assertEqual(len([n for n in self.reports() if n.startswith("report-2")]), 5)

    def test_dry_run_prunes_nothing(self):
        before = self.reports()
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.reports(), before)


if __name__ == "__main__":
    unittest.main()
