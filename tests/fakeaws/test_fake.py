#!/usr/bin/env python3
"""Tests of the fake alone: authentication, clock, faults, rate limit, control API, scale."""
import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import boto3  # noqa: F401
except ImportError:
    print('FAIL: boto3 is not installed (a missing prerequisite is a failure)')
    sys.exit(1)

from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError  # noqa: E402

import gen_scenario  # noqa: E402
from testutil import (FakeProcess, client, control, query_body, raw,  # noqa: E402
                      session_client, sign)

ROLE = 'arn:aws:iam::%s:role/provisioning-admin'
TOPIC = 'arn:aws:sns:us-east-1:111111111111:iam-access-key-rotator-topic'
SCENARIO = {
    'now': '2026-11-26T13:00:00Z',
    'accounts': [
        {'id': '111111111111', 'name': 'management'},
        {'id': '222222222222', 'name': 'dev', 'users': [
            {'name': 'alice', 'tags': {'email': 'alice@example.com'},
             'keys': [{'status': 'Active', 'age_days': 85, 'last_used_days': 1}]},
            {'name': 'bob', 'keys': [{'id': 'AKIABOBBOBBOBBOBBOB1', 'secret': 'x' * 40,
                                      'create_date': '2026-01-01T00:00:00Z'}]},
            {'name': 'carol', 'tags': {'email': 'carol@example.com'}}]},
        {'id': '333333333333', 'name': 'old', 'status': 'SUSPENDED'},
    ]}
FAKE = None


def setUpModule():
    global FAKE
    FAKE = FakeProcess()


def tearDownModule():
    FAKE.stop()


def code_of(exc):
    return exc.exception.response['Error']['Code'], \
        exc.exception.response['ResponseMetadata']['HTTPStatusCode']


class FakeTest(unittest.TestCase):
    def setUp(self):
        self.url = FAKE.url
        control(self.url, 'load', SCENARIO)

    def assume(self, account='222222222222', **kw):
        return client('sts', self.url).assume_role(RoleArn=ROLE % account,
                                                   RoleSessionName='test', **kw)['Credentials']

    def iam(self, account='222222222222', **kw):
        return session_client('iam', self.url, self.assume(account), **kw)


