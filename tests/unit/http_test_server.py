#!/usr/bin/env python3
"""A scriptable HTTP/1.1 server for tests/unit/test-http.c (stdlib only).

    http_test_server.py [--tls CERT KEY]

Listens on 127.0.0.1, port 0, and prints "port N" as its first line. It exits
when its standard input closes, so it never outlives the test.

Every path outside /_ctl/ is a test request. Its last path segment is the
request's id; attempts are counted per id. Query parameters script the answer:

    fail=N            the first N attempts answer `status` (503) with an error
                      document whose Code is `code` (ServiceUnavailable)
    status=S code=C   status and error code of those failures
    retry_after=S     Retry-After header on failures (seconds)
    amz_retry_after=M x-amz-retry-after header on failures (milliseconds)
    reset=N           the first N attempts: connection reset (SO_LINGER 0)
    drop=N            the first N attempts: the connection is closed in order
                      (FIN) without an answer, as a keep-alive connection
                      closing under a request looks
    hang=1            no answer until the client goes away (at most 10 s)
    delay=MS          wait before answering (every attempt)
    size=N            a success body of N bytes
    headers=N         N extra response headers X-Extra-<i>
    echo=1            a success body describing what arrived
    close_after=MS    after the answer, the server closes the (idle keep-alive)
                      connection MS ms later

A header X-Test-Key (or key=) groups requests for the concurrency counters.
Requests that carry an Authorization header are checked as SigV4 with the
AWS documentation's example key pair.

Control: GET /_ctl/reset, /_ctl/stats (max_open, per-key max_open_key.K,
requests, connections opened), /_ctl/log?id=ID (one line per attempt: t_ms date sig signature host).
"""

import hashlib
import hmac
import http.server
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

SECRETS = {"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
ERROR_XML = ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
             '<Error><Type>Sender</Type><Code>{code}</Code><Message>scripted failure</Message>'
             '</Error><RequestId>rid-{rid}</RequestId></ErrorResponse>')

lock = threading.Lock()
state = {}


def reset_state():
    # A handler of an earlier test (a hang, a timeout) may still be running:
    # the generation keeps it from counting itself out of the new counters.
    generation = state.get("generation", 0) + 1
    state.clear()
    state.update(open=0, max_open=0, requests=0, connections=0, open_key={}, max_open_key={},
                 attempts={}, log={}, generation=generation)


reset_state()


def uri_encode(s, keep_slash=False):
    return urllib.parse.quote(s, safe="-_.~" + ("/" if keep_slash else ""))


