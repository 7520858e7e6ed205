"""STS (Query, 2011-06-15): AssumeRole, AssumeRoleWithWebIdentity (unsigned) and
GetCallerIdentity."""
import base64
import re

from awsproto import AwsError, el
from scenario import Credential, iso
from services import int_param, require, validation

_SESSION_NAME_RE = re.compile(r'^[\w+=,.@-]{2,64}$')
_ROLE_ARN_RE = re.compile(r'^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]+)$')
CHAINED_MAX = 3600


def parse_role_arn(arn):
    """(account id, role name) or None."""
    m = _ROLE_ARN_RE.match(arn or '')
    return (m.group(1), m.group(2)) if m else None


UNSIGNED_ACTIONS = ('AssumeRoleWithWebIdentity',)


class _UnsignedAuth:
    service = 'sts'
    region = 'us-east-1'


def unsigned_caller(params):
    """(auth, cred) of an unsigned call: the STS service, no credential."""
    return _UnsignedAuth(), None


def request_account(params, cred):
    """The account an STS call acts on: AssumeRole's target account, else the caller's."""
    if params.get('Action') in ('AssumeRole', 'AssumeRoleWithWebIdentity'):
        parsed = parse_role_arn(params.get('RoleArn'))
        if parsed:
            return parsed[0]
    return cred.account if cred is not None else None


def _role_id(account, role):
    # Stable per (account, role) so AssumedRoleId looks like the real thing.
    return 'AROA' + base64.b32encode(('%s%s' % (account, role)).encode()[-11:]).decode()[:17]


def assume_role(ctx):
    arn = require(ctx.params, 'RoleArn')
    session_name = require(ctx.params, 'RoleSessionName')
    if not _SESSION_NAME_RE.match(session_name):
        raise validation("1 validation error detected: Value '%s' at 'roleSessionName' failed "
                         'to satisfy constraint: Member must satisfy regular expression '
                         r'pattern: [\w+=,.@-]*' % session_name)
    duration = int_param(ctx.params, 'DurationSeconds', 3600, 900, 43200)
    if ctx.cred.is_session and duration > CHAINED_MAX:
        raise validation('The requested DurationSeconds exceeds the 1 hour session limit '
                         'for roles assumed by role chaining.')
    parsed = parse_role_arn(arn)
    if parsed is None:
        raise validation('%s is invalid' % arn)
    account_id, role = parsed
    world = ctx.world
    account = world.accounts.get(account_id)
    if account is None or role not in account.roles or account.status != 'ACTIVE':
        raise AwsError('AccessDenied', 'User: %s is not authorized to perform: sts:AssumeRole '
                       'on resource: %s' % (ctx.cred.arn(), arn), 403)
    cred = Credential(world.new_key_id('ASIA'), world.new_secret(), account_id, role=role,
                      session_name=session_name,
                      token='FwoGZXIvYXdzE' + world.new_secret() * 8,
                      expiration=world.clock.now() + duration)
    world.credentials[cred.access_key_id] = cred
    return ('<AssumedRoleUser>'
            + el('AssumedRoleId', '%s:%s' % (_role_id(account_id, role), session_name))
            + el('Arn', cred.arn()) + '</AssumedRoleUser><Credentials>'
            + el('AccessKeyId', cred.access_key_id) + el('SecretAccessKey', cred.secret)
            + el('SessionToken', cred.token) + el('Expiration', iso(cred.expiration))
            + '</Credentials>')


def _new_session(world, account_id, role, session_name, duration):
    cred = Credential(world.new_key_id('ASIA'), world.new_secret(), account_id, role=role,
                      session_name=session_name,
                      token='FwoGZXIvYXdzE' + world.new_secret() * 8,
                      expiration=world.clock.now() + duration)
    world.credentials[cred.access_key_id] = cred
    return cred


def assume_role_with_web_identity(ctx):
    """Unsigned: the OIDC token is the proof (the scenario's web_identity_tokens)."""
    arn = require(ctx.params, 'RoleArn')
    session_name = require(ctx.params, 'RoleSessionName')
    token = require(ctx.params, 'WebIdentityToken')
    if not _SESSION_NAME_RE.match(session_name):
        raise validation("1 validation error detected: Value '%s' at 'roleSessionName' failed "
                         'to satisfy constraint: Member must satisfy regular expression '
                         r'pattern: [\w+=,.@-]*' % session_name)
    if not 4 <= len(token) <= 20000:
        raise validation("1 validation error detected: Value at 'webIdentityToken' failed to "
                         'satisfy constraint: Member must have length between 4 and 20000')
    duration = int_param(ctx.params, 'DurationSeconds', 3600, 900, 43200)
    parsed = parse_role_arn(arn)
    if parsed is None:
        raise validation('%s is invalid' % arn)
    world = ctx.world
    if token not in world.web_identity_tokens:
        raise AwsError('InvalidIdentityToken', 'Couldn\'t verify the web identity token', 400)
    account_id, role = parsed
    account = world.accounts.get(account_id)
    if account is None or role not in account.roles or account.status != 'ACTIVE':
        raise AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
                       403)
    cred = _new_session(world, account_id, role, session_name, duration)
    return ('<SubjectFromWebIdentityToken>system:serviceaccount:rotator:rotator'
            '</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience>'
            '<AssumedRoleUser>'
            + el('AssumedRoleId', '%s:%s' % (_role_id(account_id, role), session_name))
            + el('Arn', cred.arn()) + '</AssumedRoleUser><Credentials>'
            + el('AccessKeyId', cred.access_key_id) + el('SecretAccessKey', cred.secret)
            + el('SessionToken', cred.token) + el('Expiration', iso(cred.expiration))
            + '</Credentials><Provider>oidc.eks.us-east-1.amazonaws.com</Provider>')


def get_caller_identity(ctx):
    cred = ctx.cred
    if cred.role:
        user_id = '%s:%s' % (_role_id(cred.account, cred.role), cred.session_name)
    else:
        user = ctx.world.accounts[cred.account].users.get(cred.user)
        user_id = user.user_id if user else 'AIDA' + base64.b32encode(
            cred.access_key_id.encode()[-11:]).decode()[:17]
    return el('UserId', user_id) + el('Account', cred.account) + el('Arn', cred.arn())


ACTIONS = {
    'AssumeRole': assume_role,
    'AssumeRoleWithWebIdentity': assume_role_with_web_identity,
    'GetCallerIdentity': get_caller_identity,
}
