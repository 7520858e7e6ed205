"""The address takeover defence (issue 10, item 1), the real binary against
the fake: a key goes only to an allowed domain, and when someone rewrites a
user's email tag (iam:TagUser, through boto3 against the fake, as an attacker
with that permission would), the previous address is told, the SNS topic
gets a copy, and no key goes to the new address until the hold is over."""
import os
import stat
import unittest

import boto3  # a missing boto3 is a failure, not a skip

from harness import (EXAMPLE_KEY, EXAMPLE_SECRET, RotatorTestCase, account, key, scenario,
                     user, user_keys)
from mails import mails_to, parse, text_of

DEV = "222222222222"
ALICE = "alice@example.com"
MALLORY = "mallory@example.com"
CONFIG = {"users": {"email_tag": '"email"', "exempt_tag": '"Exempt"',
                    "allowed_email_domains": '[ "example.com" ]'}}


def retag(fake, user_name, address):
    """TagUser in DEV with a role assumed there: anyone with iam:TagUser."""
    kw = dict(region_name="us-east-1", endpoint_url=fake.url,
              aws_access_key_id=EXAMPLE_KEY, aws_secret_access_key=EXAMPLE_SECRET)
    creds = boto3.client("sts", **kw).assume_role(
        RoleArn=f"arn:aws:iam::{DEV}:role/provisioning-admin",
        RoleSessionName="someone")["Credentials"]
    kw.update(aws_access_key_id=creds["AccessKeyId"],
              aws_secret_access_key=creds["SecretAccessKey"],
              aws_session_token=creds["SessionToken"])
    boto3.client("iam", **kw).tag_user(UserName=user_name,
                                       Tags=[{"Key": "email", "Value": address}])


def subjects(mails, address):
    return [str(parse(m["raw"])["Subject"]) for m in mails_to(mails, address)]


def key_mails(mails, address):
    return [s for s in subjects(mails, address) if s.startswith("Your new AWS access key")]


def notices(mails, address):
    return [m for m in mails_to(mails, address)
            if str(parse(m["raw"])["Subject"]).startswith("Security notice")]


