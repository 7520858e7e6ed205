"""A simulated year: the daemon runs `--once` every day for 400 days (the
fake's clock advances one day, the daemon gets the fake's time with --now)
over 20 accounts x 20 users, with users who never use their key, exempt
users, users without an address, users whose address changes, users deleted
and created during the year, and a random fault rate (faults that do not
take effect: throttling, 500, 503, reset, malformed answers).

Checked every day, after the sweep (defaults R 80, D 90, X 100, reminder 3;
docs/policy.md):
- no user holds more than two keys; every key the daemon created that day was
  delivered (zip opened with the password mail's password, real secret) to
  the owner's address of that day, exactly once (one zip, one password mail;
  re-checked at the end);
- no active key of a rotatable user (address, not exempt) is older than D,
  except the older key while its replacement's notice period (D - R days)
  runs, or when that user's sweep failed that day (a fault; reported);
- a reminder came exactly on the day the policy asks for one (older key
  87 or more days old, newer key 7 or more days old, before the deactivation
  day), once per key; a deactivation notice on the day a key went inactive,
  a deletion notice on the day a key disappeared; none for users without an
  address; exempt users and users without an address keep their keys
  untouched and get no mail. A day whose sweep failed for the user excuses a
  missing mail (the failure is in that day's report), never an extra one,
  but for a reminder the report showed failed: its answer may have been
  lost after SES took it (a timeout on a loaded machine), so the daemon
  sends it again the next day (LostReminderAnswer below).

    AKR_DAYS=N    days to simulate (default 75, 30 under the sanitizers;
                  AKR_LONG=1 or =year: 400)
    AKR_USERS=N   users per account (default 5; long mode 20)
    AKR_FAULT_RATE=P  share of AWS calls that fail (default 0.01)
    AKR_SEED=N    replay a seed (printed)
"""
import collections
import os
import random
import time
import unittest
from datetime import datetime, timezone

from harness import RotatorTestCase, account, key, scenario, user, user_keys
from proofkit import (ADDRESS, Mail, DEACTIVATED, DELETED, PASSWORD, REMINDER, ROTATION, Ledger,
                      asan_mode, check_keys, email_of, long_mode, reconcile_failed_users,
                      require_7zz, rollback_failed_users,
                      scan_for_secrets, seed_from_env, users_of)

R, D, X, REMIND = 80, 90, 100, 3
CONFIG = {
    "email": {"max_send_rate": 1000},
    "limits": {"request_timeout_sec": 3 if not asan_mode() else 6, "max_attempts": 2},
}
FAULT_KINDS = [{"kind": "throttle"}, {"kind": "error", "status": 500, "code": "InternalFailure"},
               {"kind": "error", "status": 503, "code": "ServiceUnavailable"},
               {"kind": "reset"}, {"kind": "malformed"}]


