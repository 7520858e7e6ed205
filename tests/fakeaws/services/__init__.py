"""One module per AWS service. Each exposes ACTIONS: {action name: handler(ctx)}.

Query handlers return the inner XML of <ActionResult> (or None for no output);
JSON handlers return a dict. Failures raise awsproto.AwsError.
"""
import base64
import re

from awsproto import AwsError


class Ctx:
    """What a handler gets: the app, the world, the caller and the request parameters."""
    __slots__ = ('app', 'world', 'cred', 'region', 'service', 'action', 'params')

    def __init__(self, app, cred, region, service, action, params):
        self.app = app
        self.world = app.world
        self.cred = cred
        self.region = region
        self.service = service
        self.action = action
        self.params = params

    def account(self):
        return self.world.accounts[self.cred.account]


def require(params, name):
    value = params.get(name)
    if value is None or value == '':
        raise AwsError('ValidationError', '1 validation error detected: Value null at '
                       "'%s' failed to satisfy constraint: Member must not be null"
                       % (name[0].lower() + name[1:]))
    return value


def validation(message):
    return AwsError('ValidationError', message)


def int_param(params, name, default, low, high, code='ValidationError'):
    raw = params.get(name)
    if raw is None or raw == '':
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise AwsError(code, "Value '%s' at '%s' is not a number" % (raw, name)) from None
    if not low <= value <= high:
        raise AwsError(code, "1 validation error detected: Value '%s' at '%s' failed to "
                       'satisfy constraint: Member must have value between %d and %d'
                       % (value, name[0].lower() + name[1:], low, high))
    return value


def query_list(params, prefix):
    """Values of prefix.member.N, in N order."""
    out = []
    n = 1
    while True:
        v = params.get('%s.member.%d' % (prefix, n))
        if v is None:
            return out
        out.append(v)
        n += 1


def encode_marker(kind, offset, empty=False):
    text = '%s:%d%s' % (kind, offset, ':e' if empty else '')
    return base64.b64encode(text.encode()).decode()


def paginate(world, kind, marker, size, total, code='ValidationError'):
    """(start, stop, next marker or None) for one page.

    The scenario can make pages harder to follow, as real services may:
    "max_page_size" caps every page below what the client asked for, and
    "empty_pages" puts an empty page that still carries a token before every
    page after the first."""
    start, pending_empty = decode_marker(kind, marker, code, with_flag=True)
    if world.empty_pages and start > 0 and not pending_empty:
        return start, start, encode_marker(kind, start, empty=True)
    if world.max_page_size:
        size = min(size, world.max_page_size)
    stop = min(start + size, total)
    return start, stop, encode_marker(kind, stop) if stop < total else None


def decode_marker(kind, marker, code='ValidationError', with_flag=False):
    """Offset from an opaque marker made by encode_marker (0 when absent);
    with @with_flag, (offset, whether an empty page was served before it)."""
    if marker is None or marker == '':
        return (0, False) if with_flag else 0
    try:
        k, _, rest = base64.b64decode(marker, validate=True).decode().partition(':')
        n, _, flag = rest.partition(':')
        if k == kind and n.isdigit() and flag in ('', 'e'):
            return (int(n), flag == 'e') if with_flag else int(n)
    except (ValueError, UnicodeDecodeError):
        pass
    raise AwsError(code, 'Invalid pagination token')


NAME_RE = re.compile(r'^[\w+=,.@-]+$')
