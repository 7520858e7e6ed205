"""The management account's own users: when the member role to assume in it
is the management role the daemon already holds, that session is used
instead of assuming the role into itself again (one AssumeRole less per
sweep, counted in the fake's GET /_fake/stats and /_fake/requests)."""
import unittest

from harness import RotatorTestCase, account, key, scenario, user, user_keys

MGMT = "111111111111"
DEV = "222222222222"


def orgs(mgmt_roles):
    s = scenario([account(DEV, [user("alice", [key(85, last_used_days=1)])])])
    s["accounts"][0] = account(MGMT, [user("root-ops", [key(85, last_used_days=1)])],
                               name="management", roles=mgmt_roles)
    return s


def assume_role_targets(fake):
    return sorted(r.get("account") for r in fake.requests() if r["action"] == "AssumeRole")


class ManagementAccount(RotatorTestCase):
    def test_the_management_session_serves_the_management_account(self):
        self.setup_fake(orgs(["provisioning-admin"]))
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        # One AssumeRole into the management role, one into the member
        # account; none into the management role again.
        self.assertEqual(self.fake.stats()["by_action"].get("AssumeRole"), 2)
        self.assertEqual(assume_role_targets(self.fake), [MGMT, DEV])
        # The management account's user was rotated all the same.
        self.assertEqual(len(user_keys(self.fake.state(), MGMT, "root-ops")), 2)
        self.assertEqual(len(user_keys(self.fake.state(), DEV, "alice")), 2)
        rep = self.rot.last_report()
        self.assertEqual({a["id"]: a["state"] for a in rep["accounts"]},
                         {MGMT: "ok", DEV: "ok"})

    def test_a_different_member_role_is_still_assumed(self):
        # The daemon holds org-reader in the management account; the member
        # role there is another role, which it must assume.
        self.setup_fake(orgs(["org-reader", "provisioning-admin"]), config={
            "organization": {"management_role_arn": '"arn:aws:iam::111111111111:role/org-reader"'}})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.fake.stats()["by_action"].get("AssumeRole"), 3)
        self.assertEqual(assume_role_targets(self.fake), [MGMT, MGMT, DEV])
        self.assertEqual(len(user_keys(self.fake.state(), MGMT, "root-ops")), 2)

    def test_a_role_path_and_case_are_the_same_role(self):
        # The role the daemon holds, arn:...:role/ops/Provisioning-Admin, is
        # the member role "provisioning-admin": IAM role names are unique
        # case-insensitively and the path is not part of the name. (The fake
        # knows the role only by its own spelling, so assuming
        # "provisioning-admin" in the management account would be refused.)
        self.setup_fake(orgs(["Provisioning-Admin"]), config={
            "organization": {"management_role_arn":
                             '"arn:aws:iam::111111111111:role/ops/Provisioning-Admin"'}})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(assume_role_targets(self.fake), [MGMT, DEV])
        self.assertEqual(len(user_keys(self.fake.state(), MGMT, "root-ops")), 2)


if __name__ == "__main__":
    unittest.main()
