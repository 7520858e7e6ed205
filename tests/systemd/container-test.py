#!/usr/bin/env python3
"""The daemon under a real systemd: boots Debian in a systemd-nspawn container
and runs iam-access-key-rotator.service, unchanged and fully hardened, against
the fake AWS endpoint (tests/fakeaws) listening on the host's loopback.

usage: container-test.py --binary FILE --unit FILE --source-dir DIR --cache-dir DIR

  --binary      the built daemon (build/daemon/iam-access-key-rotator)
  --unit        the configured unit meson writes (build/systemd/...service)
  --source-dir  the source tree (for tests/fakeaws, etc/rotator.conf, docs/)
  --cache-dir   where the debootstrapped root is kept between runs

Exit 0 = pass, 1 = fail, 77 = skipped (not root, or no systemd-nspawn /
debootstrap / nsenter). See README.md in this directory.

Environment:
  AKR_DEBIAN_MIRROR  the mirror for debootstrap (default: the host's apt one)
  AKR_DEBIAN_SUITE   the suite (default: bookworm)
  AKR_KEEP_ROOT=1    keep this run's container root and logs for inspection
"""
import argparse
import datetime
import fcntl
import glob
import json
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import time
import urllib.request

UNIT = "iam-access-key-rotator.service"
DEV = "222222222222"
ALICE = "alice@example.com"
# The daemon's runtime libraries (checked against `ldd` below), and what it
# takes to boot. procps: the unit's ExecReload= runs /bin/kill, which Debian
# ships in procps (priority important, so on every normal install, but not in
# a minbase root).
PACKAGES = ["systemd", "systemd-sysv", "dbus", "procps",
            "libuv1", "libcurl4", "libssl3", "libyajl2", "libexpat1", "libzip4",
            "libconfig9", "libsystemd0", "ca-certificates"]
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# How long before its scheduled minute the daemon's clock starts (--now):
# room for the start, status and both reload checks before the sweep fires.
LEAD_SEC = 20

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


class Fail(Exception):
    pass


class Terminated(Exception):
    pass


def skip(msg):
    """A missing prerequisite fails the test: it must never pass unrun."""
    print(f"FAIL: missing prerequisite: {msg}", flush=True)
    sys.exit(1)


def run(cmd, timeout=60, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise Fail(f"{' '.join(cmd)} exited {r.returncode}\n"
                   f"stdout: {r.stdout.strip()}\nstderr: {r.stderr.strip()}")
    return r


# -- the cached root -----------------------------------------------------------

def host_mirror():
    """The Debian mirror the host's apt uses (one-line or deb822 sources)."""
    if os.environ.get("AKR_DEBIAN_MIRROR"):
        return os.environ["AKR_DEBIAN_MIRROR"]
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) \
        + sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
                if fields.get("Enabled", "yes").lower() == "no":
                    continue
                if "deb" not in fields.get("Types", "").split():
                    continue
                suites = fields.get("Suites", "").split()
                if any(s in ("bookworm", "stable") for s in suites):
                    return fields.get("URIs", "").split()[0]
        else:
            for line in text.splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m and m.group(2) in ("bookworm", "stable"):
                    return m.group(1)
    return DEFAULT_MIRROR


