"""Hostile answers (issue 10 item 7): the real daemon behind tests/integration/
hostile.py, a proxy in front of the fake that swaps in the hostile answer for
one call. Every case must end with its documented exit status
(docs/hostile.md), a message naming the problem, peak RSS (VmHWM, from
wait4) under 64 MiB, no crash or sanitizer report, the other accounts and
users handled, and nothing lost: every key the fake created was delivered to
its owner, who can open the zip with the password from the other mail.

The cases are independent (a fake, a proxy and a daemon each) and most of
their time is spent waiting (retries, timeouts), so they run side by side;
each test method then checks one case's result.
"""
import base64
import concurrent.futures
import json
import os
import signal
import subprocess
import threading
import time
import unittest

import hostile
from harness import (BINARY, DEFAULT_CONFIG, Fake, Rotator, account, key, merge, scenario,
                     user, user_keys)
from hostile import Recorder, Rule
from mails import SEVENZIP, delivered_credentials

DEV = "222222222222"
PROD = "555555555555"
MGMT = "111111111111"
MIB = 1024 * 1024
RSS_LIMIT = 64 * MIB
# Under AddressSanitizer the shadow memory and the quarantine of freed blocks
# count in RSS too: the sanitized build runs with a 16 MiB quarantine (the
# default 256 MiB fills up over 10,000 pages of a listing) and gets a looser
# bound; the plain build is the one held to 64 MiB.
RSS_LIMIT_SANITIZED = 128 * MIB
ASAN_QUARANTINE = "quarantine_size_mb=16"
TIME = "/usr/bin/time"   # GNU time (Debian package time)
CASE_TIMEOUT = int(os.environ.get("AKR_HOSTILE_CASE_TIMEOUT", "170"))

# By hand: AKR_HOSTILE_CASES=name,name runs only those cases.
ONLY = set(filter(None, os.environ.get("AKR_HOSTILE_CASES", "").split(",")))

# The credential-report pre-filter is off, so that every user's reads meet the
# hostile answers; the cases about the report itself turn it on.
CONFIG = {"limits": {"request_timeout_sec": 3, "max_attempts": 2, "credential_report": False}}
WITH_REPORT = {"limits": {"credential_report": True}}

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def base_scenario():
    return scenario([
        account(DEV, [user("alice", [key(85)]), user("bob", [key(10)]),
                      user("carol", [key(85)], email=False),       # no tags at all
                      user("dave", [], email=True)],               # no keys at all
                name="dev"),
        account(PROD, [user("ken", [key(85)]), user("x+y=z,w.v@u_t-s", [key(85)], email="odd@example.com")],
                name="prod"),
    ])


# Who holds a due key in base_scenario(), and what each can receive.
DUE = {(DEV, "alice"): "alice@example.com", (PROD, "ken"): "ken@example.com",
       (PROD, "x+y=z,w.v@u_t-s"): "odd@example.com"}


def xml_answer(action, result):
    return ('<?xml version="1.0"?>\n<%sResponse xmlns="%s"><%sResult>%s</%sResult>'
            '<ResponseMetadata><RequestId>0b1c2d3e-hostile</RequestId></ResponseMetadata>'
            '</%sResponse>' % (action, IAM_NS, action, result, action, action)).encode()


def user_member(name, user_id="AIDAHOSTILE000000001", date="2020-01-01T00:00:00Z"):
    parts = ["<Path>/</Path>"]
    if name is not None:
        parts.append("<UserName>%s</UserName>" % name)
    parts.append("<UserId>%s</UserId><Arn>arn:aws:iam::%s:user/x</Arn>" % (user_id, DEV))
    if date is not None:
        parts.append("<CreateDate>%s</CreateDate>" % date)
    return "<member>%s</member>" % "".join(parts)


def list_users(*members):
    return xml_answer("ListUsers", "<Users>%s</Users><IsTruncated>false</IsTruncated>"
                      % "".join(members))


def list_tags(*pairs):
    tags = "".join("<member><Key>%s</Key><Value>%s</Value></member>" % kv for kv in pairs)
    return xml_answer("ListUserTags", "<Tags>%s</Tags><IsTruncated>false</IsTruncated>" % tags)


