"""SES: v1 SendRawEmail and GetSendQuota (Query, 2010-12-01) and SESv2 SendEmail
raw (REST-JSON). The daily quota (scenario "ses_quota") is enforced as SES does:
past Max24HourSend in the last 24 hours of the fake clock, a send answers
Throttling "Daily message quota exceeded.".

Accepted messages are recorded in app.emails for GET /_fake/emails.
"""
import base64
import binascii
import email.parser
import email.policy
import email.utils
import time
import uuid

from awsproto import AwsError, el
from services import query_list, require

MAX_V1_BYTES = 10 * 1024 * 1024
MAX_V2_BYTES = 40 * 1024 * 1024
MAX_RECIPIENTS = 50
_header_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def _verified(world, address):
    address = address.lower()
    domain = address.rpartition('@')[2]
    return address in world.ses_verified or domain in world.ses_verified


def _addresses(values):
    return [addr for _, addr in email.utils.getaddresses([v for v in values if v]) if addr]


def _sent_last_24_hours(world):
    now = world.clock.now()
    world.ses_sent = [t for t in world.ses_sent if t > now - 86400]
    return len(world.ses_sent)


def _send(ctx, raw, source, destinations, config_set, v2=False):
    """Common checks and recording; returns the MessageId."""
    rejected = 'MessageRejected'
    world = ctx.world
    if _sent_last_24_hours(world) >= world.ses_max_24_hour_send:
        ctx.app.stats.throttled += 1
        if v2:
            raise AwsError('LimitExceededException', 'Daily message quota exceeded.', 400)
        raise AwsError('Throttling', 'Daily message quota exceeded.', 400)
    headers = _header_parser.parsebytes(raw)
    from_header = _addresses(headers.get_all('From') or [])
    source = email.utils.parseaddr(source)[1] if source else None
    senders = ([source] if source else []) + from_header
    if not senders:
        raise AwsError(rejected, 'Missing required header \'From\'.')
    for sender in senders:
        if not _verified(world, sender):
            raise AwsError(rejected, 'Email address is not verified. The following identities '
                           'failed the check in region %s: %s' % (ctx.region.upper(), sender))
    if not destinations:
        destinations = _addresses((headers.get_all('To') or []) + (headers.get_all('Cc') or [])
                                  + (headers.get_all('Bcc') or []))
    if not destinations:
        raise AwsError(rejected, 'Missing final \'@domain\'')
    if len(destinations) > MAX_RECIPIENTS:
        raise AwsError(rejected, 'Recipient count exceeds 50.')
    if config_set and world.ses_configuration_sets is not None \
            and config_set not in world.ses_configuration_sets:
        raise AwsError('NotFoundException' if v2 else 'ConfigurationSetDoesNotExist',
                       'Configuration set <%s> does not exist.' % config_set,
                       404 if v2 else 400)
    world.ses_sent.append(world.clock.now())
    ctx.app.emails.append({'source': source or from_header[0],
                           'destinations': list(destinations),
                           'raw': raw.decode('utf-8', 'replace'),
                           'configuration_set': config_set or None,
                           'received_monotonic': time.monotonic()})
    return '0100%012x-%s-000000' % (int(world.clock.now() * 1000), uuid.uuid4())


def _b64(data, code):
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise AwsError(code, 'Invalid base64 in RawMessage.Data') from None


def send_raw_email(ctx):
    params = ctx.params
    data = require(params, 'RawMessage.Data')
    if len(data) > MAX_V1_BYTES:
        raise AwsError('MessageRejected', 'Message length is more than 10485760 bytes long.')
    raw = _b64(data, 'InvalidParameterValue')
    msg_id = _send(ctx, raw, params.get('Source'), query_list(params, 'Destinations'),
                   params.get('ConfigurationSetName'))
    return el('MessageId', msg_id)


def send_email_v2(ctx):
    """POST /v2/email/outbound-emails (raw content only)."""
    body = ctx.params
    content = body.get('Content') if isinstance(body, dict) else None
    raw_data = ((content or {}).get('Raw') or {}).get('Data')
    if not isinstance(raw_data, str):
        raise AwsError('BadRequestException', 'The fake supports raw content only '
                       '(Content.Raw.Data).')
    if len(raw_data) > MAX_V2_BYTES:
        raise AwsError('MessageRejected', 'Message length is more than 41943040 bytes long.')
    raw = _b64(raw_data, 'BadRequestException')
    dest = body.get('Destination') or {}
    destinations = ((dest.get('ToAddresses') or []) + (dest.get('CcAddresses') or [])
                    + (dest.get('BccAddresses') or []))
    msg_id = _send(ctx, raw, body.get('FromEmailAddress'), destinations,
                   body.get('ConfigurationSetName'), v2=True)
    return {'MessageId': msg_id}


def get_send_quota(ctx):
    world = ctx.world
    return (el('Max24HourSend', '%.1f' % world.ses_max_24_hour_send)
            + el('MaxSendRate', '%.1f' % world.ses_max_send_rate)
            + el('SentLast24Hours', '%.1f' % _sent_last_24_hours(world)))


ACTIONS = {
    'GetSendQuota': get_send_quota,
    'SendRawEmail': send_raw_email,
}
