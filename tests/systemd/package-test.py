#!/usr/bin/env python3
"""The Debian package on a bare Debian 12 under a real systemd: builds the
.deb from the source tree (dpkg-buildpackage, twice: the tree's version and a
rebuilt one with a higher version), boots a debootstrapped minbase root in a
systemd-nspawn container and, inside it, installs, upgrades and purges the
package with apt, against the fake AWS endpoint on the host's loopback.

usage: package-test.py --source-dir DIR --cache-dir DIR

Exit 0 = pass, 1 = fail, 77 = skipped (not root). A missing build tool
(dpkg-buildpackage, debhelper, a build dependency) or container tool is a
failure: tools/packages.txt installs them. See README.md in this directory.

Environment: as container-test.py (AKR_DEBIAN_MIRROR, AKR_DEBIAN_SUITE,
AKR_KEEP_ROOT=1).
"""
import argparse
import fcntl
import importlib.util
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("container_test",
                                               os.path.join(HERE, "container-test.py"))
ct_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ct_mod)
Fail, Terminated, log, run, expect, wait_for, write = (
    ct_mod.Fail, ct_mod.Terminated, ct_mod.log, ct_mod.run, ct_mod.expect, ct_mod.wait_for,
    ct_mod.write)

PKG = "iam-access-key-rotator"
UNIT = ct_mod.UNIT
CONF = "/etc/iam-access-key-rotator/rotator.conf"
# A bare system: only what it takes to boot systemd. Everything the package
# needs (its libraries, procps for ExecReload=, ca-certificates) must come
# from its Depends:, resolved by apt in the container.
PACKAGES = ["systemd", "systemd-sysv", "dbus"]
UPGRADE_SUFFIX = "+upgradetest1"
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                      text=True).stdout.strip()
APT_CACHED = ("var/lib/apt/lists", "var/cache/apt/archives")


# -- building the packages ------------------------------------------------------

def copy_tree(src, dst):
    """The source tree without build folders: the files git knows (tracked
    and untracked but not ignored) when it is a checkout, else everything
    but build*/ and .git."""
    if os.path.isdir(os.path.join(src, ".git")) or os.path.isfile(os.path.join(src, ".git")):
        r = run(["git", "-C", src, "ls-files", "-z", "-co", "--exclude-standard"], timeout=60)
        for rel in filter(None, r.stdout.split("\0")):
            if not os.path.lexists(os.path.join(src, rel)):
                continue  # deleted in the work tree
            os.makedirs(os.path.dirname(os.path.join(dst, rel)) or dst, exist_ok=True)
            shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel), follow_symlinks=False)
    else:
        shutil.copytree(src, dst, symlinks=True,
                        ignore=shutil.ignore_patterns("build*", ".git", "demo-out"))


def bump_changelog(tree, suffix):
    """Prepends a changelog entry whose version is the current one + suffix
    (what `dch -v` does), and returns the new version."""
    path = os.path.join(tree, "debian", "changelog")
    with open(path) as f:
        text = f.read()
    m = re.match(r"(\S+) \(([^)]+)\) (\S+); (.*)\n", text)
    if not m:
        raise Fail(f"debian/changelog does not start with an entry: {text[:200]!r}")
    version = m.group(2) + suffix
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    trailer = re.search(r"^ -- (.*?>)  ", text, re.M)
    entry = (f"{m.group(1)} ({version}) {m.group(3)}; {m.group(4)}\n\n"
             "  * Rebuilt by tests/systemd/package-test.py to test an upgrade.\n\n"
             f" -- {trailer.group(1)}  {stamp}\n\n")
    with open(path, "w") as f:
        f.write(entry + text)
    return version


def dpkg_buildpackage(tree, *extra):
    t = time.monotonic()
    r = run(["nice", "dpkg-buildpackage", "-us", "-uc", "-b", *extra], timeout=900, check=False,
            cwd=tree)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).splitlines()[-40:])
        raise Fail(f"dpkg-buildpackage {' '.join(extra)} failed ({r.returncode}):\n{tail}")
    return time.monotonic() - t


def built_deb(tree, version):
    path = os.path.join(os.path.dirname(tree), f"{PKG}_{version}_{ARCH}.deb")
    if not os.path.isfile(path):
        raise Fail(f"dpkg-buildpackage did not leave {path}: "
                   f"{sorted(os.listdir(os.path.dirname(tree)))}")
    return path


