"""The request pipeline: authenticate, account, faults, rate limit, dispatch, record.

The server hands every parsed HTTP request to App.handle and gets an Outcome
back: a Response plus how to deliver it (after a delay, never, or by a reset).
"""
import calendar
import json
import time
import uuid
from urllib.parse import parse_qsl

import awsproto
from awsproto import JSON, QUERY, REST_JSON, AwsError
import control
from faults import Faults, RateLimiter
from scenario import World
import sigv4verify
from services import Ctx, iam, organizations, ses, sns, sts

SKEW_SECONDS = 300
BROKEN_KINDS = ('malformed', 'truncate')
SERVICES = {'sts': sts, 'iam': iam, 'organizations': organizations, 'ses': ses, 'sns': sns}

# (code, HTTP status) per protocol family for authentication failures.
AUTH_ERRORS = {
    'missing': (('MissingAuthenticationToken', 403), ('MissingAuthenticationTokenException', 403)),
    'incomplete': (('IncompleteSignature', 400), ('IncompleteSignatureException', 400)),
    'unknown_key': (('InvalidClientTokenId', 403), ('UnrecognizedClientException', 400)),
    'signature': (('SignatureDoesNotMatch', 403), ('InvalidSignatureException', 400)),
    'expired': (('ExpiredToken', 403), ('ExpiredTokenException', 400)),
}
THROTTLE_ERRORS = {
    'iam': ('Throttling', 400), 'sts': ('Throttling', 400),
    'organizations': ('TooManyRequestsException', 400), 'ses': ('Throttling', 400),
    'sesv2': ('TooManyRequestsException', 429), 'sns': ('Throttled', 429),
}
SIGNATURE_MISMATCH = ('The request signature we calculated does not match the signature you '
                      'provided. Check your AWS Secret Access Key and signing method. Consult '
                      'the service documentation for details.')


class Request:
    """One parsed HTTP request. headers: lower-case name -> list of values."""
    __slots__ = ('method', 'path', 'query', 'headers', 'body')

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    def header(self, name):
        values = self.headers.get(name)
        return values[0] if values else None


class Outcome:
    """How to answer: response after `delay` seconds, or kind 'hang' / 'reset'."""
    __slots__ = ('response', 'delay', 'kind', 'aws', 'bloat')

    def __init__(self, response, delay=0.0, kind=None, aws=False, bloat=None):
        self.response = response
        self.delay = delay
        self.kind = kind
        self.aws = aws              # counts towards in-flight statistics
        self.bloat = bloat          # kind 'bloat': (size, trickle_ms)


def _auth_error(kind, protocol, message):
    code, status = AUTH_ERRORS[kind][0 if protocol == QUERY else 1]
    return AwsError(code, message, status)


_date_cache = [None, 0.0]


def _amz_date_epoch(value):
    if _date_cache[0] == value:
        return _date_cache[1]
    try:
        t = calendar.timegm((int(value[0:4]), int(value[4:6]), int(value[6:8]),
                             int(value[9:11]), int(value[11:13]), int(value[13:15]), 0, 0, 0))
    except (ValueError, IndexError):
        return None
    if len(value) != 16 or value[8] != 'T' or value[15] != 'Z':
        return None
    _date_cache[0], _date_cache[1] = value, t
    return t


class Stats:
    def __init__(self):
        self.requests = 0
        self.throttled = 0
        self.in_flight = 0
        self.max_in_flight = 0
        # TCP connections accepted (benchmarks), and of them those whose first
        # request was to the control API (/_fake/...) or an AWS request; a
        # connection that has sent no whole request yet is in neither.
        self.connections_opened = 0
        self.control_connections = 0
        self.api_connections = 0
        self.by_action = {}
        self.by_account = {}
        self.log = []

    def to_json(self):
        return {'requests': self.requests, 'throttled': self.throttled,
                'in_flight': self.in_flight, 'max_in_flight': self.max_in_flight,
                'connections_opened': self.connections_opened,
                'control_connections': self.control_connections,
                'api_connections': self.api_connections,
                'by_action': dict(self.by_action), 'by_account': dict(self.by_account)}


