"""The command line: --help, --version, --check-config and its errors."""
import os
import subprocess
import tempfile
import unittest

from harness import BINARY, DEFAULT_CONFIG, render_config, SOURCE_DIR


def run(*args, env=None):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30, env=env)


class Cli(unittest.TestCase):
    def test_help_and_version(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for opt in ("--config", "--check-config", "--once", "--dry-run", "--version"):
            self.assertIn(opt, r.stdout)
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^iam-access-key-rotator \d+\.\d+")

    def test_bad_option(self):
        r = run("--frobnicate")
        self.assertEqual(r.returncode, 2)

    def test_check_config_sample(self):
        r = run("--config", os.path.join(SOURCE_DIR, "etc", "rotator.conf"), "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rotate_after_days", r.stdout)

    def test_check_config_errors_name_the_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "rotator.conf")
            text = render_config(DEFAULT_CONFIG, d).replace(
                "rotate_after_days = 80;", "rotate_after_days = 95;")
            with open(path, "w") as f:
                f.write(text)
            r = run("--config", path, "--check-config")
            self.assertEqual(r.returncode, 1)
            self.assertIn("rotator.conf:", r.stderr)
            self.assertIn("rotate_after_days", r.stderr)
            r = run("--config", os.path.join(d, "missing.conf"), "--once")
            self.assertEqual(r.returncode, 2)
            self.assertIn("missing.conf", r.stderr)


if __name__ == "__main__":
    unittest.main()