def build_debs(source_dir, workdir):
    """The package of the tree, then the same tree rebuilt with a higher
    version (a new changelog entry, as `dch -v` makes). The second build
    does not clean (-nc): debhelper's stamps skip the compile, so only the
    binary package is made again. Returns ((v1, deb1), (v2, deb2))."""
    tree = os.path.join(workdir, "build", "src")
    copy_tree(source_dir, tree)
    r = run(["dpkg-checkbuilddeps"], timeout=60, check=False, cwd=tree)
    if r.returncode != 0:
        raise Fail(f"build dependencies missing (apt-get install them, see "
                   f"tools/packages.txt): {r.stderr.strip()}")
    v1 = run(["dpkg-parsechangelog", "-S", "Version"], cwd=tree).stdout.strip()
    took = dpkg_buildpackage(tree)
    deb1 = built_deb(tree, v1)
    log(f"built {os.path.basename(deb1)} in {took:.0f}s")
    v2 = bump_changelog(tree, UPGRADE_SUFFIX)
    took = dpkg_buildpackage(tree, "-nc")
    deb2 = built_deb(tree, v2)
    log(f"rebuilt it as {os.path.basename(deb2)} in {took:.0f}s")
    return (v1, deb1), (v2, deb2)


def save_apt_cache(root, apt_cache):
    """Keeps apt's lists and archives of this run's root for the next run."""
    fresh = apt_cache + ".new"
    shutil.rmtree(fresh, ignore_errors=True)
    for sub in APT_CACHED:
        src = os.path.join(root, sub)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(fresh, sub),
                            ignore=shutil.ignore_patterns("lock", "partial"))
    shutil.rmtree(apt_cache, ignore_errors=True)
    os.rename(fresh, apt_cache)


# -- the test -------------------------------------------------------------------

class Box(ct_mod.Container):
    def apt(self, *args, timeout=300):
        return self.sh("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
                       "-o", "Dpkg::Use-Pty=0", *args, timeout=timeout, check=False)

    def exists(self, path):
        return os.path.lexists(self.path(path))