def verify_sigv4(method, raw_path, headers, body):
    """Returns (status, date, signature): status 'none', 'ok' or 'bad:<why>'."""
    auth = headers.get("Authorization")
    if not auth:
        return "none", "-", "-"
    date = headers.get("X-Amz-Date", "-")
    try:
        algo, rest = auth.split(" ", 1)
        parts = dict(p.strip().split("=", 1) for p in rest.split(","))
        akid, day, region, service, term = parts["Credential"].split("/")
        signed = parts["SignedHeaders"].split(";")
        sig = parts["Signature"]
    except (ValueError, KeyError):
        return "bad:malformed", date, "-"
    if algo != "AWS4-HMAC-SHA256" or term != "aws4_request" or akid not in SECRETS:
        return "bad:credential", date, sig
    if "host" not in signed or "x-amz-date" not in signed or not date.startswith(day):
        return "bad:unsigned-host-or-date", date, sig
    if "X-Amz-Security-Token" in headers and "x-amz-security-token" not in signed:
        return "bad:token-not-signed", date, sig
    url = urllib.parse.urlsplit(raw_path)
    query = sorted((uri_encode(k), uri_encode(v))
                   for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    canon_headers = ""
    for name in signed:
        values = headers.get_all(name) or []
        canon_headers += name + ":" + ",".join(" ".join(v.split()) for v in values) + "\n"
    creq = "\n".join([method, uri_encode(urllib.parse.unquote(url.path or "/"), True),
                      "&".join(k + "=" + v for k, v in query), canon_headers,
                      ";".join(signed), hashlib.sha256(body).hexdigest()])
    sts = "\n".join(["AWS4-HMAC-SHA256", date, "/".join([day, region, service, term]),
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SECRETS[akid]).encode()
    for part in (day, region, service, term):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return ("ok" if hmac.compare_digest(want, sig) else "bad:signature"), date, sig


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with lock:
            state["connections"] += 1

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Custom-Header", "  Value  ")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, url):
        q = dict(urllib.parse.parse_qsl(url.query))
        with lock:
            if url.path == "/_ctl/reset":
                reset_state()
                out = "ok\n"
            elif url.path == "/_ctl/stats":
                out = "max_open %d\nopen %d\nrequests %d\nconnections %d\n" % (
                    state["max_open"], state["open"], state["requests"], state["connections"])
                for k, v in sorted(state["max_open_key"].items()):
                    out += "max_open_key.%s %d\n" % (k, v)
            elif url.path == "/_ctl/log":
                out = "".join("%.3f %s %s %s %s\n" % e for e in state["log"].get(q.get("id"), []))
            else:
                out = "unknown\n"
        self.answer(200, out.encode())

    def wait_for_client_gone(self, limit_s):
        end = time.monotonic() + limit_s
        self.connection.settimeout(0.05)
        while time.monotonic() < end:
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return
            except (socket.timeout, ssl.SSLWantReadError, BlockingIOError):
                continue
            except (OSError, ValueError):
                return

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path.startswith("/_ctl/"):
            return self.control(url)
        q = dict(urllib.parse.parse_qsl(url.query))
        rid = url.path.rsplit("/", 1)[-1]
        key = self.headers.get("X-Test-Key") or q.get("key") or "-"
        sig, date, signature = verify_sigv4(self.command, self.path, self.headers, body)
        with lock:
            attempt = state["attempts"].get(rid, 0) + 1
            state["attempts"][rid] = attempt
            state["requests"] += 1
            state["log"].setdefault(rid, []).append(
                (time.monotonic() * 1000.0, date, sig, signature, self.headers.get("Host", "-")))
            generation = state["generation"]
            state["open"] += 1
            state["max_open"] = max(state["max_open"], state["open"])
            ok = state["open_key"].get(key, 0) + 1
            state["open_key"][key] = ok
            state["max_open_key"][key] = max(state["max_open_key"].get(key, 0), ok)
        try:
            self.respond(q, rid, attempt, body)
        finally:
            with lock:
                if state["generation"] == generation:
                    state["open"] -= 1
                    state["open_key"][key] -= 1

    def respond(self, q, rid, attempt, body):
        if attempt <= int(q.get("reset", "0")):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if attempt <= int(q.get("drop", "0")):
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if q.get("hang"):
            self.wait_for_client_gone(10.0)
            self.close_connection = True
            return
        if q.get("delay"):
            time.sleep(int(q["delay"]) / 1000.0)
        if attempt <= int(q.get("fail", "0")):
            headers = [("x-amzn-RequestId", "rid-" + rid)]
            if "retry_after" in q:
                headers.append(("Retry-After", q["retry_after"]))
            if "amz_retry_after" in q:
                headers.append(("x-amz-retry-after", q["amz_retry_after"]))
            xml = ERROR_XML.format(code=q.get("code", "ServiceUnavailable"), rid=rid)
            return self.answer(int(q.get("status", "503")), xml.encode(), headers)
        if q.get("echo"):
            h = self.headers
            out = "len=%d sha256=%s expect=%s te=%s ctype=%s host=%s method=%s\n" % (
                len(body), hashlib.sha256(body).hexdigest(), h.get("Expect", "-") or "-",
                h.get("Transfer-Encoding", "-"), h.get("Content-Type", "-"), h.get("Host", "-"),
                self.command)
            return self.answer(200, out.encode())
        size = int(q.get("size", "0"))
        payload = (b"x" * size) if size else ("ok %s %d\n" % (rid, attempt)).encode()
        extra = [("X-Extra-%d" % i, "v") for i in range(int(q.get("headers", "0")))]
        self.answer(200, payload, [("x-amzn-RequestId", "rid-" + rid)] + extra)
        if q.get("close_after"):
            conn = self.connection

            def close():
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            threading.Timer(int(q["close_after"]) / 1000.0, close).start()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    tls = None

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's thread, not the acceptor.
        if self.tls:
            request = self.tls.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # resets, rejected certificates and vanished clients are expected


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(sys.argv[2], sys.argv[3])
    print("port %d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # EOF: the test is gone


if __name__ == "__main__":
    main()