class AuthTest(FakeTest):
    def test_wrong_signature_query_and_json(self):
        with self.assertRaises(ClientError) as e:
            client('iam', self.url, secret='wrong' * 8).list_users()
        self.assertEqual(code_of(e), ('SignatureDoesNotMatch', 403))
        with self.assertRaises(ClientError) as e:
            client('organizations', self.url, secret='wrong' * 8).list_accounts()
        self.assertEqual(code_of(e), ('InvalidSignatureException', 400))

    def test_tampered_body_is_refused(self):
        body = query_body(Action='ListUsers', Version='2010-05-08')
        headers = sign(FAKE.host, 'iam', body)
        status, _, out = raw(self.url, headers, body.replace(b'ListUsers', b'ListRoles'))
        self.assertEqual(status, 403)
        self.assertIn(b'<Code>SignatureDoesNotMatch</Code>', out)
        status, h, out = raw(self.url, headers, body)
        self.assertEqual(status, 200, out)
        self.assertIn('x-amzn-requestid', h)
        self.assertIn(b'<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">',
                      out)

    def test_unknown_key(self):
        with self.assertRaises(ClientError) as e:
            client('sts', self.url, key='AKIAUNKNOWNUNKNOWN00').get_caller_identity()
        self.assertEqual(code_of(e), ('InvalidClientTokenId', 403))
        with self.assertRaises(ClientError) as e:
            client('organizations', self.url, key='AKIAUNKNOWNUNKNOWN00').list_accounts()
        self.assertEqual(code_of(e), ('UnrecognizedClientException', 400))

    def test_missing_and_unknown_action(self):
        for params, code in (({'Version': '2010-05-08'}, b'MissingAction'),
                             ({'Action': 'ListRoles'}, b'InvalidAction')):
            body = query_body(**params)
            status, _, out = raw(self.url, sign(FAKE.host, 'iam', body), body)
            self.assertEqual(status, 400)
            self.assertIn(b'<Code>' + code + b'</Code>', out)

    def test_missing_authentication(self):
        body = query_body(Action='ListUsers', Version='2010-05-08')
        status, _, out = raw(self.url, {'content-type': 'application/x-www-form-urlencoded'},
                             body)
        self.assertEqual(status, 403)
        self.assertIn(b'<Code>MissingAuthenticationToken</Code>', out)

    def test_clock_skew_uses_wall_clock(self):
        body = query_body(Action='GetCallerIdentity', Version='2011-06-15')
        old = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - 600))
        status, _, out = raw(self.url, sign(FAKE.host, 'sts', body, amz_date=old), body)
        self.assertEqual(status, 403)
        self.assertIn(b'Signature expired', out)
        # The scenario clock is in another year: real-time signatures still pass.
        control(self.url, 'clock', {'advance_days': 400})
        status, _, out = raw(self.url, sign(FAKE.host, 'sts', body), body)
        self.assertEqual(status, 200, out)

    def test_host_and_date_must_be_signed(self):
        body = query_body(Action='GetCallerIdentity', Version='2011-06-15')
        headers = sign(FAKE.host, 'sts', body, signed=['host', 'content-type'])
        status, _, out = raw(self.url, headers, body)
        self.assertEqual(status, 403)
        self.assertIn(b'SignatureDoesNotMatch', out)

    def test_session_token_required_and_signed(self):
        creds = self.assume()
        body = query_body(Action='ListUsers', Version='2010-05-08')
        headers = sign(FAKE.host, 'iam', body, creds['AccessKeyId'], creds['SecretAccessKey'])
        status, _, out = raw(self.url, headers, body)
        self.assertEqual((status, b'InvalidClientTokenId' in out), (403, True))
        headers = sign(FAKE.host, 'iam', body, creds['AccessKeyId'], creds['SecretAccessKey'],
                       token=creds['SessionToken'], signed=['content-type', 'host', 'x-amz-date'])
        status, _, out = raw(self.url, headers, body)
        self.assertEqual((status, b'SignatureDoesNotMatch' in out), (403, True))
        headers = sign(FAKE.host, 'iam', body, creds['AccessKeyId'], creds['SecretAccessKey'],
                       token=creds['SessionToken'])
        self.assertEqual(raw(self.url, headers, body)[0], 200)

    def test_any_region_in_scope(self):
        for region in ('eu-west-1', 'ap-southeast-2'):
            self.assertEqual(client('iam', self.url, region=region).list_users()['Users'], [])

    def test_session_expires_on_fake_clock(self):
        creds = self.assume(DurationSeconds=900)
        iam = session_client('iam', self.url, creds)
        iam.list_users()
        control(self.url, 'clock', {'advance_seconds': 901})
        with self.assertRaises(ClientError) as e:
            iam.list_users()
        self.assertEqual(code_of(e), ('ExpiredToken', 403))
        with self.assertRaises(ClientError) as e:
            session_client('organizations', self.url, creds).list_accounts()
        self.assertEqual(code_of(e)[0], 'ExpiredTokenException')
        fresh = self.iam()              # a new session works again
        self.assertEqual(len(fresh.list_users()['Users']), 3)

    def test_created_key_authenticates_and_records_last_use(self):
        key = self.iam().create_access_key(UserName='carol')['AccessKey']
        who = client('sts', self.url, key['AccessKeyId'], key['SecretAccessKey'])
        self.assertEqual(who.get_caller_identity()['Arn'],
                         'arn:aws:iam::222222222222:user/carol')
        used = self.iam().get_access_key_last_used(AccessKeyId=key['AccessKeyId'])
        self.assertEqual(used['AccessKeyLastUsed']['ServiceName'], 'sts')
        self.assertIn('LastUsedDate', used['AccessKeyLastUsed'])
        self.iam().update_access_key(UserName='carol', AccessKeyId=key['AccessKeyId'],
                                     Status='Inactive')
        with self.assertRaises(ClientError) as e:
            who.get_caller_identity()
        self.assertEqual(code_of(e), ('InvalidClientTokenId', 403))


