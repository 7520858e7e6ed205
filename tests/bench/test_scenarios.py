"""The organizations compare.py generates (suite bench-smoke; no daemon run,
no time asserted): B4 is "5 x 5,000 users with 2 % due" (issue 11), counted
by gen_scenario.due_summary() over the users of ACTIVE accounts as any action
the default policy takes (rotate or report, delete, deactivate, remind). The
other scenarios keep the generator's default mix.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fakeaws"))
import compare  # noqa: E402
import gen_scenario  # noqa: E402

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


label, sizes, _, _, due, inactive = compare.SCENARIOS["B4"]
for accounts, users in sizes:
    with tempfile.TemporaryDirectory(prefix="akr-bench-test-") as tmp:
        path = os.path.join(tmp, "b4.json")
        d = compare.generate(path, accounts, users, due, inactive)
    share = 100.0 * d["due_share"]
    check(1.5 <= share <= 2.5,
          f"B4 {accounts}x{users}: {compare.fmt_due(d)} (wanted 2 % +- 0.5)")
    check(d["rotate"] > 0 and d["delete"] > 0,
          "B4 has both rotations and deletions due")

for name in ("B1", "B2", "B3"):
    check(compare.SCENARIOS[name][5] == 0.08,
          f"{name} keeps the generator's default inactive fraction (0.08)")

# The option's default changes nothing: the same file for the same seed.
gen = os.path.join(HERE, "..", "fakeaws", "gen_scenario.py")
base = ["--accounts", "7", "--users", "60", "--seed", "3", "--due-fraction", "0.2"]
plain = subprocess.run([sys.executable, gen] + base, check=True, capture_output=True).stdout
explicit = subprocess.run([sys.executable, gen] + base + ["--inactive-fraction", "0.08"],
                          check=True, capture_output=True).stdout
check(plain == explicit, "--inactive-fraction 0.08 (the default) gives the same file")

# --inactive-fraction is what it says: none at 0, and the same users otherwise.
none = gen_scenario.generate(7, 60, 3, 0.2, inactive_fraction=0.0)
inactive_keys = sum(k["status"] == "Inactive" for a in none["accounts"] for u in a["users"]
                    for k in u["keys"])
check(inactive_keys == 0, f"--inactive-fraction 0: {inactive_keys} inactive keys")
some = gen_scenario.generate(7, 60, 3, 0.2)
check([u["name"] for a in none["accounts"] for u in a["users"]]
      == [u["name"] for a in some["accounts"] for u in a["users"]], "the same users")

sys.exit(1 if failures else 0)
