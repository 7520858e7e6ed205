"""Reading what users received from the fake's recorded mails, and opening
the key zip with the real 7-Zip (7zz), as a user would."""
import email
import email.policy
import os
import re
import shutil
import subprocess
import tempfile

SEVENZIP = shutil.which("7zz") or shutil.which("7z")


def parse(raw):
    return email.message_from_string(raw, policy=email.policy.default)


def text_of(msg):
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body else ""


def zip_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "application/zip":
            return part.get_payload(decode=True)
    return None


def mails_to(mails, address):
    return [m for m in mails if address in (m.get("destinations") or [])]


def open_zip(data, password):
    """Returns credentials.csv's text, or None when 7zz refuses the password."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "key.zip")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([SEVENZIP, "x", f"-p{password}", f"-o{d}/out", "-y", path],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None
        with open(os.path.join(d, "out", "credentials.csv"), newline="") as f:
            return f.read()


def delivered_credentials(mails, address):
    """[(access_key_id, secret)] the user at @address can read: every zip
    opened with a password from another mail to the same address."""
    msgs = [parse(m["raw"]) for m in mails_to(mails, address)]
    zips = [(i, zip_of(m)) for i, m in enumerate(msgs) if zip_of(m)]
    out = []
    for i, data in zips:
        opened = None
        for j, m in enumerate(msgs):
            if j == i or zip_of(m):
                continue
            for token in set(re.findall(r"\S{20,}", text_of(m))):
                opened = open_zip(data, token)
                if opened is not None:
                    break
            if opened is not None:
                break
        if opened is None:
            continue
        lines = [l for l in opened.replace("\r\n", "\n").split("\n") if l]
        if len(lines) >= 2 and lines[0].startswith("Access key ID,Secret access key"):
            kid, secret = lines[1].split(",", 1)
            out.append((kid, secret))
    return out
