"""One sweep against moto (moto_server), with its IAM authentication on
(INITIAL_NO_AUTH_ACTION_COUNT): botocore's own SigV4 code verifies every
request the daemon signs, and moto's IAM evaluates its policies. This holds
the daemon against an AWS emulator nobody here wrote."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from datetime import datetime, timedelta, timezone

from harness import BINARY, DEFAULT_CONFIG, merge, render_config

try:
    import boto3
    from botocore.config import Config
except ImportError:  # pragma: no cover
    boto3 = None

ACCOUNT = "123456789012"  # moto's default account
NO_AUTH_CALLS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A missing prerequisite is a failure, never a skip.
        if boto3 is None or not shutil.which("moto_server"):
            raise RuntimeError("boto3 and moto_server are needed (pip: moto[server])")
        cls.port = free_port()
        cls.url = f"http://127.0.0.1:{cls.port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(NO_AUTH_CALLS))
        cls.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(cls.port)],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Poll (bounded) until moto answers; never go on without it.
        for _ in range(200):
            try:
                urllib.request.urlopen(cls.url + "/moto-api/", timeout=1)
                break
            except Exception:
                if cls.proc.poll() is not None:
                    raise RuntimeError(f"moto_server exited: {cls.proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.1)
        else:
            cls.proc.kill()
            raise RuntimeError(f"moto_server did not answer on {cls.url} within 20 s")
        cls.tmp = tempfile.mkdtemp(prefix="akr-moto-")
        cls.setup_world()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def client(cls, service, key=None):
        kw = {}
        if key:
            kw = {"aws_access_key_id": key[0], "aws_secret_access_key": key[1]}
        else:
            kw = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                  "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
        return boto3.client(service, region_name="us-east-1", endpoint_url=cls.url,
                            config=Config(retries={"total_max_attempts": 1}), **kw)

    @classmethod
    def setup_world(cls):
        # The first calls are unauthenticated: just enough to make an admin.
        iam = cls.client("iam")
        iam.create_user(UserName="rotator")
        k = iam.create_access_key(UserName="rotator")["AccessKey"]
        iam.put_user_policy(UserName="rotator", PolicyName="admin", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        cls.admin = (k["AccessKeyId"], k["SecretAccessKey"])
        # From here on moto checks every signature and every permission.
        iam = cls.client("iam", cls.admin)
        # Real AWS takes the account root or the role ARN as principal and
        # resolves callers to it; moto compares the caller's ARN literally,
        # so name the user and the management role's session exactly.
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": [
                f"arn:aws:iam::{ACCOUNT}:user/rotator",
                f"arn:aws:iam::{ACCOUNT}:role/provisioning-admin",
                f"arn:aws:sts::{ACCOUNT}:assumed-role/provisioning-admin/iam-access-key-rotator"]},
            "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName="provisioning-admin", AssumeRolePolicyDocument=json.dumps(trust))
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "aws",
                               "member-role-policy.json")) as f:
            member_policy = json.load(f)
        # moto evaluates IAM actions against the resource "*" only, so the
        # documented per-user resource would deny everything there; the
        # actions are what this test holds the documentation to.
        for st in member_policy["Statement"]:
            st["Resource"] = "*"
        member_policy = json.dumps(member_policy)
        # The management role needs the member role's IAM rights (its own
        # account is listed too) plus Organizations, STS, SES and SNS.
        iam.put_role_policy(RoleName="provisioning-admin", PolicyName="member",
                            PolicyDocument=member_policy)
        iam.put_role_policy(RoleName="provisioning-admin", PolicyName="management",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow",
                                "Action": ["organizations:ListAccounts",
                                           "organizations:DescribeOrganization",
                                           "sts:AssumeRole", "ses:SendRawEmail", "sns:Publish"],
                                "Resource": "*"}]}))
        cls.client("organizations", cls.admin).create_organization(FeatureSet="ALL")
        cls.client("ses", cls.admin).verify_email_identity(EmailAddress="rotator@example.com")
        cls.topic = cls.client("sns", cls.admin).create_topic(
            Name="iam-access-key-rotator-topic")["TopicArn"]
        iam.create_user(UserName="alice", Tags=[{"Key": "email", "Value": "alice@example.com"}])
        iam.create_access_key(UserName="alice")
        iam.create_user(UserName="dave", Tags=[{"Key": "email", "Value": "dave@example.com"},
                                               {"Key": "Exempt", "Value": "yes"}])
        iam.create_access_key(UserName="dave")

    def run_rotator(self, mode, days_ahead):
        state = os.path.join(self.tmp, "state")
        os.makedirs(state, exist_ok=True)
        cfg = merge(DEFAULT_CONFIG, {
            "organization": {
                "management_role_arn": f'"arn:aws:iam::{ACCOUNT}:role/provisioning-admin"',
                "excluded_accounts": "[]"},
            "alerts": {"sns_topic_arn": f'"{self.topic}"'}})
        path = os.path.join(self.tmp, "rotator.conf")
        with open(path, "w") as f:
            f.write(render_config(cfg, state))
        now = datetime.now(timezone.utc) + timedelta(days=days_ahead)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": self.admin[0],
                    "AWS_SECRET_ACCESS_KEY": self.admin[1], "AWS_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": os.path.join(self.tmp, "none"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.tmp, "none"),
                    "AWS_EC2_METADATA_DISABLED": "true"})
        report = os.path.join(self.tmp, "report.json")
        res = subprocess.run([BINARY, "--config", path, mode, "--now",
                              now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--report", report],
                             env=env, capture_output=True, text=True, timeout=300)
        with open(report) as f:
            return res, json.load(f)

    def test_1_dry_run(self):
        # Keys are made today; 85 days ahead alice's key is due.
        res, rep = self.run_rotator("--dry-run", 85)
        self.assertEqual(res.returncode, 0, res.stderr)
        plan = {(a["user"], a["action"], a["outcome"]) for a in rep["actions"]}
        self.assertIn(("alice", "create", "planned"), plan)
        self.assertIn(("dave", "skip", "skipped"), plan)
        self.assertEqual(len(self.client("iam", self.admin).list_access_keys(
            UserName="alice")["AccessKeyMetadata"]), 1)

    def test_2_once(self):
        res, rep = self.run_rotator("--once", 85)
        self.assertEqual(res.returncode, 0, res.stderr)
        done = {(a["user"], a["action"], a["outcome"]) for a in rep["actions"]}
        self.assertIn(("alice", "create", "done"), done)
        keys = self.client("iam", self.admin).list_access_keys(UserName="alice")["AccessKeyMetadata"]
        self.assertEqual(len(keys), 2)
        self.assertEqual(rep["totals"]["mails_sent"], 2)
        quota = self.client("ses", self.admin).get_send_quota()
        # moto counts recipients per message (Destinations and the To header).
        self.assertGreaterEqual(quota["SentLast24Hours"], 2)
        self.assertNotIn(self.admin[1], res.stdout + res.stderr)


if __name__ == "__main__":
    unittest.main()
