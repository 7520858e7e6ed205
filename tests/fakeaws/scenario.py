"""The fake's world: organization, accounts, IAM users and keys, credentials, clock.

A scenario (JSON, see README.md) is loaded into a World; GET /_fake/state dumps
the World back in the same shape, so a dumped state can be loaded again.
"""
import base64
import random
import time
from datetime import datetime, timezone

DAY = 86400.0
DEFAULT_MANAGEMENT = '111111111111'
DEFAULT_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
DEFAULT_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
DEFAULT_USER = 'rotator'
DEFAULT_ROLE = 'provisioning-admin'
DEFAULT_SENDER = 'rotator@example.com'
DEFAULT_TOPIC = 'iam-access-key-rotator-topic'
DEFAULT_WEB_IDENTITY_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.fake-oidc-token.signature'
ORG_ID = 'o-exampleorgid'
ACCOUNT_STATUSES = ('ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE')
KEY_STATUSES = ('Active', 'Inactive', 'Expired')
_B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'


class ScenarioError(ValueError):
    pass


def parse_time(value):
    """ISO 8601 (Z, offset, or naive = UTC) or epoch number -> epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        dt = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ScenarioError('bad timestamp: %r' % (value,)) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iso(t):
    """Epoch seconds -> 2024-01-15T10:20:30Z."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


class Clock:
    """Fake clock: starts at a given time and advances with real (monotonic) time."""

    def __init__(self, start):
        self.set(start)

    def set(self, t):
        self._base = float(t)
        self._ref = time.monotonic()

    def advance(self, seconds):
        self._base += float(seconds)

    def now(self):
        return self._base + (time.monotonic() - self._ref)


class Key:
    __slots__ = ('id', 'secret', 'status', 'create_date', 'user',
                 'last_used_date', 'last_used_service', 'last_used_region')


class User:
    __slots__ = ('name', 'path', 'user_id', 'create_date', 'tags', 'keys', 'account')

    def arn(self):
        return 'arn:aws:iam::%s:user%s%s' % (self.account.id, self.path, self.name)


class Account:
    __slots__ = ('id', 'name', 'email', 'status', 'roles', 'users', 'joined',
                 'credential_report')


class Credential:
    """A key pair that can sign requests: static (scenario), IAM key, or STS session."""
    __slots__ = ('access_key_id', 'secret', 'account', 'user', 'role', 'session_name',
                 'token', 'expiration', 'key')

    def __init__(self, access_key_id, secret, account, user=None, role=None,
                 session_name=None, token=None, expiration=None, key=None):
        self.access_key_id = access_key_id
        self.secret = secret
        self.account = account          # account id
        self.user = user                # IAM user name (user credentials)
        self.role = role                # role name (session credentials)
        self.session_name = session_name
        self.token = token              # session token, None for long-term keys
        self.expiration = expiration    # epoch seconds on the fake clock
        self.key = key                  # the IAM Key behind it, if any

    @property
    def is_session(self):
        return self.token is not None

    def arn(self):
        if self.role:
            return 'arn:aws:sts::%s:assumed-role/%s/%s' % (self.account, self.role,
                                                          self.session_name)
        return 'arn:aws:iam::%s:user/%s' % (self.account, self.user)


