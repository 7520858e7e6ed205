"""Shared checks of the proof tests (crash loop, fault matrix, simulated
year, soak): what users received, and the invariants of the safety protocol.

The Ledger reads the fake's recorded mails incrementally, pairs each key zip
with the password mail of the same key and address, opens the zip with the
real 7-Zip and remembers which secret reached which address. It also keeps
every secret and password it ever saw, so that the state directory and the
daemon's output can be searched for them.
"""
import hashlib
import os
import random
import re
import socket
import tempfile
import time

from mails import SEVENZIP, open_zip, parse, text_of, zip_of

ROTATION = "rotation"
PASSWORD = "password"
REMINDER = "reminder"
DEACTIVATED = "deactivated"
DELETED = "deleted"
ADDRESS = "address-changed"

SUBJECTS = (
    (re.compile(r"^Your new AWS access key for account"), ROTATION),
    (re.compile(r"^Password for your new AWS access key (AKIA\w+)"), PASSWORD),
    (re.compile(r"^Reminder: AWS access key (AKIA\w+) will be deactivated"), REMINDER),
    (re.compile(r"^AWS access key (AKIA\w+) was deactivated"), DEACTIVATED),
    (re.compile(r"^AWS access key (AKIA\w+) was deleted"), DELETED),
    (re.compile(r"^Security notice: the email address of IAM user"), ADDRESS),
)
KEY_LINE = re.compile(r"Access key ID: (AKIA\w+)")
PASSWORD_LINE = re.compile(r"^ {0,4}([A-Za-z0-9_+.:-]{20,})\s*$", re.M)


def seed_from_env(default_bits=32):
    """AKR_SEED or a fresh random seed; printed so a failure can be replayed."""
    env = os.environ.get("AKR_SEED")
    seed = int(env) if env else random.SystemRandom().getrandbits(default_bits)
    print(f"seed {seed} (replay with AKR_SEED={seed})", flush=True)
    return seed


def long_mode(name):
    """True when AKR_LONG=1 (or AKR_LONG names this test) asks for the long mode."""
    v = os.environ.get("AKR_LONG", "")
    return v == "1" or name in v.split(",")


def asan_mode():
    """The run under the sanitizers is slower: the tests pick shorter modes."""
    return (os.environ.get("AKR_SHORT") == "1"
            or os.environ.get("AKR_SANITIZE", "none") not in ("", "none"))


def users_of(state):
    for a in state["accounts"]:
        for u in a.get("users", []):
            yield a["id"], u


def email_of(u, tag="email"):
    for k, v in (u.get("tags") or {}).items():
        if k.lower() == tag.lower():
            return v
    return None


class Mail:
    __slots__ = ("index", "kind", "key_id", "dest", "subject", "zip", "password")

    def __init__(self, index, raw_mail):
        msg = parse(raw_mail["raw"])
        self.index = index
        self.dest = tuple(raw_mail.get("destinations") or ())
        self.subject = str(msg.get("Subject", ""))
        self.kind, self.key_id, self.zip, self.password = None, None, None, None
        for rx, kind in SUBJECTS:
            m = rx.match(self.subject)
            if m:
                self.kind = kind
                self.key_id = m.group(1) if m.groups() else None
                break
        text = text_of(msg)
        if self.kind == ROTATION:
            m = KEY_LINE.search(text)
            self.key_id = m.group(1) if m else None
            self.zip = zip_of(msg)
        elif self.kind == PASSWORD:
            m = PASSWORD_LINE.search(text)
            self.password = m.group(1) if m else None


class Ledger:
    """What was delivered to whom, and every secret seen."""

    def __init__(self):
        self.mails = []              # Mail, in the fake's order (all loads together)
        self._seen = 0               # mails of the current fake load already read
        self.zips = {}               # key id -> [Mail]
        self.passwords = {}          # key id -> [Mail]
        self.delivered = {}          # key id -> {address: secret}
        self.secrets = set()         # every secret access key and zip password seen
        self._opened = {}            # (sha256(zip), password) -> csv text or None
        self.secret_order = []       # self.secrets in the order learnt (scan_for_secrets)
        self.scanned = {}            # path -> ((mtime, size, inode), secrets searched)

    def new_load(self):
        """The fake was loaded again: its mail list starts from zero."""
        self._seen = 0

    def update(self, state, raw_mails):
        for _, u in users_of(state):
            for k in u["keys"]:
                if k.get("secret"):
                    self.secrets.add(k["secret"])
        for raw_mail in raw_mails[self._seen:]:
            m = Mail(len(self.mails), raw_mail)
            self.mails.append(m)
            if m.kind == ROTATION and m.key_id:
                self.zips.setdefault(m.key_id, []).append(m)
                self._pair(m.key_id)
            elif m.kind == PASSWORD and m.key_id:
                if m.password:
                    self.secrets.add(m.password)
                self.passwords.setdefault(m.key_id, []).append(m)
                self._pair(m.key_id)
        self._seen = len(raw_mails)

    def _pair(self, key_id):
        for z in self.zips.get(key_id, ()):
            for p in self.passwords.get(key_id, ()):
                for addr in set(z.dest) & set(p.dest):
                    if addr in self.delivered.get(key_id, {}):
                        continue
                    csv = self._open(z.zip, p.password)
                    if csv is None:
                        continue
                    lines = [l for l in csv.replace("\r\n", "\n").split("\n") if l]
                    if len(lines) < 2 or not lines[0].startswith("Access key ID,Secret access key"):
                        continue
                    kid, secret = lines[1].split(",", 1)
                    if kid != key_id:
                        continue
                    self.secrets.add(secret)
                    self.delivered.setdefault(key_id, {})[addr] = secret

    def _open(self, data, password):
        if not data or not password:
            return None
        k = (hashlib.sha256(data).hexdigest(), password)
        if k not in self._opened:
            self._opened[k] = open_zip(data, password)
        return self._opened[k]

    def mails_to(self, address):
        return [m for m in self.mails if address in m.dest]


