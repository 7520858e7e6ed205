"""The AWS environment the daemon runs in (issue 12 items 4-6): partitions,
credential sources and proxies, against the fake AWS endpoint."""
import unittest

from harness import RotatorTestCase, account, key, scenario, user

SCEN = scenario([account("222222222222", [user("alice", [key(85)])])])


class Partitions(RotatorTestCase):
    def setUp(self):
        self.setup_fake(SCEN)

    def test_role_arn_of_another_partition_is_refused(self):
        # Found: AWS_REGION=cn-north-1 with an arn:aws: role went on to the
        # commercial endpoints. Now the mismatch is named before any call.
        res = self.rot.run("--dry-run", env={"AWS_REGION": "cn-north-1"})
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("organization.management_role_arn", res.stderr)
        self.assertIn("partition 'aws'", res.stderr)
        self.assertIn("region 'cn-north-1' is in partition 'aws-cn'", res.stderr)
        self.assertEqual(self.fake.requests(), [])

    def test_topic_arn_of_another_partition_is_refused(self):
        self.rot.write_config({"alerts": {
            "sns_topic_arn": '"arn:aws-us-gov:sns:us-gov-west-1:111111111111:t"'}})
        res = self.rot.run("--dry-run")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("alerts.sns_topic_arn", res.stderr)
        self.assertIn("partition 'aws-us-gov'", res.stderr)

    def test_email_region_of_another_partition_is_refused(self):
        self.rot.write_config({"email": {"region": '"cn-northwest-1"'}})
        res = self.rot.run("--dry-run")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("email.region 'cn-northwest-1' is in partition 'aws-cn'", res.stderr)

    def test_bad_fips_setting_is_refused(self):
        res = self.rot.run("--dry-run", env={"AWS_USE_FIPS_ENDPOINT": "yes"})
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("$AWS_USE_FIPS_ENDPOINT: 'yes' is not true or false", res.stderr)

    def test_matching_partition_runs(self):
        res = self.rot.run("--dry-run", env={"AWS_USE_FIPS_ENDPOINT": "true"})
        self.assertEqual(res.returncode, 0, res.stderr)


if __name__ == "__main__":
    unittest.main()
