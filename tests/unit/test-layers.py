#!/usr/bin/env python3
"""The include graph of lib/ against the layer rule (DESIGN.md "Layout").

lib/ has five layers, base < http < aws < delivery < rotation: a file in
lib/<layer>/ includes only headers of its own layer and of the layers below,
and nothing in lib/ includes daemon/. Every offending include is named as
"lib/aws/iam.c:12: includes lib/rotation/report.h (aws may include base,
http, aws)". A folder in lib/ that is not a known layer is an error too, so a
new layer has to be added here (and to DESIGN.md) on purpose.

Usage: test-layers.py [SOURCE_DIR]   (default: $SOURCE_DIR, else the repository
containing this file). Exits 0 when the graph follows the rule, 1 otherwise.
`test-layers.py --self-test` also checks that the checker catches violations.
"""
import os
import re
import sys
import tempfile

LAYERS = ["base", "http", "aws", "delivery", "rotation"]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCES = (".c", ".h")


def layer_of_target(incl, including_dir, lib_dir):
    """The layer an include points into, "daemon" for daemon/, or None for a
    header outside the project (system and library headers)."""
    parts = incl.split("/")
    if parts[0] == "daemon":
        return "daemon"
    if parts[0] == "lib" and len(parts) >= 3:
        return parts[1]
    # A bare "x.h" or "../aws/x.h" relative to the including file.
    resolved = os.path.normpath(os.path.join(including_dir, incl))
    rel = os.path.relpath(resolved, lib_dir)
    if not rel.startswith(".."):
        return rel.split(os.sep)[0]
    if os.path.basename(os.path.dirname(resolved)) == "daemon":
        return "daemon"
    return None


def check(source_dir):
    """Returns the list of violations, one string each."""
    lib_dir = os.path.join(source_dir, "lib")
    errors = []
    if not os.path.isdir(lib_dir):
        return [f"{lib_dir}: not a directory"]
    for entry in sorted(os.listdir(lib_dir)):
        path = os.path.join(lib_dir, entry)
        if os.path.isdir(path) and entry not in LAYERS:
            errors.append(f"lib/{entry}/: not a layer (known: {', '.join(LAYERS)})")
        elif os.path.isfile(path) and entry.endswith(SOURCES):
            errors.append(f"lib/{entry}: a source outside every layer folder")
    for layer in LAYERS:
        layer_dir = os.path.join(lib_dir, layer)
        if not os.path.isdir(layer_dir):
            continue
        allowed = LAYERS[: LAYERS.index(layer) + 1]
        for root, _dirs, files in os.walk(layer_dir):
            for name in sorted(files):
                if not name.endswith(SOURCES):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, source_dir)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        incl = m.group(2)
                        target = layer_of_target(incl, root, lib_dir)
                        if target is None:
                            continue
                        if target == "daemon":
                            errors.append(f"{rel}:{lineno}: includes {incl} (nothing in lib/ may include daemon/)")
                        elif target not in LAYERS:
                            errors.append(f"{rel}:{lineno}: includes {incl}, which is in no layer")
                        elif target not in allowed:
                            errors.append(f"{rel}:{lineno}: includes {incl} ({layer} may include {', '.join(allowed)})")
    return errors


def self_test():
    """The checker must catch each kind of violation it promises to."""
    cases = {
        "lib/base/buf.c": '#include "lib/http/engine.h"\n',  # upward
        "lib/aws/iam.c": '#include "lib/rotation/report.h"\n',  # upward, two layers
        "lib/rotation/sweep.c": '#include "daemon/notify.h"\n',  # daemon
        "lib/http/wire.c": '#include "../delivery/mime.h"\n',  # relative, upward
        "lib/delivery/mime.c": '#include "lib/base/buf.h"\n#include "mime.h"\n',  # fine
    }
    with tempfile.TemporaryDirectory() as d:
        for rel, text in cases.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        errors = check(d)
    want = ["lib/base/buf.c:1:", "lib/aws/iam.c:1:", "lib/rotation/sweep.c:1:", "lib/http/wire.c:1:"]
    ok = len(errors) == len(want) and all(any(e.startswith(w) for e in errors) for w in want)
    if not ok:
        print("self-test FAILED: the checker reported", errors, file=sys.stderr)
    return ok


def main(argv):
    args = [a for a in argv[1:] if a != "--self-test"]
    if "--self-test" in argv[1:] and not self_test():
        return 1
    source_dir = args[0] if args else os.environ.get(
        "SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    errors = check(source_dir)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{len(errors)} include(s) break the layer rule base < http < aws < delivery < rotation",
              file=sys.stderr)
        return 1
    print("lib/ include graph follows base < http < aws < delivery < rotation")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