class StsOrgTest(FakeTest):
    def test_assume_role_rules(self):
        creds = self.assume()
        self.assertTrue(creds['AccessKeyId'].startswith('ASIA'))
        self.assertEqual(len(creds['SecretAccessKey']), 40)
        state_now = control(self.url, 'clock', {'advance_seconds': 0})['now']
        self.assertEqual(creds['Expiration'].timestamp() - _epoch(state_now), 3600)
        chained = session_client('sts', self.url, creds)
        with self.assertRaises(ClientError) as e:
            chained.assume_role(RoleArn=ROLE % '222222222222', RoleSessionName='xx',
                                DurationSeconds=7200)
        self.assertEqual(code_of(e), ('ValidationError', 400))
        chained.assume_role(RoleArn=ROLE % '222222222222', RoleSessionName='xx',
                            DurationSeconds=3600)
        for arn in ('arn:aws:iam::222222222222:role/nope', ROLE % '999999999999',
                    ROLE % '333333333333'):
            with self.assertRaises(ClientError) as e:
                client('sts', self.url).assume_role(RoleArn=arn, RoleSessionName='xx')
            self.assertEqual(code_of(e), ('AccessDenied', 403))
        ident = chained.get_caller_identity()
        self.assertEqual(ident['Arn'], 'arn:aws:sts::222222222222:assumed-role/'
                         'provisioning-admin/test')

    def test_organizations_management_only(self):
        pages = list(client('organizations', self.url).get_paginator('list_accounts')
                     .paginate(PaginationConfig={'PageSize': 1}))
        accounts = [a for p in pages for a in p['Accounts']]
        self.assertEqual([a['Id'] for a in accounts],
                         ['111111111111', '222222222222', '333333333333'])
        self.assertEqual(accounts[2]['Status'], 'SUSPENDED')
        self.assertEqual(accounts[2]['State'], 'SUSPENDED')
        member = session_client('organizations', self.url, self.assume())
        with self.assertRaises(ClientError) as e:
            member.list_accounts()
        self.assertEqual(code_of(e), ('AccessDeniedException', 400))
        # AWS docs: DescribeOrganization may be called from any account of the organization.
        self.assertEqual(member.describe_organization()['Organization']['Id'], 'o-exampleorgid')
        mgmt = session_client('organizations', self.url, self.assume('111111111111'))
        self.assertEqual(mgmt.describe_organization()['Organization']['MasterAccountId'],
                         '111111111111')


def _epoch(iso):
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


class IamTest(FakeTest):
    def test_keys_and_pagination(self):
        iam = self.iam()
        users = [u['UserName'] for p in iam.get_paginator('list_users').paginate(
            PaginationConfig={'PageSize': 1}) for u in p['Users']]
        self.assertEqual(users, ['alice', 'bob', 'carol'])
        alice_key = iam.list_access_keys(UserName='alice')['AccessKeyMetadata'][0]
        age = (_epoch('2026-11-26T13:00:00Z') - alice_key['CreateDate'].timestamp()) / 86400
        self.assertAlmostEqual(age, 85, delta=0.01)
        new = iam.create_access_key(UserName='alice')['AccessKey']
        self.assertRegex(new['AccessKeyId'], r'^AKIA[A-Z0-9]{16}$')
        self.assertRegex(new['SecretAccessKey'], r'^[A-Za-z0-9+/]{40}$')
        with self.assertRaises(ClientError) as e:
            iam.create_access_key(UserName='alice')
        self.assertEqual(code_of(e), ('LimitExceeded', 409))
        with self.assertRaises(ClientError) as e:
            iam.list_access_keys(UserName='nobody')
        self.assertEqual(code_of(e), ('NoSuchEntity', 404))
        used = iam.get_access_key_last_used(AccessKeyId='AKIABOBBOBBOBBOBBOB1')
        self.assertEqual(used['AccessKeyLastUsed'], {'ServiceName': 'N/A', 'Region': 'N/A'})
        iam.delete_access_key(UserName='alice', AccessKeyId=alice_key['AccessKeyId'])
        state = control(self.url, 'state')
        alice = state['accounts'][1]['users'][0]
        self.assertEqual([k['id'] for k in alice['keys']], [new['AccessKeyId']])
        self.assertEqual(alice['keys'][0]['secret'], new['SecretAccessKey'])
        # Base credentials act on their own (management) account.
        self.assertEqual(client('iam', self.url).list_users()['Users'], [])


