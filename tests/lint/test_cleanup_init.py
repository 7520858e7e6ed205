#!/usr/bin/env python3
"""STYLE.md 3: every `_cleanup_` variable is initialised where it is declared,
so that every early return is safe. Scans every C file of lib/, daemon/ and
tests/ and names each declarator without an initialiser."""

import os
import re
import sys

ROOTS = ("lib", "daemon", "tests")
DECL = re.compile(r"^\s*_cleanup\w*(\([^)]*\))?\s")


def split_top(s):
    """Splits @s at the commas outside (), {} and []."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def check_file(path):
    bad = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if DECL.match(line) and "#define" not in line:
            start = i
            text = line
            while ";" not in text and i + 1 < len(lines):
                i += 1
                text += " " + lines[i].strip()
            decl = text.split(";", 1)[0]
            decl = DECL.sub("", decl, count=1)
            for n, part in enumerate(split_top(decl)):
                if "=" not in part:
                    bad.append(f"{path}:{start + 1}: '{part.strip()}' is not initialised")
        i += 1
    return bad


def main():
    src = os.environ.get("SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    bad, n_files = [], 0
    for root in ROOTS:
        for d, _, files in os.walk(os.path.join(src, root)):
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    n_files += 1
                    bad += check_file(os.path.join(d, name))
    if n_files == 0:
        print("no C file found under", src)
        return 1
    for b in bad:
        print(b)
    print(f"{n_files} files checked, {len(bad)} _cleanup_ declarations without an initialiser")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
