"""Soak: one long-running daemon (not --once: timer driven), sweep after
sweep with random faults, a SIGHUP reload between sweeps; prints its RSS and
open file descriptors (/proc/PID/status, /proc/PID/fd) after every sweep and
asserts that both stay flat after the warm-up (the first sweep, which runs
without faults so that it does the full work: a warm-up that a fault on the
organization listing turned into "could not run" warms nothing, and the next
sweep's ordinary allocations then look like growth).

The daemon's clock starts a few seconds before a minute (--now), the
schedule is that minute; after each sweep the test loads a fresh
organization (every user due, so every sweep creates keys, sends mails,
deactivates and deletes) and reloads the configuration with SIGHUP, the
schedule set to the next minute: one sweep a minute, back to back when a
sweep is long. The safety invariants are checked after every sweep.

    AKR_SOAK_SECONDS=N   how long (default 60, 45 under the sanitizers: two sweeps;
                         AKR_LONG=1 or =soak: 600)
    AKR_SEED=N           replay a seed (printed)
"""
import os
import random
import signal
import time
import unittest
from datetime import datetime, timedelta, timezone

from harness import RotatorTestCase, account, key, scenario, user
from proofkit import (Drain, Ledger, Notify, asan_mode, check_keys, key_ids, long_mode, require_7zz,
                      reconcile_failed_users, rollback_failed_users, scan_for_secrets,
                      seed_from_env, users_of)

CONFIG = {
    "email": {"max_send_rate": 200},
    "limits": {"request_timeout_sec": 2 if not asan_mode() else 4, "max_attempts": 2},
}
FAULTS = [{"kind": "throttle"}, {"kind": "error", "status": 503, "code": "ServiceUnavailable"},
          {"kind": "reset"}, {"kind": "reset", "when": "after"}, {"kind": "hang"},
          {"kind": "hang", "when": "after"}, {"kind": "malformed"},
          {"kind": "error", "status": 500, "code": "InternalFailure", "when": "after"}]
# Growth allowed after the warm-up sweep: RSS (kB) and descriptors (curl may
# keep a few more keep-alive connections after one sweep than another).
RSS_SLACK_KB = 4096
FD_SLACK = 8


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def world(rng, n):
    accts = []
    for a in range(6):
        users = []
        for u in range(8):
            roll = rng.random()
            if roll < 0.6:
                keys = [key(rng.randint(80, 120))]                      # rotate
            elif roll < 0.75:
                keys = [key(rng.randint(90, 120)), key(rng.randint(10, 30))]  # deactivate
            elif roll < 0.9:
                keys = [key(rng.randint(100, 200), "Inactive"), key(85)]  # delete, rotate
            else:
                keys = [key(rng.randint(88, 89)), key(8)]                # remind
            users.append(user(f"s{n}-{a}-{u}", keys))
        accts.append(account(f"4{a:011d}", users))
    return scenario(accts, seed=n)


