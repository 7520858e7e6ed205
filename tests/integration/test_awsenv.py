"""The AWS environment the daemon runs in (issue 12 items 4-6): partitions,
credential sources and proxies, against the fake AWS endpoint."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (EXAMPLE_KEY, EXAMPLE_SECRET, RotatorTestCase, account, key, scenario,
                     user)

SCEN = scenario([account("222222222222", [user("alice", [key(85)])])])


class Partitions(RotatorTestCase):
    def setUp(self):
        self.setup_fake(SCEN)

    def test_role_arn_of_another_partition_is_refused(self):
        # Found: AWS_REGION=cn-north-1 with an arn:aws: role went on to the
        # commercial endpoints. Now the mismatch is named before any call.
        res = self.rot.run("--dry-run", env={"AWS_REGION": "cn-north-1"})
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("organization.management_role_arn", res.stderr)
        self.assertIn("partition 'aws'", res.stderr)
        self.assertIn("region 'cn-north-1' is in partition 'aws-cn'", res.stderr)
        self.assertEqual(self.fake.requests(), [])

    def test_topic_arn_of_another_partition_is_refused(self):
        self.rot.write_config({"alerts": {
            "sns_topic_arn": '"arn:aws-us-gov:sns:us-gov-west-1:111111111111:t"'}})
        res = self.rot.run("--dry-run")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("alerts.sns_topic_arn", res.stderr)
        self.assertIn("partition 'aws-us-gov'", res.stderr)

    def test_email_region_of_another_partition_is_refused(self):
        self.rot.write_config({"email": {"region": '"cn-northwest-1"'}})
        res = self.rot.run("--dry-run")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("email.region 'cn-northwest-1' is in partition 'aws-cn'", res.stderr)

    def test_bad_fips_setting_is_refused(self):
        res = self.rot.run("--dry-run", env={"AWS_USE_FIPS_ENDPOINT": "yes"})
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("$AWS_USE_FIPS_ENDPOINT: 'yes' is not true or false", res.stderr)

    def test_matching_partition_runs(self):
        res = self.rot.run("--dry-run", env={"AWS_USE_FIPS_ENDPOINT": "true"})
        self.assertEqual(res.returncode, 0, res.stderr)


def without_base_keys(rot, extra=None):
    env = rot.env(extra)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    return env


class CredentialSources(RotatorTestCase):
    def setUp(self):
        self.setup_fake(SCEN)

    def test_credentials_directory_of_the_unit(self):
        # Found: --dry-run as root after following the README failed with
        # "No AWS credentials": the unit's files were read only through
        # $CREDENTIALS_DIRECTORY, which only systemd sets.
        creds = os.path.join(self.rot.dir, "credentials")
        os.mkdir(creds, 0o700)
        for name, value in (("aws_access_key_id", EXAMPLE_KEY),
                            ("aws_secret_access_key", EXAMPLE_SECRET)):
            with open(os.path.join(creds, name), "w") as f:
                f.write(value)
        env = without_base_keys(self.rot)
        res = subprocess.run(self.rot.args("--dry-run"), env=env, capture_output=True,
                             text=True, timeout=300)
        self.assertEqual(res.returncode, 2)
        self.assertIn("No AWS credentials", res.stderr)
        res = subprocess.run(self.rot.args("--dry-run", extra=["--credentials-directory", creds]),
                             env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("alice", res.stdout)
        res = subprocess.run(self.rot.args("--dry-run", extra=["--credentials-directory",
                                                               creds + "/missing"]),
                             env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(res.returncode, 2)
        self.assertIn("--credentials-directory", res.stderr)
        self.assertIn("No such file or directory", res.stderr)


PROXY_USER, PROXY_PASSWORD = "akr", "pr0xyS3cretPw"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TinyProxy:
    """Debian's tinyproxy on a free loopback port, with basic auth and its
    own log."""

    def __init__(self):
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        if not os.path.exists(binary):
            raise RuntimeError("tinyproxy is not installed (tools/packages.txt)")
        self.dir = tempfile.mkdtemp(prefix="akr-proxy-")
        self.log = os.path.join(self.dir, "tinyproxy.log")
        self.port = free_port()
        conf = os.path.join(self.dir, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write(f"Port {self.port}\nListen 127.0.0.1\nTimeout 30\n"
                    f'LogFile "{self.log}"\nLogLevel Info\nMaxClients 100\n'
                    f"Allow 127.0.0.1\nBasicAuth {PROXY_USER} {PROXY_PASSWORD}\n"
                    "ConnectPort 443\n")
        self.proc = subprocess.Popen([binary, "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            if "Accepting connections" in self.text():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"tinyproxy exited: {self.text()}")
            time.sleep(0.05)
        else:
            raise RuntimeError(f"tinyproxy did not start: {self.text()}")
        self.url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{self.port}"

    def text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def requests(self):
        return re.findall(r"Request \(file descriptor \d+\): (\S+ \S+)", self.text())

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxies(RotatorTestCase):
    def setUp(self):
        self.setup_fake(SCEN)
        self.proxy = TinyProxy()
        self.addCleanup(self.proxy.close)

    def test_every_call_goes_through_the_proxy(self):
        # curl takes http_proxy for http:// URLs (the fake), HTTPS_PROXY for AWS.
        res = self.rot.run("--once", env={"http_proxy": self.proxy.url})
        self.assertEqual(res.returncode, 0, res.stderr)
        sent = [r for r in self.proxy.requests() if r.startswith("POST ")]
        calls = self.fake.requests()
        self.assertGreater(len(calls), 5)
        self.assertEqual(len(sent), len(calls), self.proxy.text())
        self.assertTrue(all(r == f"POST {self.fake.url}/" or r.startswith(f"POST {self.fake.url}/v2/")
                            for r in sent), sent)
        self.assertNotIn(PROXY_PASSWORD, res.stderr + res.stdout)

    def test_no_proxy_bypasses_it(self):
        res = self.rot.run("--once", env={"http_proxy": self.proxy.url,
                                          "NO_PROXY": "127.0.0.1"})
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertGreater(len(self.fake.requests()), 5)
        self.assertEqual(self.proxy.requests(), [])

    def test_https_proxy_reaches_the_partitions_endpoint(self):
        # No endpoint URL: the real AWS endpoint of aws-cn, through the proxy
        # (which cannot reach it from here: the sweep fails, after the CONNECT).
        self.rot.write_config({
            "organization": {"management_role_arn":
                             '"arn:aws-cn:iam::111111111111:role/provisioning-admin"'},
            "alerts": {"sns_topic_arn": '"arn:aws-cn:sns:cn-north-1:111111111111:t"'},
            "email": {"region": '"cn-north-1"'},
            "limits": {"max_requests_in_flight": 64, "max_requests_per_account": 8,
                       "max_attempts": 1}})
        env = self.rot.env({"AWS_REGION": "cn-north-1", "HTTPS_PROXY": self.proxy.url})
        del env["AWS_ENDPOINT_URL"]
        res = subprocess.run(self.rot.args("--dry-run"), env=env, capture_output=True,
                             text=True, timeout=300)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("CONNECT sts.cn-north-1.amazonaws.com.cn:443", self.proxy.requests())
        self.assertNotIn(PROXY_PASSWORD, res.stderr + res.stdout)


if __name__ == "__main__":
    unittest.main()
