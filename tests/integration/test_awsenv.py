"""The AWS environment the daemon runs in (issue 12 items 4-6): partitions,
credential sources and proxies, against the fake AWS endpoint."""
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (EXAMPLE_KEY, EXAMPLE_SECRET, RotatorTestCase, account, key, scenario,
                     user)

MGMT_ROLE = "arn:aws:iam::111111111111:role/provisioning-admin"
WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.fake-oidc-token.signature"
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

    def run_without_keys(self, extra, mode="--dry-run"):
        return subprocess.run(self.rot.args(mode), env=without_base_keys(self.rot, extra),
                              capture_output=True, text=True, timeout=300)

    def test_web_identity(self):
        token = os.path.join(self.rot.dir, "token")
        with open(token, "w") as f:
            f.write(WEB_IDENTITY_TOKEN + "\n")
        env = {"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": MGMT_ROLE,
               "AWS_ROLE_SESSION_NAME": "eks-pod"}
        res = self.run_without_keys(env)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("alice", res.stdout)
        actions = [r["action"] for r in self.fake.requests()]
        self.assertEqual(actions[0], "AssumeRoleWithWebIdentity")
        self.assertNotIn(WEB_IDENTITY_TOKEN, res.stderr + res.stdout)
        # The same from the profile: web_identity_token_file + role_arn.
        res = self.run_without_keys(self.write_aws_config(
            f"[default]\nrole_arn = {MGMT_ROLE}\nweb_identity_token_file = {token}\n"))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual([r["action"] for r in self.fake.requests()].count(
            "AssumeRoleWithWebIdentity"), 2)
        # A token the identity provider did not sign: the call and role are named.
        with open(token, "w") as f:
            f.write("eyJ.not-signed.x")
        res = self.run_without_keys(env)
        self.assertEqual(res.returncode, 2)
        self.assertIn(f"AssumeRoleWithWebIdentity into {MGMT_ROLE}", res.stderr)
        self.assertIn("InvalidIdentityToken", res.stderr)

    def write_aws_config(self, text):
        path = os.path.join(self.rot.dir, "aws-config")
        with open(path, "w") as f:
            f.write(text)
        return {"AWS_CONFIG_FILE": path}

    def test_credential_process(self):
        helper = os.path.join(self.rot.dir, "signing helper.py")
        with open(helper, "w") as f:
            f.write("import json, sys\n"
                    "assert sys.argv[1:] == ['--role', 'a b'], sys.argv\n"
                    f"print(json.dumps({{'Version': 1, 'AccessKeyId': '{EXAMPLE_KEY}', "
                    f"'SecretAccessKey': '{EXAMPLE_SECRET}'}}))\n")
        env = self.write_aws_config(
            f"[default]\ncredential_process = {sys.executable} '{helper}' --role \"a b\"\n")
        res = self.run_without_keys(env)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("alice", res.stdout)
        self.assertNotIn(EXAMPLE_SECRET, res.stderr + res.stdout)
        # A process that fails: said so, and its output is never shown.
        with open(helper, "w") as f:
            f.write(f"print('{EXAMPLE_SECRET}')\nraise SystemExit(3)\n")
        res = self.run_without_keys(env)
        self.assertEqual(res.returncode, 2)
        self.assertIn("credential_process", res.stderr)
        self.assertIn("exit status 3", res.stderr)
        self.assertNotIn(EXAMPLE_SECRET, res.stderr + res.stdout)
        # Output that is not the JSON document.
        with open(helper, "w") as f:
            f.write(f"print(json.dumps({{'Version': 2}}))\nimport json\n".replace(
                "print", "import json\nprint", 1))
        res = self.run_without_keys(env)
        self.assertEqual(res.returncode, 2)
        self.assertIn("Version must be the number 1", res.stderr)

    def test_container_credentials(self):
        # The container endpoint hands out session credentials: ask the fake
        # for some, as the ECS agent would ask STS.
        import boto3
        sts = boto3.client("sts", endpoint_url=self.fake.url, region_name="us-east-1",
                           aws_access_key_id=EXAMPLE_KEY, aws_secret_access_key=EXAMPLE_SECRET)
        c = sts.assume_role(RoleArn=MGMT_ROLE, RoleSessionName="ecs-task")["Credentials"]
        doc = json.dumps({"RoleArn": MGMT_ROLE, "AccessKeyId": c["AccessKeyId"],
                          "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
                          "Expiration": c["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")})
        seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, self.headers.get("Authorization")))
                ok = self.headers.get("Authorization") == "container-auth-token"
                body = doc.encode() if ok else b'{"Message": "unauthorized"}'
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        token_file = os.path.join(self.rot.dir, "container-token")
        with open(token_file, "w") as f:
            f.write("container-auth-token\n")
        url = f"http://127.0.0.1:{server.server_address[1]}/v2/credentials/task"
        res = self.run_without_keys({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": token_file})
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("alice", res.stdout)
        self.assertIn(("/v2/credentials/task", "container-auth-token"), seen)
        self.assertNotIn(c["SecretAccessKey"], res.stderr + res.stdout)
        # A wrong token: the endpoint refuses, and the error names it.
        res = self.run_without_keys({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"})
        self.assertEqual(res.returncode, 2)
        self.assertIn(f"container credentials from {url}", res.stderr)
        # Plain http to anything but loopback or the container hosts is refused.
        res = self.run_without_keys({"AWS_CONTAINER_CREDENTIALS_FULL_URI":
                                     "http://10.1.2.3/creds"})
        self.assertEqual(res.returncode, 2)
        self.assertIn("must be https:// or http:// to a loopback address", res.stderr)


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