def parse_iso(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def age_days(key, now):
    return int((now - parse_iso(key["create_date"])).total_seconds() // 86400)


class Year(RotatorTestCase):
    def setUp(self):
        require_7zz(self)
        self.seed = seed_from_env()
        self.rng = random.Random(self.seed)
        default = 400 if long_mode("year") else (30 if asan_mode() else 75)
        self.days = int(os.environ.get("AKR_DAYS", default))
        users = 20 if long_mode("year") else 5
        self.n_accounts, self.n_users = 20, int(os.environ.get("AKR_USERS", users))
        self.fault_p = float(os.environ.get("AKR_FAULT_RATE", "0.01"))
        self.kind = {}          # (acct, name) -> category
        self.setup_fake(self.world(), config=CONFIG)
        self.ledger = Ledger()
        state = self.fake.state()
        self.foreign = {k["id"] for _, u in users_of(state) for k in u["keys"]}
        self.counter = 0
        self.prev_addr = {}     # an address a user had before the change -> (acct, name)
        self.must_tell = set()  # those of them a key had gone to

    # -- the organization ---------------------------------------------------

    def new_user(self, acct, name, category=None, age=None):
        rng = self.rng
        if category is None:
            roll = rng.random()
            category = ("exempt" if roll < 0.05 else "no-email" if roll < 0.10 else
                        "changes-address" if roll < 0.15 else "never-uses" if roll < 0.45
                        else "uses")
        tags = {}
        if category != "no-email":
            tags["email"] = f"{name}@example.com"
        if category == "exempt":
            tags["Exempt"] = "yes"
        age = rng.randint(0, 120) if age is None else age
        keys = [{"status": "Active", "age_days": age}]
        if category != "never-uses":
            keys[0]["last_used_days"] = min(age, rng.randint(0, 5))
        if rng.random() < 0.1 and age < 70:
            keys.append({"status": "Inactive", "age_days": rng.randint(age + 1, 200)})
        self.kind[(acct, name)] = category
        if category == "changes-address":
            self.kind[(acct, name, "day")] = rng.randint(1, max(2, self.days - 1))
        return {"name": name, "tags": tags, "keys": keys}

    def world(self):
        accts = [{"id": "111111111111", "name": "management", "users": []}]
        for a in range(self.n_accounts):
            acct = f"3{a:011d}"
            accts.append({"id": acct, "name": f"team-{a}", "users": [
                self.new_user(acct, f"u{a}-{u}") for u in range(self.n_users)]})
        return {"seed": self.seed % 1000000, "accounts": accts}

    def mutate(self, day):
        """Deletions, creations and address changes of the day, by reloading
        the fake with its own dump edited (a control call)."""
        state = self.fake.state()
        changed = False
        for a in state["accounts"][1:]:
            for u in list(a["users"]):
                if self.kind.get((a["id"], u["name"], "day")) == day:
                    old_addr = u["tags"]["email"]
                    # Told only when a key went to the old address (the address
                    # book compares with the address the last key went to).
                    if any(old_addr in d for d in self.ledger.delivered.values()):
                        self.must_tell.add(old_addr)
                    self.prev_addr[old_addr] = (a["id"], u["name"])
                    u["tags"]["email"] = f"{u['name']}-new@example.com"
                    self.events.append((day, a["id"], u["name"], "address changed"))
                    changed = True
        if self.rng.random() < 0.15:
            a = self.rng.choice(state["accounts"][1:])
            live = [u for u in a["users"] if self.kind.get((a["id"], u["name"])) != "deleted"]
            if live:
                u = self.rng.choice(live)
                a["users"].remove(u)
                self.kind[(a["id"], u["name"])] = "deleted"
                self.events.append((day, a["id"], u["name"], "deleted"))
                changed = True
        if self.rng.random() < 0.15:
            a = self.rng.choice(state["accounts"][1:])
            self.counter += 1
            name = f"new{self.counter}-{a['id'][-2:]}"
            nu = self.new_user(a["id"], name, category="uses", age=0)
            nu["keys"] = nu["keys"][:1]
            self.kind[(a["id"], name)] = "created"
            a["users"].append(nu)
            self.events.append((day, a["id"], name, "created"))
            changed = True
        if not changed:
            return
        # A new id seed: the fake draws key ids from it, and after a load it
        # must not hand out the ids (and secrets) of keys it made before.
        state["seed"] = self.rng.randrange(1 << 30)
        self.fake.call("POST", "load", state)
        self.ledger.new_load()
        after = self.fake.state()
        self.foreign |= {k["id"] for _, u in users_of(after) for k in u["keys"]
                         if k["id"] not in self.known_ids}

    def use_key(self, key_id, secret, acct):
        """The owner switches to the new key: a signed call with it."""
        import boto3
        from botocore.config import Config
        sts = boto3.client("sts", endpoint_url=self.fake.url, region_name="us-east-1",
                           aws_access_key_id=key_id, aws_secret_access_key=secret,
                           config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        return sts.get_caller_identity()["Account"] == acct

    def statelog_lines(self, key_id):
        """The state log's records about @key_id (for a failure's message)."""
        try:
            with open(os.path.join(self.rot.state_dir, "statelog")) as f:
                return [l.rstrip("\n") for l in f if key_id in l]
        except OSError as e:
            return [str(e)]

    def faults_on(self):
        if self.fault_p <= 0:
            return
        rules = [dict(k, probability=self.fault_p / len(FAULT_KINDS)) for k in FAULT_KINDS]
        self.fake.faults(rules)

    # -- the test -------------------------------------------------------------

    def test_year(self):
        t0 = time.monotonic()
        self.events = []
        failures = 0
        mails_per_user = collections.Counter()
        kinds_per_user = collections.defaultdict(collections.Counter)
        reminded = set()
        reminder_days = collections.defaultdict(list)   # key id -> days
        remind_failed = set()   # keys whose reminder a report showed failed
        history = collections.defaultdict(list)     # who -> report rows, for failures
        told = set()
        logs = []
        prev = self.fake.state()
        self.known_ids = {k["id"] for _, u in users_of(prev) for k in u["keys"]}
        daemon_keys = set()
        late = 0
        leftover = set()
        for day in range(1, self.days + 1):
            self.fake.clock(advance_days=1)
            self.mutate(day)
            prev = self.fake.state()          # after today's mutations, before the sweep
            self.known_ids |= {k["id"] for _, u in users_of(prev) for k in u["keys"]}
            self.fake.call("DELETE", "faults")
            self.faults_on()
            res = self.rot.run("--once")
            self.fake.call("DELETE", "faults")
            logs.append(res.stdout + res.stderr)
            self.assertNotIn("Sanitizer", res.stderr, res.stderr[-3000:])
            self.assertIn(res.returncode, (0, 1), f"day {day}: {res.stderr[-3000:]}")
            report = self.rot.last_report()
            failed_users = {(x["account_id"], x["user"]) for x in report["actions"]
                            if x["outcome"] in ("failed", "rolled-back")}
            failed_accounts = {x["id"] for x in report["accounts"] if x["state"] == "failed"}
            # A key held by the address takeover defence comes a few days later.
            held = {(x["account_id"], x["user"]) for x in report["actions"]
                    if x["action"] == "hold"}
            incomplete = not report["complete"]
            if res.returncode:
                failures += 1
            state = self.fake.state()
            now = parse_iso(state["now"])
            n_before = len(self.ledger.mails)
            self.ledger.update(state, self.fake.emails())
            today = self.ledger.mails[n_before:]

            def excused(acct, name):
                return (incomplete or acct in failed_accounts or (acct, name) in failed_users
                        or (acct, name) in held)

            problems = []
            prev_users = {(a, u["name"]): u for a, u in users_of(prev)}
            cur_users = {(a, u["name"]): u for a, u in users_of(state)}
            # New keys of the day: delivered, exactly once, to today's address.
            new_ids = set()
            for who, u in cur_users.items():
                for k in u["keys"]:
                    if k["id"] not in self.known_ids:
                        new_ids.add(k["id"])
                        daemon_keys.add(k["id"])
                        mails_zip = self.ledger.zips.get(k["id"], [])
                        mails_pw = self.ledger.passwords.get(k["id"], [])
                        if (len(mails_zip) != 1 or len(mails_pw) != 1) and \
                                who not in rollback_failed_users(report):
                            problems.append(f"{who}: key {k['id']} sent {len(mails_zip)} zips, "
                                            f"{len(mails_pw)} passwords")
            # A key whose rollback failed today is deleted by tomorrow's
            # reconciliation (no notice for it); nothing else may be undelivered.
            cur_ids = {k["id"] for u in cur_users.values() for k in u["keys"]}
            again = reconcile_failed_users(report)      # the reconciliation failed too
            owner = {k["id"]: w for w, u in cur_users.items() for k in u["keys"]}
            problems += [f"key {k} of a failed rollback survived the next sweep"
                         for k in sorted(leftover & cur_ids) if owner[k] not in again]
            reconciled = leftover
            pending = {w: set() for w in rollback_failed_users(report) | again}
            problems += check_keys(state, self.ledger, self.foreign, only=new_ids,
                                   pending=pending)
            leftover = set().union(*pending.values()) if pending else set()
            new_ids -= leftover
            for kid in leftover:
                self.assertEqual(len(self.ledger.passwords.get(kid, [])), 0, kid)
            for kid in sorted(new_ids):
                who = next(w for w, u in cur_users.items() if any(k["id"] == kid for k in u["keys"]))
                if self.kind.get(who) in ("uses", "created", "changes-address"):
                    secret = next(iter(self.ledger.delivered.get(kid, {}).values()), None)
                    if secret and not self.use_key(kid, secret, who[0]):
                        problems.append(f"{who}: the delivered key {kid} does not work")
            self.known_ids |= new_ids
            by_user_today = collections.defaultdict(list)
            addr_owner = {}
            for who, u in cur_users.items():
                if email_of(u):
                    addr_owner[email_of(u)] = who
            for m in today:
                for dest in m.dest:
                    who = addr_owner.get(dest)
                    if m.kind == ADDRESS:
                        # The address-change notice goes to the previous address only.
                        who = self.prev_addr.get(dest)
                        if who is None or (who, dest) in told:
                            problems.append(f"an address-change notice to {dest}")
                            continue
                        told.add((who, dest))
                    if who is None:
                        problems.append(f"a {m.kind} mail to {dest}, who is no current user")
                        continue
                    by_user_today[who].append(m)
                    mails_per_user[who] += 1
                    kinds_per_user[who][m.kind] += 1
            for who, u in cur_users.items():
                cat = self.kind.get(who, "uses")
                addr = email_of(u)
                keys = u["keys"]
                old = prev_users.get(who, {"keys": []})["keys"]
                got = by_user_today.get(who, [])
                kinds = collections.Counter(m.kind for m in got)
                if cat in ("exempt", "no-email"):
                    # Exempt: never touched. No address: never rotated (rule X and
                    # the deactivation of the older of two active keys still apply).
                    if cat == "exempt" and [(k["id"], k["status"]) for k in keys] != [
                            (k["id"], k["status"]) for k in old]:
                        problems.append(f"{who} (exempt): keys touched")
                    if any(k["id"] in new_ids for k in keys):
                        problems.append(f"{who} ({cat}): got a new key")
                    if got:
                        problems.append(f"{who} ({cat}): got mail")
                    if cat == "exempt":
                        continue
                act = sorted((k for k in keys if k["status"] == "Active"),
                             key=lambda k: k["create_date"])
                # The age bound.
                if addr and cat != "no-email":
                    for k in act:
                        a = age_days(k, now)
                        if a <= D:
                            continue
                        newer = [n for n in act if n["create_date"] > k["create_date"]]
                        if newer and age_days(newer[-1], now) < D - R:
                            late += 1
                            continue
                        if not excused(*who):
                            problems.append(f"{who}: active key {k['id']} is {a} days old")
                # Deactivation and deletion notices.
                old_status = {k["id"]: k["status"] for k in old}
                went_inactive = {k["id"] for k in keys if k["status"] != "Active"
                                 and old_status.get(k["id"]) == "Active"}
                gone = set(old_status) - {k["id"] for k in keys} - reconciled
                said_deact = {m.key_id for m in got if m.kind == DEACTIVATED}
                said_del = {m.key_id for m in got if m.kind == DELETED}
                if said_deact - went_inactive:
                    problems.append(f"{who}: deactivation notice for {said_deact - went_inactive}"
                                    " that did not go inactive today")
                if said_del - gone:
                    problems.append(f"{who}: deletion notice for {said_del - gone}, not deleted")
                if addr and not excused(*who):
                    if went_inactive - said_deact:
                        problems.append(f"{who}: {went_inactive - said_deact} deactivated "
                                        "without a notice")
                    # Deleted keys that were active yesterday were never ours to
                    # announce as "deleted" only when inactive: every deletion is told.
                    if gone - said_del:
                        problems.append(f"{who}: {gone - said_del} deleted without a notice")
                # Reminders: exactly when the policy says, once per key.
                said_rem = [m.key_id for m in got if m.kind == REMINDER]
                for kid in said_rem:
                    # A reminder the daemon reported failed may still have gone
                    # out (its answer lost: a timeout on a loaded machine), so
                    # the next day's is not a second one it knew of.
                    if kid in reminded and kid not in remind_failed:
                        problems.append(f"{who}: second reminder for {kid} (reminders on days "
                                        f"{reminder_days[kid] + [day]}, "
                                        f"{self.statelog_lines(kid)})")
                    reminded.add(kid)
                    reminder_days[kid].append(day)
                old_act = sorted((k for k in old if k["status"] == "Active"),
                                 key=lambda k: k["create_date"])
                if addr and len(old_act) == 2:
                    older, newer = old_act
                    ao, an = age_days(older, now), age_days(newer, now)
                    due = (ao >= D - REMIND and an >= (D - R) - REMIND
                           and not (ao >= D and an >= D - R))
                    if due and older["id"] not in reminded and not excused(*who):
                        problems.append(f"{who}: no reminder for {older['id']} "
                                        f"(ages {ao}/{an})")
                    if said_rem and not due:
                        problems.append(f"{who}: reminder on the wrong day (ages {ao}/{an})")
                elif said_rem:
                    problems.append(f"{who}: reminder without two active keys")
                if kinds[ROTATION] != kinds[PASSWORD] and not excused(*who):
                    problems.append(f"{who}: {kinds[ROTATION]} key mails, "
                                    f"{kinds[PASSWORD]} password mails")
            problems += scan_for_secrets(self.ledger, self.rot.state_dir, logs[-1:])
            remind_failed |= {x["access_key_id"] for x in report["actions"]
                              if x["action"] == "remind" and x["outcome"] == "failed"}
            for x in report["actions"]:
                history[(x["account_id"], x["user"])].append(
                    (day, x["action"], x["outcome"], x["access_key_id"], x["error"]))
            if problems:
                detail = []
                for who in history:
                    if any(str(who) in p for p in problems):
                        detail += [f"{who} day {h[0]}: {h[1:]}" for h in history[who][-12:]]
                self.fail(f"seed {self.seed}, day {day} ({state['now']}):\n  "
                          + "\n  ".join(problems[:25] + detail[:40]))
            if day % 20 == 0:
                print(f"day {day}: {len(daemon_keys)} keys delivered, {len(self.ledger.mails)} "
                      f"mails, {failures} sweeps with failures, "
                      f"{time.monotonic() - t0:.0f} s", flush=True)

        # The previous address of a user whose new address got a key was told.
        for dest, who in self.prev_addr.items():
            new_addr = f"{who[1]}-new@example.com"
            if dest in self.must_tell and any(new_addr in d
                                              for d in self.ledger.delivered.values()):
                self.assertIn((who, dest), told, f"seed {self.seed}: {dest} never told")
        # Exactly once, at the end too.
        for kid in daemon_keys:
            self.assertLessEqual(len(self.ledger.zips.get(kid, [])), 1, kid)
        self.print_mails(mails_per_user, kinds_per_user)
        print(f"simulated days: {self.days}; keys delivered {len(daemon_keys)}; "
              f"mails {len(self.ledger.mails)}; sweeps with failures (faults) {failures}; "
              f"old keys kept past D during a late rotation's notice period: {late}; "
              f"events {len(self.events)}; {time.monotonic() - t0:.0f} s; nothing lost",
              flush=True)

    def print_mails(self, per_user, kinds):
        years = self.days / 365.0
        cats = collections.defaultdict(list)
        for key, cat in self.kind.items():
            if len(key) == 2:
                cats[cat].append(key)
        print(f"mails per user per year (over {self.days} days):", flush=True)
        print(f"  {'category':16} {'users':>5} {'min':>5} {'mean':>6} {'max':>5}   "
              f"{'key':>4} {'pw':>4} {'remind':>6} {'deact':>5} {'del':>4} {'addr':>4}  (mean per year)")
        for cat in sorted(cats):
            users = cats[cat]
            counts = [per_user.get(u, 0) / years for u in users]
            k = {kind: sum(kinds[u][kind] for u in users) / len(users) / years
                 for kind in (ROTATION, PASSWORD, REMINDER, DEACTIVATED, DELETED, ADDRESS)}
            print(f"  {cat:16} {len(users):5} {min(counts):5.1f} {sum(counts) / len(counts):6.1f} "
                  f"{max(counts):5.1f}   {k[ROTATION]:4.1f} {k[PASSWORD]:4.1f} "
                  f"{k[REMINDER]:6.1f} {k[DEACTIVATED]:5.1f} {k[DELETED]:4.1f} {k[ADDRESS]:4.1f}")
        sample = sorted(per_user)[:5]
        for who in sample:
            print(f"  {who[0]}/{who[1]}: {dict(kinds[who])}")



class LostReminderAnswer(RotatorTestCase):
    """Why the year excuses a second reminder after a failed one: SES took
    the reminder, its answer was lost (a hang past the request timeout: what
    a loaded machine does to the fake now and then, and what the year test
    once saw as "second reminder" on day 162 of seed 1391453450). The daemon
    cannot know the mail went out: it reports the reminder failed, records
    nothing, and reminds again the next day; after a reminder it knows of,
    none more."""

    def test_reminder_whose_answer_was_lost_is_sent_again(self):
        acct = "300000000001"
        self.setup_fake(scenario([account(acct, [user("ann", [key(87), key(10)])])]),
                        config={"limits": {"request_timeout_sec": 2, "max_attempts": 2}})
        older = min(user_keys(self.fake.state(), acct, "ann"),
                    key=lambda k: k["create_date"])["id"]
        self.fake.faults([{"action": "SendRawEmail", "kind": "hang", "when": "after",
                           "count": 1}])
        rows, reminders = [], []
        for day in range(3):
            res = self.rot.run("--once")
            self.fake.call("DELETE", "faults")
            rows.append([(x["action"], x["outcome"]) for x in self.rot.last_report()["actions"]
                         if x["access_key_id"] == older])
            reminders.append(sum(1 for m in self.fake.emails()
                                 if Mail(0, m).kind == REMINDER and Mail(0, m).key_id == older))
            self.fake.clock(advance_days=1)
            self.assertIn(res.returncode, (0, 1), res.stderr[-2000:])
        # Day 1: the reminder went out, the daemon saw a timeout and said so.
        self.assertEqual(rows[0], [("remind", "failed")], rows)
        self.assertEqual(reminders[0], 1)
        # Day 2: sent again (a second mail for the same key), recorded.
        self.assertEqual(rows[1], [("remind", "done")], rows)
        self.assertEqual(reminders[1], 2)
        # Day 3: no third one.
        self.assertEqual(rows[2], [], rows)
        self.assertEqual(reminders[2], 2)


if __name__ == "__main__":
    unittest.main()
