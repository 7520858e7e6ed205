#!/usr/bin/env python3
"""Conformance: drive the fake and moto_server (moto 5.2) with boto3, step by step,
and compare successes, result fields present, error codes and pagination.

Where moto differs from real AWS, the AWS documentation wins: such steps say
so in a comment ("moto:") and check the fake against the documented behaviour.
Fails when boto3 or moto_server is not installed (a missing prerequisite is never a skip).
"""
import datetime
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from testutil import FakeProcess, client, control, session_client  # noqa: E402

try:
    from botocore.exceptions import ClientError
except ImportError:             # pragma: no cover
    ClientError = None

MOTO = shutil.which('moto_server')
DEFAULT_WEB_IDENTITY_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.fake-oidc-token.signature'
ROLE = 'provisioning-admin'
SENDER = 'rotator@example.com'
RAW = (b'From: Rotator <rotator@example.com>\r\nTo: alice@example.com\r\n'
       b'Subject: Your new access key\r\nMIME-Version: 1.0\r\n'
       b'Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n')
FAKE_SCENARIO = {
    'management_account': '111111111111',
    'accounts': [{'id': '111111111111', 'name': 'management'},
                 {'id': '222222222222', 'name': 'dev', 'email': 'dev@example.com'}]}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def shape(value):
    """The structure of a boto3 answer: dict keys, list element shapes, scalar kinds."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k != 'ResponseMetadata'}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, datetime.datetime):
        return 'timestamp'
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, (int, float)):
        return 'number'
    return type(value).__name__


def shape_diff(a, b, path=''):
    """Human-readable differences between two shapes ([] when they match)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = ['%s.%s only in fake' % (path, k) for k in sorted(set(a) - set(b))]
        out += ['%s.%s only in moto' % (path, k) for k in sorted(set(b) - set(a))]
        for k in sorted(set(a) & set(b)):
            out += shape_diff(a[k], b[k], '%s.%s' % (path, k))
        return out
    if isinstance(a, list) and isinstance(b, list):
        return shape_diff(a[0], b[0], path + '[]') if a and b else []
    return [] if a == b else ['%s: %r != %r' % (path, a, b)]


def outcome(fn):
    """('ok', answer) or ('error', (code, HTTP status))."""
    try:
        return 'ok', fn()
    except ClientError as e:
        return 'error', (e.response['Error']['Code'],
                         e.response['ResponseMetadata']['HTTPStatusCode'])


class _Bound:
    """A paginator with fixed operation parameters."""

    def __init__(self, paginator, **params):
        self.paginator, self.params = paginator, params

    def paginate(self, **kw):
        return self.paginator.paginate(**self.params, **kw)


class Target:
    """One endpoint (fake or moto) with its base and member-account credentials."""

    def __init__(self, name, url):
        self.name, self.url = name, url
        self.member_creds = None
        self.member = None
        self.topic = None

    def base(self, service):
        return client(service, self.url)

    def session(self, service):
        return session_client(service, self.url, self.member_creds)


