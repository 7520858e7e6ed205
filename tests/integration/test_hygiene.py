"""What the daemon leaves behind (issue 10 item 8): every file it writes is
0600 in a 0700 state directory, whatever the umask it was started with and
whoever created the directory; and no secret access key, session token or zip
password appears anywhere an operator or an attacker could read it."""
import os
import re
import signal
import stat
import subprocess
import unittest

import hostile
from proofkit import Drain, Notify
from harness import EXAMPLE_SECRET, RotatorTestCase, account, key, scenario, user
from mails import SEVENZIP, delivered_credentials, parse, text_of, zip_of

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


class Private(RotatorTestCase):
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


class FileModes(Private):
    def run_with_umask(self, mode, umask=0o022):
        return subprocess.run(self.rot.args(mode), env=self.rot.env(), capture_output=True,
                              text=True, timeout=300, preexec_fn=lambda: os.umask(umask))

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
        # A dry run writes nothing into the state directory (issue 12).
        self.assertEqual(kinds, set())

        res = self.run_with_umask("--once")
        self.assertEqual(res.returncode, 1, res.stderr)   # PROD has no role: a failure
        kinds = self.assert_private()
        # The report, the state log (intents, deactivation, last run): all checked.
        self.assertIn("report", kinds)
        self.assertGreaterEqual(len(kinds), 2, kinds)


PASSWORD_LINE = re.compile(r"^([A-Za-z2-9]{23,128})\r?$", re.M)


class SecretHygiene(Private):
    """After sweeps that rotate, deactivate, delete, remind, fail and roll
    back, at --verbose: no secret access key (the daemon's own, every key
    IAM created, the rolled-back one included), session token or zip password
    in stdout/stderr, the state directory, the report or the SNS alerts."""

    def run_daemon(self, mode, **kw):
        res = subprocess.run(self.rot.args(mode, **kw) + ["--verbose"],
                             env=self.rot.env({"AWS_ENDPOINT_URL": self.proxy.url}),
                             capture_output=True, text=True, timeout=300)
        self.outputs.append(res.stdout + res.stderr)
        return res

    def test_no_secret_anywhere(self):
        self.assertIsNotNone(SEVENZIP, "7zz is needed (Debian package 7zip)")
        self.setup_fake(scenario([
            account(DEV, [user("alice", [key(85)]), user("bob", [key(95), key(20)]),
                          user("carol", [key(95), key(8)]), user("dave", [key(85)]),
                          user("erin", [key(120, "Inactive"), key(10)])]),
            account(PROD, [], roles=[])]))
        self.proxy = hostile.Proxy(self.fake.url)
        self.addCleanup(self.proxy.close)
        self.outputs = []

        # dave's CreateAccessKey answer is cut off once: the key it made
        # (whose secret passed by) is rolled back.
        self.proxy.add(hostile.Rule("CreateAccessKey", "truncate", user="dave", count=1,
                                    keep=300))
        self.run_daemon("--dry-run")
        res = self.run_daemon("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertRegex(res.stderr, r"rolled-back")
        self.fake.clock(advance_days=11)
        res = self.run_daemon("--once")
        self.assertEqual(res.returncode, 1, res.stderr)

        # A daemon that dies by a signal leaves no core file behind. The
        # signal goes once the daemon is up (READY=1: past its start-up, its
        # core limit set, in its loop), not at some moment of its start-up
        # that a loaded machine makes slow; its output is read as it comes
        # so that a full pipe never stalls it.
        cwd = os.path.join(self.rot.dir, "cwd")
        os.mkdir(cwd)
        notify = Notify()
        self.addCleanup(notify.close)
        # Started as a background job of a shell without job control starts
        # it (meson under such a job did): SIGQUIT ignored, and blocked too.
        # The daemon must put its signals back to their defaults, or SIGQUIT
        # (and a blocked SIGTERM) would never reach it.
        def inherited_signals():
            signal.signal(signal.SIGQUIT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGQUIT, signal.SIGTERM})

        proc = subprocess.Popen(self.rot.args(None, now=True), cwd=cwd,
                                env=self.rot.env({"AWS_ENDPOINT_URL": self.proxy.url,
                                                  "NOTIFY_SOCKET": notify.path}),
                                preexec_fn=inherited_signals,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        drain = Drain(proc)
        notify.wait(lambda m: "READY=1" in m, timeout=120, proc=proc)
        with open("/proc/%d/limits" % proc.pid) as f:
            limits = f.read()
        self.assertRegex(limits, r"Max core file size\s+0\s+0")
        with open("/proc/%d/status" % proc.pid) as f:
            status = f.read()
        proc.send_signal(signal.SIGQUIT)
        try:
            out, err = drain.finish(timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("SIGQUIT did not end the daemon within 60 s; its signal masks:\n"
                      + "".join(l for l in status.splitlines(True) if l.startswith("Sig")))
        self.outputs.append(out + err)
        self.assertEqual(proc.returncode, -signal.SIGQUIT)
        self.assertEqual([n for n in os.listdir(cwd) if n.startswith("core")], [])

        # What there is to find.
        secrets = set(self.proxy.secrets) | {EXAMPLE_SECRET}
        state = self.fake.state()
        secrets |= {k["secret"] for a in state["accounts"] for u in a["users"]
                    for k in u["keys"] if k.get("secret")}
        mails = self.fake.emails()
        passwords = set()
        for m in mails:
            msg = parse(m["raw"])
            if not zip_of(msg):
                passwords |= set(PASSWORD_LINE.findall(text_of(msg)))
        # Every key created was delivered and its password is known: the
        # search below looks for the real thing.
        created = [k for k in self.proxy.secrets if len(k) == 40]
        self.assertGreaterEqual(len(created), 3)     # alice, dave's rolled back, dave
        self.assertGreaterEqual(len(passwords), 2)
        self.assertTrue(any(s for s in self.proxy.secrets if len(s) > 100),
                        "no session token was seen")
        for addr in ("alice@example.com",):
            self.assertEqual(len(delivered_credentials(mails, addr)), 1)

        places = {"stdout/stderr #%d" % i: o for i, o in enumerate(self.outputs)}
        for path, st in state_entries(self.rot.state_dir):
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    places[path] = f.read().decode("utf-8", "replace")
        alerts = self.fake.sns()
        self.assertGreaterEqual(len(alerts), 1)
        for i, a in enumerate(alerts):
            places["alert #%d" % i] = a["subject"] + "\n" + a["message"]
        for m in mails:
            msg = parse(m["raw"])
            if zip_of(msg):
                places["key mail to %s" % m["destinations"]] = m["raw"]
        self.assertIn("report", {os.path.basename(p).split("-")[0] for p in places})

        for what, needles in (("secret access key or session token", secrets),
                              ("zip password", passwords)):
            for needle in needles:
                for place, text in places.items():
                    self.assertNotIn(needle, text, "a %s in %s" % (what, place))
                    # Nor a recognisable part of one.
                    self.assertNotIn(needle[:16], text, "part of a %s in %s" % (what, place))
        self.assert_private()


if __name__ == "__main__":
    unittest.main()
