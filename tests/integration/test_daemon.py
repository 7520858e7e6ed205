"""The daemon mode: sd_notify messages in order (READY, STATUS, RELOADING,
STOPPING) on a NOTIFY_SOCKET made by the test, SIGHUP with a broken and with
a changed file, a scheduled fire time running a sweep, SIGTERM during a
sweep, and the catch-up of a missed run."""
import os
import signal
import time
import unittest
from datetime import datetime, timedelta, timezone

from harness import RotatorTestCase, account, key, scenario, user, user_keys
from mails import delivered_credentials
from proofkit import Notify

DEV = "222222222222"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


class Daemon(RotatorTestCase):
    def start_daemon(self, now, schedule, env=None):
        self.rot.write_config({"schedule": f'"{schedule}"'})
        self.notify = Notify()
        self.addCleanup(self.notify.close)
        proc = self.rot.start(None, now=iso(now),
                              env=dict(env or {}, NOTIFY_SOCKET=self.notify.path))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def test_lifecycle(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])])]))
        fake_now = parse_iso(self.fake.now())
        # The daemon's clock starts 5 s before the scheduled minute.
        fire = (fake_now + timedelta(minutes=2)).replace(second=0)
        start = fire - timedelta(seconds=5)
        # WatchdogSec=2s as systemd would pass it: WATCHDOG=1 every second.
        proc = self.start_daemon(start, "00:00", env={"WATCHDOG_USEC": "2000000"})

        self.notify.wait(lambda m: "READY=1" in m)
        self.notify.wait(lambda m: m.startswith("STATUS=Next sweep"))
        self.notify.wait(lambda m: m == "WATCHDOG=1", timeout=5)
        # Secrets pass through its memory: it never dumps core.
        with open(f"/proc/{proc.pid}/limits") as f:
            core = [l for l in f if l.startswith("Max core file size")][0].split()
        self.assertEqual(core[4:6], ["0", "0"])

        # A broken file is refused; the old one stays in force.
        with open(self.rot.config_path) as f:
            text = f.read()
        with open(self.rot.config_path, "w") as f:
            f.write(text.replace("rotate_after_days = 80;", 'rotate_after_days = "soon";'))
        n = len(self.notify.messages)
        proc.send_signal(signal.SIGHUP)
        self.notify.wait(lambda m: "RELOADING=1" in m and "MONOTONIC_USEC=" in m)
        self.notify.wait(lambda m: "READY=1" in m, after=n)
        self.assertIsNone(proc.poll())

        # A valid file with a new schedule re-arms the timer.
        self.rot.write_config({"schedule": f'"{fire:%H:%M}"'})
        n = len(self.notify.messages)
        proc.send_signal(signal.SIGHUP)
        self.notify.wait(lambda m: m.startswith("STATUS=Next sweep") and f"{fire:%H:%M}" in m,
                         after=n)

        # The fire time is reached: a sweep runs and rotates alice.
        self.notify.wait(lambda m: "Sweep starting" in m, timeout=90)
        self.notify.wait(lambda m: "last sweep succeeded" in m, timeout=90)
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 2)
        self.assertEqual(self.rot.last_report()["mode"], "scheduled")

        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0)
        self.notify.wait(lambda m: "STOPPING=1" in m)
        kinds = [m.split("=")[0].split("\n")[0] for m in self.notify.messages
                 if not m.startswith(("STATUS=", "WATCHDOG="))]
        self.assertEqual(kinds, ["READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"])
        err = proc.stderr.read()
        self.assertIn("Reload failed", err)
        self.assertIn("rotate_after_days", err)

    def test_sigterm_during_sweep_leaves_no_half_done_rotation(self):
        users = [user(f"u{i}", [key(85)]) for i in range(12)]
        self.setup_fake(scenario([account(DEV, users)]), fake_args=["--latency-ms", "300"])
        before = {k["id"] for u in users for k in []}
        fake_now = parse_iso(self.fake.now())
        fire = (fake_now + timedelta(minutes=2)).replace(second=0)
        proc = self.start_daemon(fire - timedelta(seconds=2), f"{fire:%H:%M}")
        self.notify.wait(lambda m: "Sweep running" in m or "Sweep starting" in m, timeout=60)
        # Mid-rotation: at least one key created (each call takes 300 ms, so
        # most of the 12 users are still ahead).
        self.wait_for_calls("CreateAccessKey", 1, proc)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(60), 0)
        state = self.fake.state()
        mails = self.fake.emails()
        for u in users:
            keys = user_keys(state, DEV, u["name"])
            self.assertIn(len(keys), (1, 2))
            if len(keys) == 2:
                new = sorted(keys, key=lambda k: k["create_date"])[-1]
                self.assertIn((new["id"], new["secret"]),
                              delivered_credentials(mails, f"{u['name']}@example.com"))

    def test_reload_during_sweep_keeps_its_environment(self):
        # The AWS environment (engine, credential provider) is built once
        # per configuration load: a SIGHUP mid-sweep builds a new one, and
        # the running sweep finishes in the one it started with. Under the
        # sanitizers a leaked or early-freed environment fails the exit
        # status or the run.
        users = [user(f"u{i}", [key(85)]) for i in range(6)]
        self.setup_fake(scenario([account(DEV, users)]), fake_args=["--latency-ms", "200"])
        fake_now = parse_iso(self.fake.now())
        fire = (fake_now + timedelta(minutes=2)).replace(second=0)
        proc = self.start_daemon(fire - timedelta(seconds=2), f"{fire:%H:%M}")
        self.notify.wait(lambda m: "Sweep starting" in m, timeout=60)
        self.wait_for_calls("CreateAccessKey", 1, proc)
        n = len(self.notify.messages)
        # A valid reload, then one the new environment refuses (a bad
        # region): the second keeps the first in force.
        self.rot.write_config({"schedule": f'"{fire:%H:%M}"',
                               "policy": {"rotate_after_days": 81}})
        proc.send_signal(signal.SIGHUP)
        self.notify.wait(lambda m: "RELOADING=1" in m, after=n)
        self.notify.wait(lambda m: "READY=1" in m, after=n)
        self.rot.write_config({"schedule": f'"{fire:%H:%M}"', "aws": {"region": "bad region!"}})
        n = len(self.notify.messages)
        proc.send_signal(signal.SIGHUP)
        self.notify.wait(lambda m: "READY=1" in m, after=n)
        self.notify.wait(lambda m: "last sweep succeeded" in m, timeout=120)
        state = self.fake.state()
        for u in users:
            self.assertEqual(len(user_keys(state, DEV, u["name"])), 2, u["name"])
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0)
        err = proc.stderr.read()
        self.assertIn("Configuration reloaded", err)
        self.assertIn("Reload failed", err)

    def test_missed_run_is_caught_up_once(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])])]))
        res = self.rot.run("--dry-run")
        fake_now = parse_iso(self.fake.now())
        res = self.rot.run("--once", now=iso(fake_now))
        self.assertEqual(res.returncode, 0, res.stderr)
        # The daemon comes back a day and a bit later, after the scheduled time.
        back = fake_now + timedelta(days=1, hours=1)
        sched = (fake_now + timedelta(hours=12)).strftime("%H:%M")
        proc = self.start_daemon(back, sched)
        self.notify.wait(lambda m: "last sweep" in m, timeout=120)
        self.assertEqual(self.rot.last_report()["mode"], "scheduled")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0)

    def test_sweep_that_cannot_run_still_exits_0_on_sigterm(self):
        # The long-running daemon reports a sweep that could not run and goes
        # on; SIGTERM later must exit 0 (DESIGN: stop, exit 0), not with the
        # status --once would give. It exited 2 before.
        self.setup_fake(scenario([account(DEV, [user("alice", [key(10)])])]))
        fake_now = parse_iso(self.fake.now())
        res = self.rot.run("--once", now=iso(fake_now))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.fake.faults([{"action": "ListAccounts", "kind": "error", "status": 400,
                           "code": "AccessDeniedException"}])
        back = fake_now + timedelta(days=1, hours=1)
        sched = (fake_now + timedelta(hours=12)).strftime("%H:%M")
        proc = self.start_daemon(back, sched)
        status = self.notify.wait(lambda m: "last sweep" in m, timeout=120)
        self.assertIn("could not run", status)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0)


class DaemonCatchUpFailure(RotatorTestCase):
    def test_failed_catch_up_still_schedules(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(10)])])]))
        fake_now = parse_iso(self.fake.now())
        res = self.rot.run("--once", now=iso(fake_now))
        self.assertEqual(res.returncode, 0, res.stderr)
        back = fake_now + timedelta(days=1, hours=1)
        sched = (fake_now + timedelta(hours=12)).strftime("%H:%M")
        self.rot.write_config({"schedule": f'"{sched}"'})
        self.notify = Notify()
        self.addCleanup(self.notify.close)
        proc = self.rot.start(None, now=iso(back),
                              env={"NOTIFY_SOCKET": self.notify.path, "AWS_REGION": "bad region!"})
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.notify.wait(lambda m: "READY=1" in m)
        self.notify.wait(lambda m: m.startswith("STATUS=Next sweep"))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0)
        err = proc.stderr.read()
        self.assertIn("catching up", err)
        self.assertIn("Next sweep at", err)


if __name__ == "__main__":
    unittest.main()