class ServicesTest(FakeTest):
    def test_ses_records_and_rejects(self):
        ses = client('ses', self.url)
        msg = b'From: Rotator <rotator@example.com>\r\nTo: alice@example.com\r\n\r\nhello'
        ses.send_raw_email(RawMessage={'Data': msg}, Source='Rotator <rotator@example.com>',
                           Destinations=['alice@example.com'],
                           ConfigurationSetName='iam-access-key-rotator-configset')
        with self.assertRaises(ClientError) as e:
            ses.send_raw_email(RawMessage={'Data': msg.replace(b'rotator@', b'mallory@')})
        self.assertEqual(code_of(e), ('MessageRejected', 400))
        with self.assertRaises(ClientError) as e:
            ses.send_raw_email(RawMessage={'Data': msg}, Source='mallory@example.com')
        self.assertEqual(code_of(e), ('MessageRejected', 400))
        client('sesv2', self.url).send_email(
            Content={'Raw': {'Data': msg}}, Destination={'ToAddresses': ['bob@example.com']})
        emails = control(self.url, 'emails')
        self.assertEqual([(m['source'], m['destinations'], m['configuration_set'])
                          for m in emails],
                         [('rotator@example.com', ['alice@example.com'],
                           'iam-access-key-rotator-configset'),
                          ('rotator@example.com', ['bob@example.com'], None)])
        self.assertEqual(emails[0]['raw'], msg.decode())

    def test_ses_send_quota(self):
        control(self.url, 'load', dict(SCENARIO, ses_quota={'max_24_hour_send': 2,
                                                            'max_send_rate': 3}))
        ses = client('ses', self.url)
        msg = b'From: Rotator <rotator@example.com>\r\nTo: alice@example.com\r\n\r\nhello'
        self.assertEqual(ses.get_send_quota()['SentLast24Hours'], 0.0)
        ses.send_raw_email(RawMessage={'Data': msg})
        ses.send_raw_email(RawMessage={'Data': msg})
        quota = ses.get_send_quota()
        self.assertEqual((quota['Max24HourSend'], quota['MaxSendRate'],
                          quota['SentLast24Hours']), (2.0, 3.0, 2.0))
        with self.assertRaises(ClientError) as e:
            ses.send_raw_email(RawMessage={'Data': msg})
        self.assertEqual(code_of(e), ('Throttling', 400))
        self.assertIn('Daily message quota exceeded', str(e.exception))
        # A day later (fake clock) the quota is free again.
        control(self.url, 'clock', {'advance_seconds': 86401})
        self.assertEqual(ses.get_send_quota()['SentLast24Hours'], 0.0)
        ses.send_raw_email(RawMessage={'Data': msg})

    def test_sns_records_and_validates(self):
        sns = client('sns', self.url)
        sns.publish(TopicArn=TOPIC, Message='m1', Subject='s1')
        for kw, code in ((dict(Subject='x' * 100), ('InvalidParameter', 400)),
                         (dict(Subject='a\nb'), ('InvalidParameter', 400)),
                         (dict(Message='x' * 262145), ('InvalidParameter', 400)),
                         (dict(TopicArn=TOPIC.replace('rotator-topic', 'nope')),
                          ('NotFound', 404))):
            with self.assertRaises(ClientError) as e:
                sns.publish(**dict(dict(TopicArn=TOPIC, Message='m'), **kw))
            self.assertEqual(code_of(e), code, kw)
        sns.publish(TopicArn=TOPIC.replace('us-east-1', 'eu-west-1'), Message='x' * 262144)
        self.assertEqual([(m['topic'], m['subject']) for m in control(self.url, 'sns')],
                         [(TOPIC, 's1'), (TOPIC.replace('us-east-1', 'eu-west-1'), None)])


