#!/usr/bin/env python3
"""Independent SigV4 reference for tests/unit/test-sigv4.c: signs one request
with botocore's own SigV4Auth at a fixed time and prints what it produced.

Input (stdin): one JSON object
  {"method": "POST", "url": "https://iam.amazonaws.com/",
   "headers": [["Host", "iam.amazonaws.com"], ...], "body": "...",
   "region": "us-east-1", "service": "iam", "access_key": "...",
   "secret_key": "...", "token": null, "timestamp": "2024-01-15T10:20:30Z"}
Output (stdout): lines "key<TAB>value" for x-amz-date, authorization,
x-amz-security-token (if any), and the canonical request and string to sign
with newlines escaped as \\n.

Uses only botocore (the machine's python3 carries 1.43); the clock is pinned by
replacing botocore.auth.get_current_datetime.
"""
import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    spec = json.load(sys.stdin)
    when = datetime.datetime.strptime(spec["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    botocore.auth.get_current_datetime = lambda *a, **k: when

    req = AWSRequest(method=spec["method"], url=spec["url"],
                     data=spec.get("body", "").encode("utf-8"))
    for name, value in spec.get("headers", []):
        req.headers[name] = value
    creds = Credentials(spec["access_key"], spec["secret_key"], spec.get("token"))
    signer = botocore.auth.SigV4Auth(creds, spec["service"], spec["region"])
    signer.add_auth(req)

    authorization = req.headers["Authorization"]
    # Recompute what add_auth() signed, without the header it added last.
    del req.headers["Authorization"]
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    out = {
        "x-amz-date": req.headers["X-Amz-Date"],
        "authorization": authorization,
        "canonical-request": canonical.replace("\n", "\\n"),
        "string-to-sign": sts.replace("\n", "\\n"),
    }
    if "X-Amz-Security-Token" in req.headers:
        out["x-amz-security-token"] = req.headers["X-Amz-Security-Token"]
    for k, v in out.items():
        sys.stdout.write("%s\t%s\n" % (k, v))


if __name__ == "__main__":
    main()