def cached_root(cache_dir):
    """The debootstrapped root, built once (stamp file), or reused."""
    suite = os.environ.get("AKR_DEBIAN_SUITE", "bookworm")
    mirror = host_mirror()
    root = os.path.join(cache_dir, "root")
    stamp = os.path.join(cache_dir, "root.stamp")
    want = json.dumps({"suite": suite, "mirror": mirror, "packages": PACKAGES}, sort_keys=True)
    try:
        with open(stamp) as f:
            if f.read() == want and os.path.isdir(root):
                log(f"reusing the cached root {root}")
                return root
    except OSError:
        pass
    log(f"building the container root: debootstrap {suite} from {mirror} into {root} "
        "(once; the next runs reuse it)")
    for p in (stamp, root, root + ".new"):
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.unlink(p)
    cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
           suite, root + ".new", mirror]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).splitlines()[-30:])
        debootstrap_log = os.path.join(root + ".new", "debootstrap", "debootstrap.log")
        if os.path.exists(debootstrap_log):
            with open(debootstrap_log, errors="replace") as f:
                tail += "\n--- debootstrap.log (tail) ---\n" + "\n".join(f.read().splitlines()[-30:])
        raise Fail(f"debootstrap failed ({r.returncode}):\n{tail}")
    # The root is booted by systemd-nspawn; apt's caches are not needed.
    shutil.rmtree(os.path.join(root + ".new", "var", "cache", "apt", "archives"),
                  ignore_errors=True)
    os.rename(root + ".new", root)
    with open(stamp, "w") as f:
        f.write(want)
    log(f"debootstrap done in {time.monotonic() - t:.0f}s")
    return root


def check_libraries(binary, root):
    """Every shared library the binary needs, as ldd resolves it on the host,
    exists in the root under the same name."""
    r = run(["ldd", binary])
    missing = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if not m:
            continue
        name = os.path.basename(m.group(1))
        path = m.group(2) if m.lastindex == 2 else m.group(1)
        if path == "not":
            raise Fail(f"ldd on the host cannot resolve {name}:\n{r.stdout}")
        candidates = [path] + [os.path.join(d, name) for d in
                               ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                "/lib64", "/usr/lib64", "/lib", "/usr/lib")]
        if not any(os.path.exists(root + c) for c in candidates):
            missing.append(name)
    if missing:
        raise Fail("shared libraries of the binary missing from the container root: "
                   + ", ".join(missing) + "\n(add their packages to PACKAGES)")
    log("every shared library of the binary is in the root")


# -- the fake AWS endpoint -------------------------------------------------------

class Fake:
    def __init__(self, source_dir, scenario, workdir):
        path = os.path.join(workdir, "scenario.json")
        with open(path, "w") as f:
            json.dump(scenario, f)
        self.out_path = os.path.join(workdir, "fake.out")
        self.err_path = os.path.join(workdir, "fake.err")
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(source_dir, "tests", "fakeaws"),
             "--port", "0", "--scenario", path],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err)
        end = time.monotonic() + 30
        while True:
            with open(self.out_path) as f:
                m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", f.read())
            if m:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None or time.monotonic() > end:
                with open(self.err_path) as f:
                    raise Fail(f"the fake did not start (status {self.proc.poll()}):\n{f.read()}")
            time.sleep(0.05)

    def get(self, what):
        with urllib.request.urlopen(f"{self.url}/_fake/{what}", timeout=30) as resp:
            return json.loads(resp.read())

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()


def alice_keys(state):
    for a in state["accounts"]:
        if a["id"] == DEV:
            for u in a["users"]:
                if u["name"] == "alice":
                    return u["keys"]
    raise Fail(f"no alice in the fake's state: {json.dumps(state)[:2000]}")


def mails_to(mails, address):
    return [m for m in mails if address in (m.get("destinations") or [])]


# -- the container ---------------------------------------------------------------

def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def container_init(nspawn_pid):
    """The container's PID 1 (systemd): a descendant of systemd-nspawn whose
    pid is 1 in its own pid namespace."""
    for p in descendants(nspawn_pid):
        try:
            with open(f"/proc/{p}/status") as f:
                status = f.read()
        except OSError:
            continue
        m = re.search(r"^NSpid:\s+(.*)$", status, re.M)
        if m and m.group(1).split()[-1] == "1" and len(m.group(1).split()) > 1:
            return p
    return None


