"""A boto3 rotator written the way the Lambda-based rotators work, for the
benchmarks in compare.py (never for production use).

Accounts in parallel (a thread pool, one account per worker, like one Lambda
invocation per account); inside an account every call one after another with
boto3 in standard retry mode. Every user is read in full: ListUsers (pages of
100), then ListUserTags and ListAccessKeys per user. The policy is the
daemon's default one, simplified to the calls it costs:

- a user with no valid `email` tag or tagged `Exempt` is only read;
- an Inactive key at least 100 days old is deleted (DeleteAccessKey);
- an Active key at least 90 days old, when the user also has a newer Active
  key, is deactivated (UpdateAccessKey Status=Inactive);
- the oldest Active key at least 80 days old, when the user has no newer key
  and a free slot (after the deletion above), is rotated: CreateAccessKey,
  then two SES SendRawEmail (the zip and the password), sent with the
  management credentials.

The endpoint comes from AWS_ENDPOINT_URL (the fake), the credentials from the
environment. Prints one JSON line: the counts of what was done and failed.

    python3 tests/bench/baseline_rotator.py [--workers 64]
"""
import argparse
import datetime
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MANAGEMENT_ROLE = "arn:aws:iam::111111111111:role/provisioning-admin"
MEMBER_ROLE = "provisioning-admin"
SENDER = "rotator@example.com"
ROTATE, DEACTIVATE, DELETE = 80, 90, 100

CONFIG = Config(retries={"mode": "standard"}, max_pool_connections=2)
counts_lock = threading.Lock()
counts = {"accounts": 0, "accounts_failed": 0, "users": 0, "rotated": 0, "deactivated": 0,
          "deleted": 0, "mails": 0, "failed": 0}


def add(name, n=1):
    with counts_lock:
        counts[name] += n


def session_for(sts, role_arn):
    c = sts.assume_role(RoleArn=role_arn, RoleSessionName="baseline-rotator")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"],
                                 aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"], region_name="us-east-1")


def age_days(when, now):
    return (now - when).total_seconds() / 86400.0


def valid_email(v):
    return v is not None and "@" in v and not v.startswith("@") and " " not in v


def mail(ses, to, subject):
    raw = (f"From: {SENDER}\r\nTo: {to}\r\nSubject: {subject}\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbenchmark\r\n")
    ses.send_raw_email(Source=SENDER, Destinations=[to], RawMessage={"Data": raw.encode()})
    add("mails")


def do_user(iam, ses, user, now):
    name = user["UserName"]
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    add("users")
    email = tags.get("email")
    if not valid_email(email) or tags.get("Exempt", "").lower() == "true":
        return
    keys.sort(key=lambda k: k["CreateDate"])
    for k in list(keys):
        if k["Status"] == "Inactive" and age_days(k["CreateDate"], now) >= DELETE:
            iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
            keys.remove(k)
            add("deleted")
    active = [k for k in keys if k["Status"] == "Active"]
    if len(active) >= 2 and age_days(active[0]["CreateDate"], now) >= DEACTIVATE:
        iam.update_access_key(UserName=name, AccessKeyId=active[0]["AccessKeyId"],
                              Status="Inactive")
        add("deactivated")
    elif (len(active) == 1 and len(keys) < 2
          and age_days(active[0]["CreateDate"], now) >= ROTATE):
        iam.create_access_key(UserName=name)
        add("rotated")
        mail(ses, email, "Your new access key")
        mail(ses, email, "The password of your new access key")


def do_account(sts, ses, account_id, now):
    try:
        sess = session_for(sts, f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}")
        iam = sess.client("iam", config=CONFIG)
        marker = None
        while True:
            page = iam.list_users(**({"Marker": marker} if marker else {}))
            for user in page["Users"]:
                try:
                    do_user(iam, ses, user, now)
                except (ClientError, BotoCoreError) as e:
                    add("failed")
                    print(f"{account_id} {user['UserName']}: {e}", file=sys.stderr)
            if not page.get("IsTruncated"):
                break
            marker = page["Marker"]
        add("accounts")
    except (ClientError, BotoCoreError) as e:
        add("accounts_failed")
        print(f"{account_id}: {e}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=64, help="accounts handled at once")
    ap.add_argument("--now", help="ISO 8601 date of the sweep (default: real time)")
    args = ap.parse_args()
    now = (datetime.datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now
           else datetime.datetime.now(datetime.timezone.utc))
    base = boto3.session.Session(region_name="us-east-1")
    sts = base.client("sts", config=Config(retries={"mode": "standard"},
                                           max_pool_connections=args.workers))
    ses = base.client("ses", config=Config(retries={"mode": "standard"},
                                           max_pool_connections=args.workers))
    mgmt = session_for(sts, MANAGEMENT_ROLE)
    org = mgmt.client("organizations", config=CONFIG)
    accounts = []
    for page in org.get_paginator("list_accounts").paginate():
        accounts += [a["Id"] for a in page["Accounts"] if a["Status"] == "ACTIVE"]
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for f in [pool.submit(do_account, sts, ses, a, now) for a in accounts]:
            f.result()
    print(json.dumps(counts))
    return 1 if counts["failed"] or counts["accounts_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
