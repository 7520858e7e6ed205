"""Test harness for the real daemon binary against the fake AWS endpoint.

Starts tests/fakeaws on a free loopback port with a scenario, writes a
rotator.conf into a temporary directory, runs iam-access-key-rotator with the
AWS environment pointed at the fake, and reads the fake's control API.
Standard library only.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.environ.get("SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("AKR_BINARY") or os.path.join(
    SOURCE_DIR, "build", "daemon", "iam-access-key-rotator")
PYTHON = os.environ.get("PYTHON3") or sys.executable
EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOPIC_ARN = "arn:aws:sns:us-east-1:111111111111:iam-access-key-rotator-topic"


class Fake:
    """One fake AWS endpoint process."""

    def __init__(self, scenario=None, args=()):
        self.tmp = tempfile.mkdtemp(prefix="akr-fake-")
        cmd = [PYTHON, os.path.join(SOURCE_DIR, "tests", "fakeaws"), "--port", "0"]
        if scenario is not None:
            path = scenario
            if not isinstance(scenario, str):
                path = os.path.join(self.tmp, "scenario.json")
                with open(path, "w") as f:
                    json.dump(scenario, f)
            cmd += ["--scenario", path]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not m:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.close()
            raise RuntimeError(f"fake did not start: {line!r} {err}")
        self.url = m.group(1)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_fake/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def state(self):
        return self.call("GET", "state")

    def emails(self):
        return self.call("GET", "emails")

    def sns(self):
        return self.call("GET", "sns")

    def stats(self):
        return self.call("GET", "stats")

    def requests(self):
        return self.call("GET", "requests")

    def faults(self, rules):
        return self.call("POST", "faults", rules)

    def clock(self, **kw):
        return self.call("POST", "clock", kw)

    def now(self):
        return self.state()["now"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.proc.stdout, self.proc.stderr):
            if s:
                s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


DEFAULT_CONFIG = {
    "schedule": '"13:00"',
    "policy": {"rotate_after_days": 80, "deactivate_after_days": 90,
               "delete_after_days": 100, "enforce": "false"},
    "organization": {
        "management_role_arn": '"arn:aws:iam::111111111111:role/provisioning-admin"',
        "member_role_name": '"provisioning-admin"',
        "excluded_accounts": '[ "333333333333" ]'},
    "users": {"email_tag": '"email"', "exempt_tag": '"Exempt"'},
    "email": {"sender": '"rotator@example.com"',
              "configuration_set": '"iam-access-key-rotator-configset"',
              "region": '"us-east-1"'},
    "alerts": {"sns_topic_arn": f'"{TOPIC_ARN}"'},
    "limits": {"max_requests_in_flight": 64, "max_requests_per_account": 8},
}


def render_config(cfg, state_dir):
    """libconfig text from a dict of groups; values are written verbatim."""
    lines = [f'state_directory = "{state_dir}";']
    for k, v in cfg.items():
        if isinstance(v, dict):
            inner = " ".join(f"{ik} = {iv};" for ik, iv in v.items())
            lines.append(f"{k} = {{ {inner} }};")
        else:
            lines.append(f"{k} = {v};")
    return "\n".join(lines) + "\n"


def merge(base, over):
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        elif v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


class Rotator:
    """A configured daemon binary bound to one fake."""

    def __init__(self, fake, config=None, state_dir=None):
        self.fake = fake
        self.dir = tempfile.mkdtemp(prefix="akr-run-")
        self.state_dir = state_dir or os.path.join(self.dir, "state")
        os.makedirs(self.state_dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "rotator.conf")
        # Where --report FILE writes (a dry run's report goes only there).
        self.report_file = os.path.join(self.dir, "report.json")
        self.write_config(config)

    def write_config(self, config=None, text=None):
        if text is None:
            text = render_config(merge(DEFAULT_CONFIG, config), self.state_dir)
        with open(self.config_path, "w") as f:
            f.write(text)

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM",
                                                         "STATE_DIRECTORY",
                                                         "CREDENTIALS_DIRECTORY")}
        env.update({
            "AWS_ENDPOINT_URL": self.fake.url,
            "AWS_ACCESS_KEY_ID": EXAMPLE_KEY,
            "AWS_SECRET_ACCESS_KEY": EXAMPLE_SECRET,
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.path.join(self.dir, "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.dir, "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        })
        env.update(extra or {})
        return env

    def args(self, mode, now=True, extra=()):
        a = [BINARY, "--config", self.config_path]
        if mode:
            a.append(mode)
        if now:
            a += ["--now", self.fake.now() if now is True else now]
        return a + list(extra)

    def run(self, mode="--once", now=True, extra=(), env=None, timeout=600):
        return subprocess.run(self.args(mode, now, extra), env=self.env(env),
                              capture_output=True, text=True, timeout=timeout)

    def start(self, mode=None, now=True, extra=(), env=None):
        return subprocess.Popen(self.args(mode, now, extra), env=self.env(env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def last_report(self):
        with open(os.path.join(self.state_dir, "last-report.json")) as f:
            return json.load(f)

    def file_report(self):
        """The report written by --report self.report_file."""
        with open(self.report_file) as f:
            return json.load(f)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def account(acct_id, users, name=None, status="ACTIVE", roles=("provisioning-admin",)):
    return {"id": acct_id, "name": name or f"acct-{acct_id[-4:]}", "status": status,
            "roles": list(roles), "users": users}


def user(name, keys=(), email=True, tags=None):
    t = dict(tags or {})
    if email is True:
        t["email"] = f"{name}@example.com"
    elif email:
        t["email"] = email
    return {"name": name, "tags": t, "keys": list(keys)}


def key(age_days, status="Active", last_used_days=None):
    k = {"status": status, "age_days": age_days}
    if last_used_days is not None:
        k["last_used_days"] = last_used_days
    return k


def scenario(accounts, **kw):
    s = {"accounts": [account("111111111111", [], name="management")] + accounts}
    s.update(kw)
    return s


def user_keys(state, acct_id, user_name):
    for a in state["accounts"]:
        if a["id"] == acct_id:
            for u in a["users"]:
                if u["name"] == user_name:
                    return u["keys"]
    raise KeyError(f"{acct_id}/{user_name}")


class RotatorTestCase(unittest.TestCase):
    """Starts a fake per test; subclasses call self.setup_fake(scenario)."""

    def setup_fake(self, scen, fake_args=(), config=None):
        self.fake = Fake(scen, fake_args)
        self.addCleanup(self.fake.close)
        self.rot = Rotator(self.fake, config)
        self.addCleanup(self.rot.close)
        return self.fake, self.rot

    def wait_for_calls(self, action, n, proc, timeout=60):
        """Waits (bounded) until the fake has answered @action at least @n times
        (the fake counts a call once it took effect, also when it then hangs or
        fails it); fails if the daemon exits first or the time runs out."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.fake.stats()["by_action"].get(action, 0) >= n:
                return
            if proc.poll() is not None:
                self.fail(f"the daemon exited before {action} x{n}: {proc.stderr.read()}")
            time.sleep(0.05)
        self.fail(f"{action} was not called {n} times within {timeout} s")

    def assertNoSecretsIn(self, text, secrets):
        for s in secrets:
            if s:
                self.assertNotIn(s, text, "a secret appeared in the output")