def start_moto():
    port = free_port()
    proc = subprocess.Popen([MOTO, '-p', str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d' % port
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + '/moto-api/', timeout=2).read()
            return proc, url
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError('moto_server did not start')


class Conformance(unittest.TestCase):
    """Steps run in name order (test_01 ... test_NN); later steps use earlier state."""

    @classmethod
    def setUpClass(cls):
        cls.fake_proc = FakeProcess()
        control(cls.fake_proc.url, 'load', FAKE_SCENARIO)
        cls.moto_proc, moto_url = start_moto()
        cls.fake = Target('fake', cls.fake_proc.url)
        cls.moto = Target('moto', moto_url)
        # moto has no scenario: build the same organization by API calls.
        org = cls.moto.base('organizations')
        org.create_organization(FeatureSet='ALL')
        member = org.create_account(Email='dev@example.com', AccountName='dev')
        cls.moto.member = member['CreateAccountStatus']['AccountId']
        cls.fake.member = '222222222222'
        cls.moto.base('ses').verify_email_identity(EmailAddress=SENDER)
        cls.moto.topic = cls.moto.base('sns').create_topic(
            Name='iam-access-key-rotator-topic')['TopicArn']
        cls.fake.topic = 'arn:aws:sns:us-east-1:111111111111:iam-access-key-rotator-topic'

    @classmethod
    def tearDownClass(cls):
        cls.fake_proc.stop()
        cls.moto_proc.terminate()
        cls.moto_proc.wait(10)

    # -- helpers ----------------------------------------------------------------

    def assertSameShape(self, fake, moto, optional=()):
        """Same fields; `optional` names fields AWS documents as optional that one side
        sends and the other leaves out."""
        def tolerated(diff):
            one_side = diff.endswith(' only in fake') or diff.endswith(' only in moto')
            return one_side and diff.split(' ')[0].rsplit('.', 1)[-1] in optional
        diffs = [d for d in shape_diff(shape(fake), shape(moto)) if not tolerated(d)]
        self.assertEqual(diffs, [])

    def both(self, fn, optional=()):
        """Run fn(target) on both; assert the same outcome and shape; return the fake's."""
        fake, moto = outcome(lambda: fn(self.fake)), outcome(lambda: fn(self.moto))
        self.assertEqual(fake[0], moto[0], 'fake %r, moto %r' % (fake, moto))
        if fake[0] == 'error':
            self.assertEqual(fake[1], moto[1])
        else:
            self.assertSameShape(fake[1], moto[1], optional)
        return fake[1]

    def both_pages(self, fn):
        """Pages of a paginator on both: same number of pages, same shapes page by page."""
        fake, moto = list(fn(self.fake)), list(fn(self.moto))
        self.assertEqual(len(fake), len(moto))
        for f, m in zip(fake, moto):
            self.assertSameShape(f, m)
        return fake

    def iam_pages(self, fn, items):
        """IAM list paginated with MaxItems 1.

        moto: ignores MaxItems and sends one page, sometimes without IsTruncated; AWS
        pages by MaxItems, with IsTruncated on every page and Marker while truncated.
        So: same items and item shapes overall, and the fake pages as documented."""
        fake = list(fn(self.fake).paginate(**{'PaginationConfig': {'PageSize': 1}}))
        moto = list(fn(self.moto).paginate())
        self.assertEqual([len(p[items]) for p in fake], [1] * len(fake))
        self.assertEqual([p['IsTruncated'] for p in fake], [True] * (len(fake) - 1) + [False])
        self.assertEqual(['Marker' in p for p in fake], [True] * (len(fake) - 1) + [False])
        fake_items = [i for p in fake for i in p[items]]
        moto_items = [i for p in moto for i in p[items]]
        self.assertEqual(len(fake_items), len(moto_items))
        for f, m in zip(fake_items, moto_items):
            self.assertSameShape(f, m)
        return fake_items

    def fake_only(self, fn, expected_code=None):
        """A step where moto departs from AWS: check the fake against the AWS docs."""
        result = outcome(lambda: fn(self.fake))
        if expected_code is None:
            self.assertEqual(result[0], 'ok', result)
        else:
            self.assertEqual((result[0], result[1][0]), ('error', expected_code))
        return result[1]

    def role_arn(self, t, role=ROLE):
        return 'arn:aws:iam::%s:role/%s' % (t.member, role)

    # -- STS and Organizations ----------------------------------------------------

    def test_01_caller_identity(self):
        self.both(lambda t: t.base('sts').get_caller_identity())

    def test_02_organization(self):
        out = self.both(lambda t: t.base('organizations').describe_organization())
        self.assertEqual(out['Organization']['MasterAccountId'], '111111111111')

    def test_03_list_accounts_pages(self):
        pages = self.both_pages(lambda t: t.base('organizations').get_paginator(
            'list_accounts').paginate(PaginationConfig={'PageSize': 1}))
        self.assertEqual(len(pages), 2)
        self.assertIn('NextToken', pages[0])
        for p in pages:
            self.assertIn('Status', p['Accounts'][0])
            self.assertIn('State', p['Accounts'][0])

    def test_04_assume_role(self):
        def assume(t):
            out = t.base('sts').assume_role(RoleArn=self.role_arn(t), RoleSessionName='rotator',
                                            DurationSeconds=900)
            t.member_creds = out['Credentials']
            return out
        # PackedPolicySize: AWS sends it only when session policies or tags are passed.
        out = self.both(assume, optional=('PackedPolicySize',))
        self.assertTrue(out['Credentials']['AccessKeyId'].startswith('ASIA'))
        # moto: accepts any role; AWS refuses a role that does not exist (AccessDenied).
        self.fake_only(lambda t: t.base('sts').assume_role(
            RoleArn=self.role_arn(t, 'no-such-role'), RoleSessionName='rotator'), 'AccessDenied')
        # moto: no role-chaining limit; AWS: more than 1 h with role chaining = ValidationError.
        self.fake_only(lambda t: t.session('sts').assume_role(
            RoleArn=self.role_arn(t), RoleSessionName='rotator', DurationSeconds=7200),
            'ValidationError')
        self.both(lambda t: t.session('sts').assume_role(
            RoleArn=self.role_arn(t), RoleSessionName='rotator', DurationSeconds=3600),
            optional=('PackedPolicySize',))

    def test_04b_assume_role_with_web_identity(self):
        # boto3 sends AssumeRoleWithWebIdentity unsigned (the model's auth: none).
        def assume(t, token=DEFAULT_WEB_IDENTITY_TOKEN):
            return t.base('sts').assume_role_with_web_identity(
                RoleArn=self.role_arn(t), RoleSessionName='rotator', WebIdentityToken=token,
                DurationSeconds=900)
        out = self.both(assume, optional=('PackedPolicySize', 'SubjectFromWebIdentityToken',
                                          'Provider', 'Audience'))
        self.assertTrue(out['Credentials']['AccessKeyId'].startswith('ASIA'))
        self.assertIn(':assumed-role/provisioning-admin/rotator', out['AssumedRoleUser']['Arn'])
        # moto: accepts any token; AWS verifies it with the identity provider.
        self.fake_only(lambda t: assume(t, 'not-the-token'), 'InvalidIdentityToken')

    def test_05_member_identity(self):
        out = self.both(lambda t: t.session('sts').get_caller_identity())
        self.assertEqual(out['Account'], '222222222222')
        # moto: lists nothing for a member account; AWS: only the management account
        # may call ListAccounts (AccessDeniedException).
        self.fake_only(lambda t: t.session('organizations').list_accounts(),
                       'AccessDeniedException')

    # -- IAM ------------------------------------------------------------------------

    def test_10_create_users(self):
        self.both(lambda t: t.session('iam').create_user(
            UserName='alice', Tags=[{'Key': 'email', 'Value': 'alice@example.com'}]))
        self.both(lambda t: t.session('iam').create_user(UserName='bob'))
        self.both(lambda t: t.session('iam').create_user(UserName='alice'))   # exists

    def test_11_list_users_pages(self):
        users = self.iam_pages(lambda t: t.session('iam').get_paginator('list_users'), 'Users')
        self.assertEqual([u['UserName'] for u in users], ['alice', 'bob'])
        self.both(lambda t: t.base('iam').list_users())     # management account: its own users

    def test_12_tags(self):
        self.both(lambda t: t.session('iam').tag_user(
            UserName='alice', Tags=[{'Key': 'Exempt', 'Value': 'true'}]))
        tags = self.iam_pages(lambda t: _Bound(t.session('iam').get_paginator('list_user_tags'),
                                               UserName='alice'), 'Tags')
        self.assertEqual(sorted(tag['Key'] for tag in tags), ['Exempt', 'email'])
        self.both(lambda t: t.session('iam').list_user_tags(UserName='nobody'))
        self.both(lambda t: t.session('iam').tag_user(
            UserName='nobody', Tags=[{'Key': 'a', 'Value': 'b'}]))

    def test_13_create_access_keys(self):
        keys = {}

        def create(t):
            out = t.session('iam').create_access_key(UserName='alice')
            keys.setdefault(t.name, []).append(out['AccessKey']['AccessKeyId'])
            return out
        self.both(create)
        self.both(create)
        self.both(create)                       # LimitExceeded at two keys
        self.both(lambda t: t.session('iam').create_access_key(UserName='nobody'))
        type(self).keys = keys

    def test_14_list_access_keys(self):
        keys = self.iam_pages(lambda t: _Bound(t.session('iam').get_paginator(
            'list_access_keys'), UserName='alice'), 'AccessKeyMetadata')
        self.assertEqual(len(keys), 2)
        self.both(lambda t: t.session('iam').list_access_keys(UserName='nobody'))

    def test_15_update_access_key(self):
        key = lambda t: self.keys[t.name][0]    # noqa: E731
        self.both(lambda t: t.session('iam').update_access_key(
            UserName='alice', AccessKeyId=key(t), Status='Inactive'))
        self.both(lambda t: t.session('iam').update_access_key(
            UserName='alice', AccessKeyId='AKIAAAAAAAAAAAAAAAAA', Status='Inactive'))
        self.both(lambda t: t.session('iam').update_access_key(
            UserName='bob', AccessKeyId=key(t), Status='Active'))          # not bob's key
        # moto: accepts any Status; AWS validates the enum Active|Inactive.
        self.fake_only(lambda t: t.session('iam').update_access_key(
            UserName='alice', AccessKeyId=key(t), Status='Bogus'), 'ValidationError')
        out = self.both(lambda t: t.session('iam').list_access_keys(UserName='alice'),
                        optional=('IsTruncated',))     # moto omits it here
        self.assertEqual(sorted(k['Status'] for k in out['AccessKeyMetadata']),
                         ['Active', 'Inactive'])

    def test_16_last_used(self):
        out = self.both(lambda t: t.session('iam').get_access_key_last_used(
            AccessKeyId=self.keys[t.name][0]))
        self.assertEqual(out['AccessKeyLastUsed'], {'ServiceName': 'N/A', 'Region': 'N/A'})
        self.both(lambda t: t.session('iam').get_access_key_last_used(
            AccessKeyId='AKIAAAAAAAAAAAAAAAAA'))

    def test_17_delete_access_key(self):
        delete = lambda t: t.session('iam').delete_access_key(     # noqa: E731
            UserName='alice', AccessKeyId=self.keys[t.name][0])
        self.both(delete)
        self.both(delete)                       # already gone: NoSuchEntity
        out = self.both(lambda t: t.session('iam').list_access_keys(UserName='alice'),
                        optional=('IsTruncated',))     # moto omits it here
        self.assertEqual(len(out['AccessKeyMetadata']), 1)

    def test_18_credential_report(self):
        iam = lambda t: t.session('iam')       # noqa: E731
        self.both(lambda t: iam(t).get_credential_report())     # ReportNotPresent
        # moto: STARTED for the first call even when the report is made at once; the
        # fake (delay 0) says COMPLETE at once. Both are AWS states; Description is
        # optional (AWS sends it with STARTED).
        first = self.both(lambda t: iam(t).generate_credential_report(),
                          optional=('Description',))
        self.assertIn(first['State'], ('STARTED', 'INPROGRESS', 'COMPLETE'))
        again = self.both(lambda t: iam(t).generate_credential_report(),
                          optional=('Description',))
        self.assertEqual(again['State'], 'COMPLETE')
        reports = {}
        for t in (self.fake, self.moto):
            reports[t.name] = outcome(lambda: iam(t).get_credential_report())
        self.assertEqual(reports['fake'][0], 'ok')
        self.assertEqual(reports['moto'][0], 'ok')
        self.assertSameShape(reports['fake'][1], reports['moto'][1])
        csvs = {}
        for name, (_, out) in reports.items():
            self.assertEqual(out['ReportFormat'], 'text/csv')
            self.assertIsInstance(out['GeneratedTime'], datetime.datetime)
            lines = out['Content'].decode().strip('\n').split('\n')
            rows = [line.split(',') for line in lines]
            for r in rows:
                self.assertEqual(len(r), len(rows[0]), (name, r))
            csvs[name] = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
            csvs[name]['header'] = rows[0]
        self.assertEqual(csvs['fake']['header'], csvs['moto']['header'])
        date = r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$'
        for name in ('alice', 'bob'):
            f, m = csvs['fake'][name], csvs['moto'][name]
            for col in ('access_key_1_active', 'access_key_2_active', 'mfa_active',
                        'password_enabled', 'access_key_2_last_rotated'):
                self.assertEqual(f[col], m[col], (name, col))
            self.assertRegex(f['user_creation_time'], date)
            self.assertRegex(m['user_creation_time'], date)
            self.assertEqual(f['arn'].split(':')[-1], m['arn'].split(':')[-1])
        self.assertRegex(csvs['fake']['alice']['access_key_1_last_rotated'], date)
        self.assertRegex(csvs['moto']['alice']['access_key_1_last_rotated'], date)
        # moto: no "<root_account>" line; AWS always has one, with not_supported
        # for the root's password columns.
        root = csvs['fake']['<root_account>']
        self.assertEqual(root['password_enabled'], 'not_supported')
        self.assertEqual(root['arn'], 'arn:aws:iam::222222222222:root')

    def test_90_credential_report_delay(self):
        # moto makes reports at once; AWS takes a while: STARTED, INPROGRESS, then
        # COMPLETE, with GetCredentialReport answering ReportInProgress meanwhile.
        scenario = dict(FAKE_SCENARIO, credential_report_delay_seconds=600)
        try:
            control(self.fake.url, 'load', scenario)
            creds = self.fake.base('sts').assume_role(
                RoleArn=self.role_arn(self.fake), RoleSessionName='rotator',
                DurationSeconds=43200)['Credentials']
            iam = session_client('iam', self.fake.url, creds)
            self.assertEqual(iam.generate_credential_report()['State'], 'STARTED')
            self.assertEqual(iam.generate_credential_report()['State'], 'INPROGRESS')
            self.assertEqual(outcome(iam.get_credential_report)[1][0], 'ReportInProgress')
            control(self.fake.url, 'clock', {'advance_seconds': 600})
            self.assertEqual(iam.generate_credential_report()['State'], 'COMPLETE')
            self.assertEqual(outcome(iam.get_credential_report)[0], 'ok')
            # Reused for 4 hours, then expired and made again.
            control(self.fake.url, 'clock', {'advance_seconds': 4 * 3600})
            self.assertEqual(outcome(iam.get_credential_report)[1][0], 'ReportExpired')
            self.assertEqual(iam.generate_credential_report()['State'], 'STARTED')
        finally:
            control(self.fake.url, 'load', FAKE_SCENARIO)
            self.fake.member_creds = self.fake.base('sts').assume_role(
                RoleArn=self.role_arn(self.fake), RoleSessionName='rotator')['Credentials']

    # -- SES and SNS --------------------------------------------------------------------

    def test_20_ses_send_raw_email(self):
        self.both(lambda t: t.base('ses').send_raw_email(
            RawMessage={'Data': RAW}, Source=SENDER, Destinations=['alice@example.com'],
            ConfigurationSetName='iam-access-key-rotator-configset'))
        self.both(lambda t: t.base('ses').send_raw_email(RawMessage={'Data': RAW}))
        self.both(lambda t: t.base('ses').send_raw_email(
            RawMessage={'Data': RAW.replace(b'rotator@', b'mallory@')},
            Source='mallory@example.com'))                        # MessageRejected
        self.assertEqual(len(control(self.fake.url, 'emails')), 2)

    def test_20b_ses_get_send_quota(self):
        out = self.both(lambda t: t.base('ses').get_send_quota())
        for field in ('Max24HourSend', 'MaxSendRate', 'SentLast24Hours'):
            self.assertIn(field, out)
        # Two messages went out in test_20 on each side.
        self.assertEqual(out['SentLast24Hours'], 2.0)

    def test_21_sesv2_send_email(self):
        self.both(lambda t: t.base('sesv2').send_email(
            FromEmailAddress=SENDER, Destination={'ToAddresses': ['alice@example.com']},
            Content={'Raw': {'Data': RAW}}))
        self.both(lambda t: t.base('sesv2').send_email(
            FromEmailAddress='mallory@example.com',
            Destination={'ToAddresses': ['alice@example.com']},
            Content={'Raw': {'Data': RAW.replace(b'rotator@', b'mallory@')}}))

    def test_22_sns_publish(self):
        self.both(lambda t: t.base('sns').publish(TopicArn=t.topic, Message='m', Subject='s'))
        self.both(lambda t: t.base('sns').publish(TopicArn=t.topic + '-nope', Message='m'))
        self.both(lambda t: t.base('sns').publish(TopicArn=t.topic, Message='x' * 262145))
        # moto: accepts any Subject; AWS: fewer than 100 characters, no line breaks.
        self.fake_only(lambda t: t.base('sns').publish(
            TopicArn=t.topic, Message='m', Subject='x' * 100), 'InvalidParameter')
        self.fake_only(lambda t: t.base('sns').publish(
            TopicArn=t.topic, Message='m', Subject='a\nb'), 'InvalidParameter')

    # -- authentication ------------------------------------------------------------------

    def test_30_authentication(self):
        # moto: does not check signatures or keys; AWS refuses both.
        self.fake_only(lambda t: client('iam', t.url, secret='x' * 40).list_users(),
                       'SignatureDoesNotMatch')
        self.fake_only(lambda t: client('iam', t.url, key='AKIAXXXXXXXXXXXXXXXX').list_users(),
                       'InvalidClientTokenId')


if __name__ == '__main__':
    if ClientError is None or MOTO is None:
        print('FAIL: needs boto3 and moto_server on PATH (a missing prerequisite is a failure)')
        sys.exit(1)
    unittest.main(verbosity=2)