def scan_for_secrets(ledger, state_dir, texts=()):
    """Problems: a known secret or zip password in a file of @state_dir or in @texts.
    A file unchanged since the last scan is searched only for the secrets
    learnt since (the state directory keeps a report per sweep)."""
    problems = []
    order = ledger.secret_order
    order.extend(sorted(ledger.secrets - set(order)))
    secrets = [s.encode() for s in order]
    if not secrets:
        return problems
    for root, _, files in os.walk(state_dir):
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            done = ledger.scanned.get(path)
            start = done[1] if done and done[0] == sig else 0
            for s in secrets[start:]:
                if s in data:
                    problems.append(f"a secret is written in {path}")
                    break
            ledger.scanned[path] = (sig, len(secrets))
    for i, t in enumerate(texts):
        b = t.encode() if isinstance(t, str) else t
        for s in secrets:
            if s in b:
                problems.append(f"a secret appears in the daemon's output #{i}")
                break
    return problems


def rollback_failed_users(report):
    """(account, user) whose new key could not be rolled back in this sweep:
    the report says so, and the next sweep's reconciliation deletes it."""
    return {(a["account_id"], a["user"]) for a in (report or {}).get("actions", [])
            if a.get("outcome") == "failed" and "rollback failed" in (a.get("error") or "")}


def reconcile_failed_users(report):
    """(account, user) whose open intent could not be reconciled in this sweep
    (a fault hit the reconciliation too): reported, and tried again next sweep."""
    return {(a["account_id"], a["user"]) for a in (report or {}).get("actions", [])
            if a.get("action") == "reconcile" and a.get("outcome") == "failed"}


def check_keys(state, ledger, baseline_ids, email_tag="email", only=None, pending=None):
    """The invariants that must hold whenever no rotation is in flight:
    no user holds more than two keys, and every key not in @baseline_ids was
    delivered (zip + password, opened) with its real secret to its owner's
    current address. @only: the key ids to check (default: every new key).
    @pending: a dict {(account, user): set()} of users whose rollback failed
    (rollback_failed_users()): their undelivered keys are added to the set
    instead of being problems, to be checked gone after the next sweep.
    Returns a list of problems."""
    problems = []
    for acct, u in users_of(state):
        keys = u["keys"]
        who = f"{acct}/{u['name']}"
        if len(keys) > 2:
            problems.append(f"{who} holds {len(keys)} keys")
        for k in keys:
            if k["id"] in baseline_ids or (only is not None and k["id"] not in only):
                continue
            got = ledger.delivered.get(k["id"], {})
            if not k.get("secret"):
                problems.append(f"{who}: new key {k['id']} without a secret in the fake")
            elif k["secret"] not in got.values():
                if pending is not None and (acct, u["name"]) in pending:
                    pending[(acct, u["name"])].add(k["id"])
                    continue
                problems.append(f"{who}: key {k['id']} exists but its secret was never "
                                f"delivered (delivered to {sorted(got)})")
            elif email_of(u, email_tag) not in got:
                problems.append(f"{who}: key {k['id']} delivered to {sorted(got)}, not to the "
                                f"owner's address {email_of(u, email_tag)!r}")
    return problems


def check_weak(state):
    """What holds at any moment, even right after a SIGKILL."""
    return [f"{a}/{u['name']} holds {len(u['keys'])} keys"
            for a, u in users_of(state) if len(u["keys"]) > 2]


def new_keys(state, baseline_ids):
    return {(a, u["name"]): [k for k in u["keys"] if k["id"] not in baseline_ids]
            for a, u in users_of(state)}


def key_ids(state):
    return {k["id"] for _, u in users_of(state) for k in u["keys"]}


class Notify:
    """A NOTIFY_SOCKET the daemon reports READY/STATUS to."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="akr-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait(self, predicate, timeout=60, after=0, proc=None):
        end = time.time() + timeout
        while True:
            for m in self.messages[after:]:
                if predicate(m):
                    return m
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"no such notify message; got {self.messages[-5:]}")
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the daemon exited ({proc.returncode}) while waiting; "
                                     f"got {self.messages[-5:]}")
            self.sock.settimeout(min(0.5, max(0.05, left)))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass


class Drain:
    """Reads a child's stdout and stderr as they come, so that a daemon that
    logs a lot never blocks on a full pipe (and stalls its event loop)."""

    def __init__(self, proc):
        import threading
        self.proc = proc
        self.parts = {"out": [], "err": []}
        self.threads = [threading.Thread(target=self._read, args=(s, self.parts[n]), daemon=True)
                        for n, s in (("out", proc.stdout), ("err", proc.stderr)) if s]
        for t in self.threads:
            t.start()

    @staticmethod
    def _read(stream, into):
        for line in iter(stream.readline, ""):
            into.append(line)

    def finish(self, timeout=60):
        """Waits for the child; returns (stdout, stderr)."""
        self.proc.wait(timeout)
        for t in self.threads:
            t.join(timeout)
        for s in (self.proc.stdout, self.proc.stderr):
            if s:
                s.close()
        return "".join(self.parts["out"]), "".join(self.parts["err"])


def require_7zz(tc):
    tc.assertIsNotNone(SEVENZIP, "7zz is needed (Debian package 7zip)")
