"""Messages that say what failed (issue 12 item 9): the failing call and its
target in every error, and the kind of each mail in its log line."""
import re
import unittest

from harness import RotatorTestCase, account, key, scenario, user


class FailingCalls(RotatorTestCase):
    def test_member_assume_role_names_the_role_and_account(self):
        # Found: logged as "ListUsers: AccessDenied ... sts:AssumeRole".
        self.setup_fake(scenario([
            account("222222222222", [user("alice", [key(85)])], roles=())]))
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        line = next(l for l in res.stderr.splitlines() if "Account 222222222222" in l)
        self.assertIn("AssumeRole into arn:aws:iam::222222222222:role/provisioning-admin "
                      "of account 222222222222: AccessDenied", line)
        self.assertNotIn("ListUsers", line)

    def test_failed_key_action_names_the_call_and_account(self):
        self.setup_fake(scenario([account("222222222222", [
            user("bob", [key(95, last_used_days=1), key(20)])])]))
        self.fake.faults({"action": "UpdateAccessKey", "account": "222222222222",
                          "kind": "error", "status": 403, "code": "AccessDenied",
                          "message": "not authorized to perform: iam:UpdateAccessKey"})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertRegex(res.stderr, r"of user 'bob' in account 222222222222: failed: "
                                     r"UpdateAccessKey in account 222222222222: AccessDenied")

    def test_wrong_base_secret_names_the_management_assume_role(self):
        # Found: "Cannot list the accounts...: SignatureDoesNotMatch".
        self.setup_fake(scenario([account("222222222222", [user("alice", [key(85)])])]))
        res = self.rot.run("--once", env={"AWS_SECRET_ACCESS_KEY": "x" * 40})
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertRegex(
            res.stderr,
            r"AssumeRole into arn:aws:iam::111111111111:role/provisioning-admin of account "
            r"111111111111 \(the management role\): SignatureDoesNotMatch.*the base "
            r"credentials \(from environment\) were refused: check the access key id and "
            r"the secret access key")

    def test_list_accounts_names_the_call(self):
        self.setup_fake(scenario([account("222222222222", [user("alice", [key(85)])])]))
        self.fake.faults({"action": "ListAccounts", "kind": "error", "status": 400,
                          "code": "AccessDeniedException", "message": "no"})
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("Cannot list the accounts of the organization: ListAccounts in account "
                      "111111111111: AccessDeniedException", res.stderr)


class MailKinds(RotatorTestCase):
    def test_every_mail_line_names_its_kind(self):
        # Found: "Mail to user 'alice' ... accepted" twice, not saying which.
        self.setup_fake(scenario([account("222222222222", [
            user("alice", [key(85)]),
            user("bob", [key(95, last_used_days=1), key(20)]),
        ])]))
        res = self.rot.run("--once")
        self.assertEqual(res.returncode, 0, res.stderr)
        kinds = re.findall(r"Mail \(([a-z ]+)\) to user '(\w+)'", res.stderr)
        self.assertIn(("key", "alice"), kinds)
        self.assertIn(("password", "alice"), kinds)
        self.assertIn(("deactivation notice", "bob"), kinds)
        self.assertEqual(len(re.findall(r"Mail .*accepted by SES", res.stderr)), len(kinds))


if __name__ == "__main__":
    unittest.main()
