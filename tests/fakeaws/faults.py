"""Fault injection rules (POST /_fake/faults) and the per-account IAM rate limit."""
import random
import time

KINDS = ('throttle', 'error', 'reset', 'hang', 'latency', 'bloat')
BLOAT_DEFAULT_SIZE = 8 * 1024 * 1024
# Answers that arrive but are broken: 'truncate' (the head promises more body
# than is sent before the connection closes), 'malformed' (a complete HTTP
# answer whose body is cut in half, so it does not parse), and 'expired' (the
# protocol's ExpiredToken error, as for a session past its Expiration).
KINDS = KINDS + ('truncate', 'malformed', 'expired')


class FaultError(ValueError):
    pass


class Rule:
    """One rule: which calls it matches, what it does, and how often.

    Matching fields (absent = any): action, account, service.
    Firing: "count" = the next N matching calls; else "probability" (default 1.0).
    "when": "before" (default: the call has no effect) or "after" (reset/hang/error/
    expired/truncate/malformed: the call takes effect, then the answer is lost or broken).
    truncate/malformed "before" break a 503 ServiceUnavailable answer instead.
    """
    __slots__ = ('action', 'account', 'service', 'kind', 'status', 'code', 'message',
                 'probability', 'count', 'latency_ms', 'latency_ms_max', 'when',
                 'size', 'trickle_ms')

    def __init__(self, data):
        if not isinstance(data, dict):
            raise FaultError('a fault rule is a JSON object')
        unknown = set(data) - set(self.__slots__)
        if unknown:
            raise FaultError('unknown fault fields: %s' % ', '.join(sorted(unknown)))
        self.kind = data.get('kind')
        if self.kind not in KINDS:
            raise FaultError('kind must be one of %s' % ', '.join(KINDS))
        self.action = data.get('action')
        self.account = None if data.get('account') is None else str(data['account'])
        self.service = data.get('service')
        self.status = int(data.get('status', 503))
        self.code = data.get('code', 'ServiceUnavailable')
        self.message = data.get('message', 'Injected fault: %s' % self.code)
        self.count = data.get('count')
        self.probability = float(data.get('probability', 1.0))
        if self.count is not None and (not isinstance(self.count, int) or self.count < 0):
            raise FaultError('count must be a non-negative integer')
        if not 0.0 <= self.probability <= 1.0:
            raise FaultError('probability must be within 0..1')
        self.latency_ms = float(data.get('latency_ms', 0))
        self.latency_ms_max = float(data.get('latency_ms_max', self.latency_ms))
        # bloat: a 200 answer of `size` bytes of junk, sent over `trickle_ms`.
        self.size = self.trickle_ms = None
        if self.kind == 'bloat':
            self.size = data.get('size', BLOAT_DEFAULT_SIZE)
            self.trickle_ms = float(data.get('trickle_ms', 0))
            if not isinstance(self.size, int) or not 0 < self.size <= 1 << 31:
                raise FaultError('size must be an integer within 1..2^31')
            if not 0 <= self.trickle_ms <= 600000:
                raise FaultError('trickle_ms must be within 0..600000')
        self.when = data.get('when', 'before')
        if self.when not in ('before', 'after'):
            raise FaultError('when must be "before" or "after"')

    def matches(self, service, action, account):
        return ((self.action is None or self.action == action)
                and (self.account is None or self.account == account)
                and (self.service is None or self.service == service))

    def fire(self):
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
            return True
        return self.probability >= 1.0 or random.random() < self.probability

    def delay(self):
        low, high = self.latency_ms, max(self.latency_ms, self.latency_ms_max)
        return (low if high == low else random.uniform(low, high)) / 1000.0

    def to_json(self):
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


class Faults:
    def __init__(self):
        self.rules = []

    def add(self, data):
        items = data if isinstance(data, list) else [data]
        new = [Rule(d) for d in items]
        self.rules.extend(new)
        return len(new)

    def clear(self):
        self.rules = []

    def evaluate(self, service, action, account):
        """The first matching rule that fires (its count is then used up), or None.

        Later rules are not consulted, so a list like [latency count 1, hang count 1]
        lets the first matching call through (delayed) and hangs the second."""
        for rule in self.rules:
            if rule.matches(service, action, account) and rule.fire():
                return rule
        return None


class RateLimiter:
    """A token bucket per account: `rate` tokens per second, burst = rate."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.buckets = {}       # account -> [tokens, last refill (monotonic)]

    def take(self, account):
        now = time.monotonic()
        bucket = self.buckets.get(account)
        if bucket is None:
            bucket = self.buckets[account] = [self.rate, now]
        tokens = min(self.rate, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True
