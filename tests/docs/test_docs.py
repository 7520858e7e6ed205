"""The documentation says what the code does: every MESSAGE_ID the daemon
logs has a journal catalog entry, every configuration key the parser
accepts is documented in the sample rotator.conf and in rotator.conf(5),
and every CLI option is in the man page."""
import os
import re
import subprocess
import unittest

SOURCE_DIR = os.environ.get("SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("AKR_BINARY")


def read(*parts):
    with open(os.path.join(SOURCE_DIR, *parts)) as f:
        return f.read()


def config_keys_from_dump():
    """The effective settings the binary prints: the keys the parser knows."""
    out = subprocess.run([BINARY, "--config", os.path.join(SOURCE_DIR, "etc", "rotator.conf"),
                          "--check-config"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    return set(re.findall(r"^\s*([a-z_]+)\s*=", out.stdout, re.M))


class Docs(unittest.TestCase):
    def test_catalog_covers_every_message_id(self):
        ids = set(re.findall(r'#define AKR_MID_\w+ "([0-9a-f]{32})"', read("lib", "base", "log.h")))
        catalog = set(re.findall(r"^-- ([0-9a-f]{32})", read("docs", "iam-access-key-rotator.catalog"),
                                 re.M))
        self.assertTrue(ids)
        self.assertEqual(ids, catalog)

    def test_every_config_key_is_documented(self):
        self.assertTrue(BINARY, "missing prerequisite: the binary (AKR_BINARY)")
        keys = config_keys_from_dump()
        self.assertIn("rotate_after_days", keys)
        sample = read("etc", "rotator.conf")
        manual = read("docs", "rotator.conf.5").replace("\\_", "_").replace("\\-", "-")
        for k in sorted(keys):
            with self.subTest(key=k):
                self.assertRegex(sample, rf"(?m)^\s*#?\s*{k}\s*=", "not in etc/rotator.conf")
                self.assertIn(k, manual, "not in docs/rotator.conf.5")

    def test_every_option_is_in_the_man_page(self):
        self.assertTrue(BINARY, "missing prerequisite: the binary (AKR_BINARY)")
        helptext = subprocess.run([BINARY, "--help"], capture_output=True, text=True).stdout
        options = set(re.findall(r"--[a-z][a-z-]+", helptext))
        manual = read("docs", "iam-access-key-rotator.8").replace("\\-", "-")
        for opt in sorted(options):
            with self.subTest(option=opt):
                self.assertIn(opt, manual)


if __name__ == "__main__":
    unittest.main()
