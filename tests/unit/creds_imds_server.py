#!/usr/bin/env python3
"""A tiny EC2 instance metadata service (IMDSv2) for tests/unit/test-creds.c.

Prints "listening on http://127.0.0.1:PORT" first, then serves until killed.
  PUT /latest/api/token                       needs X-aws-ec2-metadata-token-ttl-seconds
                                              (1..21600) and no X-Forwarded-For
  GET /latest/meta-data/iam/security-credentials/        -> role name
  GET /latest/meta-data/iam/security-credentials/<role>  -> credentials JSON
Both GETs need the header X-aws-ec2-metadata-token with the issued token
(401 otherwise). --mode failure answers the credentials with Code != Success;
--mode v1only answers 404 to the token request and serves without a token.
Every request is logged to stderr as "METHOD PATH token=<yes|no>".
"""
import argparse
import http.server
import json
import sys

TOKEN = "AQAEAFakeImdsSessionToken=="
ROLE = "akr-test-instance-role"
CREDS = {
    "Code": "Success",
    "LastUpdated": "2024-01-15T10:00:00Z",
    "Type": "AWS-HMAC",
    "AccessKeyId": "ASIAIMDSEXAMPLE00001",
    "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYIMDSSECRET",
    "Token": "IQoJb3JpZ2luX2VjEIMDS//////////token",
    "Expiration": "2030-01-15T16:00:00Z",
}
PREFIX = "/latest/meta-data/iam/security-credentials/"


def make_handler(mode):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def reply(self, status, body, ctype="text/plain"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)

        def do_PUT(self):
            self.read_body()
            sys.stderr.write("PUT %s token=no\n" % self.path)
            sys.stderr.flush()
            if self.path != "/latest/api/token":
                return self.reply(404, "not found")
            if mode == "v1only":
                return self.reply(404, "not found")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if self.headers.get("X-Forwarded-For"):
                return self.reply(403, "forbidden")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(400, "missing or invalid ttl header")
            self.reply(200, TOKEN)

        def do_GET(self):
            tok = self.headers.get("X-aws-ec2-metadata-token")
            sys.stderr.write("GET %s token=%s\n" % (self.path, "yes" if tok else "no"))
            sys.stderr.flush()
            if mode != "v1only" and tok != TOKEN:
                return self.reply(401, "unauthorized")
            if self.path == PREFIX:
                return self.reply(200, ROLE + "\n")
            if self.path == PREFIX + ROLE:
                doc = dict(CREDS)
                if mode == "failure":
                    doc = {"Code": "AssumeRoleUnauthorizedAccess",
                           "Message": "no", "LastUpdated": doc["LastUpdated"]}
                return self.reply(200, json.dumps(doc), "application/json")
            self.reply(404, "not found")

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="ok", choices=["ok", "failure", "v1only"])
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.mode))
    sys.stdout.write("listening on http://127.0.0.1:%d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
