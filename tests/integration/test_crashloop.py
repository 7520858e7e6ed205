"""Crash loop: SIGKILL the daemon at seeded random moments of rotating
sweeps, restart it each time, and check after every restart that no key
exists whose secret did not reach its owner.

Each round loads a fresh organization in which every user is due (several
accounts; some users also hold an inactive key that must be deleted first).
A round repeats: `--once`, SIGKILLed after a random delay (uniform over the
length of a whole sweep, measured once at the start, so kills land in
reconciliation, listing, CreateAccessKey, either mail, closing the intent);
then a restart in daemon mode, which reconciles open intents before READY=1
(sometimes killed too, at a random moment of that reconciliation); at READY
the invariants are checked and the daemon is stopped. A round ends when a
`--once` finishes before its kill: then every due user must hold exactly one
new delivered key, and one more sweep must change nothing.

Invariants after every restart and at the end of every round:
- every key that was not there at the start was delivered: its zip, opened by
  7zz with the password from the companion mail, holds the secret the fake
  issued, and both mails went to the owner's address;
- no user holds more than two keys (checked after every kill too);
- no secret access key or zip password in any file of the state directory or
  in the daemon's output.

    AKR_SEED=N      replay a seed (printed at the start)
    AKR_KILLS=N     kills to reach (default 30; AKR_LONG=1 or =crashloop: 300)
"""
import os
import random
import signal
import subprocess
import time
import unittest
from datetime import datetime, timedelta, timezone

from harness import RotatorTestCase, account, key, scenario, user
from proofkit import (Drain, Ledger, Notify, asan_mode, check_keys, check_weak, key_ids,
                      long_mode, new_keys,
                      require_7zz, scan_for_secrets, seed_from_env, users_of)

CONFIG = {
    "email": {"max_send_rate": 200},
    "limits": {"request_timeout_sec": 3 if not asan_mode() else 6, "max_attempts": 2,
               "max_requests_in_flight": 16, "max_requests_per_account": 4},
}


