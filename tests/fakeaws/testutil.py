"""Helpers for the fake's own tests: start/stop it, call the control API, sign raw requests."""
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
QUERY_TYPE = 'application/x-www-form-urlencoded; charset=utf-8'


class FakeProcess:
    """The fake as a child process: python3 tests/fakeaws --port 0 [args]."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, HERE, '--port', '0', *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('listening on http://127.0.0.1:'):
            self.proc.kill()
            raise RuntimeError('fake did not start: %r' % line)
        self.url = line.split()[-1]
        self.host = urllib.parse.urlsplit(self.url).netloc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(10)
        self.proc.stdout.close()
        return rc


def control(url, path, body=None, method=None):
    """JSON in/out call to /_fake/<path>."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + '/_fake/' + path, data=data,
                                 method=method or ('GET' if data is None else 'POST'))
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def client(service, url, key=KEY_ID, secret=SECRET, token=None, region='us-east-1', **cfg):
    import boto3
    from botocore.config import Config
    # botocore's retries "max_attempts" counts retries (1 = two tries): use the total.
    config = Config(retries={'mode': 'standard', 'total_max_attempts': 1}, **cfg)
    return boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token, config=config)


def session_client(service, url, creds, **kw):
    return client(service, url, creds['AccessKeyId'], creds['SecretAccessKey'],
                  creds['SessionToken'], **kw)


def sign(host, service, body, key=KEY_ID, secret=SECRET, token=None, amz_date=None,
         region='us-east-1', path='/', extra=None, signed=None):
    """Headers for a SigV4-signed POST (written independently of the fake's verifier)."""
    amz_date = amz_date or time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    headers = {'content-type': QUERY_TYPE, 'host': host, 'x-amz-date': amz_date}
    if token:
        headers['x-amz-security-token'] = token
    headers.update(extra or {})
    names = sorted(signed if signed is not None else headers)
    creq = '\n'.join(['POST', path, '', ''.join('%s:%s\n' % (n, headers[n]) for n in names),
                      ';'.join(names), hashlib.sha256(body).hexdigest()])
    scope = '%s/%s/%s/aws4_request' % (amz_date[:8], region, service)
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ('AWS4' + secret).encode()
    for part in (amz_date[:8], region, service, 'aws4_request'):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    headers['authorization'] = ('AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, '
                                'Signature=%s' % (key, scope, ';'.join(names),
                                                  hmac.new(k, sts.encode(), hashlib.sha256)
                                                  .hexdigest()))
    return headers


def raw(url, headers, body, path='/', method='POST', timeout=10):
    """(status, lower-case headers, body) of one request over http.client."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        h = {k: v for k, v in headers.items() if k != 'host'}
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader('Host', headers.get('host', u.netloc))
        for k, v in h.items():
            conn.putheader(k, v)
        conn.putheader('Content-Length', str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def query_body(**params):
    return urllib.parse.urlencode(params).encode()
