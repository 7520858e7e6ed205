#!/usr/bin/env python3
"""Throughput of tests/fakeaws: signed IAM ListAccessKeys over keep-alive connections.

Starts the fake (or uses --url), loads a small organization, assumes the role
in each account (session credentials, so the token check is on the path too),
pre-signs one ListAccessKeys request per user, then replays them from many
concurrent keep-alive connections for --seconds and prints requests/s.
The client is a lean asyncio protocol so that it costs less than the server.

    python3 tests/bench/fakeaws_throughput.py [--connections 64] [--seconds 5] [--url URL]
"""
import argparse
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fakeaws')
KEY_ID, SECRET = 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
STS_NS = '{https://sts.amazonaws.com/doc/2011-06-15/}'


def sign(host, service, body, key_id, secret, token=None, region='us-east-1'):
    """Raw HTTP/1.1 POST / request bytes, SigV4-signed (independent of the fake's code)."""
    amz_date = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    date = amz_date[:8]
    headers = {'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
               'host': host, 'x-amz-date': amz_date}
    if token:
        headers['x-amz-security-token'] = token
    names = sorted(headers)
    creq = '\n'.join(['POST', '/', '', ''.join('%s:%s\n' % (n, headers[n]) for n in names),
                      ';'.join(names), hashlib.sha256(body).hexdigest()])
    scope = '%s/%s/%s/aws4_request' % (date, region, service)
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ('AWS4' + secret).encode()
    for part in (date, region, service, 'aws4_request'):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers['authorization'] = ('AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, '
                                'Signature=%s' % (key_id, scope, ';'.join(names), sig))
    headers['content-length'] = str(len(body))
    head = 'POST / HTTP/1.1\r\n' + ''.join('%s: %s\r\n' % kv for kv in headers.items()) + '\r\n'
    return head.encode() + body


def call(url, raw):
    """Send one raw request on a fresh socket; return (status, body)."""
    import socket
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port)) as s:
        s.sendall(raw)
        data = b''
        while b'\r\n\r\n' not in data:
            data += s.recv(65536)
        head, _, body = data.partition(b'\r\n\r\n')
        length = int([ln.split(b':')[1] for ln in head.split(b'\r\n')
                      if ln.lower().startswith(b'content-length')][0])
        while len(body) < length:
            body += s.recv(65536)
        return int(head.split()[1]), body


def scenario(accounts, users):
    return {'management_account': '111111111111', 'accounts': [
        {'id': '%012d' % (222222222222 + a), 'users': [
            {'name': 'user%03d' % u, 'tags': {'email': 'u%d@example.com' % u},
             'keys': [{'age_days': 10 + u}]} for u in range(users)]}
        for a in range(accounts)]}


class Client(asyncio.Protocol):
    def __init__(self, requests, state):
        self.requests, self.state = requests, state
        self.i = 0
        self.buf = b''
        self.need = None

    def connection_made(self, transport):
        self.transport = transport
        self.send()

    def send(self):
        self.transport.write(self.requests[self.i % len(self.requests)])
        self.i += 1

    def data_received(self, data):
        self.buf += data
        while True:
            if self.need is None:
                end = self.buf.find(b'\r\n\r\n')
                if end < 0:
                    return
                head = self.buf[:end]
                pos = head.lower().find(b'content-length:')
                length = int(head[pos + 15:head.find(b'\r\n', pos) if head.find(b'\r\n', pos) > 0
                                  else len(head)])
                self.state['ok' if head[9:12] == b'200' else 'bad'] += 1
                self.need = end + 4 + length
            if len(self.buf) < self.need:
                return
            self.buf = self.buf[self.need:]
            self.need = None
            if self.state['stop']:
                self.transport.close()
                return
            self.send()


async def run(url, requests, connections, seconds):
    u = urllib.parse.urlsplit(url)
    state = {'ok': 0, 'bad': 0, 'stop': False}
    loop = asyncio.get_running_loop()
    transports = []
    for c in range(connections):
        reqs = requests[c::connections] or requests
        t, _ = await loop.create_connection(lambda r=reqs: Client(r, state), u.hostname, u.port)
        transports.append(t)
    await asyncio.sleep(0.5)                      # warm-up
    ok0, t0 = state['ok'], time.perf_counter()
    await asyncio.sleep(seconds)
    ok1, t1 = state['ok'], time.perf_counter()
    state['stop'] = True
    await asyncio.sleep(0.2)
    for t in transports:
        t.close()
    return (ok1 - ok0) / (t1 - t0), state


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--url', help='a running fake (default: start one)')
    p.add_argument('--connections', type=int, default=64)
    p.add_argument('--seconds', type=float, default=5.0)
    p.add_argument('--accounts', type=int, default=4)
    p.add_argument('--users', type=int, default=25)
    args = p.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc = subprocess.Popen([sys.executable, FAKE, '--port', '0'], stdout=subprocess.PIPE,
                                text=True)
        url = proc.stdout.readline().split()[-1]
    try:
        req = urllib.request.Request(url + '/_fake/load', method='POST',
                                     data=json.dumps(scenario(args.accounts, args.users)).encode())
        urllib.request.urlopen(req).read()
        host = urllib.parse.urlsplit(url).netloc
        requests = []
        for a in range(args.accounts):
            acc = '%012d' % (222222222222 + a)
            body = urllib.parse.urlencode({
                'Action': 'AssumeRole', 'Version': '2011-06-15', 'RoleSessionName': 'bench',
                'RoleArn': 'arn:aws:iam::%s:role/provisioning-admin' % acc}).encode()
            status, xml = call(url, sign(host, 'sts', body, KEY_ID, SECRET))
            assert status == 200, xml
            c = ET.fromstring(xml).find('.//%sCredentials' % STS_NS)
            kid, secret, token = (c.find(STS_NS + n).text for n in
                                  ('AccessKeyId', 'SecretAccessKey', 'SessionToken'))
            for u in range(args.users):
                body = urllib.parse.urlencode({'Action': 'ListAccessKeys', 'Version': '2010-05-08',
                                               'UserName': 'user%03d' % u}).encode()
                requests.append(sign(host, 'iam', body, kid, secret, token))
        rate, state = asyncio.run(run(url, requests, args.connections, args.seconds))
        print('fakeaws throughput: %.0f requests/s (signed IAM ListAccessKeys, %d keep-alive '
              'connections, %.0f s; %d ok, %d not 200)'
              % (rate, args.connections, args.seconds, state['ok'], state['bad']))
        return 0 if state['bad'] == 0 else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


if __name__ == '__main__':
    sys.exit(main())
