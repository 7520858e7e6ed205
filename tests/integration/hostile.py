"""A small HTTP proxy in front of tests/fakeaws that swaps in hostile answers.

The daemon's AWS_ENDPOINT_URL points at the proxy. Every request is forwarded
unchanged (head and body byte for byte, so the fake still verifies the SigV4
signature), unless a rule matches its call: then the proxy answers itself,
with a fixed body, an endless or repeating pagination built on the real first
page, a body streamed for ever, a trickle, a truncation, or a redirect to
another listener that records whatever reaches it.

Rules match the action (Action= of a Query call, X-Amz-Target of JSON), and
optionally the account (learnt from the AssumeRole answers that pass through:
access key id -> account of the role) and the user (UserName=). Standard
library only.
"""
import http.client
import json
import re
import socketserver
import threading
import time
import urllib.parse

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect",
           400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}
MARKER_PREFIX = "hostile-"


class Request:
    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target
        self.headers = headers          # [(name, value)] as sent
        self.body = body
        self.action = None
        self.params = {}
        self.access_key = None
        self.account = None
        for name, value in headers:
            low = name.lower()
            if low == "x-amz-target":
                self.action = value.rpartition(".")[2]
            elif low == "authorization":
                m = re.search(r"Credential=([A-Z0-9]+)/", value)
                self.access_key = m.group(1) if m else None
        if self.action is None:
            self.params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                                      keep_blank_values=True))
            self.action = self.params.get("Action")
        else:
            try:
                self.params = json.loads(body or b"{}")
            except ValueError:
                self.params = {}

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    @property
    def marker(self):
        return self.params.get("Marker") or self.params.get("NextToken")

    @property
    def user(self):
        return self.params.get("UserName")


class Rule:
    """When to swap (action, account, user, how many times) and what to answer.

    kind:
      'answer'   status, body (bytes), content_type, headers: answered as is
      'paginate' mode 'same' (one marker for ever) or 'new' (a new marker on
                 every page): the real first page, said to be truncated, again
                 and again
      'stream'   a body of `size` bytes (chunked, or with Content-Length),
                 the start of a valid answer then filler, written until the
                 daemon hangs up
      'trickle'  the real answer, one byte every `interval` seconds
      'truncate' the real answer's first `keep` bytes, Content-Length of all
      'redirect' status (307) with Location: `location`
    """

    def __init__(self, action, kind, account=None, user=None, count=None, **kw):
        self.action = action
        self.kind = kind
        self.account = account
        self.user = user
        self.count = count              # None: every matching call
        self.kw = kw
        self.hits = 0
        self.pages = 0
        self.cache = {}                 # (account, user) -> real first page

    def matches(self, req):
        if req.action != self.action:
            return False
        if self.account is not None and req.account != self.account:
            return False
        if self.user is not None and req.user != self.user:
            return False
        # A follow-up page of our own pagination always belongs to the rule.
        if self.kind == "paginate" and (req.marker or "").startswith(MARKER_PREFIX):
            return True
        return self.count is None or self.hits < self.count