def proc_figures(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


class Soak(RotatorTestCase):
    def test_soak(self):
        require_7zz(self)
        seed = seed_from_env()
        rng = random.Random(seed)
        default = 600 if long_mode("soak") else 45 if asan_mode() else 60
        seconds = int(os.environ.get("AKR_SOAK_SECONDS", default))
        self.setup_fake(world(rng, 0), fake_args=["--latency-ms", "5"], config=CONFIG)
        ledger = Ledger()
        baseline = key_ids(self.fake.state())
        fake_now = parse_iso(self.fake.now())
        start = (fake_now + timedelta(minutes=1)).replace(second=0) - timedelta(seconds=3)
        fire = start + timedelta(seconds=3)
        self.rot.write_config(dict(CONFIG, schedule=f'"{fire:%H:%M}"'))
        notify = Notify()
        self.addCleanup(notify.close)
        env = {"NOTIFY_SOCKET": notify.path}
        if asan_mode():
            # A small quarantine, so that freed memory held back by ASan does
            # not look like growth.
            env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                   ":quarantine_size_mb=4").lstrip(":")
        proc = self.rot.start(None, now=iso(start), env=env)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        drain = Drain(proc)
        notify.wait(lambda m: "READY=1" in m, proc=proc)
        daemon_offset = start - datetime.now(timezone.utc)

        figures = []
        t0 = time.monotonic()
        n = 0
        leftover = set()
        while True:
            n += 1
            if n > 1:
                self.fake.faults([dict(f, probability=0.02) for f in FAULTS])
            mark = len(notify.messages)
            started = notify.wait(lambda m: "Sweep starting" in m, timeout=120, after=mark,
                                  proc=proc)
            peak = proc_figures(proc.pid)
            mark = notify.messages.index(started, mark) + 1
            done = notify.wait(lambda m: "last sweep" in m, timeout=600, after=mark, proc=proc)
            rss, fds = proc_figures(proc.pid)
            figures.append((rss, fds))
            self.fake.call("DELETE", "faults")
            state = self.fake.state()
            ledger.update(state, self.fake.emails())
            # A key whose rollback failed is deleted by the next sweep's
            # reconciliation (it must be gone then); nothing else may be undelivered.
            # (unless that reconciliation failed too, and says so in the report).
            rep = self.rot.last_report()
            again = reconcile_failed_users(rep)
            owner = {k["id"]: (a, u["name"]) for a, u in users_of(state) for k in u["keys"]}
            problems = [f"key {k} of a failed rollback survived the next sweep"
                        for k in sorted(leftover & set(owner)) if owner[k] not in again]
            pending = {w: set() for w in rollback_failed_users(rep) | again}
            problems += check_keys(state, ledger, baseline, pending=pending)
            leftover = set().union(*pending.values()) if pending else set()
            if leftover:
                print(f"sweep {n}: rollback failed for {sorted(leftover)}; reconciled next",
                      flush=True)
            problems += scan_for_secrets(ledger, self.rot.state_dir,
                                         ["".join(drain.parts["err"][-2000:])])
            self.assertEqual(problems, [], f"seed {seed}, sweep {n}")
            print(f"sweep {n}: RSS {rss} kB, open fds {fds} (at its start {peak[0]} kB, "
                  f"{peak[1]} fds); {done.split(chr(10))[0][7:][:60]}; "
                  f"{len(ledger.delivered)} keys delivered so far", flush=True)
            if n == 1:
                first_delivered = len(ledger.delivered)
            if time.monotonic() - t0 >= seconds:
                break
            # A fresh organization, then a reload: the next sweep at the next minute.
            if not leftover:        # else the same world, to see the key reconciled
                self.fake.call("POST", "load", world(rng, n))
                ledger.new_load()
                baseline = key_ids(self.fake.state())
            daemon_now = datetime.now(timezone.utc) + daemon_offset
            nxt = (daemon_now + timedelta(minutes=1)).replace(second=0, microsecond=0)
            if (nxt - daemon_now).total_seconds() < 2:
                nxt += timedelta(minutes=1)
            self.rot.write_config(dict(CONFIG, schedule=f'"{nxt:%H:%M}"'))
            mark = len(notify.messages)
            proc.send_signal(signal.SIGHUP)
            notify.wait(lambda m: m.startswith("STATUS=Next sweep") and f"{nxt:%H:%M}" in m,
                        after=mark, proc=proc)

        proc.send_signal(signal.SIGTERM)
        _, err = drain.finish(timeout=60)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        self.assertNotIn("Sanitizer", err, err[-3000:])
        self.assertEqual(scan_for_secrets(ledger, self.rot.state_dir, [err]), [])
        self.assertGreaterEqual(len(figures), 2, "at least two sweeps")
        warm_rss, warm_fds = figures[0]
        self.assertGreater(first_delivered, 0, "the warm-up sweep delivered keys")
        rss_list = [r for r, _ in figures]
        fd_list = [f for _, f in figures]
        print(f"soak: {len(figures)} sweeps in {time.monotonic() - t0:.0f} s; RSS after each "
              f"sweep {rss_list} kB; open fds {fd_list}", flush=True)
        for i, (rss, fds) in enumerate(figures[1:], 2):
            self.assertLessEqual(rss, warm_rss + RSS_SLACK_KB,
                                 f"RSS grew after the warm-up: {rss_list}")
            self.assertLessEqual(fds, warm_fds + FD_SLACK, f"open fds grew: {fd_list}")


if __name__ == "__main__":
    unittest.main()