class App:
    def __init__(self, scenario=None, latency_ms=0, iam_rps_per_account=0):
        self.latency = latency_ms / 1000.0
        self.iam_rps = iam_rps_per_account
        self.load(scenario)

    # -- state ----------------------------------------------------------------

    def load(self, scenario):
        """Replace everything with this scenario (dict or None for the default)."""
        world = World(scenario)
        self.scenario = scenario
        self.world = world
        self.reset_records()

    def reset(self):
        self.load(self.scenario)

    def reset_records(self):
        self.emails = []
        self.sns_messages = []
        in_flight = getattr(self, 'stats', None) and self.stats.in_flight
        self.stats = Stats()
        self.stats.in_flight = in_flight or 0
        self.faults = Faults()
        self.limiter = RateLimiter(self.iam_rps) if self.iam_rps > 0 else None

    def request_done(self):
        self.stats.in_flight -= 1

    def connection_opened(self):
        """Counts a new TCP connection; answers the Stats it was counted in."""
        self.stats.connections_opened += 1
        return self.stats

    def connection_first_request(self, counted_in, req):
        """Sorts a connection by its first request, in the Stats that counted
        its opening (called before the request is handled: a load or reset
        replaces the Stats, and a connection opened before it counts in
        neither the old nor the new one's sorted counts)."""
        if counted_in is not self.stats:
            return
        if req.path.startswith('/_fake/'):
            self.stats.control_connections += 1
        else:
            self.stats.api_connections += 1

    # -- the pipeline ---------------------------------------------------------

    def handle(self, req):
        if req.path.startswith('/_fake/'):
            return Outcome(control.handle(self, req))
        stats = self.stats
        stats.in_flight += 1
        if stats.in_flight > stats.max_in_flight:
            stats.max_in_flight = stats.in_flight
        request_id = str(uuid.uuid4())
        protocol, service, action, account = self._classify(req)
        kind = None
        response = None
        bloat = None
        broken = None               # 'malformed' / 'truncate': the answer is damaged
        delay = self.latency
        try:
            params = self._params(req, protocol)
            if protocol == QUERY:
                action = params.get('Action')
            if (protocol == QUERY and action in sts.UNSIGNED_ACTIONS
                    and req.header('authorization') is None):
                auth, cred = sts.unsigned_caller(params)
            else:
                auth, cred = self._authenticate(req, protocol)
            service = auth.service
            mod = SERVICES[service]
            account = cred.account if mod is not sts else sts.request_account(params, cred)
            stats.by_account[account] = stats.by_account.get(account, 0) + 1
            rule = self.faults.evaluate(service, action, account)
            if rule is not None:
                if rule.kind == 'latency':
                    delay += rule.delay()
                    rule = None
                elif rule.kind in BROKEN_KINDS:
                    broken = rule.kind
                    if rule.when == 'after':
                        response = self._dispatch(req, protocol, mod, service, action, auth,
                                                  cred, params, account, request_id)
                    else:
                        raise AwsError('ServiceUnavailable', 'Injected fault: %s' % broken, 503)
                elif rule.kind in ('error', 'expired') and rule.when == 'after':
                    # The call takes effect, then the answer is an error
                    # (a 5xx after IAM committed: "may have been processed").
                    self._dispatch(req, protocol, mod, service, action, auth, cred, params,
                                   account, request_id)
                    self._apply_rule(rule, service, protocol)
                else:
                    self._apply_rule(rule, service, protocol)   # raises: throttle / error
                    kind = rule.kind                            # hang / reset / bloat
                    if kind == 'bloat':
                        bloat = (rule.size, rule.trickle_ms)
            if response is None and (kind is None or rule.when == 'after'):
                response = self._dispatch(req, protocol, mod, service, action, auth, cred,
                                          params, account, request_id)
        except AwsError as err:
            response = awsproto.error_response(protocol, service, err, request_id)
        if broken == 'malformed':
            response.body = response.body[:len(response.body) // 2]
        elif broken == 'truncate':
            kind = 'truncate'
        stats.requests += 1
        stats.by_action[action] = stats.by_action.get(action, 0) + 1
        stats.log.append({'service': service, 'action': action, 'account': account,
                          'status': 0 if kind else response.status,
                          'code': broken or kind or response.code})
        return Outcome(response, delay, kind, aws=True, bloat=bloat)

    def _classify(self, req):
        """(protocol, service, action, account) as far as known before authentication."""
        target = req.header('x-amz-target')
        if target is not None:
            return JSON, 'organizations', target.rpartition('.')[2], None
        if req.path.startswith('/v2/'):
            return REST_JSON, 'ses', 'SendEmail', None
        return QUERY, None, None, None

    def _dispatch(self, req, protocol, mod, service, action, auth, cred, params, account,
                  request_id):
        if service == 'iam' and self.limiter is not None and not self.limiter.take(account):
            self.stats.throttled += 1
            raise AwsError('Throttling', 'Rate exceeded', 400)
        handler = self._handler(mod, protocol, req, action)
        if cred is not None and cred.key is not None:
            key = cred.key
            key.last_used_date = self.world.clock.now()
            key.last_used_service, key.last_used_region = service, auth.region
        result = handler(Ctx(self, cred, auth.region, service, action, params))
        if protocol == QUERY:
            return awsproto.query_ok(service, action, result, request_id)
        return awsproto.json_ok(result, request_id, awsproto.JSON11_TYPE
                                if protocol == JSON else awsproto.JSON_TYPE)

    def _params(self, req, protocol):
        """Request parameters: the form (Query) or the JSON object (JSON, REST-JSON)."""
        if protocol == QUERY:
            text = req.body.decode('utf-8', 'replace') if req.method == 'POST' else req.query
            return dict(parse_qsl(text, keep_blank_values=True))
        try:
            params = json.loads(req.body or b'{}')
        except ValueError:
            raise AwsError('SerializationException', 'Malformed JSON body') from None
        if not isinstance(params, dict):
            raise AwsError('SerializationException', 'The body must be a JSON object')
        return params

    def _handler(self, mod, protocol, req, action):
        if mod is ses and protocol == REST_JSON:
            if req.method == 'POST' and req.path.rstrip('/') == '/v2/email/outbound-emails':
                return ses.send_email_v2
            raise AwsError('NotFoundException', 'The fake serves only POST '
                           '/v2/email/outbound-emails of SESv2', 404)
        if not action:
            raise AwsError('MissingAction', 'The request must contain the parameter Action.')
        handler = mod.ACTIONS.get(action)
        if handler is None:
            if protocol == JSON:
                raise AwsError('UnknownOperationException', 'Unknown operation %s' % action)
            raise AwsError('InvalidAction', 'The action %s is not valid for this web service.'
                           % action)
        return handler

    def _apply_rule(self, rule, service, protocol):
        if rule.kind == 'throttle':
            self.stats.throttled += 1
            code, status = THROTTLE_ERRORS['sesv2' if protocol == REST_JSON else service]
            raise AwsError(code, 'Rate exceeded', status)
        if rule.kind == 'error':
            raise AwsError(rule.code, rule.message, rule.status)
        if rule.kind == 'expired':
            raise _auth_error('expired', protocol,
                              'The security token included in the request is expired')

    def _authenticate(self, req, protocol):
        """(AuthHeader, Credential) or AwsError with the protocol's auth error."""
        value = req.header('authorization')
        if value is None:
            raise _auth_error('missing', protocol, 'Request is missing Authentication Token')
        auth = sigv4verify.parse_authorization(value)
        if auth is None or auth.terminator != 'aws4_request':
            raise _auth_error('incomplete', protocol, "Authorization header requires "
                              "'Credential', 'Signature' and 'SignedHeaders' parameters.")
        if auth.service not in SERVICES:
            raise AwsError('InvalidAction', 'The fake does not serve the service %r'
                           % auth.service)
        if auth.service != 'organizations' and protocol == JSON:
            raise AwsError('UnknownOperationException', 'X-Amz-Target sent to %s' % auth.service)
        if protocol == QUERY and auth.service == 'organizations':
            raise AwsError('UnknownOperationException', 'Organizations needs X-Amz-Target', 400)
        cred = self.world.lookup_credential(auth.access_key)
        invalid = 'The security token included in the request is invalid.'
        if cred is None:
            raise _auth_error('unknown_key', protocol, invalid)
        token = req.header('x-amz-security-token')
        if cred.is_session:
            if token != cred.token:
                raise _auth_error('unknown_key', protocol, invalid)
            if 'x-amz-security-token' not in auth.signed_headers:
                raise _auth_error('signature', protocol,
                                  "'x-amz-security-token' must be a signed header.")
        elif token is not None:
            raise _auth_error('unknown_key', protocol, invalid)
        amz_date = req.header('x-amz-date')
        if amz_date is None:
            raise _auth_error('incomplete', protocol, "Authorization header requires existence "
                              "of either a 'X-Amz-Date' or a 'Date' header.")
        for name in ('host', 'x-amz-date'):
            if name not in auth.signed_headers:
                raise _auth_error('signature', protocol, "'%s' must be a signed header." % name)
        signed_at = _amz_date_epoch(amz_date)
        if signed_at is None or amz_date[:8] != auth.date:
            raise _auth_error('signature', protocol, 'Date in Credential scope does not match '
                              'YYYYMMDD from ISO-8601 version of date from HTTP: %r' % amz_date)
        wall = time.time()
        if abs(wall - signed_at) > SKEW_SECONDS:
            raise _auth_error('signature', protocol, 'Signature expired: %s is now earlier than '
                              '%s (%s - 5 min.)' % (amz_date, time.strftime(
                                  '%Y%m%dT%H%M%SZ', time.gmtime(wall - SKEW_SECONDS)),
                                  time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(wall))))
        if not sigv4verify.verify(req.method, req.path, req.query, req.headers, req.body,
                                  auth, amz_date, cred.secret):
            raise _auth_error('signature', protocol, SIGNATURE_MISMATCH)
        if cred.expiration is not None and self.world.clock.now() >= cred.expiration:
            raise _auth_error('expired', protocol,
                              'The security token included in the request is expired')
        return auth, cred