class FaultTest(FakeTest):
    def test_throttle_count_then_success(self):
        control(self.url, 'faults', {'action': 'ListUsers', 'account': '222222222222',
                                     'kind': 'throttle', 'count': 2})
        iam = self.iam()
        for _ in range(2):
            with self.assertRaises(ClientError) as e:
                iam.list_users()
            self.assertEqual(code_of(e), ('Throttling', 400))
        iam.list_users()
        client('iam', self.url).list_users()          # other account untouched
        stats = control(self.url, 'stats')
        self.assertEqual(stats['throttled'], 2)
        self.assertEqual(stats['by_action']['ListUsers'], 4)

    def test_first_firing_rule_wins(self):
        control(self.url, 'faults', [
            {'action': 'ListUsers', 'kind': 'latency', 'latency_ms': 1, 'count': 1},
            {'action': 'ListUsers', 'kind': 'throttle', 'count': 1}])
        iam = client('iam', self.url)
        iam.list_users()
        with self.assertRaises(ClientError) as e:
            iam.list_users()
        self.assertEqual(code_of(e), ('Throttling', 400))
        iam.list_users()

    def test_throttle_codes_per_service(self):
        control(self.url, 'faults', {'kind': 'throttle', 'count': 3})
        for call, code in ((lambda: client('organizations', self.url).list_accounts(),
                            ('TooManyRequestsException', 400)),
                           (lambda: client('sns', self.url).publish(TopicArn=TOPIC, Message='m'),
                            ('Throttled', 429)),
                           (lambda: client('sts', self.url).get_caller_identity(),
                            ('Throttling', 400))):
            with self.assertRaises(ClientError) as e:
                call()
            self.assertEqual(code_of(e), code)

    def test_error_503(self):
        control(self.url, 'faults', [{'action': 'ListAccessKeys', 'kind': 'error',
                                      'status': 503, 'code': 'ServiceUnavailable',
                                      'probability': 1.0}])
        with self.assertRaises(ClientError) as e:
            self.iam().list_access_keys(UserName='alice')
        self.assertEqual(code_of(e), ('ServiceUnavailable', 503))
        control(self.url, 'faults', method='DELETE')
        self.iam().list_access_keys(UserName='alice')

    def test_reset(self):
        control(self.url, 'faults', {'action': 'GetCallerIdentity', 'kind': 'reset', 'count': 1})
        body = query_body(Action='GetCallerIdentity', Version='2011-06-15')
        with self.assertRaises((ConnectionResetError, ConnectionError)):
            raw(self.url, sign(FAKE.host, 'sts', body), body)
        self.assertEqual(raw(self.url, sign(FAKE.host, 'sts', body), body)[0], 200)
        with self.assertRaises(ConnectionClosedError):
            control(self.url, 'faults', {'kind': 'reset', 'count': 1})
            client('sts', self.url).get_caller_identity()

    def test_reset_after_effect(self):
        control(self.url, 'faults', {'action': 'CreateAccessKey', 'kind': 'reset',
                                     'count': 1, 'when': 'after'})
        iam = self.iam()
        with self.assertRaises(ConnectionClosedError):
            iam.create_access_key(UserName='carol')
        self.assertEqual(len(iam.list_access_keys(UserName='carol')['AccessKeyMetadata']), 1)
        log = control(self.url, 'requests')
        self.assertIn({'service': 'iam', 'action': 'CreateAccessKey', 'account': '222222222222',
                       'status': 0, 'code': 'reset'}, log)

    def test_truncated_body_after_effect(self):
        control(self.url, 'faults', {'action': 'CreateAccessKey', 'kind': 'truncate',
                                     'count': 1, 'when': 'after'})
        iam = self.iam()
        with self.assertRaises(Exception) as e:
            iam.create_access_key(UserName='carol')
        self.assertNotIsInstance(e.exception, ClientError)
        self.assertEqual(len(iam.list_access_keys(UserName='carol')['AccessKeyMetadata']), 1)
        self.assertEqual(control(self.url, 'requests')[-2]['code'], 'truncate')

    def test_truncated_and_malformed_raw(self):
        body = query_body(Action='GetCallerIdentity', Version='2011-06-15')
        full = raw(self.url, sign(FAKE.host, 'sts', body), body)
        self.assertEqual(full[0], 200)
        control(self.url, 'faults', {'action': 'GetCallerIdentity', 'kind': 'malformed',
                                     'count': 1, 'when': 'after'})
        status, headers, half = raw(self.url, sign(FAKE.host, 'sts', body), body)
        self.assertEqual(status, 200)
        self.assertEqual(int(headers['content-length']), len(half))
        self.assertEqual(half, full[2][:len(full[2]) // 2])
        control(self.url, 'faults', {'action': 'GetCallerIdentity', 'kind': 'truncate',
                                     'count': 1})
        with self.assertRaises(http.client.IncompleteRead):
            raw(self.url, sign(FAKE.host, 'sts', body), body)
        log = control(self.url, 'requests')
        self.assertEqual([r['code'] for r in log[-2:]], ['malformed', 'truncate'])

    def test_expired_token_per_protocol(self):
        control(self.url, 'faults', {'kind': 'expired', 'count': 2})
        with self.assertRaises(ClientError) as e:
            client('sts', self.url).get_caller_identity()
        self.assertEqual(code_of(e), ('ExpiredToken', 403))
        with self.assertRaises(ClientError) as e:
            client('organizations', self.url).list_accounts()
        self.assertEqual(code_of(e), ('ExpiredTokenException', 400))
        control(self.url, 'faults', {'action': 'CreateAccessKey', 'kind': 'expired',
                                     'count': 1, 'when': 'after'})
        iam = self.iam()
        with self.assertRaises(ClientError) as e:
            iam.create_access_key(UserName='carol')
        self.assertEqual(code_of(e), ('ExpiredToken', 403))
        self.assertEqual(len(iam.list_access_keys(UserName='carol')['AccessKeyMetadata']), 1)

    def test_hang_until_client_timeout(self):
        control(self.url, 'faults', {'action': 'ListUsers', 'kind': 'hang', 'count': 1})
        iam = self.iam(read_timeout=1, connect_timeout=1)
        t0 = time.monotonic()
        with self.assertRaises(ReadTimeoutError):
            iam.list_users()
        self.assertLess(time.monotonic() - t0, 5)
        iam.list_users()

    def test_latency_rule_and_in_flight(self):
        control(self.url, 'faults', {'action': 'ListUserTags', 'kind': 'latency',
                                     'latency_ms': 300})
        iam = self.iam()
        iam.list_user_tags(UserName='alice')       # warm the connection pool
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: iam.list_user_tags(UserName='alice'), range(8)))
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLess(elapsed, 1.5)             # not serialised (8 x 0.3 s)
        self.assertGreaterEqual(control(self.url, 'stats')['max_in_flight'], 6)

    def test_reset_endpoint_clears_everything(self):
        control(self.url, 'faults', {'kind': 'throttle', 'probability': 0.0})
        client('sns', self.url).publish(TopicArn=TOPIC, Message='m')
        self.iam().create_user(UserName='zed')
        control(self.url, 'reset', method='POST')
        self.assertEqual(control(self.url, 'sns'), [])
        self.assertEqual(control(self.url, 'faults')['rules'], [])
        self.assertEqual(control(self.url, 'stats')['requests'], 0)
        names = [u['name'] for u in control(self.url, 'state')['accounts'][1]['users']]
        self.assertEqual(names, ['alice', 'bob', 'carol'])