class Proxy:
    def __init__(self, upstream_url):
        u = urllib.parse.urlsplit(upstream_url)
        self.upstream = (u.hostname, u.port)
        self.rules = []
        self.lock = threading.Lock()
        self.key_account = {}
        self.calls = []                 # (action, account, user, "rule kind" or "forwarded")
        self.secrets = set()            # every SecretAccessKey and SessionToken answered
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                proxy._serve(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, rule):
        with self.lock:
            self.rules.append(rule)
        return rule

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def count(self, action, how=None):
        with self.lock:
            return sum(1 for c in self.calls if c[0] == action and (how is None or c[3] == how))

    # -- one connection ----------------------------------------------------

    def _serve(self, h):
        upstream = None
        try:
            while True:
                req = self._read(h)
                if req is None:
                    return
                with self.lock:
                    req.account = self.key_account.get(req.access_key)
                    rule = next((r for r in self.rules if r.matches(req)), None)
                    if rule is not None:
                        rule.hits += 1
                    self.calls.append((req.action, req.account, req.user,
                                       rule.kind if rule else "forwarded"))
                if rule is None:
                    upstream, resp = self._forward(upstream, req)
                    self._learn(req, resp)
                    self._write(h, *resp)
                    continue
                upstream, keep = self._apply(h, upstream, rule, req)
                if not keep:
                    return
        except (OSError, http.client.HTTPException):
            return
        finally:
            if upstream is not None:
                upstream.close()

    def _read(self, h):
        line = h.rfile.readline(65537)
        while line in (b"\r\n", b"\n"):
            line = h.rfile.readline(65537)
        if not line:
            return None
        method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers = []
        while True:
            hl = h.rfile.readline(65537)
            if hl in (b"\r\n", b"\n", b""):
                break
            name, _, value = hl.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((name, value.strip()))
        length = 0
        expect = False
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "expect" and value.lower() == "100-continue":
                expect = True
        if expect:
            h.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            h.wfile.flush()
        body = h.rfile.read(length) if length else b""
        # Expect is not signed: the proxy has answered it already.
        headers = [(n, v) for n, v in headers if n.lower() != "expect"]
        return Request(method, target, headers, body)

    def _forward(self, upstream, req):
        for attempt in (0, 1):
            if upstream is None:
                upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
            try:
                upstream.putrequest(req.method, req.target, skip_host=True,
                                    skip_accept_encoding=True)
                for name, value in req.headers:
                    if name.lower() not in ("connection", "content-length"):
                        upstream.putheader(name, value)
                upstream.putheader("Content-Length", str(len(req.body)))
                upstream.endheaders(req.body)
                r = upstream.getresponse()
                body = r.read()
                headers = [(n, v) for n, v in r.getheaders()
                           if n.lower() in ("content-type", "x-amzn-requestid")]
                return upstream, (r.status, headers, body)
            except (OSError, http.client.HTTPException):
                upstream.close()
                upstream = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _learn(self, req, resp):
        """Remembers which account an assumed role's access key belongs to,
        and every secret that AWS hands out (new keys, role sessions)."""
        found = re.findall(rb"<(?:SecretAccessKey|SessionToken)>([^<]+)</", resp[2])
        if found:
            with self.lock:
                self.secrets.update(f.decode() for f in found)
        if req.action != "AssumeRole" or resp[0] != 200:
            return
        m = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", resp[2])
        acct = re.match(r"arn:[^:]+:iam::(\d{12}):", req.params.get("RoleArn", ""))
        if m and acct:
            with self.lock:
                self.key_account[m.group(1).decode()] = acct.group(1)

    @staticmethod
    def _write(h, status, headers, body, extra=()):
        head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Unknown"))]
        head += ["%s: %s" % (n, v) for n, v in headers]
        head += ["%s: %s" % (n, v) for n, v in extra]
        head.append("Content-Length: %d" % len(body))
        h.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        h.wfile.flush()

    # -- the hostile answers -----------------------------------------------

    def _apply(self, h, upstream, rule, req):
        kw = rule.kw
        if rule.kind == "answer":
            ct = kw.get("content_type", "text/xml")
            self._write(h, kw.get("status", 200), [("Content-Type", ct)], kw["body"],
                        kw.get("headers", ()))
            return upstream, True
        if rule.kind == "redirect":
            self._write(h, kw.get("status", 307), [("Location", kw["location"]),
                                                   ("Content-Type", "text/html")],
                        b"<html><body>Moved</body></html>")
            return upstream, True
        if rule.kind == "paginate":
            key = (req.account, req.user)
            if not (req.marker or "").startswith(MARKER_PREFIX) or key not in rule.cache:
                upstream, resp = self._forward(upstream, req)
                if resp[0] != 200:
                    self._write(h, *resp)
                    return upstream, True
                rule.cache[key] = resp
            status, headers, body = rule.cache[key]
            with self.lock:
                rule.pages += 1
                n = rule.pages
            marker = MARKER_PREFIX + ("same" if kw.get("mode", "same") == "same" else str(n))
            self._write(h, status, headers, _truncated(req.action, body, marker))
            return upstream, True
        if rule.kind == "stream":
            return upstream, self._stream(h, req, kw)
        if rule.kind in ("trickle", "truncate"):
            upstream, (status, headers, body) = self._forward(upstream, req)
            self._learn(req, (status, headers, body))
            if rule.kind == "truncate":
                head = ["HTTP/1.1 %d OK" % status] + ["%s: %s" % hv for hv in headers]
                head.append("Content-Length: %d" % len(body))
                h.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body[:kw["keep"]])
                h.wfile.flush()
                return upstream, False
            head = ["HTTP/1.1 %d OK" % status] + ["%s: %s" % hv for hv in headers]
            head.append("Content-Length: %d" % len(body))
            h.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
            h.wfile.flush()
            for i in range(len(body)):
                time.sleep(kw.get("interval", 0.5))
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
            return upstream, True
        raise ValueError(rule.kind)

    def _stream(self, h, req, kw):
        size = kw.get("size", 1 << 30)
        chunked = kw.get("chunked", True)
        start = ('<?xml version="1.0"?>\n<%sResponse xmlns="https://iam.amazonaws.com/doc/'
                 '2010-05-08/"><%sResult><Users>' % (req.action, req.action)).encode()
        filler = b"<member><UserName>x</UserName></member>" * 1600   # ~64 KiB
        head = ["HTTP/1.1 200 OK", "Content-Type: text/xml"]
        head.append("Transfer-Encoding: chunked" if chunked else "Content-Length: %d" % size)
        h.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
        sent = 0
        sent_total = kw.setdefault("sent", [0])
        try:
            piece = start
            while sent < size:
                piece = piece[:size - sent]
                if chunked:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    h.wfile.write(piece)
                sent += len(piece)
                sent_total[0] = max(sent_total[0], sent)
                piece = filler
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except OSError:
            return False
        return True


def _truncated(action, body, marker):
    """The page again, saying there is more after @marker."""
    if body.lstrip().startswith(b"{"):
        doc = json.loads(body)
        doc["NextToken"] = marker
        return json.dumps(doc).encode()
    more = b"<IsTruncated>true</IsTruncated><Marker>" + marker.encode() + b"</Marker>"
    out, n = re.subn(rb"<IsTruncated>false</IsTruncated>", more, body)
    if n == 0:
        out, n = re.subn(rb"<IsTruncated>true</IsTruncated><Marker>[^<]*</Marker>", more, body)
    if n != 1:
        raise AssertionError("cannot make %s answer truncated: %r" % (action, body[:300]))
    return out


class Recorder:
    """Another host: records every request that reaches it (a redirect's target)."""

    def __init__(self):
        self.requests = []
        rec = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                data = b""
                self.connection.settimeout(5)
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = self.connection.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                rec.requests.append(data)
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        # Another address than the proxy's: another host as far as the
        # client can tell.
        self.server = Server(("127.0.0.2", 0), Handler)
        self.url = "http://127.0.0.2:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