class Container:
    def __init__(self, root, logpath):
        self.root = root
        self.logpath = logpath
        self.logf = open(logpath, "w")
        self.init = None
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-D", root, "--register=no", "--keep-unit", "-b",
             "--console=read-only"],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
        log(f"systemd-nspawn started, pid {self.proc.pid}")
        end = time.monotonic() + 60
        while self.init is None:
            if self.proc.poll() is not None:
                raise Fail(f"systemd-nspawn exited {self.proc.returncode}:\n{self.console()}")
            if time.monotonic() > end:
                raise Fail(f"no container PID 1 found under systemd-nspawn:\n{self.console()}")
            time.sleep(0.1)
            self.init = container_init(self.proc.pid)
        log(f"container PID 1 is host pid {self.init}")

    def console(self, lines=60):
        self.logf.flush()
        with open(self.logpath, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])

    def sh(self, *cmd, timeout=60, check=True):
        return run(["nsenter", "-t", str(self.init), "-a"] + list(cmd),
                   timeout=timeout, check=check)

    def show(self, *props):
        r = self.sh("systemctl", "show", UNIT, "-p", ",".join(props))
        return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)

    def status_dump(self):
        r = self.sh("systemctl", "status", "--no-pager", "-l", "-n", "40", UNIT, check=False)
        j = self.sh("journalctl", "-u", UNIT, "--no-pager", "-o", "short-precise", "-n", "80",
                    check=False)
        return f"--- systemctl status ---\n{r.stdout}{r.stderr}\n--- journal ---\n{j.stdout}"

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def stop(self):
        """Kill systemd-nspawn by its pid (SIGTERM: orderly shutdown of the
        container) and wait; SIGKILL it and the container's PID 1 if needed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                log("systemd-nspawn still running 30 s after SIGTERM; SIGKILL")
                if self.init:
                    try:
                        os.kill(self.init, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


# -- the test --------------------------------------------------------------------

def expect(cond, what, seen):
    if not cond:
        raise Fail(f"{what}\nseen: {seen}")
    log(f"ok: {what}")


def wait_for(pred, timeout, what, seen):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            log(f"ok: {what}")
            return v
        if time.monotonic() > end:
            raise Fail(f"timed out after {timeout}s waiting for: {what}\nseen: {seen()}")
        time.sleep(0.5)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def exec_start(unit_text):
    m = re.search(r"^ExecStart=(.*)$", unit_text, re.M)
    if not m or not m.group(1).startswith("/"):
        raise Fail(f"no absolute ExecStart= in the configured unit: {m and m.group(0)}")
    return m.group(1).strip()


def journal_entries(ct):
    r = ct.sh("journalctl", "-u", UNIT, "-o", "json", "--no-pager")
    out = []
    for line in r.stdout.splitlines():
        e = json.loads(line)
        for k, v in list(e.items()):
            if isinstance(v, list) and v and isinstance(v[0], int):
                e[k] = bytes(v).decode(errors="replace")
            elif isinstance(v, list):
                e[k] = [bytes(x).decode(errors="replace") if isinstance(x, list) else x
                        for x in v]
        out.append(e)
    return out


def zip_password(source_dir, mails):
    """The password of the key zip mailed to alice, found by opening the zip
    with 7-Zip (tests/integration/mails.py). A missing 7-Zip is a failure."""
    sys.path.insert(0, os.path.join(source_dir, "tests", "integration"))
    import mails as m
    if not m.SEVENZIP:
        raise Fail("7zz not found: install the Debian package 7zip (tools/packages.txt)")
    msgs = [m.parse(x["raw"]) for x in mails_to(mails, ALICE)]
    zips = [m.zip_of(x) for x in msgs if m.zip_of(x)]
    for data in zips:
        for x in msgs:
            if m.zip_of(x):
                continue
            for token in set(re.findall(r"\S{12,}", m.text_of(x))):
                if m.open_zip(data, token) is not None:
                    return token
    raise Fail("no password in alice's mails opens the key zip")


def test(args, workdir, cleanup):
    with open(args.unit) as f:
        unit_text = f.read()
    start_line = exec_start(unit_text)
    sbin_path = start_line.split()[0]

    os.makedirs(args.cache_dir, exist_ok=True)
    lock = open(os.path.join(args.cache_dir, "lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    cleanup.append(lock.close)
    cache = cached_root(args.cache_dir)
    check_libraries(args.binary, cache)

    # This run's root: a copy of the cache, so that no run sees another's
    # state directory, journal or configuration.
    t = time.monotonic()
    root = os.path.join(workdir, "root")
    run(["cp", "-a", "--reflink=auto", cache, root], timeout=300)
    fcntl.flock(lock, fcntl.LOCK_UN)
    log(f"copied the root for this run in {time.monotonic() - t:.1f}s")

    # The base credentials: a key pair made for this run, so that finding
    # the secret anywhere is meaningful.
    alnum = string.ascii_uppercase + string.digits
    base_key = "AKIA" + "".join(secrets.choice(alnum) for _ in range(16))
    base_secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/")
                          for _ in range(40))
    scenario = {
        "management_account": "111111111111",
        "credentials": [{"access_key_id": base_key, "secret_access_key": base_secret,
                         "account": "111111111111", "user": "rotator"}],
        "accounts": [
            {"id": "111111111111", "name": "management", "status": "ACTIVE",
             "roles": ["provisioning-admin"], "users": []},
            {"id": DEV, "name": "dev", "status": "ACTIVE", "roles": ["provisioning-admin"],
             "users": [{"name": "alice", "tags": {"email": ALICE},
                        "keys": [{"status": "Active", "age_days": 85,
                                  "last_used_days": 1}]}]}]}
    fake = Fake(args.source_dir, scenario, workdir)
    cleanup.append(fake.close)
    log(f"fake AWS endpoint at {fake.url}")
    old_keys = alice_keys(fake.get("state"))

    # Installed as a package would, plus the test's drop-in (below).
    shutil.copy2(args.binary, root + sbin_path)
    os.chmod(root + sbin_path, 0o755)
    write(f"{root}/etc/systemd/system/{UNIT}", unit_text, 0o644)
    cred_dir = f"{root}/etc/iam-access-key-rotator/credentials"
    for name, value in (("aws_access_key_id", base_key), ("aws_secret_access_key", base_secret)):
        m = re.search(rf"^LoadCredential={name}:(/\S+)$", unit_text, re.M)
        if not m:
            raise Fail(f"the unit has no LoadCredential={name}:PATH")
        write(root + m.group(1), value, 0o600)
    os.chmod(cred_dir, 0o700)
    catalog = os.path.join(args.source_dir, "docs", "iam-access-key-rotator.catalog")
    if os.path.exists(catalog):
        os.makedirs(f"{root}/usr/lib/systemd/catalog", exist_ok=True)
        shutil.copy(catalog, f"{root}/usr/lib/systemd/catalog/")
    with open(os.path.join(args.source_dir, "etc", "rotator.conf")) as f:
        conf_template = f.read()
    if not re.search(r'^schedule = "\d\d:\d\d";$', conf_template, re.M):
        raise Fail("etc/rotator.conf has no `schedule = \"HH:MM\";` line")

    def write_conf(schedule):
        write(f"{root}/etc/iam-access-key-rotator/rotator.conf",
              re.sub(r'^schedule = "\d\d:\d\d";$', f'schedule = "{schedule}";', conf_template,
                     flags=re.M), 0o644)

    # -- boot
    ct = Container(root, os.path.join(workdir, "console.log"))
    cleanup.insert(0, ct.stop)  # stopped before the fake
    end = time.monotonic() + 180
    # systemctl answers "offline" until PID 1 has created /run/systemd/system
    # and cannot connect until the manager's bus socket exists: wait for both
    # (bounded), then let --wait wait for the boot to finish.
    while True:
        booted = ct.sh("test", "-d", "/run/systemd/system", check=False).returncode == 0
        r = ct.sh("systemctl", "is-system-running", "--wait", timeout=180, check=False) \
            if booted else None
        state = r.stdout.strip() if r else "offline"
        settled = r is not None and state not in ("", "offline") \
            and "connect to bus" not in r.stderr
        if settled or time.monotonic() > end:
            break
        time.sleep(0.2)
    log(f"is-system-running: {state}")
    if state == "degraded":
        failed = ct.sh("systemctl", "--failed", "--no-pager", "--no-legend", check=False)
        log(f"system is degraded; failed units:\n{failed.stdout}")
    expect(state in ("running", "degraded"), "systemd in the container is up",
           f"is-system-running: {state!r} {r.stderr.strip()}\n{ct.console()}")
    if os.path.exists(catalog):
        ct.sh("journalctl", "--update-catalog")

    # -- start. The daemon's clock starts LEAD_SEC before the minute it will
    # sweep at (--now shifts it by less than a minute: SigV4 stays valid). The
    # configuration first names another minute; the reload below sets it.
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    fire = (now + datetime.timedelta(seconds=LEAD_SEC + 60)).replace(second=0)
    fake_now = fire - datetime.timedelta(seconds=LEAD_SEC)
    elsewhere = fire + datetime.timedelta(hours=12)
    write_conf(f"{elsewhere:%H:%M}")
    write(f"{root}/etc/systemd/system/{UNIT}.d/test.conf",
          "# Written by tests/systemd/container-test.py\n[Service]\n"
          f"Environment=AWS_ENDPOINT_URL={fake.url} AWS_REGION=us-east-1 "
          "AWS_EC2_METADATA_DISABLED=true\n"
          "ExecStart=\n"
          f"ExecStart={start_line} --now {iso(fake_now)}\n", 0o644)
    ct.sh("systemctl", "daemon-reload")
    log(f"daemon clock starts at {iso(fake_now)} (real {iso(now)}), sweep at {fire:%H:%M}")

    r = ct.sh("systemctl", "start", UNIT, timeout=120, check=False)
    expect(r.returncode == 0, "systemctl start succeeds (READY=1 reached)",
           f"exit {r.returncode} {r.stderr.strip()}\n{ct.status_dump()}")
    p = ct.show("ActiveState", "SubState", "Type", "MainPID", "StatusText")
    expect(p.get("ActiveState") == "active" and p.get("SubState") == "running",
           "the unit is active (running)", f"{p}\n{ct.status_dump()}")
    expect(p.get("StatusText", "").startswith("Next sweep")
           and f"{elsewhere:%H:%M}" in p.get("StatusText", ""),
           f"StatusText names the next sweep: {p.get('StatusText')!r}", p)

    # -- the sandbox is real: the main process as the kernel sees it.
    pid = p.get("MainPID")
    st = ct.sh("cat", f"/proc/{pid}/status").stdout
    f = dict(re.findall(r"^(\w+):\s*(.*)$", st, re.M))
    uid = int(f.get("Uid", "0").split()[0])
    ns = ct.sh("readlink", f"/proc/{pid}/ns/mnt", f"/proc/{pid}/ns/user", "/proc/1/ns/mnt",
               "/proc/1/ns/user").stdout.split()
    seen = {k: f.get(k) for k in ("Uid", "NoNewPrivs", "Seccomp", "CapEff", "CapBnd")}
    seen["namespaces (main mnt, user; PID 1 mnt, user)"] = ns
    expect(61184 <= uid <= 65519 and f.get("NoNewPrivs") == "1" and f.get("Seccomp") == "2"
           and int(f.get("CapEff", "1"), 16) == 0 and int(f.get("CapBnd", "1"), 16) == 0
           and len(ns) == 4 and ns[0] != ns[2] and ns[1] != ns[3],
           "the daemon runs sandboxed: a dynamic uid, no_new_privs, a seccomp filter, no "
           "capabilities, its own mount and user namespaces", seen)
    r = ct.sh("systemd-analyze", "security", "--no-pager", UNIT, check=False)
    m = re.search(r"Overall exposure level.*", r.stdout)
    log(f"systemd-analyze security (live): {m.group(0) if m else r.stdout[-500:]}")

    # -- reload: the new schedule is taken.
    write_conf(f"{fire:%H:%M}")
    r = ct.sh("systemctl", "reload", UNIT, timeout=60, check=False)
    expect(r.returncode == 0, "systemctl reload succeeds",
           f"exit {r.returncode} {r.stderr.strip()}\n{ct.status_dump()}")
    p = ct.show("ActiveState", "StatusText", "NRestarts")
    expect(p.get("ActiveState") == "active" and p.get("NRestarts") == "0",
           "the unit stays active after the reload", f"{p}\n{ct.status_dump()}")
    wait_for(lambda: f"{fire:%H:%M}" in ct.show("StatusText").get("StatusText", ""),
             10, f"StatusText shows the reloaded schedule {fire:%H:%M}",
             lambda: ct.show("StatusText"))
    wait_for(lambda: [e for e in journal_entries(ct)
                      if str(e.get("MESSAGE", "")).startswith("Configuration reloaded")],
             10, "the journal has the reload message", ct.status_dump)

    # -- reload of an invalid file: ExecReload= validates before it signals,
    # so systemctl reload fails, the journal says why, and the daemon keeps
    # running on the configuration in force (the schedule stays at M).
    main_pid = ct.show("MainPID").get("MainPID")
    write(f"{root}/etc/iam-access-key-rotator/rotator.conf",
          re.sub(r'^schedule = "\d\d:\d\d";$', f'schedule = "{elsewhere:%H:%M}";',
                 conf_template, flags=re.M) + "\nno_such_setting = 1;\n", 0o644)
    r = ct.sh("systemctl", "reload", UNIT, timeout=60, check=False)
    expect(r.returncode != 0, "systemctl reload of an invalid file fails",
           f"exit {r.returncode} {r.stdout.strip()} {r.stderr.strip()}\n{ct.status_dump()}")
    log(f"systemctl reload said: {r.stderr.strip()}")
    why = wait_for(lambda: [e for e in journal_entries(ct)
                            if "no_such_setting" in str(e.get("MESSAGE", ""))],
                   10, "the journal names the invalid setting", ct.status_dump)
    log(f"journal: {why[-1].get('MESSAGE')}")
    p = ct.show("ActiveState", "SubState", "MainPID", "NRestarts", "StatusText")
    expect(p.get("ActiveState") == "active" and p.get("MainPID") == main_pid
           and p.get("NRestarts") == "0" and f"{fire:%H:%M}" in p.get("StatusText", ""),
           "the daemon runs on, same process, with the old configuration (schedule "
           f"{fire:%H:%M})", f"{p}\n{ct.status_dump()}")
    refused = [e.get("MESSAGE") for e in journal_entries(ct)
               if "keeping the configuration in force" in str(e.get("MESSAGE", ""))]
    expect(not refused, "the daemon was not even signalled with the invalid file", refused)
    write_conf(f"{fire:%H:%M}")

    # -- the scheduled sweep, under the hardened unit.
    log(f"waiting for the sweep at {fire:%H:%M} (daemon clock)")

    def rotated():
        keys = alice_keys(fake.get("state"))
        mails = mails_to(fake.get("emails"), ALICE)
        return len(keys) == 2 and len(mails) == 2 and (keys, mails)

    def seen():
        return (f"keys {alice_keys(fake.get('state'))}\n"
                f"mails to alice: {len(mails_to(fake.get('emails'), ALICE))}\n"
                f"{ct.show('ActiveState', 'StatusText')}\n{ct.status_dump()}")

    keys, mails = wait_for(rotated, LEAD_SEC + 90, "alice has 2 keys and 2 mails", seen)
    wait_for(lambda: "last sweep" in ct.show("StatusText").get("StatusText", ""), 60,
             "StatusText reports the finished sweep", lambda: ct.show("StatusText"))
    p = ct.show("ActiveState", "StatusText")
    log(f"StatusText after the sweep: {p.get('StatusText')!r}")
    old_ids = {k["id"] for k in old_keys}
    new = [k for k in keys if k["id"] not in old_ids]
    expect(len(new) == 1 and new[0].get("secret"), "the fake holds alice's new key", keys)
    new_key = new[0]

    # -- structured journal fields of the key action.
    def creates():
        return [e for e in journal_entries(ct)
                if e.get("ACTION") == "create" and e.get("USER_NAME") == "alice"]

    def recent():
        return "\n".join(json.dumps({k: v for k, v in e.items() if not k.startswith("_")})
                         for e in journal_entries(ct)[-30:])

    e = wait_for(creates, 10, "the journal has a create entry for alice", recent)[-1]
    fields = {k: e.get(k) for k in ("MESSAGE", "MESSAGE_ID", "RUN_ID", "ACCOUNT_ID", "USER_NAME",
                                    "ACCESS_KEY_ID", "ACTION", "RESULT", "PRIORITY")}
    log(f"create entry: {json.dumps(fields)}")
    expect(re.fullmatch(r"[0-9a-f]{32}", str(e.get("MESSAGE_ID", ""))) and e.get("RUN_ID")
           and e.get("ACCOUNT_ID") == DEV and e.get("ACCESS_KEY_ID") == new_key["id"]
           and e.get("RESULT") == "done",
           "the create entry has MESSAGE_ID, RUN_ID, ACCOUNT_ID, USER_NAME, ACCESS_KEY_ID "
           "(the new key), ACTION, RESULT=done", fields)

    # -- stop.
    r = ct.sh("systemctl", "stop", UNIT, timeout=120, check=False)
    p = ct.show("ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
    expect(r.returncode == 0 and p.get("ActiveState") == "inactive"
           and p.get("Result") == "success",
           "systemctl stop is clean (inactive, Result=success)",
           f"exit {r.returncode} {r.stderr.strip()} {p}\n{ct.status_dump()}")

    # -- an invalid configuration at start: exit status 2, and no restart
    # every RestartSec= (RestartPreventExitStatus=2). Without it the unit
    # would go to SubState=auto-restart at once.
    with open(f"{root}/etc/iam-access-key-rotator/rotator.conf", "a") as f:
        f.write("\nno_such_setting = 1;\n")
    r = ct.sh("systemctl", "start", UNIT, timeout=120, check=False)
    expect(r.returncode != 0, "systemctl start with an invalid configuration fails",
           f"exit {r.returncode}\n{ct.status_dump()}")

    def settled():
        q = ct.show("ActiveState", "SubState", "Result", "ExecMainStatus", "NRestarts")
        return (q.get("ActiveState") in ("failed", "inactive")
                or q.get("SubState") == "auto-restart") and q

    p = wait_for(settled, 30, "the failed start has settled", ct.status_dump)
    expect(p.get("ActiveState") == "failed" and p.get("SubState") == "failed"
           and p.get("ExecMainStatus") == "2" and p.get("NRestarts") == "0",
           "exit status 2 (configuration error) is not restarted", f"{p}\n{ct.status_dump()}")
    write_conf(f"{fire:%H:%M}")

    # -- the state directory (DynamicUser=yes: under /var/lib/private).
    sd = ct.path("/var/lib/private/iam-access-key-rotator")
    listing = sorted(os.listdir(sd)) if os.path.isdir(sd) else None
    expect(listing and os.path.exists(os.path.join(sd, "last-report.json")),
           f"the state directory holds the report: {listing}", listing)
    mode = os.stat(sd).st_mode & 0o777
    expect(mode == 0o700, f"the state directory is mode 0700", oct(mode))
    with open(os.path.join(sd, "last-report.json")) as f:
        report = json.load(f)
    acts = [(a.get("user"), a.get("action"), a.get("outcome"), a.get("access_key_id"))
            for a in report.get("actions", [])]
    expect(report.get("mode") == "scheduled" and report.get("run_id") == e.get("RUN_ID")
           and ("alice", "create", "done", new_key["id"]) in acts,
           "the report is the scheduled sweep's, with alice's creation, and its run_id "
           "is the journal's RUN_ID",
           {"mode": report.get("mode"), "run_id": report.get("run_id"), "actions": acts})

    # -- no secret anywhere in the journal (every unit, every field) or in
    # the state directory.
    secrets_ = {"the base secret": base_secret, "alice's new secret": new_key["secret"]}
    for k in old_keys:
        if k.get("secret"):
            secrets_[f"the old key {k['id']}'s secret"] = k["secret"]
    secrets_["the zip password"] = zip_password(args.source_dir, mails)
    journal = subprocess.run(["nsenter", "-t", str(ct.init), "-a", "journalctl", "-o", "export",
                              "--no-pager"], capture_output=True, timeout=60).stdout
    state_files = b""
    for dirpath, _, files in os.walk(sd):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                state_files += f.read()
    leaks = [what for what, s in secrets_.items()
             if s.encode() in journal or s.encode() in state_files]
    expect(len(journal) > 1000 and not leaks,
           f"no secret in the journal ({len(journal)} bytes) or the state directory "
           f"(searched: {', '.join(secrets_)})", f"found: {leaks}")


def remove_stale_runs(cache_dir):
    """The run-PID folders of runs that were killed before cleaning up, unless
    their test or a systemd-nspawn on their root still runs."""
    cmdlines = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    cmdlines.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    for d in glob.glob(os.path.join(cache_dir, "run-*")):
        pid = os.path.basename(d)[4:]
        if pid.isdigit() and os.path.exists(f"/proc/{pid}"):
            continue
        if any("systemd-nspawn" in c and d in c for c in cmdlines):
            log(f"note: {d} is left over but a systemd-nspawn still runs on it")
            continue
        log(f"removing the left-over {d}")
        shutil.rmtree(d, ignore_errors=True)


def print_fake_stderr(workdir):
    path = os.path.join(workdir, "fake.err")
    if os.path.exists(path):
        with open(path, errors="replace") as f:
            tail = f.read()[-3000:]
        if tail.strip():
            print(f"--- fake stderr (tail) ---\n{tail}")


def run_test(args, test_fn, on_failure=None):
    """Runs test_fn(args, workdir, cleanup) in a fresh work directory under
    args.cache_dir: SIGTERM/SIGINT end it as a failure, the callables the test
    appended to cleanup run in that order (each even if another fails), then
    on_failure(workdir) when it failed, and the directory goes unless
    AKR_KEEP_ROOT=1. Shared by container-test.py and package-test.py.
    Returns the exit status: 0 passed, 1 failed."""
    def on_term(signum, frame):
        raise Terminated(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    os.makedirs(args.cache_dir, exist_ok=True)
    remove_stale_runs(args.cache_dir)
    workdir = os.path.join(args.cache_dir, f"run-{os.getpid()}")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    cleanup = []
    status = 0
    try:
        test_fn(args, workdir, cleanup)
        log("PASS")
    except Fail as e:
        print(f"FAIL: {e}", flush=True)
        status = 1
    except Terminated as e:
        print(f"FAIL: interrupted ({e})", flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for fn in cleanup:
            try:
                fn()
            except Exception as e:  # keep cleaning up
                print(f"cleanup: {e!r}", flush=True)
        if status and on_failure:
            on_failure(workdir)
        if os.environ.get("AKR_KEEP_ROOT") == "1":
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        log("cleaned up")
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cache-dir", required=True)
    args = ap.parse_args()
    for a in ("binary", "unit", "source_dir", "cache_dir"):
        setattr(args, a, os.path.abspath(getattr(args, a)))

    if os.geteuid() != 0:
        skip("needs root (systemd-nspawn, debootstrap)")
    for tool, pkg in (("systemd-nspawn", "systemd-container"), ("debootstrap", "debootstrap"),
                      ("nsenter", "util-linux")):
        if not shutil.which(tool):
            skip(f"{tool} not found (apt-get install {pkg})")
    for f in (args.binary, args.unit):
        if not os.path.isfile(f):
            print(f"FAIL: {f} does not exist (build first)")
            return 1

    return run_test(args, test, on_failure=print_fake_stderr)


if __name__ == "__main__":
    sys.exit(main())
