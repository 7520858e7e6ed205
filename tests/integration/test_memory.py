"""Memory bound (issue 10 item 3): whatever the answers, the daemon's peak
RSS stays under 64 MiB.

- Oversized answers: every ListAccessKeys answer is 7 MiB, trickled over
  2 s, 64 of them at once. Each is refused after 64 KiB (the most a
  legitimate one can be) with an error naming the call; the users are
  reported failed.
- Large legitimate answers: every ListUsers answer is 4,000,000 bytes (just
  under its 4 MiB limit), trickled over 1.5 s, for 24 accounts of which 18
  are worked on at once: the answer budget (limits.answer_memory_mib, 24 by
  default) lets only a few be buffered at once, the others wait.

Peak RSS is the child's ru_maxrss from wait4() (what VmHWM in
/proc/PID/status shows at its end). The fake's `bloat` fault kind sends the
answers (tests/fakeaws/README.md).
"""
import os
import time
import unittest

from harness import BINARY, RotatorTestCase, account, key, scenario, user

# Under AddressSanitizer its shadow memory and quarantine count in RSS too:
# as tests/integration/test_hostile.py does, the sanitized build runs with a
# 16 MiB quarantine and a looser bound; the plain build is held to 64 MiB.
with open(BINARY, "rb") as _f:
    SANITIZED = b"__asan_init" in _f.read()
LIMIT_KIB = (128 if SANITIZED else 64) * 1024
ASAN_ENV = {"ASAN_OPTIONS": "quarantine_size_mb=16"} if SANITIZED else None


def accounts(n, users_each):
    return [account(f"{300000000000 + i:012d}",
                    [user(f"u{i}x{j}", [key(10)]) for j in range(users_each)])
            for i in range(n)]


class Memory(RotatorTestCase):
    def run_measured(self):
        proc = self.rot.start("--once", env=ASAN_ENV)
        start = time.monotonic()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        print(f"\npeak RSS {usage.ru_maxrss / 1024:.1f} MiB, {time.monotonic() - start:.1f} s, "
              f"exit {proc.returncode}")
        return proc.returncode, usage.ru_maxrss, err

    def test_oversized_answers_are_refused(self):
        # Every user is read in full (their keys are 10 days old, so the
        # credential report would rule them all out): 64 ListAccessKeys at once.
        self.setup_fake(scenario(accounts(8, 8)), config={"limits": {"credential_report": False}})
        self.fake.faults({"action": "ListAccessKeys", "kind": "bloat", "size": 7 * 1024 * 1024,
                          "trickle_ms": 2000})
        rc, peak_kib, err = self.run_measured()
        self.assertEqual(rc, 1, err)
        self.assertLess(peak_kib, LIMIT_KIB)
        self.assertIn("ListAccessKeys: the answer is larger than 65536 bytes", err)
        self.assertEqual(self.rot.last_report()["totals"]["users_failed"], 64)

    def test_large_answers_wait_for_room(self):
        self.setup_fake(scenario(accounts(24, 1)))
        self.fake.faults({"action": "ListUsers", "kind": "bloat", "size": 4000000,
                          "trickle_ms": 1500})
        rc, peak_kib, err = self.run_measured()
        self.assertEqual(rc, 1, err)
        self.assertLess(peak_kib, LIMIT_KIB)
        # Every answer arrived in full (the parser then refused the junk).
        got = [r for r in self.fake.requests() if r["action"] == "ListUsers"]
        self.assertEqual(len(got), 25)  # and the management account
        self.assertNotIn("larger than", err)


if __name__ == "__main__":
    unittest.main()
