"""A small asyncio HTTP/1.1 server: keep-alive, pipelining, Content-Length and
chunked bodies, Expect: 100-continue. Each answer may be delayed, withheld
(hang) or replaced by a TCP reset, without holding up other connections.
"""
import asyncio
import socket
import struct
import time
from email.utils import formatdate

from app import Request
from awsproto import Response

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
REASONS = {100: 'Continue', 200: 'OK', 400: 'Bad Request', 403: 'Forbidden',
           404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
           413: 'Payload Too Large', 429: 'Too Many Requests',
           431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
           502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'}
HANG_SECONDS = 300.0

_date = [0, '']


def http_date():
    now = int(time.time())
    if _date[0] != now:
        _date[0], _date[1] = now, formatdate(now, usegmt=True)
    return _date[1]


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class HttpConnection(asyncio.Protocol):
    def __init__(self, app, server):
        self.app = app
        self.server = server
        self.transport = None
        self.buf = bytearray()
        self.busy = False           # an answer is pending (delayed or hung)
        self.closed = False
        self.continue_sent = False
        self.timer = None           # pending delayed answer or end of a hang
        self.pending_aws = False    # that pending answer counts as in flight
        self.counted_in = None      # the Stats that counted this connection's opening
        self.sorted = False         # counted as a control or an AWS connection

    # -- asyncio callbacks ------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.server.connections.add(self)
        self.counted_in = self.app.connection_opened()
        transport.get_extra_info('socket').setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc):
        self.closed = True
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            if self.pending_aws:
                self.app.request_done()

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self._process()

    # -- request loop ------------------------------------------------------------

    def _process(self):
        while not self.busy and not self.closed:
            try:
                parsed = self._parse_one()
            except BadRequest as err:
                self._write(Response(err.status, 'text/plain', (str(err) + '\n').encode()), False)
                self.transport.close()
                self.closed = True
                return
            if parsed is None:
                return
            req, keep_alive = parsed
            if not self.sorted:
                self.sorted = True
                self.app.connection_first_request(self.counted_in, req)
            outcome = self.app.handle(req)
            if outcome.kind is None and outcome.delay <= 0:
                self._finish(outcome, keep_alive)
                continue
            self.busy = True
            self.pending_aws = outcome.aws
            loop = asyncio.get_running_loop()
            if outcome.kind == 'hang':
                self.timer = loop.call_later(HANG_SECONDS + outcome.delay, self._abort)
            else:
                self.timer = loop.call_later(outcome.delay, self._deliver, outcome, keep_alive)

    def _deliver(self, outcome, keep_alive):
        self.timer = None
        self.busy = False
        self.pending_aws = False
        if self.closed:
            if outcome.aws:
                self.app.request_done()
            return
        self._finish(outcome, keep_alive)
        if not self.closed and self.buf and not self.busy:
            self._process()

    def _finish(self, outcome, keep_alive):
        if outcome.aws:
            self.app.request_done()
        if outcome.kind == 'reset':
            self._reset()
            return
        if outcome.kind == 'bloat':
            self._bloat(outcome.bloat, keep_alive)
            return
        if outcome.kind == 'truncate':
            self._write(outcome.response, keep_alive, truncate=True)
            self.transport.close()
            self.closed = True
            return
        self._write(outcome.response, keep_alive)
        if not keep_alive:
            self.transport.close()
            self.closed = True

    BLOAT_CHUNK = 64 * 1024
    BLOAT_BLOCK = b'x' * BLOAT_CHUNK

    def _bloat(self, bloat, keep_alive):
        """Fault kind 'bloat': a 200 answer of `size` bytes of junk, in 64 KiB
        pieces spread evenly over `trickle_ms` (the connection stays busy)."""
        size, trickle_ms = bloat
        head = ['HTTP/1.1 200 OK', 'Content-Type: text/xml', 'Content-Length: %d' % size,
                'Date: ' + http_date()]
        if not keep_alive:
            head.append('Connection: close')
        self.transport.write(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1'))
        pieces = (size + self.BLOAT_CHUNK - 1) // self.BLOAT_CHUNK
        step = trickle_ms / 1000.0 / pieces
        self.busy = True
        loop = asyncio.get_running_loop()

        def send(i):
            if self.closed:
                return
            n = min(self.BLOAT_CHUNK, size - i * self.BLOAT_CHUNK)
            self.transport.write(self.BLOAT_BLOCK[:n])
            if i + 1 < pieces:
                self.timer = loop.call_later(step, send, i + 1)
                return
            self.timer = None
            self.busy = False
            if not keep_alive:
                self.transport.close()
                self.closed = True
            elif self.buf:
                self._process()
        send(0)

    def _abort(self):
        """End of a hang: close without answering."""
        self.timer = None
        if self.pending_aws:
            self.pending_aws = False
            self.app.request_done()
        self.transport.close()
        self.closed = True

    def _reset(self):
        """Close with SO_LINGER 0 so the peer gets a TCP RST."""
        sock = self.transport.get_extra_info('socket')
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        self.transport.abort()
        self.closed = True

    def _write(self, response, keep_alive, truncate=False):
        head = ['HTTP/1.1 %d %s' % (response.status, REASONS.get(response.status, 'Unknown')),
                'Content-Type: ' + response.content_type,
                'Content-Length: %d' % len(response.body),
                'Date: ' + http_date()]
        if response.request_id:
            head.append('x-amzn-RequestId: ' + response.request_id)
        for name, value in response.extra_headers:
            head.append('%s: %s' % (name, value))
        if not keep_alive:
            head.append('Connection: close')
        head.append('\r\n')
        body = response.body[:len(response.body) // 2] if truncate else response.body
        self.transport.write('\r\n'.join(head).encode('latin-1') + body)

    # -- parsing -----------------------------------------------------------------

    def _parse_one(self):
        """(Request, keep_alive) when a whole request is buffered, else None."""
        buf = self.buf
        while buf[:2] == b'\r\n':
            del buf[:2]
        end = buf.find(b'\r\n\r\n')
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise BadRequest(431, 'request head too large')
            return None
        lines = bytes(buf[:end]).decode('utf-8', 'surrogateescape').split('\r\n')
        try:
            method, target, version = lines[0].split(' ')
        except ValueError:
            raise BadRequest(400, 'bad request line') from None
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(':')
            if not sep:
                raise BadRequest(400, 'bad header line')
            name = name.strip().lower()
            value = value.strip()
            if name in headers:
                headers[name].append(value)
            else:
                headers[name] = [value]
        start = end + 4
        if 'chunked' in headers.get('transfer-encoding', ('',))[0].lower():
            body, consumed = self._chunked(start)
            if body is None:
                return self._need_more(headers)
        else:
            try:
                length = int(headers.get('content-length', ('0',))[0])
            except ValueError:
                raise BadRequest(400, 'bad Content-Length') from None
            if length < 0 or length > MAX_BODY:
                raise BadRequest(413, 'body too large')
            if len(buf) < start + length:
                return self._need_more(headers)
            body = bytes(buf[start:start + length])
            consumed = start + length
        del buf[:consumed]
        self.continue_sent = False
        conn = headers.get('connection', ('',))[0].lower()
        keep_alive = ('close' not in conn) if version == 'HTTP/1.1' else ('keep-alive' in conn)
        path, _, query = target.partition('?')
        return Request(method, path, query, headers, body), keep_alive

    def _need_more(self, headers):
        if not self.continue_sent and headers.get('expect', ('',))[0].lower() == '100-continue':
            self.continue_sent = True
            self.transport.write(b'HTTP/1.1 100 Continue\r\n\r\n')
        return None

    def _chunked(self, pos):
        """(body, end offset) of a complete chunked body at pos, else (None, 0)."""
        buf = self.buf
        parts = []
        while True:
            eol = buf.find(b'\r\n', pos)
            if eol < 0:
                return None, 0
            try:
                size = int(bytes(buf[pos:eol]).split(b';')[0], 16)
            except ValueError:
                raise BadRequest(400, 'bad chunk size') from None
            pos = eol + 2
            if size == 0:
                end = buf.find(b'\r\n\r\n', pos - 2)     # optional trailers
                if end < 0:
                    return None, 0
                return b''.join(parts), end + 4
            if len(buf) < pos + size + 2:
                return None, 0
            parts.append(bytes(buf[pos:pos + size]))
            pos += size + 2


class Server:
    def __init__(self, app):
        self.app = app
        self.connections = set()
        self.server = None

    async def start(self, port=0, host='127.0.0.1'):
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: HttpConnection(self.app, self),
                                               host, port, backlog=4096, reuse_address=True)
        return self.server.sockets[0].getsockname()[1]

    def close(self):
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