class ProcessTest(unittest.TestCase):
    def test_rate_limit_bucket(self):
        fake = FakeProcess('--iam-rps-per-account', '5')
        try:
            control(fake.url, 'load', SCENARIO)
            iam = client('iam', fake.url)
            codes = []
            for _ in range(12):
                try:
                    iam.list_users()
                    codes.append('ok')
                except ClientError as e:
                    codes.append(e.response['Error']['Code'])
            self.assertGreaterEqual(codes.count('ok'), 5)
            self.assertIn('Throttling', codes)
            self.assertEqual(codes[:5], ['ok'] * 5)
            time.sleep(0.5)
            iam.list_users()                   # refilled
            client('sts', fake.url).get_caller_identity()   # not IAM: unlimited
            self.assertGreater(control(fake.url, 'stats')['throttled'], 0)
        finally:
            fake.stop()

    def test_latency_flag_does_not_serialise(self):
        fake = FakeProcess('--latency-ms', '200')
        try:
            sts = client('sts', fake.url)
            sts.get_caller_identity()
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(10) as pool:
                list(pool.map(lambda _: sts.get_caller_identity(), range(10)))
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertGreaterEqual(control(fake.url, 'stats')['max_in_flight'], 5)
        finally:
            fake.stop()

    def test_sigterm_exits_cleanly(self):
        fake = FakeProcess()
        fake.proc.send_signal(signal.SIGTERM)
        self.assertEqual(fake.proc.wait(10), 0)
        fake.stop()

    def test_large_generated_scenario(self):
        fake = FakeProcess()
        try:
            scenario = gen_scenario.generate(1000, 50, seed=7)
            t0 = time.monotonic()
            summary = control(fake.url, 'load', scenario)
            elapsed = time.monotonic() - t0
            print('\n1000x50 scenario: %d users, %d keys loaded in %.2f s'
                  % (summary['users'], summary['keys'], elapsed), file=sys.stderr)
            self.assertLess(elapsed, 10)
            self.assertEqual(summary['accounts'], 1001)
            org = client('organizations', fake.url)
            accounts = [a for p in org.get_paginator('list_accounts').paginate()
                        for a in p['Accounts']]
            self.assertEqual(len(accounts), 1001)
            self.assertIn('SUSPENDED', {a['Status'] for a in accounts})
            acc = next(a['Id'] for a in accounts[1:] if a['Status'] == 'ACTIVE')
            creds = client('sts', fake.url).assume_role(RoleArn=ROLE % acc,
                                                        RoleSessionName='ss')['Credentials']
            iam = session_client('iam', fake.url, creds)
            users = [u for p in iam.get_paginator('list_users').paginate() for u in p['Users']]
            self.assertEqual(len(users), 50)
        finally:
            fake.stop()


