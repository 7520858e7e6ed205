"""IAM (Query, 2010-05-08): users, tags and access keys of the caller's account."""
import base64
import re
import time

from awsproto import AwsError, el, members
from scenario import Key, iso
from services import (decode_marker, encode_marker, paginate, int_param, query_list, require,
                      validation, NAME_RE)

MAX_KEYS = 2
MAX_TAGS = 50
_TAG_RE = re.compile(r'^[\w\s.:/=+\-@]*$')


def _no_user(name):
    return AwsError('NoSuchEntity', 'The user with name %s cannot be found.' % name, 404)


def _user(ctx, name=None):
    if name is None:
        name = ctx.params.get('UserName')
    if not name:
        if ctx.cred.user and not ctx.cred.is_session:
            name = ctx.cred.user
        else:
            raise validation('Must specify userName when calling with non-User credentials')
    user = ctx.account().users.get(name)
    if user is None:
        raise _no_user(name)
    return user


def _page(ctx, kind, items):
    """(page, tail XML with IsTruncated/Marker) for Marker/MaxItems pagination."""
    size = int_param(ctx.params, 'MaxItems', 100, 1, 1000)
    start, stop, marker = paginate(ctx.world, kind, ctx.params.get('Marker'), size, len(items))
    page = items[start:stop]
    if marker is not None:
        return page, '<IsTruncated>true</IsTruncated>' + el('Marker', marker)
    return page, '<IsTruncated>false</IsTruncated>'


def _user_xml(user):
    return (el('Path', user.path) + el('UserName', user.name) + el('UserId', user.user_id)
            + el('Arn', user.arn()) + el('CreateDate', iso(user.create_date)))


def _key_for(ctx, user):
    kid = require(ctx.params, 'AccessKeyId')
    for key in user.keys:
        if key.id == kid:
            return key
    raise AwsError('NoSuchEntity', 'The Access Key with id %s cannot be found.' % kid, 404)


def list_users(ctx):
    prefix = ctx.params.get('PathPrefix') or '/'
    users = [u for u in ctx.account().users.values() if u.path.startswith(prefix)]
    page, tail = _page(ctx, 'users', users)
    return members('Users', [_user_xml(u) for u in page]) + tail


def list_user_tags(ctx):
    user = _user(ctx, require(ctx.params, 'UserName'))
    page, tail = _page(ctx, 'tags', list(user.tags.items()))
    return members('Tags', [el('Key', k) + el('Value', v) for k, v in page]) + tail


def list_access_keys(ctx):
    user = _user(ctx)
    page, tail = _page(ctx, 'keys', user.keys)
    return members('AccessKeyMetadata', [
        el('UserName', user.name) + el('AccessKeyId', k.id) + el('Status', k.status)
        + el('CreateDate', iso(k.create_date)) for k in page]) + tail


def create_access_key(ctx):
    user = _user(ctx)
    if len(user.keys) >= MAX_KEYS:
        raise AwsError('LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: %d'
                       % MAX_KEYS, 409)
    world = ctx.world
    key = Key()
    key.id = world.new_key_id('AKIA')
    key.secret = world.new_secret()
    key.status = 'Active'
    key.create_date = world.clock.now()
    key.last_used_date = None
    key.last_used_service = key.last_used_region = None
    world.add_key(user, key)
    return ('<AccessKey>' + el('UserName', user.name) + el('AccessKeyId', key.id)
            + el('Status', key.status) + el('SecretAccessKey', key.secret)
            + el('CreateDate', iso(key.create_date)) + '</AccessKey>')


def update_access_key(ctx):
    status = require(ctx.params, 'Status')
    if status not in ('Active', 'Inactive'):
        raise validation("1 validation error detected: Value '%s' at 'status' failed to "
                         'satisfy constraint: Member must satisfy enum value set: '
                         '[Active, Inactive]' % status)
    key = _key_for(ctx, _user(ctx))
    key.status = status
    return None


def delete_access_key(ctx):
    key = _key_for(ctx, _user(ctx))
    ctx.world.remove_key(key)
    return None


def get_access_key_last_used(ctx):
    kid = require(ctx.params, 'AccessKeyId')
    key = ctx.world.keys.get(kid)
    if key is None or key.user.account.id != ctx.cred.account:
        raise AwsError('NoSuchEntity', 'The Access Key with id %s cannot be found.' % kid, 404)
    if key.last_used_date is None:
        used = el('ServiceName', 'N/A') + el('Region', 'N/A')
    else:
        used = (el('LastUsedDate', iso(key.last_used_date))
                + el('ServiceName', key.last_used_service) + el('Region', key.last_used_region))
    return el('UserName', key.user.name) + '<AccessKeyLastUsed>' + used + '</AccessKeyLastUsed>'


# The credential report (GenerateCredentialReport / GetCredentialReport), in
# AWS's format: the columns below, one line per user plus "<root_account>",
# dates as 2024-01-15T10:20:30+00:00, "N/A" where nothing applies. A report is
# a snapshot taken when its generation starts; it is ready after the world's
# credential_report_delay seconds (fake clock) and reused for 4 hours.
REPORT_COLUMNS = (
    'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,'
    'password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,'
    'access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,'
    'access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,'
    'access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,'
    'cert_1_last_rotated,cert_2_active,cert_2_last_rotated')
REPORT_REUSE_SECONDS = 4 * 3600


def _report_date(t):
    return time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(t))