def list_keys(*members):
    ms = "".join("<member><UserName>alice</UserName><AccessKeyId>%s</AccessKeyId>"
                 "<Status>%s</Status><CreateDate>%s</CreateDate></member>" % m for m in members)
    return xml_answer("ListAccessKeys", "<AccessKeyMetadata>%s</AccessKeyMetadata>"
                      "<IsTruncated>false</IsTruncated>" % ms)


def json_accounts(*accounts):
    return json.dumps({"Accounts": list(accounts)}).encode()


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % (i - 1 if i > 1 else ""))
                                                        * 10) for i in range(1, 10))
                  + ']>\n<ListUsersResponse xmlns="%s"><ListUsersResult><Users><member>'
                  '<UserName>&lol9;</UserName></member></Users></ListUsersResult>'
                  '</ListUsersResponse>' % IAM_NS).encode()
EXTERNAL_ENTITY = ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM '
                   '"file:///etc/passwd">]>\n<ListUserTagsResponse xmlns="%s">'
                   '<ListUserTagsResult><Tags><member><Key>email</Key><Value>&xxe;</Value>'
                   '</member></Tags><IsTruncated>false</IsTruncated></ListUserTagsResult>'
                   '</ListUserTagsResponse>' % IAM_NS).encode()
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>"
             b"<h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
             b"</body></html>\n")
ERROR_DOC = ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s"><Error><Type>Sender</Type>'
             '<Code>AccessDenied</Code><Message>User is not authorized</Message></Error>'
             '<RequestId>0b1c2d3e-hostile</RequestId></ErrorResponse>' % IAM_NS).encode()


class Case:
    """One hostile input: the rules for the proxy, what the daemon must answer."""

    def __init__(self, name, rules, status, messages, failed_accounts=(), failed_users=(),
                 rotated=None, config=None, check=None, timeout=CASE_TIMEOUT):
        self.name = name
        self.rules = rules                  # callable(ctx) -> [Rule]
        self.status = status
        self.messages = messages            # regexes that stderr must match
        self.failed_accounts = failed_accounts
        self.failed_users = failed_users    # (account, user) reported failed
        self.rotated = set(DUE) if rotated is None else set(rotated)
        self.config = config
        self.check = check                  # callable(test, result) for the rest
        self.timeout = timeout


def rule(*a, **kw):
    return lambda ctx: [Rule(*a, **kw)]


def paginate(action, mode, **kw):
    return rule(action, "paginate", mode=mode, **kw)


ALL_DUE = set(DUE)
NOT_DEV = {k for k in DUE if k[0] != DEV}
NOT_ALICE = {k for k in DUE if k != (DEV, "alice")}

