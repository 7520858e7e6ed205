"""What the daemon leaves behind (issue 10 item 8): every file it writes is
0600 in a 0700 state directory, whatever the umask it was started with and
whoever created the directory; and no secret access key, session token or zip
password appears anywhere an operator or an attacker could read it."""
import os
import stat
import subprocess
import unittest

from harness import RotatorTestCase, account, key, scenario, user

DEV = "222222222222"
PROD = "555555555555"


def state_entries(state_dir):
    """(path, lstat) of everything under the state directory."""
    out = []
    for root, dirs, files in os.walk(state_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            out.append((path, os.lstat(path)))
    return out


class FileModes(RotatorTestCase):
    def run_with_umask(self, mode, umask=0o022):
        return subprocess.run(self.rot.args(mode), env=self.rot.env(), capture_output=True,
                              text=True, timeout=300, preexec_fn=lambda: os.umask(umask))

    def assert_private(self):
        d = self.rot.state_dir
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
        kinds = set()
        for path, st in state_entries(d):
            if stat.S_ISLNK(st.st_mode):
                # last-report.json: a link to a report checked on its own.
                self.assertFalse(os.path.isabs(os.readlink(path)), path)
                continue
            if stat.S_ISDIR(st.st_mode):
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, path)
                continue
            self.assertTrue(stat.S_ISREG(st.st_mode), path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600,
                             "%s is %04o" % (path, stat.S_IMODE(st.st_mode)))
            kinds.add(os.path.basename(path).split("-")[0].split(".")[0])
        return kinds

    def test_files_0600_in_a_0700_directory(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)]),
                                                user("bob", [key(95), key(20)])]),
                                  account(PROD, [], roles=[])]))
        # A directory someone made with the usual 0755, a daemon started
        # from a shell with the usual umask 022.
        os.chmod(self.rot.state_dir, 0o755)
        res = self.run_with_umask("--dry-run")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        self.assertRegex(res.stderr, r"State directory '.*' had mode 0755; it is now 0700")
        kinds = self.assert_private()
        self.assertIn("report", kinds)

        res = self.run_with_umask("--once")
        self.assertEqual(res.returncode, 1, res.stderr)   # PROD has no role: a failure
        kinds = self.assert_private()
        # The report, the state log (intents, deactivation, last run): all checked.
        self.assertIn("report", kinds)
        self.assertGreaterEqual(len(kinds), 2, kinds)


if __name__ == "__main__":
    unittest.main()