class World:
    """Everything the fake AWS knows. Built from a scenario dict (None = defaults)."""

    def __init__(self, scenario=None):
        scenario = {} if scenario is None else scenario
        if not isinstance(scenario, dict):
            raise ScenarioError('a scenario is a JSON object')
        self.rng = random.Random(scenario.get('seed', 0))
        now = scenario.get('now')
        self.clock = Clock(parse_time(now) if now is not None else time.time())
        t0 = self.clock.now()
        self.management_account = str(scenario.get('management_account', DEFAULT_MANAGEMENT))
        self.ses_verified = [str(s).lower() for s in scenario.get('ses_verified', [DEFAULT_SENDER])]
        config_sets = scenario.get('ses_configuration_sets')
        self.ses_configuration_sets = None if config_sets is None else set(config_sets)
        self.sns_topics = list(scenario.get('sns_topics', [DEFAULT_TOPIC]))
        # SES sending quota (GetSendQuota): generous by default, like an
        # account out of the sandbox; the daily quota is enforced.
        quota = scenario.get('ses_quota', {})
        if not isinstance(quota, dict):
            raise ScenarioError('"ses_quota" is an object')
        self.ses_max_24_hour_send = float(quota.get('max_24_hour_send', 50000.0))
        self.ses_max_send_rate = float(quota.get('max_send_rate', 50.0))
        self.ses_sent = []      # fake-clock times of the messages SES accepted
        # OIDC tokens that AssumeRoleWithWebIdentity accepts (as if the
        # identity provider had signed them).
        self.web_identity_tokens = [str(t) for t in scenario.get(
            'web_identity_tokens', [DEFAULT_WEB_IDENTITY_TOKEN])]
        self.max_page_size = int(scenario.get('max_page_size', 0) or 0)
        self.empty_pages = bool(scenario.get('empty_pages', False))
        # Seconds (fake clock) IAM takes to make a credential report; 0 = at once.
        self.credential_report_delay = float(scenario.get('credential_report_delay_seconds', 0))
        self.accounts = {}
        self.keys = {}          # access key id -> Key, every account
        self.credentials = {}   # access key id -> Credential (static and sessions)
        accounts = scenario.get('accounts', [] if not scenario else None)
        if accounts is None:
            raise ScenarioError('a scenario needs "accounts"')
        for acc in accounts:
            self._load_account(acc, t0)
        if self.management_account not in self.accounts:
            self._load_account({'id': self.management_account, 'name': 'management'}, t0)
        creds = scenario.get('credentials', [{
            'access_key_id': DEFAULT_KEY_ID, 'secret_access_key': DEFAULT_SECRET,
            'account': self.management_account, 'user': DEFAULT_USER}])
        self.static_credentials = []
        for c in creds:
            try:
                cred = Credential(c['access_key_id'], c['secret_access_key'],
                                  str(c.get('account', self.management_account)),
                                  user=c.get('user', DEFAULT_USER))
            except (KeyError, TypeError):
                raise ScenarioError('credential needs access_key_id and secret_access_key')
            if cred.account not in self.accounts:
                raise ScenarioError('credential %s: unknown account %s'
                                    % (cred.access_key_id, cred.account))
            self.credentials[cred.access_key_id] = cred
            self.static_credentials.append(cred)

    # -- loading --------------------------------------------------------------

    def _load_account(self, data, t0):
        acc = Account()
        acc.id = str(data.get('id', ''))
        if len(acc.id) != 12 or not acc.id.isdigit():
            raise ScenarioError('account id must be 12 digits: %r' % (acc.id,))
        if acc.id in self.accounts:
            raise ScenarioError('duplicate account %s' % acc.id)
        acc.name = data.get('name', 'account-' + acc.id)
        acc.email = data.get('email', 'aws+%s@example.com' % acc.id)
        acc.status = data.get('status', data.get('state', 'ACTIVE'))
        if acc.status not in ACCOUNT_STATUSES:
            raise ScenarioError('account %s: bad status %r' % (acc.id, acc.status))
        acc.roles = list(data.get('roles', [DEFAULT_ROLE]))
        acc.joined = parse_time(data['joined']) if 'joined' in data else t0 - 1000 * DAY
        acc.users = {}
        acc.credential_report = None    # (started, csv) on the fake clock
        self.accounts[acc.id] = acc
        for u in data.get('users', ()):
            self._load_user(acc, u, t0)

    def _load_user(self, acc, data, t0):
        try:
            name = data['name']
        except (KeyError, TypeError):
            raise ScenarioError('account %s: a user needs a name' % acc.id) from None
        if name in acc.users:
            raise ScenarioError('account %s: duplicate user %s' % (acc.id, name))
        tags = data.get('tags', {})
        if isinstance(tags, list):
            tags = {t['Key']: t.get('Value', '') for t in tags}
        user = self.new_user(acc, name, data.get('path', '/'), {str(k): str(v) for k, v in tags.items()},
                             t0)
        if 'user_id' in data:
            user.user_id = data['user_id']
        for k in data.get('keys', ()):
            self._load_key(user, k, t0)
        if 'create_date' in data:
            user.create_date = parse_time(data['create_date'])
        elif user.keys:
            user.create_date = min(k.create_date for k in user.keys) - DAY

    def _load_key(self, user, data, t0):
        key = Key()
        key.id = data.get('id') or self.new_key_id('AKIA')
        if key.id in self.keys:
            raise ScenarioError('duplicate key id %s' % key.id)
        key.secret = data.get('secret')
        key.status = data.get('status', 'Active')
        if key.status not in KEY_STATUSES:
            raise ScenarioError('key %s: bad status %r' % (key.id, key.status))
        if 'create_date' in data:
            key.create_date = parse_time(data['create_date'])
        else:
            key.create_date = t0 - float(data.get('age_days', 0)) * DAY
        if 'last_used_date' in data:
            key.last_used_date = parse_time(data['last_used_date'])
        elif data.get('last_used_days') is not None:
            key.last_used_date = t0 - float(data['last_used_days']) * DAY
        else:
            key.last_used_date = None
        key.last_used_service = data.get('last_used_service', 's3')
        key.last_used_region = data.get('last_used_region', 'us-east-1')
        self.add_key(user, key)

    # -- ids and mutation -------------------------------------------------------

    def new_key_id(self, prefix):
        while True:
            kid = prefix + ''.join(self.rng.choices(_B32, k=16))
            if kid not in self.keys and kid not in self.credentials:
                return kid

    def new_secret(self):
        return base64.b64encode(self.rng.getrandbits(240).to_bytes(30, 'big')).decode()

    def new_user(self, acc, name, path, tags, create_date):
        user = User()
        user.name, user.path, user.tags, user.keys, user.account = name, path, tags, [], acc
        user.user_id = 'AIDA' + ''.join(self.rng.choices(_B32, k=17))
        user.create_date = create_date
        acc.users[name] = user
        return user

    def add_key(self, user, key):
        key.user = user
        user.keys.append(key)
        self.keys[key.id] = key

    def remove_key(self, key):
        key.user.keys.remove(key)
        del self.keys[key.id]

    def lookup_credential(self, access_key_id):
        """Credential for a key id: static, session, or an Active IAM key with a known secret."""
        cred = self.credentials.get(access_key_id)
        if cred is not None:
            return cred
        key = self.keys.get(access_key_id)
        if key is None or key.secret is None or key.status != 'Active':
            return None
        return Credential(key.id, key.secret, key.user.account.id, user=key.user.name, key=key)

    # -- dump -------------------------------------------------------------------

    def dump(self):
        """The scenario's shape as it is now (GET /_fake/state)."""
        out = {
            'now': iso(self.clock.now()),
            'management_account': self.management_account,
            'organization_id': ORG_ID,
            'credentials': [{'access_key_id': c.access_key_id, 'secret_access_key': c.secret,
                             'account': c.account, 'user': c.user}
                            for c in self.static_credentials],
            'ses_verified': list(self.ses_verified),
            'sns_topics': list(self.sns_topics),
            'web_identity_tokens': list(self.web_identity_tokens),
            'accounts': [self._dump_account(a) for a in self.accounts.values()],
        }
        if self.ses_configuration_sets is not None:
            out['ses_configuration_sets'] = sorted(self.ses_configuration_sets)
        out['ses_quota'] = {'max_24_hour_send': self.ses_max_24_hour_send,
                            'max_send_rate': self.ses_max_send_rate}
        return out

    @staticmethod
    def _dump_account(acc):
        return {'id': acc.id, 'name': acc.name, 'email': acc.email, 'status': acc.status,
                'roles': list(acc.roles), 'joined': iso(acc.joined),
                'users': [{'name': u.name, 'path': u.path, 'user_id': u.user_id,
                           'create_date': iso(u.create_date), 'tags': dict(u.tags),
                           'keys': [World._dump_key(k) for k in u.keys]}
                          for u in acc.users.values()]}

    @staticmethod
    def _dump_key(key):
        out = {'id': key.id, 'status': key.status, 'create_date': iso(key.create_date)}
        if key.secret is not None:
            out['secret'] = key.secret
        if key.last_used_date is not None:
            out['last_used_date'] = iso(key.last_used_date)
            out['last_used_service'] = key.last_used_service
            out['last_used_region'] = key.last_used_region
        return out