def parse_iso(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def world(rng, n_accounts, n_users):
    accts = []
    for a in range(n_accounts):
        users = []
        for u in range(n_users):
            keys = [key(rng.randint(80, 150), last_used_days=rng.choice([None, 0, 3]))]
            roll = rng.random()
            if roll < 0.2:
                keys.append(key(rng.randint(100, 300), "Inactive"))   # deleted, then create
            elif roll < 0.3:
                keys.append(key(rng.randint(1, 60), "Inactive"))      # freed for the new key
            users.append(user(f"u{a}-{u}", keys))
        accts.append(account(f"2{a:011d}", users))
    # A seed of its own: the fake draws key ids and secrets from it, and a
    # round must not meet the ids (and secrets) of an earlier one.
    return scenario(accts, seed=rng.randrange(1 << 30))


class CrashLoop(RotatorTestCase):
    def setUp(self):
        require_7zz(self)
        self.seed = seed_from_env()
        self.rng = random.Random(self.seed)
        target = 300 if long_mode("crashloop") else 30
        self.target = int(os.environ.get("AKR_KILLS", target))
        self.n_accounts, self.n_users = (5, 10) if long_mode("crashloop") else (3, 8)
        self.setup_fake(world(self.rng, self.n_accounts, self.n_users),
                        fake_args=["--latency-ms", "10"], config=CONFIG)
        self.ledger = Ledger()
        self.logs = []
        self.kills = {"once": 0, "reconcile": 0}
        self.restarts = 0

    # -- helpers --------------------------------------------------------------

    def fail_with(self, problems, what):
        if problems:
            self.fail(f"seed {self.seed}, {what}:\n  " + "\n  ".join(problems[:20]))

    def collect(self, proc):
        out, err = proc.drain.finish(timeout=60)
        self.logs.append(out + err)
        self.assertNotIn("Sanitizer", err, err[-3000:])
        self.assertNotIn("runtime error", err, err[-3000:])
        return err

    def check(self, what, strong=True):
        state = self.fake.state()
        self.ledger.update(state, self.fake.emails())
        problems = check_weak(state)
        if strong:
            problems += check_keys(state, self.ledger, self.baseline)
        problems += scan_for_secrets(self.ledger, self.rot.state_dir, self.logs[-3:])
        self.fail_with(problems, what)
        return state

    def daemon_config(self):
        sched = parse_iso(self.fake.now()) + timedelta(hours=12)
        self.rot.write_config(dict(CONFIG, schedule=f'"{sched:%H:%M}"'))

    def restart_reconcile(self, kill_after=None):
        """Daemon mode: open intents are reconciled before READY=1. Returns
        True when it was killed before READY."""
        notify = Notify()
        try:
            proc = self.rot.start(None, env={"NOTIFY_SOCKET": notify.path})
            proc.drain = Drain(proc)
            self.restarts += 1
            if kill_after is not None:
                try:
                    proc.wait(kill_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    self.collect(proc)
                    self.kills["reconcile"] += 1
                    return True
            notify.wait(lambda m: "READY=1" in m, timeout=120, proc=proc)
            self.check(f"after the restart that followed kill #{self.total_kills()}")
            proc.send_signal(signal.SIGTERM)
            self.collect(proc)
            self.assertEqual(proc.returncode, 0, self.logs[-1][-3000:])
            return False
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.drain.finish()
            notify.close()

    def total_kills(self):
        return sum(self.kills.values())

    def new_round(self, first=False):
        if not first:
            self.fake.call("POST", "load", world(self.rng, self.n_accounts, self.n_users))
            self.ledger.new_load()
        state = self.fake.state()
        self.baseline = key_ids(state)
        self.due = [(a, u["name"]) for a, u in users_of(state) if u["keys"]]
        self.daemon_config()

    def end_round(self, rnd):
        state = self.check(f"end of round {rnd}")
        got = new_keys(state, self.baseline)
        bad = [f"{a}/{n}: {len(got[(a, n)])} new keys" for a, n in self.due
               if len(got[(a, n)]) != 1 or got[(a, n)][0]["status"] != "Active"]
        self.fail_with(bad, f"round {rnd}: every due user must end with one new active key")
        # The old active key is kept (notice period): the user holds two keys.
        bad = [f"{a}/{u['name']}: {[(k['status']) for k in u['keys']]}"
               for a, u in users_of(state)
               if sorted(k["status"] for k in u["keys"]) != ["Active", "Active"]]
        self.fail_with(bad, f"round {rnd}: old key and new key must both be active")
        n_mails = len(self.fake.emails())
        res = self.rot.run("--once")
        self.logs.append(res.stdout + res.stderr)
        self.assertEqual(res.returncode, 0, res.stderr[-3000:])
        self.assertEqual(self.fake.state()["accounts"], state["accounts"],
                         "a second sweep changed something")
        self.assertEqual(len(self.fake.emails()), n_mails, "a second sweep sent mail")

    # -- the test -------------------------------------------------------------

    def test_crash_loop(self):
        t0 = time.monotonic()
        # Calibration round: one whole sweep, unkilled, gives the kill window.
        self.new_round(first=True)
        start = time.monotonic()
        res = self.rot.run("--once")
        sweep_s = time.monotonic() - start
        self.logs.append(res.stdout + res.stderr)
        self.assertEqual(res.returncode, 0, res.stderr[-3000:])
        self.end_round(0)
        print(f"a whole sweep of {len(self.due)} due users takes {sweep_s:.2f} s", flush=True)

        rnd = 0
        while self.total_kills() < self.target:
            rnd += 1
            self.new_round()
            for cycle in range(200):
                proc = self.rot.start("--once")
                proc.drain = Drain(proc)
                delay = self.rng.uniform(0.0, sweep_s * 1.1)
                try:
                    proc.wait(delay)
                    killed = False
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                self.collect(proc)
                if not killed:
                    self.assertIn(proc.returncode, (0, 1), self.logs[-1][-3000:])
                    break
                self.kills["once"] += 1
                self.check(f"right after kill #{self.total_kills()} ({delay:.3f} s)",
                           strong=False)
                # Restart; a quarter of the restarts are killed during reconciliation.
                while self.restart_reconcile(self.rng.uniform(0.0, 0.3)
                                             if self.rng.random() < 0.25 else None):
                    self.check(f"right after kill #{self.total_kills()} (reconciling)",
                               strong=False)
            else:
                self.fail(f"seed {self.seed}: round {rnd} never finished a sweep")
            self.end_round(rnd)
        print(f"kills survived: {self.total_kills()} ({self.kills['once']} during sweeps, "
              f"{self.kills['reconcile']} during reconciliation), restarts {self.restarts}, "
              f"rounds {rnd + 1}, keys delivered {len(self.ledger.delivered)}, "
              f"{time.monotonic() - t0:.0f} s; nothing lost", flush=True)


if __name__ == "__main__":
    unittest.main()