class AddressTakeover(RotatorTestCase):
    def sweep(self, days=0):
        if days:
            self.fake.clock(advance_days=days)
        res = self.rot.run("--once")
        self.assertIn(res.returncode, (0, 1), res.stdout + res.stderr)
        return res

    def rows(self, name, action=None):
        return [a for a in self.rot.last_report()["actions"]
                if a["user"] == name and (action is None or a["action"] == action)]

    def test_tag_rewrite_is_told_and_held(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])], name="dev")]),
                        config=CONFIG)
        # Day 0: the first key goes to the tag's address, which is remembered.
        self.sweep()
        self.assertEqual(len(key_mails(self.fake.emails(), ALICE)), 1)
        book = os.path.join(self.rot.state_dir, "addresses")
        self.assertEqual(stat.S_IMODE(os.stat(book).st_mode), 0o600)
        with open(book) as f:
            self.assertIn(f"\t{DEV}\talice\t{ALICE}\n", f.read())
        # The old key is deactivated (day 10) and deleted (day 20) as usual.
        self.sweep(10)
        self.sweep(10)
        keys = user_keys(self.fake.state(), DEV, "alice")
        self.assertEqual([k["status"] for k in keys], ["Active"])
        current = keys[0]["id"]

        # Someone with iam:TagUser points the tag at their own mailbox.
        retag(self.fake, "alice", MALLORY)
        n_sns = len(self.fake.sns())

        # Day 80: the rotation is due. The owner is told, the key waits.
        self.sweep(60)
        mails = self.fake.emails()
        self.assertEqual(mails_to(mails, MALLORY), [], "a mail went to the new address")
        self.assertEqual([k["id"] for k in user_keys(self.fake.state(), DEV, "alice")], [current])
        told = notices(mails, ALICE)
        self.assertEqual(len(told), 1)
        body = text_of(parse(told[0]["raw"]))
        self.assertIn(MALLORY, body)
        self.assertIn(current, body)
        today = self.fake.now()[:10]
        self.assertIn(f"on {today} we found", body)
        self.assertIn("on or after", body)
        alerts = self.fake.sns()[n_sns:]
        self.assertEqual(len(alerts), 1, alerts)
        self.assertIn(MALLORY, alerts[0]["message"])
        self.assertIn(ALICE, alerts[0]["message"])
        held = self.rows("alice", "hold")
        self.assertEqual(len(held), 1, self.rot.last_report()["actions"])
        self.assertEqual(held[0]["outcome"], "skipped")
        self.assertIn(MALLORY, held[0]["detail"])
        self.assertEqual(self.rows("alice", "create"), [])

        # Days 81 and 82: still held, and the owner is not told again.
        for _ in range(2):
            self.sweep(1)
            mails = self.fake.emails()
            self.assertEqual(mails_to(mails, MALLORY), [])
            self.assertEqual(len(notices(mails, ALICE)), 1)
            self.assertEqual(len(self.rows("alice", "hold")), 1)
            self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 1)
        self.assertEqual(len(self.fake.sns()), n_sns + 1)

        # Day 83: the hold is over; the key goes to the new address.
        self.sweep(1)
        mails = self.fake.emails()
        self.assertEqual(len(key_mails(mails, MALLORY)), 1)
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 2)
        self.assertEqual(self.rows("alice", "hold"), [])
        self.assertEqual([r["outcome"] for r in self.rows("alice", "create")], ["done"])
        self.assertEqual(len(notices(mails, ALICE)), 1)

    def test_tag_set_back_during_the_hold(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])], name="dev")]),
                        config=CONFIG)
        self.sweep()
        self.sweep(10)
        self.sweep(10)
        retag(self.fake, "alice", MALLORY)
        self.sweep(60)
        self.assertEqual(len(notices(self.fake.emails(), ALICE)), 1)
        # The owner reads the notice and sets the tag back: the key is hers.
        retag(self.fake, "alice", ALICE)
        self.sweep(1)
        mails = self.fake.emails()
        self.assertEqual(mails_to(mails, MALLORY), [])
        self.assertEqual(len(key_mails(mails, ALICE)), 2)
        # A later switch to the same address is a new change: told again.
        self.sweep(10)
        self.sweep(10)
        retag(self.fake, "alice", MALLORY)
        self.sweep(60)
        mails = self.fake.emails()
        self.assertEqual(mails_to(mails, MALLORY), [])
        self.assertEqual(len(notices(mails, ALICE)), 2)

    def test_no_hold_delivers_after_the_notice(self):
        cfg = {"users": dict(CONFIG["users"], address_change_hold_days=0)}
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])], name="dev")]),
                        config=cfg)
        self.sweep()
        self.sweep(10)
        self.sweep(10)
        retag(self.fake, "alice", MALLORY)
        self.sweep(60)
        mails = self.fake.emails()
        self.assertEqual(len(notices(mails, ALICE)), 1)
        self.assertEqual(len(key_mails(mails, MALLORY)), 1)
        # The notice went out before the key.
        notice_at = mails.index(notices(mails, ALICE)[0])
        key_at = min(i for i, m in enumerate(mails) if MALLORY in m["destinations"])
        self.assertLess(notice_at, key_at)

    def test_dry_run_shows_the_hold(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])], name="dev")]),
                        config=CONFIG)
        self.sweep()
        self.sweep(10)
        self.sweep(10)
        retag(self.fake, "alice", MALLORY)
        self.fake.clock(advance_days=60)
        n = len(self.fake.emails())
        res = self.rot.run("--dry-run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("hold", res.stdout)
        self.assertEqual(len(self.fake.emails()), n)

    def test_address_outside_the_allowed_domains_is_refused(self):
        self.setup_fake(scenario([account(DEV, [
            user("alice", [key(85)]),
            user("bob", [key(85)], email="bob@evil.example"),
            user("carol", [key(85)], email="carol@sub.example.com"),
        ], name="dev")]), config=CONFIG)
        before = self.fake.state()
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        after = self.fake.state()
        mails = self.fake.emails()
        for who in ("bob", "carol"):
            with self.subTest(user=who):
                self.assertEqual(user_keys(after, DEV, who), user_keys(before, DEV, who))
                rows = self.rows(who)
                self.assertEqual([(r["action"], r["outcome"]) for r in rows],
                                 [("report", "skipped")])
                self.assertIn("allowed_email_domains", rows[0]["reason"])
        for m in mails:
            for d in m["destinations"]:
                self.assertTrue(d.endswith("@example.com"), d)
        self.assertEqual(len(key_mails(mails, ALICE)), 1)
        self.assertIn("allowed_email_domains", res.stderr)

    def test_empty_domain_list_warns(self):
        self.setup_fake(scenario([account(DEV, [])]))
        res = self.rot.run("--check-config", now=False)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("users.allowed_email_domains is not set", res.stderr)
        self.rot.write_config(CONFIG)
        res = self.rot.run("--check-config", now=False)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertNotIn("allowed_email_domains is not set", res.stderr)
        self.assertIn('allowed_email_domains = [ "example.com" ];', res.stdout)
        # The daemon's start-up says so too.
        self.rot.write_config()
        res = self.rot.run("--once")
        self.assertIn("users.allowed_email_domains is not set", res.stderr)

    def test_damaged_address_book_fails_closed(self):
        self.setup_fake(scenario([account(DEV, [user("alice", [key(85)])], name="dev")]),
                        config=CONFIG)
        with open(os.path.join(self.rot.state_dir, "addresses"), "w") as f:
            f.write("ADDRESSBOOK\t1\nDELIVERED\tbroken\n")
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("addresses:2:", res.stderr)
        self.assertEqual(self.fake.emails(), [])
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 1)


if __name__ == "__main__":
    unittest.main()
