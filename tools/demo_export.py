"""Writes what the demo's users received: one .eml file per mail, and the
key zips as attached, then says how to open one. Standard library only."""
import email
import email.policy
import json
import os
import re
import sys
import urllib.request

url, out = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(url + "/_fake/emails") as resp:
    mails = json.load(resp)
with urllib.request.urlopen(url + "/_fake/sns") as resp:
    alerts = json.load(resp)

import shutil
import subprocess
import tempfile

SEVENZIP = shutil.which("7zz") or shutil.which("7z")


def opens(zpath, password):
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([SEVENZIP, "t", f"-p{password}", zpath], capture_output=True)
        return r.returncode == 0


texts = {}
zips = []
for i, m in enumerate(mails, 1):
    to = ",".join(m.get("destinations") or []) or "unknown"
    msg = email.message_from_string(m["raw"], policy=email.policy.default)
    subject = str(msg.get("Subject", ""))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{to}-{subject}")[:80].strip("-")
    path = os.path.join(out, "mail", f"{i:02d}-{slug}.eml")
    with open(path, "w") as f:
        f.write(m["raw"])
    print(f"{path}\n    to {to}: {subject}")
    for part in msg.walk():
        if part.get_content_type() == "application/zip":
            zpath = os.path.join(out, "mail", f"{i:02d}-{to}-{part.get_filename()}")
            with open(zpath, "wb") as f:
                f.write(part.get_payload(decode=True))
            zips.append((to, zpath))
    body = msg.get_body(preferencelist=("plain",))
    texts.setdefault(to, []).append(body.get_content() if body else "")

print(f"\n{len(mails)} mails in {out}/mail, {len(zips)} key zips, {len(alerts)} SNS alerts")
for i, a in enumerate(alerts, 1):
    path = os.path.join(out, f"sns-{i:02d}.txt")
    with open(path, "w") as f:
        f.write(f"Subject: {a.get('subject')}\n\n{a.get('message')}")
    print(f"SNS alert: {a.get('subject')} ({path})")
if zips and SEVENZIP:
    to, zpath = zips[0]
    pw = next((t for text in texts.get(to, []) for t in set(re.findall(r"\S{20,}", text))
               if opens(zpath, t)), "<the password from the second mail>")
    print(f"\nOpen a key zip with the password from its companion mail ({to}), e.g.:")
    print(f"    7zz x -p'{pw}' -o{out}/unzipped '{zpath}' && cat {out}/unzipped/credentials.csv")
