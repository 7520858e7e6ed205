"""metrics_file: the Prometheus text file of the last sweep, parsed with
the Prometheus project's own parser (Debian's python3-prometheus-client,
run with Debian's /usr/bin/python3: the interpreter running the tests may
not see Debian's dist-packages)."""
import json
import os
import stat
import subprocess
import unittest

from harness import RotatorTestCase, SOURCE_DIR

DEMO = os.path.join(SOURCE_DIR, "tests", "fakeaws", "scenarios", "demo.json")
DEBIAN_PYTHON = "/usr/bin/python3"
PREFIX = "iam_access_key_rotator_"
PARSE = r'''
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    out[fam.name] = {"type": fam.type, "documentation": fam.documentation,
                     "samples": [[s.name, s.labels, s.value] for s in fam.samples]}
json.dump(out, sys.stdout)
'''


def parse(text):
    """The metric families as the Prometheus client library parses them."""
    r = subprocess.run([DEBIAN_PYTHON, "-c", PARSE], input=text, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"prometheus_client could not parse the file "
                             f"(apt-get install python3-prometheus-client):\n{r.stderr}\n{text}")
    return json.loads(r.stdout)


def value(fams, name, **labels):
    fam = fams[PREFIX + name]
    for sname, slabels, v in fam["samples"]:
        if sname == PREFIX + name and slabels == labels:
            return v
    raise KeyError(f"{name}{labels} not in {fam['samples']}")


class Metrics(RotatorTestCase):
    def setUp(self):
        self.setup_fake(DEMO)
        self.metrics_dir = os.path.join(self.rot.dir, "textfile")
        os.makedirs(self.metrics_dir)
        self.path = os.path.join(self.metrics_dir, "iam-access-key-rotator.prom")
        self.rot.write_config({"metrics_file": f'"{self.path}"'})

    def read(self):
        with open(self.path) as f:
            return parse(f.read())

    def test_a_sweep_writes_parseable_metrics(self):
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        st = os.stat(self.path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        self.assertEqual(os.listdir(self.metrics_dir), ["iam-access-key-rotator.prom"],
                         "a temporary file was left beside the metrics file")
        fams = self.read()
        for name in ("last_sweep_start_timestamp_seconds", "last_sweep_end_timestamp_seconds",
                     "last_success_timestamp_seconds", "last_sweep_success",
                     "last_sweep_duration_seconds", "last_sweep_accounts", "last_sweep_users",
                     "last_sweep_users_cannot_rotate", "last_sweep_actions", "last_sweep_keys",
                     "last_sweep_mails_sent", "last_sweep_requests",
                     "last_sweep_throttled_responses"):
            self.assertIn(PREFIX + name, fams)
            self.assertEqual(fams[PREFIX + name]["type"], "gauge")
            self.assertTrue(fams[PREFIX + name]["documentation"])

        rep = self.rot.last_report()
        t = rep["totals"]
        start = value(fams, "last_sweep_start_timestamp_seconds")
        end = value(fams, "last_sweep_end_timestamp_seconds")
        self.assertGreater(start, 1.7e9)
        self.assertGreaterEqual(end, start)
        self.assertEqual(value(fams, "last_sweep_duration_seconds"), end - start)
        self.assertEqual(value(fams, "last_success_timestamp_seconds"), end)
        self.assertEqual(value(fams, "last_sweep_success"), 1)
        self.assertEqual(value(fams, "last_sweep_keys", action="created"), t["keys_created"])
        self.assertEqual(value(fams, "last_sweep_keys", action="deactivated"),
                         t["keys_deactivated"])
        self.assertEqual(value(fams, "last_sweep_keys", action="deleted"), t["keys_deleted"])
        self.assertGreater(t["keys_created"], 0)
        self.assertEqual(value(fams, "last_sweep_mails_sent"), t["mails_sent"])
        self.assertEqual(value(fams, "last_sweep_users", outcome="seen"), t["users_seen"])
        self.assertEqual(value(fams, "last_sweep_accounts", state="failed"), 0)
        self.assertEqual(value(fams, "last_sweep_accounts", state="excluded"), 1)
        # The requests the fake answered (the fake counts every request it
        # got; the daemon counts every one it started).
        self.assertEqual(value(fams, "last_sweep_requests"), self.fake.stats()["requests"])
        self.assertEqual(value(fams, "last_sweep_throttled_responses"), 0)
        # Users that cannot be rotated, as the report has them: erin (no
        # address), frank (invalid address), grace (two active keys).
        blocked = {(a["account_id"], a["user"]) for a in rep["actions"]
                   if a["action"] == "report"}
        self.assertEqual(value(fams, "last_sweep_users", outcome="cannot_rotate"), len(blocked))
        total = sum(v for n, l, v in fams[PREFIX + "last_sweep_users_cannot_rotate"]["samples"])
        self.assertEqual(total, len(blocked))
        self.assertEqual(value(fams, "last_sweep_users_cannot_rotate", reason="no-email"), 1)
        self.assertEqual(value(fams, "last_sweep_users_cannot_rotate", reason="invalid-email"), 1)

    def test_failures_keep_the_last_success(self):
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        first = self.read()
        success = value(first, "last_success_timestamp_seconds")
        # A day later every IAM call of one account fails, and throttling
        # answers are counted.
        self.fake.clock(advance_days=1)
        self.fake.faults([{"account": "555555555555", "service": "iam", "kind": "error",
                           "status": 403, "code": "AccessDenied"},
                          {"account": "222222222222", "action": "ListUsers",
                           "kind": "throttle", "count": 1}])
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        fams = self.read()
        self.assertEqual(value(fams, "last_sweep_success"), 0)
        self.assertEqual(value(fams, "last_success_timestamp_seconds"), success)
        self.assertGreater(value(fams, "last_sweep_start_timestamp_seconds"), success)
        self.assertEqual(value(fams, "last_sweep_accounts", state="failed"), 1)
        self.assertGreaterEqual(value(fams, "last_sweep_throttled_responses"), 1)

    def test_dry_run_writes_no_metrics(self):
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertFalse(os.path.exists(self.path))
        self.assertEqual(os.listdir(self.metrics_dir), [])


if __name__ == "__main__":
    unittest.main()