def test(args, workdir, cleanup):
    # The two packages first: nothing else is worth doing if they do not build.
    (v1, deb1), (v2, deb2) = build_debs(args.source_dir, workdir)

    os.makedirs(args.cache_dir, exist_ok=True)
    lock = open(os.path.join(args.cache_dir, "lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    cleanup.append(lock.close)
    ct_mod.PACKAGES = PACKAGES
    cache = ct_mod.cached_root(args.cache_dir)
    t = time.monotonic()
    root = os.path.join(workdir, "root")
    run(["cp", "-a", "--reflink=auto", cache, root], timeout=300)
    fcntl.flock(lock, fcntl.LOCK_UN)
    log(f"copied the bare root for this run in {time.monotonic() - t:.1f}s")
    for deb in (deb1, deb2):
        shutil.copy(deb, os.path.join(root, "root", os.path.basename(deb)))
    # apt's lists and the downloaded dependencies of an earlier run, so that
    # only the first run pays for the downloads (apt-get update still runs).
    apt_cache = os.path.join(args.cache_dir, "apt-cache")
    for sub in APT_CACHED:
        if os.path.isdir(os.path.join(apt_cache, sub)):
            shutil.copytree(os.path.join(apt_cache, sub), os.path.join(root, sub),
                            dirs_exist_ok=True)
    in_root = {d: "/root/" + os.path.basename(d) for d in (deb1, deb2)}

    # The fake AWS endpoint and a key pair made for this run.
    alnum = string.ascii_uppercase + string.digits
    base_key = "AKIA" + "".join(secrets.choice(alnum) for _ in range(16))
    base_secret = "".join(secrets.choice(string.ascii_letters + string.digits)
                          for _ in range(40))
    scenario = {
        "management_account": "111111111111",
        "credentials": [{"access_key_id": base_key, "secret_access_key": base_secret,
                         "account": "111111111111", "user": "rotator"}],
        "accounts": [{"id": "111111111111", "name": "management", "status": "ACTIVE",
                      "roles": ["provisioning-admin"], "users": []}]}
    fake = ct_mod.Fake(args.source_dir, scenario, workdir)
    cleanup.append(fake.close)
    log(f"fake AWS endpoint at {fake.url}")

    # What an operator (or configuration management) provides before
    # installing: the base credentials, and here the test's endpoint. The
    # packaged rotator.conf is used as shipped.
    for name, value in (("aws_access_key_id", base_key), ("aws_secret_access_key", base_secret)):
        write(f"{root}/etc/iam-access-key-rotator/credentials/{name}", value, 0o600)
    os.chmod(f"{root}/etc/iam-access-key-rotator/credentials", 0o700)
    write(f"{root}/etc/systemd/system/{UNIT}.d/test.conf",
          "# Written by tests/systemd/package-test.py\n[Service]\n"
          f"Environment=AWS_ENDPOINT_URL={fake.url} AWS_REGION=us-east-1 "
          "AWS_EC2_METADATA_DISABLED=true\n", 0o644)

    box = Box(root, os.path.join(workdir, "console.log"))
    cleanup.insert(0, box.stop)
    end = time.monotonic() + 180
    state, r = "offline", None
    while time.monotonic() < end:
        if box.sh("test", "-d", "/run/systemd/system", check=False).returncode == 0:
            r = box.sh("systemctl", "is-system-running", "--wait", timeout=180, check=False)
            state = r.stdout.strip()
            if state not in ("", "offline") and "connect to bus" not in r.stderr:
                break
        time.sleep(0.2)
    expect(state in ("running", "degraded"), "systemd in the bare container is up",
           f"is-system-running: {state!r}\n{box.console()}")
    expect(not box.exists("/bin/kill") and not box.exists("/usr/bin/kill"),
           "the bare root has no /bin/kill (procps must come from Depends:)", "kill found")

    # -- install.
    r = box.apt("update", timeout=300)
    expect(r.returncode == 0, "apt-get update in the container", r.stdout[-2000:] + r.stderr)
    t = time.monotonic()
    r = box.apt("install", in_root[deb1])
    expect(r.returncode == 0, f"apt-get install ./{os.path.basename(deb1)} "
           f"({time.monotonic() - t:.0f}s)", r.stdout[-3000:] + r.stderr)
    installed = box.sh("dpkg-query", "-W", "-f=${Version} ${Status}", PKG).stdout
    expect(installed == f"{v1} install ok installed", f"dpkg: {installed}", installed)
    save_apt_cache(root, apt_cache)
    for path in ("/usr/sbin/iam-access-key-rotator", "/bin/kill",
                 "/lib/systemd/system/iam-access-key-rotator.service", CONF,
                 "/usr/share/man/man8/iam-access-key-rotator.8.gz",
                 "/usr/share/man/man5/rotator.conf.5.gz",
                 "/usr/lib/systemd/catalog/iam-access-key-rotator.catalog",
                 "/usr/share/doc/iam-access-key-rotator/rotator.conf.sample",
                 "/usr/share/doc/iam-access-key-rotator/aws/member-role-policy.json"):
        expect(box.exists(path), f"installed: {path}", path)
    conffiles = box.sh("dpkg-query", "-W", "-f=${Conffiles}", PKG).stdout
    expect(CONF in conffiles, f"{CONF} is a conffile", conffiles)

    # The journal catalog was updated (systemd's dpkg trigger): journalctl
    # knows our MESSAGE_IDs.
    with open(os.path.join(args.source_dir, "docs", "iam-access-key-rotator.catalog")) as f:
        ids = re.findall(r"^-- ([0-9a-f]{32})", f.read(), re.M)
    listed = box.sh("journalctl", "--list-catalog", "--no-pager", *ids[:1]).stdout
    expect(ids and ids[0] in listed, f"journalctl --list-catalog knows {ids[:1]}", listed[-500:])

    # The service came up from the package's own postinst (enabled, started).
    def active():
        p = box.show("ActiveState", "SubState", "MainPID", "StatusText", "UnitFileState")
        return p.get("ActiveState") == "active" and p.get("SubState") == "running" and p

    p = wait_for(active, 60, "the service is active (running) after the install",
                 box.status_dump)
    expect(p.get("UnitFileState") == "enabled" and p.get("StatusText", "").startswith(
        "Next sweep") and "13:00" in p["StatusText"],
           f"enabled, ready, scheduled as the packaged rotator.conf says: {p.get('StatusText')!r}",
           p)
    pid1 = p["MainPID"]
    state_dir = "/var/lib/private/iam-access-key-rotator"
    expect(box.exists(state_dir + "/statelog"), f"the daemon's state is in {state_dir}",
           os.listdir(box.path("/var/lib/private")) if box.exists("/var/lib/private") else None)

    # -- the operator edits the conffile (and reloads).
    with open(box.path(CONF)) as f:
        conf = f.read()
    edited = re.sub(r'^schedule = "\d\d:\d\d";$', 'schedule = "04:17";', conf, flags=re.M)
    edited += "\n# edited by the operator\n"
    expect(edited.count("04:17") == 1, "rotator.conf has a schedule line to edit", conf[:300])
    write(box.path(CONF), edited, 0o644)
    r = box.sh("systemctl", "reload", UNIT, check=False)
    expect(r.returncode == 0, "systemctl reload of the edited file", r.stderr + box.status_dump())
    wait_for(lambda: "04:17" in box.show("StatusText").get("StatusText", ""), 15,
             "the daemon took the edited schedule 04:17", box.status_dump)

    # -- upgrade to the rebuilt package.
    t = time.monotonic()
    r = box.apt("install", in_root[deb2])
    expect(r.returncode == 0, f"apt-get install ./{os.path.basename(deb2)} (upgrade, "
           f"{time.monotonic() - t:.0f}s)", r.stdout[-3000:] + r.stderr)
    installed = box.sh("dpkg-query", "-W", "-f=${Version} ${Status}", PKG).stdout
    expect(installed == f"{v2} install ok installed", f"dpkg after the upgrade: {installed}",
           installed)
    with open(box.path(CONF)) as f:
        after = f.read()
    leftovers = [n for n in os.listdir(box.path("/etc/iam-access-key-rotator"))
                 if n.startswith("rotator.conf.")]
    expect(after == edited and not leftovers,
           "the edited conffile survived the upgrade untouched (no .dpkg-new/.dpkg-dist)",
           f"leftovers {leftovers}; differs: {after != edited}")
    def restarted():
        q = active()
        return q and q.get("MainPID") != pid1 and q

    p = wait_for(restarted, 60, "the service was restarted after the upgrade", box.status_dump)
    expect("04:17" in p.get("StatusText", ""),
           f"the restarted daemon runs on the edited file: {p.get('StatusText')!r}", p)

    # -- purge.
    r = box.apt("purge", PKG)
    expect(r.returncode == 0, "apt-get purge", r.stdout[-3000:] + r.stderr)
    r = box.sh("dpkg-query", "-W", "-f=${Status}", PKG, check=False)
    expect(r.returncode != 0 or "not-installed" in r.stdout or r.stdout.strip() == "",
           f"dpkg no longer knows the package: {r.stdout.strip() or r.stderr.strip()}", r.stdout)
    p = box.show("LoadState", "ActiveState")
    left = [x for x in ("/usr/sbin/iam-access-key-rotator", "/etc/iam-access-key-rotator",
                        "/lib/systemd/system/iam-access-key-rotator.service",
                        state_dir, "/var/lib/iam-access-key-rotator",
                        "/usr/share/doc/iam-access-key-rotator") if box.exists(x)]
    expect(p.get("ActiveState") == "inactive" and not left,
           "purge stopped the service and removed the binary, the unit, the configuration, "
           "the credentials and the state", f"{p}; still there: {left}")
    box.sh("systemctl", "daemon-reload")
    p = box.show("LoadState")
    expect(p.get("LoadState") == "not-found", "systemd no longer knows the unit", p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cache-dir", required=True)
    args = ap.parse_args()
    args.source_dir = os.path.abspath(args.source_dir)
    args.cache_dir = os.path.abspath(args.cache_dir)

    if os.geteuid() != 0:
        ct_mod.skip("needs root (systemd-nspawn, debootstrap)")
    for tool, pkg in (("systemd-nspawn", "systemd-container"), ("debootstrap", "debootstrap"),
                      ("nsenter", "util-linux"), ("dpkg-buildpackage", "dpkg-dev"),
                      ("dh", "debhelper"), ("fakeroot", "fakeroot")):
        if not shutil.which(tool):
            print(f"FAIL: {tool} not found (apt-get install {pkg}; see tools/packages.txt)")
            return 1

    return ct_mod.run_test(args, test)


if __name__ == "__main__":
    sys.exit(main())