CASES = [
    # -- endless and repeating pagination, in every listing ---------------------
    Case("list_accounts_same_token", paginate("ListAccounts", "same"), 2,
         [r"Cannot list the accounts of the organization: EndlessPagination: ListAccounts: "
          r"page 2 hands out a marker that an earlier page"], rotated=()),
    Case("list_accounts_endless_tokens", paginate("ListAccounts", "new"), 2,
         [r"ListAccounts lists account \d{12} a second time",
          r"EndlessPagination: ListAccounts: still more pages after 10000 pages"], rotated=()),
    Case("list_users_same_marker", paginate("ListUsers", "same", account=DEV), 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: EndlessPagination: "
          r"ListUsers: page 2 hands out a marker"],
         failed_accounts=[DEV], rotated=ALL_DUE),
    Case("list_users_endless_markers", paginate("ListUsers", "new", account=DEV), 1,
         [r"ListUsers in account 222222222222 lists user '\w+' a second time",
          r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: EndlessPagination: "
          r"ListUsers: still more pages after 10000 pages"],
         failed_accounts=[DEV], rotated=ALL_DUE),
    Case("list_user_tags_same_marker", paginate("ListUserTags", "same", user="alice"), 1,
         [r"User 'alice' in account 222222222222: ListUserTags: EndlessPagination: "
          r"ListUserTags: page 2 hands out a marker"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("list_user_tags_endless_markers", paginate("ListUserTags", "new", user="carol"), 1,
         [r"User 'carol' in account 222222222222: ListUserTags: EndlessPagination: "
          r"ListUserTags: still more pages after 10000 pages"],
         failed_users=[(DEV, "carol")]),
    Case("list_user_tags_endless_repeating_tags", paginate("ListUserTags", "new", user="alice"),
         1, [r"User 'alice' in account 222222222222: ListUserTags: .*more than 50 tags"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("list_access_keys_same_marker", paginate("ListAccessKeys", "same", user="alice"), 1,
         [r"User 'alice' in account 222222222222: ListAccessKeys: EndlessPagination: "
          r"ListAccessKeys: page 2 hands out a marker"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("list_access_keys_endless_markers", paginate("ListAccessKeys", "new", user="dave"), 1,
         [r"User 'dave' in account 222222222222: ListAccessKeys: EndlessPagination: "
          r"ListAccessKeys: still more pages after 10000 pages"],
         failed_users=[(DEV, "dave")]),
    Case("list_access_keys_endless_repeating_keys",
         paginate("ListAccessKeys", "new", user="alice"), 1,
         [r"User 'alice' in account 222222222222: ListAccessKeys: .*more than 10 access keys"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),

    # -- one bad record, one reported user ------------------------------------
    Case("list_users_odd_names", rule("ListUsers", "answer", account=DEV, body=list_users(
        user_member("alice"),
        user_member("bob", date="2020-13-45T00:00:00Z"),
        user_member("evil&#13;&#10;&lt;0&gt;forged log line"),
        user_member("o'brien"),
        user_member("x" * 300),
        user_member(None),
        user_member("carol"), user_member("dave"))), 1,
        [r"User 'bob' in account 222222222222: ListUsers: invalid item: 'CreateDate' is not "
         r"an ISO 8601 time",
         r"User 'evil\\x0d\\x0a<0>forged log line' in account 222222222222: ListUsers: "
         r"invalid item: ListUsers answer: invalid UserName",
         r"User 'o'brien' in account 222222222222: .*invalid UserName",
         r"User 'x{40}.*\.\.\.' in account 222222222222: .*invalid UserName",
         r"User '' in account 222222222222: .*lacks UserName"],
        failed_users=[(DEV, "bob"), (DEV, "evil\\x0d\\x0a<0>forged log line"),
                      (DEV, "o'brien"), (DEV, "x" * 92 + "..."), (DEV, "")],
        check=lambda t, r: t.assertNotRegex(r["stderr"], r"(?m)^<0>")),
    Case("list_accounts_bad_items", rule("ListAccounts", "answer",
         content_type="application/x-amz-json-1.1", body=json_accounts(
             {"Id": MGMT, "Name": "management", "State": "ACTIVE"},
             {"Id": "12\r\n<0>forged", "Name": "x", "State": "ACTIVE"},
             {"Id": 333333333333, "Name": "y", "State": "ACTIVE"},
             {"Id": DEV, "Name": "dev", "State": "ACTIVE"},
             {"Id": "444444444444", "Name": "nostate"},
             {"Id": PROD, "Name": "prod", "State": "ACTIVE"})), 1,
         [r"Account '12\\x0d\\x0a<0>forged' failed, skipping it: ListAccounts: invalid item: "
          r"ListAccounts answer: invalid account Id",
          r"Account '' failed, skipping it: .*'Id' is a JSON number",
          r"Account '444444444444' failed, skipping it: .*lacks State and Status"],
         failed_accounts=["12\\x0d\\x0a<0>forged", "", "444444444444"],
         check=lambda t, r: t.assertNotRegex(r["stderr"], r"(?m)^<0>")),
    Case("tag_value_crlf", rule("ListUserTags", "answer", user="alice", body=list_tags(
        ("email", "alice@example.com&#13;&#10;Bcc: evil@example.com"))), 0,
        [r"User 'alice' in account 222222222222 is overdue \(key AKIA\w+, 85 days\): rotation "
         r"due but the email tag contains CR, LF or control characters"],
        rotated=NOT_ALICE,
        check=lambda t, r: t.assertNotIn("evil", str(r["emails"]))),
    Case("tag_value_long", rule("ListUserTags", "answer", user="alice", body=list_tags(
        ("email", "alice@example.com"), ("team", "t" * 300))), 1,
        [r"User 'alice' in account 222222222222: ListUserTags: .*the value of tag 'team' is "
         r"longer than 256 characters"],
        failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("tag_value_huge", rule("ListUserTags", "answer", user="alice", body=list_tags(
        ("email", "alice@example.com"), ("team", "t" * (1 << 20)))), 1,
        # The XML reader's 16 KiB text limit, or (with the per-call answer
        # limits of issue 10 item 3) the 256 KiB limit of ListUserTags.
        [r"User 'alice' in account 222222222222: ListUserTags: "
         r"(MalformedResponse: |response-too-large)"],
        failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("tag_key_control_chars", rule("ListUserTags", "answer", user="alice", body=list_tags(
        ("email", "alice@example.com"), ("team&#9;&#13;&#10;", "x"))), 1,
        [r"User 'alice' in account 222222222222: ListUserTags: .*tag key "
         r"'team\\x09\\x0d\\x0a' holds a control character"],
        failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("access_key_bad_id", rule("ListAccessKeys", "answer", user="alice", body=list_keys(
        ("AKIA&lt;script&gt;", "Active", "2020-01-01T00:00:00Z"))), 1,
        [r"User 'alice' in account 222222222222: ListAccessKeys: MalformedResponse: "
         r"ListAccessKeys answer: invalid AccessKeyId"],
        failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("access_key_bad_status", rule("ListAccessKeys", "answer", user="alice", body=list_keys(
        ("AKIAIOSFODNN7EXAMPLE", "Enabled", "2020-01-01T00:00:00Z"))), 1,
        [r"User 'alice' in account 222222222222: ListAccessKeys: .*unknown Status 'Enabled'"],
        failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("access_key_bad_date", rule("ListAccessKeys", "answer", user="alice", body=list_keys(
        ("AKIAIOSFODNN7EXAMPLE", "Active", "yesterday"))), 1,
        [r"User 'alice' in account 222222222222: ListAccessKeys: .*'CreateDate' is not an "
         r"ISO 8601 time: 'yesterday'"],
        failed_users=[(DEV, "alice")], rotated=NOT_ALICE),

    # -- entities, sizes, broken bodies ----------------------------------------
    Case("xml_entity_bomb", rule("ListUsers", "answer", account=DEV, body=BILLION_LAUGHS), 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: MalformedResponse: "
          r"XML document type declarations are not accepted"],
         failed_accounts=[DEV], rotated=NOT_DEV),
    Case("xml_external_entity", rule("ListUserTags", "answer", user="alice",
                                     body=EXTERNAL_ENTITY), 1,
         [r"User 'alice' in account 222222222222: ListUserTags: MalformedResponse: XML "
          r"document type declarations are not accepted"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE,
         check=lambda t, r: t.assertNotIn("root:x:0:0", r["stderr"] + str(r["emails"]))),
    Case("sts_entity_bomb", rule("AssumeRole", "answer", count=1,
                                 body=BILLION_LAUGHS.replace(b"ListUsers", b"AssumeRole")), 2,
         [r"Cannot list the accounts of the organization: AssumeRole into "
          r"arn:aws:iam::111111111111:role/provisioning-admin of account 111111111111: "
          r"MalformedResponse: XML document type declarations are not accepted"], rotated=()),
    Case("huge_body_chunked", lambda ctx: [Rule("ListUsers", "stream", account=DEV,
                                                size=1 << 30, chunked=True)], 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: .*"
          r"(too.large|exceeds|larger than)"],
         failed_accounts=[DEV], rotated=NOT_DEV,
         check=lambda t, r: t.assertLess(r["rules"][0].kw["sent"][0], 64 * MIB)),
    Case("huge_body_content_length", lambda ctx: [Rule("ListAccessKeys", "stream", user="alice",
                                                       size=1 << 30, chunked=False)], 1,
         [r"User 'alice' in account 222222222222: ListAccessKeys: .*"
          r"(too.large|exceeds|larger than)"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE,
         check=lambda t, r: t.assertLess(r["rules"][0].kw["sent"][0], 64 * MIB)),
    Case("malformed_xml", rule("ListUsers", "answer", account=DEV,
                               body=b"<ListUsersResponse><ListUsersResult><Users><member>"
                                    b"<UserName>alice</UserName></Users>"), 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: MalformedResponse: "
          r"malformed XML"],
         failed_accounts=[DEV], rotated=NOT_DEV),
    Case("malformed_json", rule("ListAccounts", "answer",
                                content_type="application/x-amz-json-1.1",
                                body=b'{"Accounts": [{"Id": "222222222222", "State": '), 2,
         [r"Cannot list the accounts of the organization: MalformedResponse: .*malformed JSON"],
         rotated=()),
    Case("not_utf8", rule("ListUserTags", "answer", user="alice",
                          body=list_tags(("email", "alice@example.com")).replace(
                              b"alice@", b"\xff\xfe@")), 1,
         [r"User 'alice' in account 222222222222: ListUserTags: MalformedResponse: "],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("truncated_read_once", rule("ListUsers", "truncate", account=DEV, count=1, keep=60), 0,
         [r"Sweep finished: .*0 failed"], rotated=ALL_DUE),
    Case("truncated_read_always", rule("ListAccessKeys", "truncate", user="alice", keep=60), 1,
         [r"User 'alice' in account 222222222222: ListAccessKeys: .*"
          r"(transfer closed|partial|connection)"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("truncated_create_access_key", rule("CreateAccessKey", "truncate", user="alice",
                                             keep=100), 1,
         [r"Deleted key AKIA\w+ of user 'alice': its secret was never delivered",
          r"create \(new key\) of user 'alice' in account 222222222222: rolled-back: "
          r"CreateAccessKey failed"],
         rotated=NOT_ALICE,
         check=lambda t, r: t.assertIn(("alice", "create", "rolled-back"), [
             (a["user"], a["action"], a["outcome"]) for a in r["report"]["actions"]])),

    # -- the credential report: any doubt reads the account in full -------------
    Case("credential_report_access_denied",
         rule("GenerateCredentialReport", "answer", account=DEV, status=403, body=ERROR_DOC), 0,
         [r"No credential report for account 222222222222 \(GenerateCredentialReport failed: "
          r".*AccessDenied.*\); reading every user in full"],
         rotated=ALL_DUE, config=WITH_REPORT,
         check=lambda t, r: t.assertEqual(
             r["report"]["totals"]["accounts_without_credential_report"], 1)),
    Case("credential_report_bad_header",
         rule("GetCredentialReport", "answer", account=DEV, body=xml_answer(
             "GetCredentialReport", "<Content>%s</Content><ReportFormat>text/csv</ReportFormat>"
             "<GeneratedTime>2026-11-26T12:00:00Z</GeneratedTime>"
             % base64.b64encode(b"arn,user\nalice,x\n").decode())), 0,
         [r"No credential report for account 222222222222 \(GetCredentialReport failed: "
          r".*credential report: the header does not start with the column 'user'"],
         rotated=ALL_DUE, config=WITH_REPORT),
    Case("credential_report_not_base64",
         rule("GetCredentialReport", "answer", account=DEV, body=xml_answer(
             "GetCredentialReport", "<Content>!!!*</Content><ReportFormat>text/csv"
             "</ReportFormat><GeneratedTime>2026-11-26T12:00:00Z</GeneratedTime>")), 0,
         [r"No credential report for account 222222222222 \(GetCredentialReport failed: .*"
          r"Content is not base64"],
         rotated=ALL_DUE, config=WITH_REPORT),

    # -- what a proxy or a captive portal answers -------------------------------
    Case("html_error_page_502", rule("ListUsers", "answer", account=DEV, status=502,
                                     content_type="text/html", body=HTML_PAGE), 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: .*HTTP 502.*"
          r"without a readable AWS error document"],
         failed_accounts=[DEV], rotated=NOT_DEV),
    Case("html_error_page_403", rule("AssumeRole", "answer", count=1, status=403,
                                     content_type="text/html", body=HTML_PAGE), 2,
         [r"Cannot list the accounts of the organization: .*HTTP 403 without a readable AWS "
          r"error document"], rotated=()),
    Case("html_page_200", rule("ListAccessKeys", "answer", user="alice",
                               content_type="text/html", body=HTML_PAGE), 1,
         [r"User 'alice' in account 222222222222: ListAccessKeys: MalformedResponse: "],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("error_document_200", rule("ListUsers", "answer", account=DEV, body=ERROR_DOC), 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: MalformedResponse: "
          r".*ErrorResponse"],
         failed_accounts=[DEV], rotated=NOT_DEV),
    Case("redirect_other_host", lambda ctx: [Rule("ListUsers", "redirect", account=DEV,
                                                  location=ctx["recorder"].url + "/steal")], 1,
         [r"Account 222222222222 \('dev'\) failed, skipping it: ListUsers: .*HTTP 307"],
         failed_accounts=[DEV], rotated=NOT_DEV,
         check=lambda t, r: t.assertEqual(r["recorder"], [])),
    Case("redirect_management_role", lambda ctx: [
        Rule("AssumeRole", "redirect", count=1, status=301,
             location=ctx["recorder"].url + "/steal")], 2,
         [r"Cannot list the accounts of the organization: .*HTTP 301 without a readable AWS "
          r"error document"], rotated=(),
         check=lambda t, r: t.assertEqual(r["recorder"], [])),

    # -- slow answers -------------------------------------------------------------
    # limits.request_timeout_sec bounds a request across all its attempts
    # (issue 9 item 1): an answer that trickles uses it up and is not tried
    # again; the user is reported and the others go on.
    Case("trickle_read_once", rule("ListUserTags", "trickle", user="alice", count=1,
                                   interval=0.5), 1,
         [r"User 'alice' in account 222222222222: ListUserTags: timeout .*timed out"],
         failed_users=[(DEV, "alice")], rotated=NOT_ALICE),
    Case("trickle_create_access_key", rule("CreateAccessKey", "trickle", user="alice",
                                           interval=0.5), 1,
         [r"create \(new key\) of user 'alice' in account 222222222222: rolled-back: "
          r"CreateAccessKey failed: .*(timeout|timed out)"],
         rotated=NOT_ALICE),
]


def sanitized():
    with open(BINARY, "rb") as f:
        return b"__asan_init" in f.read()


def run_case(case):
    """Runs one case end to end; returns what the checks need."""
    fake = Fake(base_scenario())
    proxy = hostile.Proxy(fake.url)
    rec = Recorder()
    rot = Rotator(fake, merge(CONFIG, case.config))
    try:
        before = fake.state()
        rules = case.rules({"recorder": rec, "proxy": proxy})
        for r in rules:
            proxy.add(r)
        started = time.monotonic()
        # Peak RSS as wait4() reports it, taken by GNU time: a process forked
        # from this (large) Python process would inherit its high-water mark.
        rss_file = os.path.join(rot.dir, "maxrss")
        proc = subprocess.Popen([TIME, "-f", "%M", "-o", rss_file] + rot.args("--once"),
                                env=rot.env({"AWS_ENDPOINT_URL": proxy.url,
                                             "ASAN_OPTIONS": ":".join(filter(None, (
                                                 os.environ.get("ASAN_OPTIONS"),
                                                 ASAN_QUARANTINE)))}),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        killer = threading.Timer(case.timeout, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        try:
            out, err = proc.communicate()
        finally:
            killer.cancel()
        with open(rss_file) as f:
            maxrss_kib = int(f.read().split()[-1])
        res = {
            "status": proc.returncode,
            "stdout": out,
            "stderr": err,
            "maxrss": maxrss_kib * 1024,
            "seconds": time.monotonic() - started,
            "before": before,
            "after": fake.state(),
            "emails": fake.emails(),
            "sns": fake.sns(),
            "rules": rules,
            "recorder": list(rec.requests),
            "report": None,
        }
        try:
            res["report"] = rot.last_report()
        except (OSError, ValueError):
            pass
        return res
    finally:
        proxy.close()
        rec.close()
        fake.close()
        rot.close()


class Hostile(unittest.TestCase):
    results = {}

    @classmethod
    def setUpClass(cls):
        if not SEVENZIP:
            raise AssertionError("7zz is needed (Debian package 7zip)")
        if not os.access(TIME, os.X_OK):
            raise AssertionError("GNU time is needed (Debian package time)")
        cls.rss_limit = RSS_LIMIT_SANITIZED if sanitized() else RSS_LIMIT
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            futures = {c.name: pool.submit(run_case, c) for c in CASES
                       if not ONLY or c.name in ONLY}
            for name, fut in futures.items():
                try:
                    cls.results[name] = fut.result()
                except Exception as e:          # reported by the case's test
                    cls.results[name] = e
        print("\nhostile input: exit status, peak RSS, seconds", flush=True)
        for c in CASES:
            r = cls.results.get(c.name)
            if isinstance(r, dict):
                print("  %-45s %d  %5.1f MiB  %5.1f s" % (c.name, r["status"], r["maxrss"] / MIB,
                                                          r["seconds"]), flush=True)

    def check_case(self, case):
        if case.name not in self.results:
            self.skipTest("not in AKR_HOSTILE_CASES")
        res = self.results[case.name]
        if isinstance(res, Exception):
            raise res
        err = res["stderr"]
        self.assertEqual(res["status"], case.status, err[-4000:])
        for pattern in case.messages:
            self.assertRegex(err, pattern)
        self.assertNotIn("AddressSanitizer", err)
        self.assertNotIn("runtime error:", err)
        self.assertNotIn("LeakSanitizer", err)
        self.assertLess(res["maxrss"], self.rss_limit,
                        "peak RSS %.1f MiB" % (res["maxrss"] / MIB))

        # Nothing lost: every key the fake created reached its owner.
        before_ids = {k["id"] for a in res["before"]["accounts"] for u in a["users"]
                      for k in u["keys"]}
        rotated = set()
        for a in res["after"]["accounts"]:
            for u in a["users"]:
                new = [k for k in u["keys"] if k["id"] not in before_ids]
                if not new:
                    continue
                rotated.add((a["id"], u["name"]))
                addr = DUE.get((a["id"], u["name"]))
                self.assertIsNotNone(addr, "a key was created for %s/%s" % (a["id"], u["name"]))
                got = delivered_credentials(res["emails"], addr)
                for k in new:
                    self.assertIn((k["id"], k["secret"]), got,
                                  "key %s of %s was not delivered" % (k["id"], u["name"]))
        self.assertEqual(rotated, case.rotated)

        rep = res["report"]
        if case.status in (0, 1):
            self.assertIsNotNone(rep, "no run report")
        if rep is not None:
            failed = sorted(a["id"] for a in rep.get("accounts", [])
                            if a.get("state") == "failed")
            self.assertEqual(failed, sorted(case.failed_accounts))
            failed_users = sorted({(a["account_id"], a["user"]) for a in rep["actions"]
                                   if a["outcome"] == "failed" and a["action"] == "read"})
            self.assertEqual(failed_users, sorted(case.failed_users))
        if case.status != 0:
            # Failures are published: one alert to the operators (besides
            # the attention alert for the users that cannot be rotated).
            failures = [m for m in res["sns"]
                        if "cannot be rotated" not in (m.get("subject") or "")]
            self.assertEqual(len(failures), 1, res["sns"])
        if case.check:
            case.check(self, res)


def _make_test(case):
    return lambda self: self.check_case(case)


for _c in CASES:
    setattr(Hostile, "test_" + _c.name, _make_test(_c))


if __name__ == "__main__":
    unittest.main()
