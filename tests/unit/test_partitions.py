#!/usr/bin/env python3
"""The daemon's endpoint and signing region for every (service, region, FIPS)
against botocore's on this machine (its endpoint rule sets): the URL and the
credential scope of the request botocore would send. tests/unit/print-endpoints
prints the daemon's resolution. Usage: test_partitions.py PRINT_ENDPOINTS"""
import os
import re
import subprocess
import sys
import tempfile

import botocore.session
from botocore.config import Config

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-2", "ap-southeast-2",
           "ca-central-1", "il-central-1", "cn-north-1", "cn-northwest-1",
           "us-gov-west-1", "us-gov-east-1"]
# One operation per service: what botocore signs and where it sends it.
OPS = {"sts": ("get_caller_identity", {}), "iam": ("list_users", {}),
       "organizations": ("list_accounts", {}), "ses": ("list_identities", {}),
       "sns": ("list_topics", {})}


class Captured(Exception):
    pass


def botocore_endpoint(session, svc, region, fips):
    client = session.create_client(
        svc, region_name=region, aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(use_fips_endpoint=fips, retries={"max_attempts": 0}))
    seen = {}

    def capture(request, **_):
        auth = request.headers["Authorization"]
        seen["url"] = request.url
        seen["auth"] = auth.decode() if isinstance(auth, bytes) else auth
        raise Captured()

    client.meta.events.register("before-send", capture)
    op, args = OPS[svc]
    try:
        getattr(client, op)(**args)
    except Captured:
        pass
    scope = re.search(r"Credential=AKIDEXAMPLE/\d{8}/([^/]+)/([^/]+)/", seen["auth"])
    return seen["url"].rstrip("/"), scope.group(1)


def main():
    helper = sys.argv[1]
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") or k == "AWS_USE_FIPS_ENDPOINT"}
        env.pop("AWS_USE_FIPS_ENDPOINT", None)
        env.update(HOME=home, AWS_CONFIG_FILE=os.path.join(home, "config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"))
        out = subprocess.run([helper] + REGIONS, env=env, check=True, capture_output=True,
                             text=True).stdout
        os.environ.clear()
        os.environ.update(env)
        session = botocore.session.get_session()
        rows = [line.split() for line in out.splitlines()]
        expected_rows = len(REGIONS) * 2 * (len(OPS) + 3)
        if len(rows) != expected_rows:
            sys.exit(f"print-endpoints printed {len(rows)} lines, expected {expected_rows}")
        failures = 0
        for kind, svc, region, fips, url, signing_region in rows:
            want = botocore_endpoint(session, svc, region, fips == "1")
            got = (url, signing_region)
            ok = got == want
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {kind:5} {svc:13} {region:14} fips={fips} "
                  f"daemon={got[0]} {got[1]}" + ("" if ok else f"  botocore={want[0]} {want[1]}"))
        print(f"{len(rows) - failures}/{len(rows)} match botocore "
              f"{botocore.__version__}")
        sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