class HttpTest(FakeTest):
    def test_pipelined_and_chunked_requests(self):
        body = query_body(Action='GetCallerIdentity', Version='2011-06-15')
        headers = sign(FAKE.host, 'sts', body)
        head = 'POST / HTTP/1.1\r\n' + ''.join('%s: %s\r\n' % kv for kv in headers.items())
        one = (head + 'Content-Length: %d\r\n\r\n' % len(body)).encode() + body
        chunked = (head + 'Transfer-Encoding: chunked\r\n\r\n').encode() + b'%x\r\n%s\r\n0\r\n\r\n' \
            % (len(body), body)
        u = urllib.parse.urlsplit(self.url)
        with socket.create_connection((u.hostname, u.port), timeout=5) as s:
            s.sendall(one + chunked + one)
            data = b''
            while data.count(b'</GetCallerIdentityResponse>') < 3:
                chunk = s.recv(65536)
                self.assertTrue(chunk, data)
                data += chunk
        self.assertEqual(len(re.findall(rb'HTTP/1.1 200 OK', data)), 3)

    def test_control_connections_counted_apart(self):
        """GET /_fake/stats sorts the connections by their first request, so
        that a benchmark can leave its own control connections out."""
        # setUp's load started the counts afresh; each control() is a connection.
        control(self.url, 'state')
        control(self.url, 'clock')
        u = urllib.parse.urlsplit(self.url)
        body = query_body(Action='GetCallerIdentity', Version='2011-06-15')
        idle = socket.create_connection((u.hostname, u.port), timeout=5)  # sends nothing
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        try:
            for _ in range(2):                              # one connection, two requests
                conn.request('POST', '/', body, sign(FAKE.host, 'sts', body))
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            self.assertEqual(raw(self.url, sign(FAKE.host, 'sts', body), body)[0], 200)
            # A control request on a connection that began with an AWS request
            # leaves it an AWS connection.
            conn.request('GET', '/_fake/stats')
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            stats = json.loads(r.read())
        finally:
            conn.close()
            idle.close()
        self.assertEqual(stats['requests'], 3)
        self.assertEqual(stats['control_connections'], 2)
        self.assertEqual(stats['api_connections'], 2)
        self.assertEqual(stats['connections_opened'], 5)    # + the idle one, in neither
        stats = control(self.url, 'stats')                  # a third control connection
        self.assertEqual((stats['control_connections'], stats['api_connections'],
                          stats['connections_opened']), (3, 2, 6))
        control(self.url, 'reset', method='POST')           # counts start afresh
        stats = control(self.url, 'stats')
        self.assertEqual((stats['control_connections'], stats['api_connections'],
                          stats['connections_opened']), (1, 0, 1))


if __name__ == '__main__':
    unittest.main(verbosity=2)