def _report_key(key):
    if key is None:
        return ['false', 'N/A', 'N/A', 'N/A', 'N/A']
    used = key.last_used_date is not None
    return ['true' if key.status == 'Active' else 'false', _report_date(key.create_date),
            _report_date(key.last_used_date) if used else 'N/A',
            key.last_used_region if used else 'N/A', key.last_used_service if used else 'N/A']


def credential_report_csv(acc):
    lines = [REPORT_COLUMNS,
             ','.join(['<root_account>', 'arn:aws:iam::%s:root' % acc.id, _report_date(acc.joined),
                       'not_supported', 'no_information', 'not_supported', 'not_supported',
                       'true'] + _report_key(None) * 2 + ['false', 'N/A', 'false', 'N/A'])]
    for user in acc.users.values():
        keys = sorted(user.keys, key=lambda k: k.create_date)[:2]
        keys += [None] * (2 - len(keys))
        lines.append(','.join([user.name, user.arn(), _report_date(user.create_date),
                               'false', 'N/A', 'N/A', 'N/A', 'false']
                              + _report_key(keys[0]) + _report_key(keys[1])
                              + ['false', 'N/A', 'false', 'N/A']))
    return '\n'.join(lines)


def generate_credential_report(ctx):
    acc = ctx.account()
    now = ctx.world.clock.now()
    delay = ctx.world.credential_report_delay
    rep = acc.credential_report
    if rep is not None and now - rep[0] < REPORT_REUSE_SECONDS:
        if now - rep[0] >= delay:
            return el('State', 'COMPLETE')
        return el('State', 'INPROGRESS')
    acc.credential_report = (now, credential_report_csv(acc))
    if delay <= 0:
        return el('State', 'COMPLETE')
    return (el('State', 'STARTED')
            + el('Description', 'No report exists. Starting a new report generation task'))


def get_credential_report(ctx):
    rep = ctx.account().credential_report
    now = ctx.world.clock.now()
    if rep is None:
        raise AwsError('ReportNotPresent', 'Credential report not present', 410)
    if now - rep[0] < ctx.world.credential_report_delay:
        raise AwsError('ReportInProgress', 'Credential report is being generated', 404)
    if now - rep[0] >= REPORT_REUSE_SECONDS:
        raise AwsError('ReportExpired', 'Credential report has expired', 410)
    return (el('Content', base64.b64encode(rep[1].encode()).decode())
            + el('ReportFormat', 'text/csv') + el('GeneratedTime', iso(rep[0])))


def _tags_param(ctx):
    tags = {}
    n = 1
    while True:
        k = ctx.params.get('Tags.member.%d.Key' % n)
        if k is None:
            return tags
        v = ctx.params.get('Tags.member.%d.Value' % n, '')
        if not 1 <= len(k) <= 128 or len(v) > 256 or not _TAG_RE.match(k) or not _TAG_RE.match(v):
            raise AwsError('InvalidInput', 'Invalid tag: %s' % k)
        tags[k] = v
        n += 1


def create_user(ctx):
    name = require(ctx.params, 'UserName')
    if len(name) > 64 or not NAME_RE.match(name):
        raise validation("1 validation error detected: Value '%s' at 'userName' failed to "
                         'satisfy constraint: Member must satisfy regular expression pattern: '
                         r'[\w+=,.@-]+' % name)
    path = ctx.params.get('Path') or '/'
    if not (path.startswith('/') and path.endswith('/')):
        raise validation("1 validation error detected: Value '%s' at 'path' failed to "
                         'satisfy constraint: Member must satisfy regular expression pattern: '
                         r'(\u002F)|(\u002F[\u0021-\u007E]+\u002F)' % path)
    acc = ctx.account()
    if name in acc.users:
        raise AwsError('EntityAlreadyExists', 'User with name %s already exists.' % name, 409)
    tags = _tags_param(ctx)
    if len(tags) > MAX_TAGS:
        raise AwsError('LimitExceeded', 'Cannot exceed quota for TagsPerUser: 50', 409)
    user = ctx.world.new_user(acc, name, path, tags, ctx.world.clock.now())
    xml = _user_xml(user)
    if tags:
        xml += members('Tags', [el('Key', k) + el('Value', v) for k, v in tags.items()])
    return '<User>' + xml + '</User>'


def tag_user(ctx):
    user = _user(ctx, require(ctx.params, 'UserName'))
    tags = _tags_param(ctx)
    if not tags:
        raise validation("1 validation error detected: Value null at 'tags' failed to "
                         'satisfy constraint: Member must not be null')
    merged = dict(user.tags)
    merged.update(tags)
    if len(merged) > MAX_TAGS:
        raise AwsError('LimitExceeded', 'Cannot exceed quota for TagsPerUser: 50', 409)
    user.tags = merged
    return None


def untag_user(ctx):
    user = _user(ctx, require(ctx.params, 'UserName'))
    for k in query_list(ctx.params, 'TagKeys'):
        user.tags.pop(k, None)
    return None


ACTIONS = {
    'ListUsers': list_users,
    'ListUserTags': list_user_tags,
    'ListAccessKeys': list_access_keys,
    'CreateAccessKey': create_access_key,
    'UpdateAccessKey': update_access_key,
    'DeleteAccessKey': delete_access_key,
    'GetAccessKeyLastUsed': get_access_key_last_used,
    'CreateUser': create_user,
    'TagUser': tag_user,
    'UntagUser': untag_user,
    'GenerateCredentialReport': generate_credential_report,
    'GetCredentialReport': get_credential_report,
}
