"""SigV4 (header form) verification: recompute the signature of a received request.

Only what the fake needs: the Authorization header form with AWS4-HMAC-SHA256.
Derived signing keys are cached, so a verification costs two SHA-256 and one
HMAC on the hot path.
"""
import hashlib
import hmac
from urllib.parse import quote, unquote

ALGORITHM = 'AWS4-HMAC-SHA256'
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()


class AuthHeader:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""
    __slots__ = ('access_key', 'date', 'region', 'service', 'terminator',
                 'signed_headers', 'signature')


def parse_authorization(value):
    """Parse an Authorization header; return AuthHeader or None if malformed."""
    algo, _, rest = value.strip().partition(' ')
    if algo != ALGORITHM:
        return None
    parts = {}
    for item in rest.split(','):
        k, sep, v = item.strip().partition('=')
        if not sep:
            return None
        parts[k] = v
    try:
        cred, signed, sig = parts['Credential'], parts['SignedHeaders'], parts['Signature']
    except KeyError:
        return None
    scope = cred.split('/')
    if len(scope) != 5 or not all(scope):
        return None
    auth = AuthHeader()
    (auth.access_key, auth.date, auth.region, auth.service, auth.terminator) = scope
    auth.signed_headers = signed.split(';')
    auth.signature = sig.lower()
    return auth


_key_cache = {}


def signing_key(secret, date, region, service):
    """kSigning for (secret, date, region, service), cached."""
    cache_key = (secret, date, region, service)
    key = _key_cache.get(cache_key)
    if key is None:
        if len(_key_cache) > 50000:
            _key_cache.clear()
        key = ('AWS4' + secret).encode()
        for part in (date, region, service, 'aws4_request'):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        _key_cache[cache_key] = key
    return key


def canonical_uri(raw_path):
    """Normalised path, each segment URI-encoded again on top of the wire encoding."""
    if not raw_path or raw_path == '/':
        return '/'
    out = []
    for seg in raw_path.split('/'):
        if seg in ('', '.'):
            continue
        if seg == '..':
            if out:
                out.pop()
            continue
        out.append(seg)
    path = '/' + '/'.join(out)
    if raw_path.endswith('/') and path != '/':
        path += '/'
    return quote(path, safe='/~')


def canonical_query(raw_query):
    if not raw_query:
        return ''
    pairs = []
    for item in raw_query.split('&'):
        if not item:
            continue
        k, _, v = item.partition('=')
        pairs.append((quote(unquote(k), safe='-_.~'), quote(unquote(v), safe='-_.~')))
    pairs.sort()
    return '&'.join(k + '=' + v for k, v in pairs)


def canonical_headers(headers, names):
    """headers: dict lower-name -> list of raw values. None if a signed header is absent."""
    lines = []
    for name in names:
        values = headers.get(name)
        if values is None:
            return None
        lines.append(name + ':' + ','.join(' '.join(v.split()) for v in values) + '\n')
    return ''.join(lines)


def string_to_sign(method, raw_path, raw_query, headers, body, auth, amz_date):
    """The string to sign, or None if a signed header is missing."""
    canon_headers = canonical_headers(headers, auth.signed_headers)
    if canon_headers is None:
        return None
    payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    creq = '\n'.join((method, canonical_uri(raw_path), canonical_query(raw_query),
                      canon_headers, ';'.join(auth.signed_headers), payload_hash))
    scope = '/'.join((auth.date, auth.region, auth.service, auth.terminator))
    return '\n'.join((ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode('utf-8', 'surrogateescape')).hexdigest()))


def verify(method, raw_path, raw_query, headers, body, auth, amz_date, secret):
    """True if auth.signature is the right signature of this request for secret."""
    sts = string_to_sign(method, raw_path, raw_query, headers, body, auth, amz_date)
    if sts is None:
        return False
    key = signing_key(secret, auth.date, auth.region, auth.service)
    expected = hmac.new(key, sts.encode('utf-8', 'surrogateescape'), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, auth.signature)
